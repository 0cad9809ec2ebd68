"""Slack message formatting: escaping, citation links, and Slack's size limits."""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import MAX_BLOCKS, MAX_SECTION_CHARS, SlackMessage, answer_messages, split_text
from bot.slack.text import StreamedMarkdown, cited_markdown, escape, escape_markdown
from retrieval.answering.answers import Answer, Source


def source(number: int) -> Source:
    return Source(
        number, "ep", "Episode <b>&</b>", "Ann", 613, f"https://www.youtube.com/watch?v=abcdefghijk&t={613 + number}s"
    )


def dicts(message: SlackMessage) -> list[dict[str, Any]]:
    return [block.to_dict() for block in message.blocks]


def test_escaping_neutralises_mentions_and_markup():
    text = escape("<!channel> <@U1> <https://evil|click> & @here")
    assert "<" not in text
    assert ">" not in text
    assert text.startswith("&lt;!channel&gt; &lt;@U1&gt;")
    assert "&amp;" in text
    assert "@here" not in text


def test_citations_become_links_to_their_moment_and_unknown_numbers_stay_text():
    answer = Answer("q?", "It started small [1], then grew [2] **fast**.", [source(1)], "llm", True)
    (message,) = answer_messages(answer, "id1")
    blocks = dicts(message)
    body = blocks[0]["text"]["text"]
    assert blocks[0]["text"]["verbatim"] is True  # Slack links no names or URLs in it by itself
    assert "<https://www.youtube.com/watch?v=abcdefghijk&amp;t=614s|[1]>" in body
    assert "[2]" in body
    assert "|[2]>" not in body
    assert "*fast*" in body
    sources = blocks[1]["elements"]
    assert (
        sources[1]["text"]
        == "<https://www.youtube.com/watch?v=abcdefghijk&amp;t=614s|▶ 10:13> · Episode &lt;b&gt;&amp;&lt;/b&gt; — Ann"
    )


def test_long_answers_are_split_within_slack_limits():
    paragraph = "word " * 700
    answer = Answer("q?", "\n".join([paragraph] * 40) + " [1]", [source(n) for n in range(1, 8)], "llm", True)
    messages = answer_messages(answer, "id1")
    assert len(messages) >= 2
    for message in messages:
        assert 1 <= len(message.blocks) <= MAX_BLOCKS
        assert message.text
        for block in dicts(message):
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
    assert (
        sum(b["text"]["text"].count("word") for m in messages for b in dicts(m) if b["type"] == "section") == 700 * 40
    )
    last = dicts(messages[-1])
    assert last[-1]["type"] == "context_actions"
    assert len(last[-2]["elements"]) == 1 + 5
    assert messages[1].text.startswith("(continued, part 2 of")


def test_split_text_keeps_links_whole():
    link = "<https://www.youtube.com/watch?v=abcdefghijk&amp;t=1s|[1]>"
    pieces = split_text(("x " * 40 + link + " ") * 20, limit=200)
    assert all(len(piece) <= 200 for piece in pieces)
    assert sum(piece.count(link) for piece in pieces) == 20


def test_markdown_escaping_neutralises_mentions_and_links():
    text = escape_markdown("<!here> <@U1> [click](https://evil) \\[x] & @channel")
    assert "<" not in text
    assert ">" not in text
    assert "](" not in text.replace("\\](", "")
    assert "[click\\](https://evil)" in text
    assert "&amp;" in text
    assert "@channel" not in text


def test_streamed_citations_become_links_even_when_split_across_pieces():
    urls = {1: "https://www.youtube.com/watch?v=abcdefghijk&t=61s", 2: "https://example.org/a_(b)"}
    stream = StreamedMarkdown(urls)
    pieces = ["It began ", "small [", "1] and then grew", " [2]. Ask @ch", "annel <@U9> [3]"]
    sent = "".join(stream.feed(piece) for piece in pieces) + stream.rest()
    assert stream.shown == "".join(pieces)
    assert sent == cited_markdown(stream.shown, urls)
    assert "[\\[1\\]](https://www.youtube.com/watch?v=abcdefghijk&t=61s)" in sent
    assert "[\\[2\\]](https://example.org/a_%28b%29)" in sent
    assert "\\[3\\]" in sent
    assert "@channel" not in sent
    assert "<@U9>" not in sent

"""Slack message formatting: escaping, citation links, and Slack's size limits."""

from __future__ import annotations

from bot.slack.blocks import MAX_BLOCKS, MAX_SECTION_CHARS, answer_messages, escape, split_text
from retrieval.answering import Answer, Source


def source(number: int) -> Source:
    return Source(
        number, "ep", "Episode <b>&</b>", "Ann", 613, f"https://www.youtube.com/watch?v=abcdefghijk&t={613 + number}s"
    )


def test_escaping_neutralises_mentions_and_markup():
    text = escape("<!channel> <@U1> <https://evil|click> & @here")
    assert "<" not in text and ">" not in text
    assert text.startswith("&lt;!channel&gt; &lt;@U1&gt;") and "&amp;" in text and "@here" not in text


def test_citations_become_links_to_their_moment_and_unknown_numbers_stay_text():
    answer = Answer("q?", "It started small [1], then grew [2] **fast**.", [source(1)], "llm", True)
    (message,) = answer_messages(answer, "id1")
    body = message.blocks[0]["text"]["text"]
    assert "<https://www.youtube.com/watch?v=abcdefghijk&amp;t=614s|[1]>" in body
    assert "[2]" in body and "|[2]>" not in body and "*fast*" in body
    sources = message.blocks[1]["elements"]
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
        assert 1 <= len(message.blocks) <= MAX_BLOCKS and message.text
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
    assert (
        sum(b["text"]["text"].count("word") for m in messages for b in m.blocks if b["type"] == "section") == 700 * 40
    )
    last = messages[-1].blocks
    assert last[-1]["type"] == "actions" and len(last[-2]["elements"]) == 1 + 5  # label + at most 5 sources
    assert messages[1].text.startswith("(continued, part 2 of")


def test_split_text_keeps_links_whole():
    link = "<https://www.youtube.com/watch?v=abcdefghijk&amp;t=1s|[1]>"
    pieces = split_text(("x " * 40 + link + " ") * 20, limit=200)
    assert all(len(piece) <= 200 for piece in pieces)
    assert sum(piece.count(link) for piece in pieces) == 20

"""Slack messages (Block Kit) for answers, within Slack's limits and safe from content-made mentions.

Everything that comes from a transcript, a model or a user is escaped (`&`, `<`, `>`), so no
content can become `<!channel>`, `<!here>`, `<@U…>` or a link; the only markup in our messages is
what this module adds: links to YouTube moments and the asker's name on `/ask` answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from retrieval.answering import Answer, Source
from retrieval.citations import CITATION

MAX_SECTION_CHARS = 3000
MAX_BLOCKS = 50
MAX_SOURCES = 5
MAX_FALLBACK_CHARS = 3000
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
THINKING = "Looking that up… :hourglass_flowing_sand:"
APOLOGY = "Sorry, something went wrong while I was looking that up. Please try again in a minute."
USAGE = (
    "Ask me about the DataTalks.Club podcast, for example:\n"
    "• `/ask How did DataTalks.Club start?`\n"
    "• mention me in a channel: `@podcast-bot what did Alexey say about freelancing?` (follow-ups in the thread work)\n"
    "• or send me a direct message.\n"
    "Every answer links to the second of the episode where it was said."
)
# "@channel" typed as plain text is not a mention, but a zero-width joiner keeps it that way
# even if a client or a future API option turns on name linking.
BROADCAST_WORDS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


@dataclass
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """Make any text inert in Slack mrkdwn: no mentions, no links, no broadcast."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return BROADCAST_WORDS.sub(lambda m: "@\u2060" + m.group(1), text)


def mrkdwn_link(url: str, label: str) -> str:
    return f"<{url.replace('&', '&amp;').replace('<', '').replace('>', '').replace('|', '%7C')}|{escape(label)}>"


def plain(text: str, limit: int = 150) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mrkdwn(answer: Answer) -> str:
    """The answer as Slack mrkdwn: escaped, bold converted, and each [n] linked to its moment."""
    text = escape(answer.text)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    urls = {source.number: source.url for source in answer.sources}
    return CITATION.sub(
        lambda m: mrkdwn_link(urls[int(m.group(1))], m.group(0)) if int(m.group(1)) in urls else m.group(0), text
    )


def split_text(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at line breaks, else at spaces (links have none)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
            current = ""
        for word in re.findall(r"\S+\s*", line):
            if current and len(current) + len(word.rstrip()) > limit:
                pieces.append(current.rstrip())
                current = ""
            while len(word) > limit:
                pieces.append(word[:limit])
                word = word[limit:]
            current += word
    if current.strip():
        pieces.append(current.rstrip())
    return pieces or [""]


def _source_element(source: Source) -> dict[str, str]:
    speaker = f" — {escape(source.speaker)}" if source.speaker else ""
    page = f" · {mrkdwn_link(source.page, 'episode page')}" if source.page else ""
    return {
        "type": "mrkdwn",
        "text": f"{mrkdwn_link(source.url, '▶ ' + source.time)} · {escape(source.episode_title)}{speaker}{page}",
    }


def answer_messages(answer: Answer, answer_id: str | None = None, asked_by: str | None = None) -> list[SlackMessage]:
    """One or more messages (more only when an answer exceeds 50 blocks) for `answer`."""
    head: list[dict[str, Any]] = []
    if asked_by:
        head.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<@{asked_by}> asked: {escape(plain(answer.question, 300))}"}],
            }
        )
    body = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in split_text(_mrkdwn(answer)) if piece
    ]
    tail: list[dict[str, Any]] = []
    if answer.note:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{escape(answer.note)}_"}]})
    if answer.sources:
        elements = [{"type": "mrkdwn", "text": "*Sources*"}] + [
            _source_element(s) for s in answer.sources[:MAX_SOURCES]
        ]
        tail.append({"type": "context", "elements": elements})
    if answer_id and answer.mode != "not_found":
        tail.append(
            {
                "type": "actions",
                "block_id": "feedback",
                "elements": [
                    {
                        "type": "button",
                        "action_id": FEEDBACK_UP,
                        "value": answer_id,
                        "text": {"type": "plain_text", "text": "👍 Helpful"},
                    },
                    {
                        "type": "button",
                        "action_id": FEEDBACK_DOWN,
                        "value": answer_id,
                        "text": {"type": "plain_text", "text": "👎 Not helpful"},
                    },
                ],
            }
        )
    blocks = head + body + tail
    fallback_text = escape(plain(answer.text, MAX_FALLBACK_CHARS))
    messages = [
        SlackMessage(fallback_text, blocks[start : start + MAX_BLOCKS]) for start in range(0, len(blocks), MAX_BLOCKS)
    ]
    for n, message in enumerate(messages[1:], start=2):
        message.text = f"(continued, part {n} of {len(messages)})"
    return messages


def notice(text: str) -> SlackMessage:
    """A short message of our own words (already safe), as text and a single section."""
    return SlackMessage(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])

"""Slack messages for answers, as typed Block Kit (`slack_sdk.models.blocks`), within Slack's limits.

Content is escaped by `bot.slack.text` before it goes into a block, and mrkdwn text objects are
`verbatim`, so Slack does not turn names or URLs in it into mentions or links either. Sections hold
at most 3,000 characters and a message at most 50 blocks; a longer answer continues in more messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slack_sdk.models.blocks import (
    Block,
    ContextActionsBlock,
    ContextBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.text import cited_mrkdwn, escape, mrkdwn_link, plain
from retrieval import Answer, Source, keep_source_links

MAX_SECTION_CHARS = 3000
MAX_BLOCKS = 50
MAX_SOURCES = 5
MAX_FALLBACK_CHARS = 3000
FEEDBACK = "feedback"
# Answers posted before the feedback_buttons element carried two buttons with these action ids.
LEGACY_FEEDBACK = {"feedback_up": "up", "feedback_down": "down"}
THINKING = "Looking that up… :hourglass_flowing_sand:"
APOLOGY = "Sorry, something went wrong while I was looking that up. Please try again in a minute."
USAGE = (
    "Ask me about the DataTalks.Club podcast, for example:\n"
    "• `/ask How did DataTalks.Club start?`\n"
    "• mention me in a channel: `@podcast-bot what did Alexey say about freelancing?` (follow-ups in the thread work)\n"
    "• or send me a direct message.\n"
    "Every answer links to the second of the episode where it was said."
)


@dataclass
class SlackMessage:
    text: str
    blocks: list[Block] = field(default_factory=list)


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object that Slack shows as written: no automatic links or mentions."""
    return MarkdownTextObject(text=text, verbatim=True)


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


def source_line(source: Source) -> str:
    speaker = f" — {escape(source.speaker)}" if source.speaker else ""
    page = f" · {mrkdwn_link(source.page, 'episode page')}" if source.page else ""
    return f"{mrkdwn_link(source.url, '▶ ' + source.time)} · {escape(source.episode_title)}{speaker}{page}"


def feedback_block(answer_id: str) -> ContextActionsBlock:
    """Slack's own 👍/👎 buttons; the clicked one's value says the vote and the answer."""
    return ContextActionsBlock(
        elements=[
            FeedbackButtonsElement(
                action_id=FEEDBACK,
                positive_button=FeedbackButtonObject(text="👍", accessibility_label="Helpful", value=f"up:{answer_id}"),
                negative_button=FeedbackButtonObject(
                    text="👎", accessibility_label="Not helpful", value=f"down:{answer_id}"
                ),
            )
        ]
    )


def parse_vote(action_id: str, value: str) -> tuple[str, str] | None:
    """(vote, answer id) from a click on the feedback buttons (or the legacy buttons); None if malformed."""
    if action_id in LEGACY_FEEDBACK:
        return (LEGACY_FEEDBACK[action_id], value) if value else None
    vote, _, answer_id = value.partition(":")
    return (vote, answer_id) if vote in ("up", "down") and answer_id else None


def answer_tail(answer: Answer, answer_id: str | None) -> list[Block]:
    """What follows an answer's text: its note, its sources and the feedback buttons (when it was stored)."""
    tail: list[Block] = []
    if answer.note:
        tail.append(ContextBlock(elements=[mrkdwn(f"_{escape(answer.note)}_")]))
    if answer.sources:
        lines = [source_line(s) for s in answer.sources[:MAX_SOURCES]]
        tail.append(ContextBlock(elements=[mrkdwn("*Sources*"), *(mrkdwn(line) for line in lines)]))
    if answer_id and answer.mode not in ("not_found", "clarify"):
        tail.append(feedback_block(answer_id))
    return tail


def answer_messages(answer: Answer, answer_id: str | None = None, asked_by: str | None = None) -> list[SlackMessage]:
    """One or more messages (more only when an answer exceeds 50 blocks) for `answer`."""
    head: list[Block] = []
    if asked_by:
        head.append(ContextBlock(elements=[mrkdwn(f"<@{asked_by}> asked: {escape(plain(answer.question, 300))}")]))
    urls = {source.number: source.url for source in answer.sources}
    # Every answer, quotes too: a transcript's URL is no more ours than a model's.
    shown = keep_source_links(answer.text, urls.values())
    text = cited_mrkdwn(shown, urls)
    body: list[Block] = [SectionBlock(text=mrkdwn(piece)) for piece in split_text(text) if piece]
    blocks = head + body + answer_tail(answer, answer_id)
    fallback_text = escape(plain(shown, MAX_FALLBACK_CHARS))
    messages = [
        SlackMessage(fallback_text, blocks[start : start + MAX_BLOCKS]) for start in range(0, len(blocks), MAX_BLOCKS)
    ]
    for n, message in enumerate(messages[1:], start=2):
        message.text = f"(continued, part {n} of {len(messages)})"
    return messages


def notice(text: str) -> SlackMessage:
    """A short message of our own words (already safe), as text and a single section."""
    return SlackMessage(text, [SectionBlock(text=mrkdwn(text))])

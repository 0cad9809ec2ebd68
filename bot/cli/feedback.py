"""`podcast-bot feedback`: what people thought of the answers, from the configured state store (the
SQLite file or the PostgreSQL database the Slack app uses): how many 👍 and 👎, and every answer
someone marked 👎 with its question, its text and its sources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.cli.terminal import snippet
from bot.env_values import period_seconds
from bot.state import FeedbackVote
from retrieval import UsageError, timestamp

ANSWER_CHARS = 400


def parse_since(text: str, now: float) -> float | None:
    """The start of the period: `7d` (also m, h, w: minutes, hours, weeks), a date (`2026-11-01`), or
    `all` (None: from the beginning)."""
    text = text.strip().lower()
    if text == "all":
        return None
    period = period_seconds(text)
    if period is not None:
        return now - period
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise UsageError("--since takes a period such as 7d, 12h or 2w, a date such as 2026-11-01, or all") from None


@dataclass(frozen=True)
class DislikedAnswer:
    """An answer with at least one 👎, as it was given."""

    answer_id: str
    question: str
    answer: str
    mode: str
    channel: str
    sources: list[dict[str, Any]]
    down: int
    up: int
    last_vote_at: float


@dataclass(frozen=True)
class FeedbackReport:
    since: float | None
    up: int
    down: int
    answers: int  # answers with at least one vote
    disliked: list[DislikedAnswer]  # the most recently disliked first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"since": _iso(self.since) if self.since is not None else None}


def feedback_report(votes: Sequence[FeedbackVote], since: float | None) -> FeedbackReport:
    by_answer: dict[str, list[FeedbackVote]] = {}
    for vote in votes:
        by_answer.setdefault(vote.answer_id, []).append(vote)
    disliked = [
        DislikedAnswer(
            answer_id=answer_id,
            question=cast[0].question,
            answer=cast[0].answer,
            mode=cast[0].mode,
            channel=cast[0].channel,
            sources=cast[0].sources,
            down=sum(v.vote == "down" for v in cast),
            up=sum(v.vote == "up" for v in cast),
            last_vote_at=max(v.created_at for v in cast if v.vote == "down"),
        )
        for answer_id, cast in by_answer.items()
        if any(v.vote == "down" for v in cast)
    ]
    disliked.sort(key=lambda answer: answer.last_vote_at, reverse=True)
    up = sum(v.vote == "up" for v in votes)
    return FeedbackReport(since, up, len(votes) - up, len(by_answer), disliked)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _source_line(source: dict[str, Any]) -> str:
    when = timestamp(int(source.get("start_sec", 0)))
    speaker = f" — {source['speaker']}" if source.get("speaker") else ""
    title, url = source.get("episode_title", ""), source.get("url", "")
    return f"    [{source.get('number', '?')}] ▶ {when} {title}{speaker}  {url}"


def format_report(report: FeedbackReport) -> str:
    period = f"since {_iso(report.since)}" if report.since is not None else "of all time"
    lines = [
        f"Feedback {period}: {report.up + report.down} votes on {report.answers} answers — "
        f"👍 {report.up}, 👎 {report.down}"
    ]
    for answer in report.disliked:
        where = f" · {answer.channel}" if answer.channel else ""
        lines += [
            "",
            f"👎 {answer.down} (👍 {answer.up}) · last {_iso(answer.last_vote_at)}{where} · {answer.mode}",
            f"  Q: {snippet(answer.question, 300)}",
            f"  A: {snippet(answer.answer, ANSWER_CHARS)}",
        ]
        lines += ["  Sources:", *map(_source_line, answer.sources)] if answer.sources else ["  Sources: none"]
    return "\n".join(lines)

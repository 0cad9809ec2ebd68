"""What every state store offers the Slack app, whichever database holds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from retrieval import PodcastBotError

if TYPE_CHECKING:
    from retrieval import Answer

CLAIM_SECONDS = 3600  # how long a claimed key is remembered: Slack retries an event for minutes, not hours
RATE_WINDOW_SECONDS = 60


class StateUnavailableError(PodcastBotError):
    """The state store cannot be reached or did not answer in time; the message names where it is
    (never its password). At start-up this stops the app with exit code 2 (`bot.exit_codes`)."""


@dataclass(frozen=True)
class FeedbackVote:
    """One 👍/👎 on an answer, with what was asked and answered."""

    answer_id: str
    question: str
    answer: str
    mode: str
    sources: list[dict[str, Any]]
    channel: str
    user_id: str
    vote: str  # "up" or "down"
    created_at: float  # seconds since the epoch


class StateStore(Protocol):
    """The Slack app's shared state: claimed deliveries, per-user rate limits, answers and feedback,
    and per-team streaming support. Failures raise StateUnavailableError."""

    def claim(self, key: str) -> bool:
        """True the first time `key` (`event:<event_id>`, `ask:<trigger_id>`) is seen by any process
        sharing this store within an hour; False for a repeat."""
        ...

    def allow_question(self, user_id: str, per_minute: int) -> bool:
        """Count a question by `user_id` unless they already asked `per_minute` in the last minute
        (0 or less: no limit)."""
        ...

    def record_answer(self, answer: Answer, user_id: str, channel: str) -> str:
        """Keep an answer so that feedback on it is stored with its question and sources; its id."""
        ...

    def record_feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        """Store (or change) a user's vote on an answer; False when the answer is unknown."""
        ...

    def feedback(self, since: float | None = None) -> list[FeedbackVote]:
        """Every vote (cast or changed at or after `since`), oldest first."""
        ...

    def streaming_supported(self, team_id: str) -> bool | None:
        """Whether Slack's chat streaming worked in this team, or None when not yet known."""
        ...

    def remember_streaming(self, team_id: str, supported: bool) -> None:
        """Remember whether Slack's chat streaming works in this team."""
        ...

    def check(self) -> str:
        """What was checked, for `podcast-bot doctor` (where the store is, its schema version)."""
        ...

    def close(self) -> None: ...

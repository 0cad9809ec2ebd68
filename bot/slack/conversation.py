"""The conversation service behind every Slack surface: guards, deadlines, history and answering.

Listeners (`bot.slack.listeners`) ack, then hand a question here with an `Origin`: where it was asked
and how to reply there (`bot.slack.replies`, `bot.slack.threads`). This module imports no Slack type.

Each event and each command is answered once: its key is claimed in the state store before
answering, so Slack's retries and replayed requests are acked but not answered again, whichever
process they reach. Then the channel allow-list, the loading message and the per-user rate limit
may refuse it. An answer races its deadline, counted from the ack: whichever settles the `Reply`
first (the answer, or the apology at the deadline) is what the asker sees. A question still waiting
for an answering thread when its deadline passed is not answered at all: its asker has the apology,
and the threads go to questions that can still be answered in time.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from bot.config import Settings
from bot.runtime import UPDATING, Runtime
from bot.slack.deadlines import Deadlines
from bot.slack.in_flight import InFlight
from bot.state import ResilientState, StateUnavailableError
from retrieval import Answer, EpisodeRecord, IndexBusyError, PodcastBotError, Source, StoreError

log = logging.getLogger(__name__)

QUICK_THREADS = 8  # Slack calls and short reads after the ack (answers have threads of their own)
History = list[tuple[str, str]]  # (role, text), oldest first


class ReplyClosed(Exception):
    """The reply was settled (its deadline passed) while the answer was still being written."""


class Reply(Protocol):
    """One answer's way to the asker, with exactly one outcome: the answer, or an apology."""

    @property
    def settled(self) -> bool: ...

    @property
    def streaming(self) -> bool:
        """Whether the answer is written into the reply as the model writes it."""
        ...

    def searching(self, episodes: int) -> None:
        """Show that `episodes` are being searched, where the reply shows progress."""

    def title(self, question: str) -> None:
        """Name the conversation after its first question, where it has a name."""

    def cite(self, sources: Sequence[Source]) -> None:
        """The numbered moments a streamed answer will cite."""

    def write(self, piece: str) -> None:
        """The model's next piece of text; ReplyClosed once the reply was settled."""

    def finish(self, answer: Answer, answer_id: str | None) -> bool: ...

    def apologise(self, text: str | None = None) -> bool:
        """An apology (or `text` in place of the answer), unless the reply was settled before."""
        ...


class Origin(Protocol):
    """Where a question was asked, and how to reply there."""

    @property
    def user(self) -> str: ...

    @property
    def channel(self) -> str: ...

    def usage(self) -> None:
        """Say how to ask (the question was empty)."""

    def notice(self, text: str) -> None:
        """Say `text` in place of an answer (a refusal)."""

    def open_reply(self) -> Reply:
        """Show at once that an answer is coming; the reply it will go into."""
        ...

    def history(self) -> History:
        """The conversation before this question (may read it from Slack: called after the ack)."""
        ...


class Conversations:
    """Answers questions from any Slack surface, each once, in time or with an apology."""

    def __init__(self, settings: Settings, runtime: Runtime, state: ResilientState):
        self.settings = settings
        self.runtime = runtime
        self.state = state
        self.in_flight = InFlight(quick_threads=QUICK_THREADS, answer_threads=settings.slack.answer_threads)
        self.deadlines = Deadlines()

    @property
    def model_streams(self) -> bool:
        """Whether the model writes its answers piece by piece (then replies stream where Slack can)."""
        return self.settings.llm.enabled and self.settings.llm.streaming

    # Guards ---------------------------------------------------------------------------------

    def first_delivery(self, event_id: str | None) -> bool:
        """False for a Slack retry of an event already taken (same event_id) by any process."""
        return not event_id or self.state.claim(f"event:{event_id}")

    def first_command(self, trigger_id: str | None) -> bool:
        """False for a replay of a slash command already taken (same trigger_id) by any process."""
        return not trigger_id or self.state.claim(f"ask:{trigger_id}")

    def refusal(self, user: str, channel: str) -> str | None:
        """Why this question is not answered now, or None when it is."""
        allowed = self.settings.slack.allowed_channels
        if allowed and not channel.startswith("D") and channel not in allowed:
            return "I only answer questions in a few channels here; send me a direct message instead."
        loading = self.runtime.loading_message()
        if loading:
            return loading  # before the rate limit: a question that could not be answered does not count
        limit = self.settings.slack.rate_limit_per_minute
        if not self.state.allow_question(user, limit):
            return (
                f"You're asking faster than I can look things up: up to {limit} questions a minute. "
                "Please try again shortly."
            )
        return None

    # Questions ------------------------------------------------------------------------------

    def ask_in_thread(self, *, origin: Origin, question: str, event_id: str | None, received_at: float) -> None:
        """A mention or a direct message (`event_id` its delivery), answered after the ack; `received_at`
        (time.monotonic() at the ack) starts its deadline."""

        def first() -> bool:
            return self.first_delivery(event_id)

        self.after_ack(lambda: self._ask(origin=origin, question=question, received_at=received_at, first=first))

    def ask_by_command(self, *, origin: Origin, question: str, trigger_id: str | None, received_at: float) -> None:
        """`/ask question` (not empty: the ack showed the usage), answered after the ack."""

        def first() -> bool:
            if self.first_command(trigger_id):
                return True
            log.info("a repeated /ask (trigger %s) was acknowledged, not answered again", trigger_id)
            return False

        self.after_ack(lambda: self._ask(origin=origin, question=question, received_at=received_at, first=first))

    def _ask(self, *, origin: Origin, question: str, received_at: float, first: Callable[[], bool]) -> None:
        if not first():
            return
        if not question:
            origin.usage()
            return
        refusal = self.refusal(origin.user, origin.channel)
        if refusal:
            origin.notice(refusal)
            return
        reply = origin.open_reply()
        deadline = received_at + self.settings.slack.answer_deadline
        self.deadlines.at(deadline, lambda: self.after_ack(reply.apologise))
        self.in_flight.answer(
            lambda: self._answer_for(origin=origin, reply=reply, question=question, deadline=deadline)
        )

    def _answer_for(self, *, origin: Origin, reply: Reply, question: str, deadline: float) -> None:
        """On an answering thread: the answer (streamed when the reply streams), else an apology."""
        if time.monotonic() >= deadline or reply.settled:
            log.info("a question waited past its deadline for an answering thread; it got the apology")
            return
        history = origin.history()
        if not any(role == "user" for role, _ in history):
            reply.title(question)
        try:
            answer = self._answer(reply, question, history)
        except IndexBusyError:  # another process began writing the index after the question came
            reply.apologise(UPDATING)
            return
        if answer is None:
            reply.apologise()
            return
        if reply.settled:
            log.info("an answer came after its deadline and was dropped")
            return
        try:
            answer_id: str | None = self.state.record_answer(answer, origin.user, origin.channel)
        except StateUnavailableError:
            answer_id = None  # the store logs its outage; the answer goes out without feedback buttons
        reply.finish(answer, answer_id)

    def _answer(self, reply: Reply, question: str, history: History) -> Answer | None:
        """The answer, or None after logging the failure (or when the deadline passed while streaming).
        The one place that calls the answerer."""
        try:
            answerer = self.runtime.answerer
            reply.searching(len(self.runtime.searcher.corpus.episodes))
            if reply.streaming:
                with contextlib.closing(answerer.stream(question, history, on_sources=reply.cite)) as stream:
                    for piece in stream:
                        reply.write(piece)
                return stream.answer
            return answerer.answer(question, history=history)
        except ReplyClosed:
            log.info("the deadline passed while an answer was being streamed")
        except IndexBusyError:
            raise
        except StoreError:
            log.exception("the index is unavailable; will reconnect on the next question")
            self.runtime.reset_index()
        except Exception:
            log.exception("answering %r failed", question)
        return None

    # Everything else after the ack --------------------------------------------------------------

    def after_ack(self, work: Callable[[], object]) -> None:
        """Slack calls and short reads, after the ack."""
        self.in_flight.quick(work)

    def once(self, event_id: str | None, work: Callable[[], object]) -> None:
        """`work` after the ack, unless this event was delivered before."""
        self.after_ack(lambda: self.first_delivery(event_id) and work())

    def episodes(self) -> Mapping[str, EpisodeRecord]:
        """The episodes the index holds now; none (logged) when it cannot be read."""
        try:
            return self.runtime.searcher.corpus.episodes
        except PodcastBotError as error:
            log.warning("the index cannot be read: %s", error)
            return {}

    def store_vote(self, answer_id: str, user: str, vote: str) -> str:
        """Store a 👍/👎; what to tell the user about it."""
        try:
            stored = self.state.record_feedback(answer_id, user, vote)
        except StateUnavailableError:
            return "Sorry, I can't save feedback right now. Please try again in a few minutes."
        if stored:
            return "Thanks for the feedback!"
        return "Sorry, I no longer know that answer, so I couldn't save your feedback."

    def close(self, timeout: float = 20.0) -> None:
        """Finish the work in flight (up to `timeout` seconds, within gunicorn's 30 s for a graceful
        stop), then release the threads and the state store."""
        self.deadlines.close()
        if not self.in_flight.wait_until_idle(timeout):
            log.warning("stopping with answers still in flight after %.0f s", timeout)
        self.in_flight.close()
        self.state.close()

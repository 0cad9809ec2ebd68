"""The state store as the Slack app uses it: acks never wait on the database, and the app never stops
because the database did.

Every claim is first made in this process's memory, so one process never answers a delivery twice,
then in the shared store, which decides across processes. When the store fails (unreachable,
locked, or slower than its short timeouts), the app carries on from memory: claims and rate limits
hold per process, answers are posted without feedback buttons and clicks get an apology. A warning
is logged when that starts and at most once a minute while it lasts. A background thread checks
the store every second; once it answers, the keys claimed meanwhile are written to it (so a Slack
retry reaching another process later is still answered once) and the app uses it again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from bot.state.memory import MAX_CLAIMS, InProcessState
from bot.state.store import FeedbackVote, StateStore, StateUnavailableError

if TYPE_CHECKING:
    from retrieval import Answer

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
WARN_SECONDS = 60.0

P = ParamSpec("P")
T = TypeVar("T")


class ResilientState:
    """A StateStore that falls back to InProcessState while `store` is unavailable, and recovers by itself."""

    def __init__(
        self,
        store: StateStore,
        *,
        retry_seconds: float = RETRY_SECONDS,
        warn_seconds: float = WARN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._store = store
        self._memory = InProcessState(clock=clock)
        self._retry_seconds = retry_seconds
        self._warn_seconds = warn_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._available = threading.Event()
        self._available.set()
        self._closing = threading.Event()
        self._recovery: threading.Thread | None = None
        self._problem = ""
        self._last_warning = 0.0
        # Keys claimed only in memory during an outage, written to the store when it is back.
        self._unrecorded: deque[str] = deque(maxlen=MAX_CLAIMS)

    @property
    def problem(self) -> str | None:
        """Why the shared store is not in use right now, or None while it is."""
        return None if self._available.is_set() else self._problem

    def wait_until_available(self, timeout: float) -> bool:
        """True once the shared store is in use (again); False if `timeout` seconds pass first."""
        return self._available.wait(timeout)

    # Falling back and recovering ---------------------------------------------------------------

    def _shared(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`operation` on the shared store; StateUnavailableError at once while it is known to be down."""
        if not self._available.is_set():
            self._warn_if_due()
            raise StateUnavailableError(self._problem)
        try:
            return operation(*args, **kwargs)
        except StateUnavailableError as error:
            self._became_unavailable(error)
            raise

    def _became_unavailable(self, error: StateUnavailableError) -> None:
        with self._lock:
            if not self._available.is_set():
                return
            self._available.clear()
            self._problem = str(error)
            self._last_warning = self._clock()
        log.warning(
            "the state store is unavailable (%s); until it is back, claims and rate limits are kept per process "
            "(a Slack retry reaching another process may be answered again) and feedback is not saved",
            error,
        )
        self._recovery = threading.Thread(target=self._recover, name="state-recovery", daemon=True)
        self._recovery.start()

    def _warn_if_due(self) -> None:
        with self._lock:
            if self._clock() - self._last_warning < self._warn_seconds:
                return
            self._last_warning = self._clock()
        log.warning("the state store is still unavailable: %s", self._problem)

    def _recover(self) -> None:
        """Check the store every `retry_seconds` until it answers and has taken the outage's claims."""
        while not self._closing.wait(self._retry_seconds):
            try:
                self._store.check()
                self._resume()
            except StateUnavailableError as error:
                self._problem = str(error)
                self._warn_if_due()
                continue
            return

    def _resume(self) -> None:
        """Write the claims made during the outage, then use the store again."""
        written = 0
        while True:
            with self._lock:
                if not self._unrecorded:
                    # Said before the store is used again, so that a new outage's warning always follows it.
                    log.warning("the state store is available again; claims made meanwhile written to it: %d", written)
                    self._available.set()
                    return
                batch = list(self._unrecorded)
                self._unrecorded.clear()
            for n, key in enumerate(batch):
                try:
                    self._store.claim(key)
                except StateUnavailableError:
                    with self._lock:
                        self._unrecorded.extendleft(reversed(batch[n:]))
                    raise
                written += 1

    def _claimed_in_memory_only(self, key: str) -> None:
        while True:
            with self._lock:
                if not self._available.is_set():
                    self._unrecorded.append(key)
                    return
            # The store came back between the failed claim and now: record the key directly.
            with contextlib.suppress(StateUnavailableError):
                self._shared(self._store.claim, key)
                return

    # The StateStore operations -----------------------------------------------------------------

    def claim(self, key: str) -> bool:
        if not self._memory.claim(key):
            return False
        try:
            return self._shared(self._store.claim, key)
        except StateUnavailableError:
            self._claimed_in_memory_only(key)
            return True

    def allow_question(self, user_id: str, per_minute: int) -> bool:
        try:
            return self._shared(self._store.allow_question, user_id, per_minute)
        except StateUnavailableError:
            return self._memory.allow_question(user_id, per_minute)

    def record_answer(self, answer: Answer, user_id: str, channel: str) -> str:
        return self._shared(self._store.record_answer, answer, user_id, channel)

    def record_feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        return self._shared(self._store.record_feedback, answer_id, user_id, vote)

    def feedback(self, since: float | None = None) -> list[FeedbackVote]:
        return self._store.feedback(since)

    def streaming_supported(self, team_id: str) -> bool | None:
        try:
            return self._shared(self._store.streaming_supported, team_id)
        except StateUnavailableError:
            return self._memory.streaming_supported(team_id)

    def remember_streaming(self, team_id: str, supported: bool) -> None:
        self._memory.remember_streaming(team_id, supported)
        with contextlib.suppress(StateUnavailableError):
            self._shared(self._store.remember_streaming, team_id, supported)

    def check(self) -> str:
        return self._store.check()

    def close(self) -> None:
        self._closing.set()
        if self._recovery is not None:
            # It may be in the middle of a check; the store's own timeouts bound that.
            self._recovery.join(timeout=10)
        self._store.close()

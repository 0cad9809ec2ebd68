"""Claims, rate limits and streaming support in this process's memory, bounded in size and time.

What the Slack app keeps regardless of the shared store, so that one process never answers a
delivery twice, and what it relies on alone while that store is unavailable.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from bot.state.store import CLAIM_SECONDS, RATE_WINDOW_SECONDS

MAX_CLAIMS = 50_000  # about an hour of deliveries at 14 a second, a few MB
MAX_USERS = 10_000


class InProcessState:
    """Thread-safe; the oldest claims and least recently active users are forgotten first."""

    def __init__(
        self, max_claims: int = MAX_CLAIMS, max_users: int = MAX_USERS, clock: Callable[[], float] = time.monotonic
    ):
        self._max_claims = max_claims
        self._max_users = max_users
        self._clock = clock
        self._lock = threading.Lock()
        self._claims: OrderedDict[str, float] = OrderedDict()  # oldest claim first
        self._questions: OrderedDict[str, deque[float]] = OrderedDict()  # least recently active user first
        self._streaming: dict[str, bool] = {}

    def claim(self, key: str) -> bool:
        """True the first time `key` is seen here within an hour."""
        now = self._clock()
        with self._lock:
            while self._claims and (
                len(self._claims) >= self._max_claims or next(iter(self._claims.values())) <= now - CLAIM_SECONDS
            ):
                self._claims.popitem(last=False)
            if key in self._claims:
                return False
            self._claims[key] = now
            return True

    def allow_question(self, user_id: str, per_minute: int) -> bool:
        """Count a question by `user_id` unless they asked `per_minute` here in the last minute."""
        if per_minute <= 0:
            return True
        now = self._clock()
        with self._lock:
            asked = self._questions.pop(user_id, None) or deque()
            while asked and asked[0] <= now - RATE_WINDOW_SECONDS:
                asked.popleft()
            self._questions[user_id] = asked
            while len(self._questions) > self._max_users:
                self._questions.popitem(last=False)
            if len(asked) >= per_minute:
                return False
            asked.append(now)
            return True

    def streaming_supported(self, team_id: str) -> bool | None:
        with self._lock:
            return self._streaming.get(team_id)

    def remember_streaming(self, team_id: str, supported: bool) -> None:
        with self._lock:
            self._streaming[team_id] = supported

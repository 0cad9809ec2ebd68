"""Deadlines: actions run at a given time by one thread, however many answers are waiting.

An answer that is late gets an apology in its place (`Reply.apologise`); the deadline's action and
the answer race, and `Reply` lets only the first reach the asker, so nothing is ever cancelled here.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Deadlines:
    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()  # ties keep their order, and actions are never compared
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
        self._thread.start()

    def at(self, when: float, action: Callable[[], object]) -> None:
        """Run `action` at `when` (time.monotonic()). It should be quick: hand slow work to a pool."""
        with self._changed:
            heapq.heappush(self._due, (when, next(self._order), action))
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closing and (not self._due or self._due[0][0] > time.monotonic()):
                    self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)
                if self._closing:
                    return
                _, _, action = heapq.heappop(self._due)
            try:
                action()
            except Exception:
                log.exception("a deadline's action failed")

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join(timeout=5)

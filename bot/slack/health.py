"""`/healthz` from a cache: a background thread checks every two seconds and the endpoint answers with
the last result at once, so it never waits on a stalled dependency. A check still running after two
seconds (a frozen Chroma server holds it until CHROMA_TIMEOUT) counts as "unavailable" meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Status = tuple[str, dict[str, Any]]  # HTTP status line and JSON body

CHECK_EVERY = 2.0
STALLED_AFTER = 2.0
FIRST_WAIT = 0.5  # a request right after start-up waits this long for the first check
PAUSED_POLL = 0.1


class HealthMonitor:
    def __init__(
        self,
        *,
        check: Callable[[], Status],
        index_location: str,
        every: float = CHECK_EVERY,
        stalled_after: float = STALLED_AFTER,
        paused: Callable[[], bool] = lambda: False,
    ):
        """`paused`: while it says so (the index is still being built, and reported live), nothing is
        checked and no result is kept, so the first result after it is fresh."""
        self._check = check
        self._paused = paused
        self._index_location = index_location
        self._every = every
        self._stalled_after = stalled_after
        self._changed = threading.Condition()
        self._last: Status | None = None
        self._running_since: float | None = None
        self._closing = threading.Event()
        threading.Thread(target=self._run, name="health", daemon=True).start()

    def _run(self) -> None:
        while not self._closing.is_set():
            if self._paused():
                with self._changed:
                    self._last = None
                self._closing.wait(PAUSED_POLL)
                continue
            with self._changed:
                self._running_since = time.monotonic()
            try:
                status = self._check()
            except Exception as error:  # the check reports failures itself; this is a bug, but stay up
                log.exception("the health check failed")
                status = self._unavailable(f"the health check failed: {error}")
            with self._changed:
                self._last, self._running_since = status, None
                self._changed.notify_all()
            self._closing.wait(self._every)

    def _unavailable(self, error: str) -> Status:
        last = self._last[1] if self._last else {}
        body = {"status": "unavailable", "index": last.get("index", self._index_location), "error": error}
        return "503 Service Unavailable", body | {"state": last.get("state", "unknown")}

    def current(self) -> Status:
        """The last result, or "unavailable" while a check has been running for too long."""
        with self._changed:
            self._changed.wait_for(lambda: self._last is not None, FIRST_WAIT)
            running = time.monotonic() - self._running_since if self._running_since is not None else 0.0
            if running > self._stalled_after:
                return self._unavailable(f"the index has not answered for {running:.0f} s")
            if self._last is None:
                return self._unavailable("starting: the first check has not finished")
            return self._last

    def close(self) -> None:
        self._closing.set()

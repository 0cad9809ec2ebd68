"""How the library's long jobs (ingest, download) report progress to whoever shows it.

The library decides nothing about terminals: a caller that shows progress (the CLI's bar) passes a
`ShowProgress`; without one, the jobs log a line every few seconds, which is what a log file or a
platform's console needs to tell a live job from a hung one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 10.0


class ProgressBar(Protocol):
    """One job's progress as shown: advanced by each unit done, closed when the job ends."""

    def update(self, n: int) -> object: ...

    def close(self) -> None: ...


# Starts showing a job: (what, the total when known, the unit counted: "episode", "B") -> its bar.
ShowProgress = Callable[[str, int | None, str], ProgressBar]


class Progress:
    """One job's units done: shown through `show` when given; without it, a line (`describe` of the
    count) is logged every PROGRESS_SECONDS — off a terminal (a log file, a platform's console) that
    tells a live job from a hung one."""

    def __init__(
        self, show: ShowProgress | None, what: str, *, total: int | None, unit: str, describe: Callable[[int], str]
    ):
        self._bar = show(what, total, unit) if show is not None else None
        self._describe = describe
        self.count = 0
        self._logged_at = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
        elif time.monotonic() - self._logged_at >= PROGRESS_SECONDS:
            log.info("%s", self._describe(self.count))
            self._logged_at = time.monotonic()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

"""How the library's long jobs (ingest, download) report progress to whoever shows it.

The library decides nothing about terminals: a caller that shows progress (the CLI's bar) passes a
`ShowProgress`; without one, the jobs log a line every few seconds, which is what a log file or a
platform's console needs to tell a live job from a hung one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class ProgressBar(Protocol):
    """One job's progress as shown: advanced by each unit done, closed when the job ends."""

    def update(self, n: int) -> object: ...

    def close(self) -> None: ...


# Starts showing a job: (what, the total when known, the unit counted: "episode", "B") -> its bar.
ShowProgress = Callable[[str, int | None, str], ProgressBar]

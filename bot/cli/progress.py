"""Progress bars on the terminal (tqdm on stderr) for the library's long jobs, when stderr is one."""

from __future__ import annotations

import sys

from retrieval import ProgressBar, ShowProgress


def terminal_progress() -> ShowProgress | None:
    """A bar per job on stderr when it is a terminal; else None, so the jobs log a line now and then."""
    stream = sys.stderr
    if not stream.isatty():
        return None

    def show(what: str, total: int | None, unit: str) -> ProgressBar:
        from tqdm import tqdm  # loaded by the commands that run a long job, not by every command

        return tqdm(total=total, desc=what, unit=unit, unit_scale=unit == "B", file=stream)

    return show

"""How far the serving process has got with its index, for the "still loading" answer and `/healthz`."""

from __future__ import annotations

import threading
from collections.abc import Callable

STARTING = "starting"  # opening the index
DOWNLOADING = "downloading"  # fetching the site for an empty index
BUILDING = "building"  # ingesting into an empty index
READY = "ready"  # answering from the index (a sync may still run in the background)


class Loading:
    """The phase of the background work on the index, shared between threads."""

    def __init__(self, phase: str = READY):
        self._phase = phase
        self._total: int | None = None
        self._changed = threading.Condition()

    def set(self, phase: str, total: int | None = None) -> None:
        with self._changed:
            self._phase, self._total = phase, total
            self._changed.notify_all()

    def snapshot(self) -> tuple[str, int | None]:
        """The phase, and how many episodes are being loaded (when known)."""
        with self._changed:
            return self._phase, self._total

    def wait_until_started(self, timeout: float) -> None:
        """Wait while the index is being opened, which is quick; building is not waited for."""
        with self._changed:
            self._changed.wait_for(lambda: self._phase != STARTING, timeout)

    def message(self, loaded: Callable[[], int]) -> str | None:
        """What to say instead of an answer, or None when questions can be answered."""
        phase, total = self.snapshot()
        if phase == READY:
            return None
        if phase == DOWNLOADING:
            return "I'm still downloading the episodes; please ask again in a minute."
        if phase == BUILDING:
            of = f" of {total}" if total is not None else " so far"
            return f"I'm still loading the episodes ({loaded()}{of}); please ask again in a minute."
        return "I'm still starting up; please ask again in a minute."

"""Run an iterator on a background thread a few items ahead of the loop that consumes it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar, cast

T = TypeVar("T")
_END = object()


def prefetched(items: Iterator[T], *, depth: int, name: str) -> Iterator[T]:
    """`items`, produced on a thread of their own at most `depth` ahead: reading files and parsing
    them then overlaps the consumer's work whenever that releases the GIL (onnxruntime, Chroma).
    An exception in `items` is raised here; a consumer that stops early stops the thread too."""
    ahead: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                ahead.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it where it would have been raised
            put(_END, exc)
            return
        put(_END)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = ahead.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()

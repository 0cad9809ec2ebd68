"""The one way the Slack app runs work after Slack has its ack: one pool of threads, counting what it holds.

Why one pool of our own, not Bolt's: listeners ack in the request thread (`process_before_response`),
so Bolt's `listener_executor` would only run lazy listeners, each after a deep copy of its request
made in the request thread (slower acks), with no way to wait for them at shutdown. Here a task is
counted from `submit` until its `finally`, in this class only, so the count cannot leak and `close`
waits for exactly what is in flight.

Two kinds of task share the pool: quick ones (Slack calls, store reads, apologies) and answers (CPU
work). Quick tasks go first, and at most `answer_threads` answers run at once, so a burst of
questions never holds every thread: placeholders, apologies and feedback still go out while answers
queue. Every thread runs at a lower OS priority, so the request threads that ack Slack get the CPU
first (Linux).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

Work = Callable[[], object]


class InFlight:
    def __init__(self, *, threads: int, answer_threads: int):
        self._answer_threads = answer_threads
        self._quick: deque[Work] = deque()
        self._answers: deque[Work] = deque()
        self._answering = 0
        self._count = 0  # queued or running
        self._closing = False
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._serve, name=f"after-ack-{n}", daemon=True) for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def quick(self, work: Work) -> None:
        """Run `work` (Slack calls, short reads) soon; failures are logged, never lost silently."""
        self._submit(work, self._quick)

    def answer(self, work: Work) -> None:
        """Run `work` (answering: CPU) once one of the `answer_threads` is free, after quick work."""
        self._submit(work, self._answers)

    def _submit(self, work: Work, queue: deque[Work]) -> None:
        with self._changed:
            if self._closing:
                log.warning("work handed on after shutdown began was dropped")
                return
            queue.append(work)
            self._count += 1
            self._changed.notify()

    def _next(self) -> tuple[Work, bool] | None:
        """The next task and whether it is an answer; None once closing. Holds `_changed`."""
        while True:
            if self._closing:
                return None
            if self._quick:
                return self._quick.popleft(), False
            if self._answers and self._answering < self._answer_threads:
                self._answering += 1
                return self._answers.popleft(), True
            self._changed.wait()

    def _serve(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            with self._changed:
                task = self._next()
            if task is None:
                return
            work, answering = task
            try:
                work()
            except Exception:
                log.exception("work after the ack failed")
            finally:
                with self._changed:
                    self._count -= 1
                    self._answering -= answering
                    self._changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running; False if `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)

    def close(self) -> None:
        """Stop the threads once their current task is done; queued tasks are dropped."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()

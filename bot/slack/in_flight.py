"""The one way the Slack app runs work after Slack has its ack: one pool of threads, counting what it holds.

Why a pool of our own, not Bolt's `listener_executor`: listeners ack in the request thread
(`process_before_response`), so Bolt's executor would only run lazy listeners, each after a deep copy
of its request made in the request thread (slower acks), with no way to wait for them at shutdown.
Here a task is counted from `_submit` until its own `finally`, in this class only, so the count
cannot leak and `close` waits for exactly what is in flight.

The pool has two lanes. Quick tasks (Slack calls, store reads, apologies) have threads of their own,
so placeholders, apologies and feedback go out at once however many answers are queued. Answers (CPU
work) run on `answer_threads` threads at a lower OS priority (Linux), so the request threads that ack
Slack get the CPU first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

from retrieval import release_freed_memory

log = logging.getLogger(__name__)

Work = Callable[[], object]


class _Lane:
    def __init__(self, lock: threading.Lock):
        self.queue: deque[Work] = deque()
        self.ready = threading.Condition(lock)


class InFlight:
    def __init__(self, *, quick_threads: int, answer_threads: int):
        lock = threading.Lock()
        self._quick = _Lane(lock)
        self._answers = _Lane(lock)
        self._changed = threading.Condition(lock)  # the count went down, or closing began
        self._count = 0  # queued or running
        self._closing = False
        lanes = [(self._quick, False)] * quick_threads + [(self._answers, True)] * answer_threads
        for n, (lane, lower) in enumerate(lanes):
            threading.Thread(target=self._serve, args=(lane, lower), name=f"after-ack-{n}", daemon=True).start()

    def quick(self, work: Work) -> None:
        """Run `work` (Slack calls, short reads) at once; failures are logged, never lost silently."""
        self._submit(work, self._quick)

    def answer(self, work: Work) -> None:
        """Run `work` (answering: CPU) when an answering thread is free; failures are logged."""
        self._submit(work, self._answers)

    def _submit(self, work: Work, lane: _Lane) -> None:
        with self._changed:
            if self._closing:
                log.warning("work handed on after shutdown began was dropped")
                return
            lane.queue.append(work)
            self._count += 1
            lane.ready.notify()

    def _serve(self, lane: _Lane, lower_priority: bool) -> None:
        if lower_priority:
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            with lane.ready:
                lane.ready.wait_for(lambda: self._closing or bool(lane.queue))
                if self._closing:
                    return
                work = lane.queue.popleft()
            try:
                work()
            except Exception:
                log.exception("work after the ack failed")
            finally:
                with self._changed:
                    self._count -= 1
                    idle = self._count == 0
                    self._changed.notify_all()
                if idle:
                    # Between bursts, the memory answers freed goes back to the OS instead of keeping
                    # the worker at its peak (~12 MB after 100 answers); no one waits on it then.
                    release_freed_memory()

    def wait_until_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running; False if `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)

    def close(self) -> None:
        """Stop the threads once their current task is done; queued tasks are dropped."""
        with self._changed:
            self._closing = True
            self._quick.ready.notify_all()
            self._answers.ready.notify_all()

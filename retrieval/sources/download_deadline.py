"""Deadlines on a download by the clock, whatever the server sends.

httpx's timeouts are per network operation: a server that sends one byte a second (of its headers
or of its body) never trips them, and a check made when data arrives comes only with the data. So a
timer shuts the download's sockets down when a deadline passes, which ends the blocked read at once
in whatever phase it is; the caller then asks `expired` why it failed. The sockets are learnt from
httpx's `trace` request extension as each connection (a redirect's included) is opened.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class DownloadDeadline:
    """Pass `trace` as the request's `trace` extension; `arm` starts (or moves) the deadline."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.expired: str | None = None  # what passed its deadline, once one has

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        connection = info["return_value"].get_extra_info("socket")
        with self._lock:
            self._sockets.append(connection)
            if self.expired:
                _shut(connection)

    def arm(self, seconds: float, reason: str) -> None:
        """From now on, give up after `seconds`, saying `reason`; replaces the deadline armed before."""
        self.cancel()
        self._timer = threading.Timer(max(0.0, seconds), self._expire, [reason])
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, reason: str) -> None:
        with self._lock:
            self.expired = reason
            for connection in self._sockets:
                _shut(connection)

    def __enter__(self) -> DownloadDeadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to wake
        connection.shutdown(socket.SHUT_RDWR)

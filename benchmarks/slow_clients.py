"""Slow clients against an HTTP server: connections that trickle a request (a header line, or a body
byte, every `interval` s) and note when the server answers and closes them. Used by
benchmarks.hostile_http and the tests of the front door's read deadline."""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Self

HEADER_TRICKLE = "headers"
BODY_TRICKLE = "body"


@dataclass
class SlowConnection:
    sock: socket.socket
    opened: float
    answer: bytes = b""
    closed_after: float | None = None  # seconds from opening to the server's close
    sent: int = 0  # trickled pieces sent


@dataclass
class SlowClients:
    """`count` connections to `host:port` trickling one piece of a POST to /slack/events every `interval` s,
    in the `variant` HEADER_TRICKLE (endless header lines) or BODY_TRICKLE (a 10 KB body, a byte at a time)."""

    host: str
    port: int
    count: int
    variant: str
    interval: float = 1.0
    connections: list[SlowConnection] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        head = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
        if self.variant == BODY_TRICKLE:
            head += b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"
        for _ in range(self.count):
            sock = socket.create_connection((self.host, self.port), timeout=5)
            sock.sendall(head)
            self.connections.append(SlowConnection(sock, time.monotonic()))
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for connection in self.connections:
            connection.sock.close()

    def wait_closed(self, timeout: float) -> bool:
        """Whether the server closed every connection within `timeout` s of its opening."""
        deadline = self.connections[0].opened + timeout
        while time.monotonic() < deadline and not self.all_closed:
            time.sleep(0.05)
        return self.all_closed

    @property
    def all_closed(self) -> bool:
        return all(connection.closed_after is not None for connection in self.connections)

    def _piece(self, connection: SlowConnection) -> bytes:
        connection.sent += 1
        return f"X-Slow-{connection.sent}: 1\r\n".encode() if self.variant == HEADER_TRICKLE else b" "

    def _trickle(self) -> None:
        next_piece = time.monotonic() + self.interval
        while not self._stop.is_set() and not self.all_closed:
            open_ones = [c for c in self.connections if c.closed_after is None]
            readable, _, _ = select.select([c.sock for c in open_ones], [], [], 0.05)
            for connection in open_ones:
                if connection.sock in readable:
                    self._receive(connection)
            if time.monotonic() >= next_piece:
                next_piece += self.interval
                for connection in open_ones:
                    if connection.closed_after is None:
                        try:
                            connection.sock.sendall(self._piece(connection))
                        except OSError:
                            connection.closed_after = time.monotonic() - connection.opened

    @staticmethod
    def _receive(connection: SlowConnection) -> None:
        try:
            data = connection.sock.recv(4096)
        except OSError:
            data = b""
        connection.answer += data
        if not data:
            connection.closed_after = time.monotonic() - connection.opened

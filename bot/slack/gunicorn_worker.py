"""gunicorn's gthread worker, with each request read whole by its event loop before a thread serves it.

The stock gthread worker hands a connection to a request thread as soon as its first byte arrives,
and that thread then blocks reading headers and body for as long as the client takes: eight clients
trickling a header line every few seconds hold all eight threads, and Slack's signed requests queue
behind them. gunicorn 27 has no request-read timeout to bound that. This worker keeps a connection
in the worker's selector (non-blocking, no thread) until its request is complete — headers and a
`Content-Length` or chunked body — and only then gives it, with the bytes read, to a thread, whose
parser then reads from that buffer only. A connection that has not sent a whole request within
`REQUEST_READ_SECONDS` of being accepted (or of sending its next request's first byte) gets 408 and is
closed; headers over `MAX_HEADER_BYTES` get 431, and a body over the front door's limit 413 (as soon as
its length is declared), so no thread ever waits on an unwanted body.

Use: `gunicorn --worker-class bot.slack.gunicorn_worker.RequestBufferingWorker …` (the Procfile and
`podcast-bot serve --http`). TLS is the platform router's job; with gunicorn's own `--certfile` the
handshake needs a thread, so such connections are served as by the stock worker.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from bot.slack.front_door import MAX_BODY_BYTES

REQUEST_READ_SECONDS = 5.0  # Slack sends a few KB at once; a client slower than this is not Slack
MAX_HEADER_BYTES = 64 * 1024  # Slack's headers take about 1 KB
RECV_BYTES = 64 * 1024
LINGER_SECONDS = 2.0  # after a refusal, as gunicorn's graceful close: time for the client to read it

WHOLE = "whole"  # a request (or enough of one for the front door to refuse it) is buffered
PARTIAL = "partial"  # more bytes are needed


def read_progress(data: bytes, max_body: int = MAX_BODY_BYTES) -> str:
    """WHOLE, PARTIAL, or the status line to refuse the request with, for the bytes received so far.

    Headers gunicorn's parser would reject (a malformed length) count as WHOLE: it answers them 400.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return "431 Request Header Fields Too Large" if len(data) > MAX_HEADER_BYTES else PARTIAL
    headers = _headers(data[:end])
    body = data[end + 4 :]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _chunked_progress(body, max_body)
    length = headers.get("content-length", "0").strip()
    if not length.isdigit():
        return WHOLE
    if int(length) > max_body:
        return "413 Content Too Large"
    return WHOLE if len(body) >= int(length) else PARTIAL


def _headers(head: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        fields[name.strip().lower()] = value
    return fields


def _chunked_progress(body: bytes, max_body: int) -> str:
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            return PARTIAL
        try:
            size = int(body[position:line_end].split(b";", 1)[0].strip(), 16)
        except ValueError:
            return WHOLE  # gunicorn's parser answers a malformed chunk size with 400
        if size == 0:
            # The last chunk: done once the (usually empty) trailer section has ended.
            return WHOLE if b"\r\n\r\n" in body[line_end:] else PARTIAL
        position = line_end + 2 + size + 2
        if position > max_body:
            return "413 Content Too Large"
        if position > len(body):
            return PARTIAL


@dataclass
class _Reading:
    """A connection whose request is still arriving; or, once `refused`, whose refusal was sent and
    whose last bytes are read and dropped until the client closes (so the refusal is not cut off)."""

    conn: Any  # gunicorn.workers.gthread.TConn
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    refused: bool = False


class RequestBufferingWorker(ThreadWorker):
    """gthread with whole-request reads in the event loop, bounded by REQUEST_READ_SECONDS."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._reading: dict[int, _Reading] = {}

    def enqueue_req(self, conn: Any) -> None:
        """Called (on the event loop) for a new connection, a kept-alive one with a new request's
        first byte, and one with a pipelined request already buffered: read its request first."""
        if self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        if not conn.initialized:
            conn.init()  # plain HTTP/1: only builds the parser, reads nothing
        reading = _Reading(conn, time.monotonic() + REQUEST_READ_SECONDS)
        reading.data += conn.parser.unreader.take_buffered()
        progress = read_progress(bytes(reading.data)) if reading.data else PARTIAL
        if progress == PARTIAL:
            self._wait(reading)
        else:  # a pipelined request, already whole
            self._settle(reading, progress)

    def _wait(self, reading: _Reading) -> None:
        reading.conn.sock.setblocking(False)
        self._reading[id(reading.conn)] = reading
        self.poller.register(reading.conn.sock, selectors.EVENT_READ, partial(self._on_readable, reading))

    def _stop_waiting(self, reading: _Reading) -> None:
        del self._reading[id(reading.conn)]
        self.poller.unregister(reading.conn.sock)

    def _on_readable(self, reading: _Reading, _sock: Any) -> None:
        try:
            chunk = reading.conn.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk and reading.refused:
            return
        if chunk:
            reading.data += chunk
            progress = read_progress(bytes(reading.data))
            if progress == PARTIAL:
                return
        self._stop_waiting(reading)
        if chunk:
            self._settle(reading, progress)
        else:  # the client went away, or closed after reading its refusal
            self._close(reading.conn)

    def _settle(self, reading: _Reading, progress: str) -> None:
        """Give a whole request to a thread, with the bytes read; or refuse it (`progress` is a status)."""
        if progress == WHOLE:
            reading.conn.sock.setblocking(True)
            reading.conn.parser.unreader.unread(bytes(reading.data))
            super().enqueue_req(reading.conn)
        else:
            self._refuse(reading, progress)

    def murder_pending(self) -> None:
        """Also answer 408 to the connections that did not send a whole request in time, and close
        refused ones that linger (the event loop calls this about once a second)."""
        super().murder_pending()
        now = time.monotonic()
        for reading in [r for r in self._reading.values() if r.deadline <= now]:
            self._stop_waiting(reading)
            if reading.refused:
                self._close(reading.conn)
            else:
                self._refuse(reading, "408 Request Timeout")

    def _refuse(self, reading: _Reading, status: str) -> None:
        if not reading.data:  # a client that sent nothing gets no answer, as from gunicorn's keep-alive timeout
            self._close(reading.conn)
            return
        self.log.warning("closed a connection after %d bytes: %s", len(reading.data), status)
        try:
            reading.conn.sock.setblocking(False)
            reading.conn.sock.send(f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".encode())
            reading.conn.sock.shutdown(socket.SHUT_WR)
        except OSError:  # the client is gone
            self._close(reading.conn)
            return
        reading.refused = True
        reading.deadline = time.monotonic() + LINGER_SECONDS
        self._wait(reading)

    def _close(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()

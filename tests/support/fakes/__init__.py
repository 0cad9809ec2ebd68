"""Real HTTP test doubles for the services podcast-bot talks to.

Each fake is a standard-library ``ThreadingHTTPServer`` bound to a free port on
127.0.0.1 and served from a daemon thread, so the real clients (``openai``,
``langchain-openai``, ``slack_sdk``, Bolt) exercise their whole request path:
URL building, headers, body encoding, HTTP/1.1 keep-alive, response parsing,
error mapping and timeouts.

* ``tests.support.fakes.openai_server.FakeOpenAI`` -- chat completions (JSON and SSE) and embeddings.
* ``tests.support.fakes.slack_server.FakeSlack`` -- Slack Web API methods and ``response_url`` posts.

This module holds the plumbing both share: ``FakeHTTPServer`` (the lifecycle and
dispatch base class), and the ``Request`` / ``Response`` values it passes to
and from a fake's ``handle`` method.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    """One HTTP request as received by a fake; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    """What a fake answers.

    A ``bytes`` body is sent with ``Content-Length``; an iterable of ``bytes`` is
    streamed with ``Transfer-Encoding: chunked``, one flushed chunk per item, so
    the connection stays reusable either way.
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=json.dumps(payload).encode(), headers=headers or {})


class FakeHTTPServer:
    """Base class: a threaded HTTP server on 127.0.0.1 whose requests go to ``handle``.

    The port is bound on construction (so URLs are known up front); requests are
    served between ``__enter__`` and ``__exit__``. A fake that must write its answers
    itself (byte by byte, or cut short) passes its own ``handler`` class, which finds
    the fake as ``self.server.fake``.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        self._httpd = _ThreadingServer(self, handler or _Handler)
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._closing = threading.Event()

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, request: Request) -> Response:
        """Answer one request; runs on the server's per-connection thread."""
        raise NotImplementedError

    def pause(self, seconds: float) -> bool:
        """Sleep inside a handler, cut short when the server closes; whether it is closing."""
        return self._closing.wait(seconds)

    def start(self) -> Self:
        """Start serving in the background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake paused handlers and release the port."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _serve(self) -> None:
        # A short poll interval keeps close(), which waits for the loop to notice, fast.
        self._httpd.serve_forever(poll_interval=0.05)


class _ThreadingServer(ThreadingHTTPServer):
    """Daemon-threaded server that keeps quiet when a client hangs up mid-answer."""

    daemon_threads = True

    def __init__(self, fake: FakeHTTPServer, handler: type[BaseHTTPRequestHandler]) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out closes its socket while the handler still
        # writes (see FakeOpenAI.delay); that is expected, not a test failure.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler that hands every request to the owning fake."""

    protocol_version = "HTTP/1.1"
    server: _ThreadingServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr logging."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        try:
            response = self.server.fake.handle(request)
        except Exception:  # e.g. a failing reply callable: surface it to the client as a 500
            response = Response(status=500, body=traceback.format_exc().encode(), content_type="text/plain")
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if isinstance(response.body, bytes):
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in response.body:
            if chunk:  # an empty chunk would end the body early
                self.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

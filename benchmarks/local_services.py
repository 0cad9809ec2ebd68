"""Stand-ins for the services the benchmarks talk to, on 127.0.0.1: a `chroma run` server, a
recorder of Slack Web API calls (enough of Slack for the app to post answers and for a benchmark
to count them; the tests have a fuller fake of their own), and GitHub's archive download with the
archive it serves (shared with the tests, which also make it fail)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

RESPONSE_URL = "response_url"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def chroma_server(path: Path, timeout: float = 30.0) -> Iterator[int]:
    """`chroma run` on a free port, storing in `path`; yields the port and stops the server after."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"chroma run did not answer on port {port} within {timeout:.0f} s")
                time.sleep(0.1)
        yield port
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


class SlackRecorder:
    """Records every Web API call (`POST /api/<method>`) and `response_url` post, answering `ok`
    with a fresh `ts`. Use as `with SlackRecorder() as slack:`; `slack.api_url` is SLACK_API_URL."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                method = RESPONSE_URL if self.path == "/response_url" else self.path.rsplit("/", 1)[-1]
                args = json.loads(body) if body.startswith("{") else dict(parse_qsl(body))
                payload = json.dumps(recorder.record(method, args)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.url}/response_url"

    def record(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        with self._lock:
            self._calls.append((method, args))
            return {"ok": True, "channel": args.get("channel"), "ts": f"1700000000.{next(self._ts):06d}"}

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [args for name, args in self._calls if name == method]

    def __enter__(self) -> SlackRecorder:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def site_pages(episodes: Mapping[str, str | bytes], people: Iterable[Path]) -> dict[str, bytes]:
    """Pages as the site's repository holds them: episodes (file name -> text) under `_podcast/`,
    guest pages under `_people/`."""
    pages = {f"_podcast/{name}": text.encode() if isinstance(text, str) else text for name, text in episodes.items()}
    pages.update((f"_people/{path.name}", path.read_bytes()) for path in people)
    return pages


def github_archive(
    pages: Mapping[str, bytes],
    commit: str,
    links: Mapping[str, str] | None = None,
    top: str = "datatalksclub.github.io-main",
) -> bytes:
    """A .tar.gz laid out like GitHub's archive of a branch: the commit in a pax header (as `git
    archive` writes it), every entry in one top folder. `pages` maps site paths (`_podcast/x.md`) to
    bytes; `links` adds symbolic links (site path -> target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": commit}) as tar:
        folders = sorted({top} | {f"{top}/{path.rsplit('/', 1)[0]}" for path in [*pages, *(links or {})]})
        for folder in folders:
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(entry)
        for path, data in pages.items():
            entry = tarfile.TarInfo(f"{top}/{path}")
            entry.size, entry.mode = len(data), 0o644
            tar.addfile(entry, io.BytesIO(data))
        for path, target in (links or {}).items():
            entry = tarfile.TarInfo(f"{top}/{path}")
            entry.type, entry.linkname = tarfile.SYMTYPE, target
            tar.addfile(entry)
    return buffer.getvalue()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout) or had read enough (an unchanged archive) hangs up mid-answer.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ArchiveServer:
    """Serves one archive at every path, as codeload.github.com does: with an ETag, and a 304 to a
    request whose If-None-Match matches it. Use as `with ArchiveServer(archive) as server:`.

    Settable at any time: `archive`; `etags` (False: no ETag, If-None-Match ignored); and, to fail
    like a real server can, `status` (answer that instead), `delay` (seconds before answering) and
    `cut_at` (close the connection after that many bytes of the archive). `requests` records each
    request's headers (lower-cased) and `statuses` the status answered.
    """

    def __init__(self, archive: bytes = b"") -> None:
        self.archive = archive
        self.etags = True
        self.status = 200
        self.delay = 0.0
        self.cut_at: int | None = None
        self.requests: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append({name.lower(): value for name, value in self.headers.items()})
                server._closing.wait(server.delay)
                archive, status = server.archive, server.status
                etag = f'"{hashlib.sha1(archive).hexdigest()}"' if server.etags else None
                if status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    status, archive = 304, b""
                server.statuses.append(status)
                body = archive if status == 200 else b"" if status == 304 else b"Not Found"
                self.send_response(status)
                self.send_header("Content-Type", "application/x-gzip" if status == 200 else "text/plain")
                if etag:
                    self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut_at if status == 200 else None
                self.wfile.write(body if cut is None else body[:cut])
                self.close_connection = cut is not None

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        """Where GitHub serves the site's main branch, on this server."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/DataTalksClub/datatalksclub.github.io/tar.gz/refs/heads/main"

    def __enter__(self) -> ArchiveServer:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

"""Stand-ins for the services the benchmarks talk to, on 127.0.0.1: a `chroma run` server and a
recorder of Slack Web API calls (enough of Slack for the app to post answers and for a benchmark
to count them; the tests have a fuller fake of their own)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
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

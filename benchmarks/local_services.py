"""Stand-ins for the services the benchmarks talk to, on 127.0.0.1: a `chroma run` server (that can be
frozen), a throwaway PostgreSQL server, a recorder of Slack Web API calls (enough of Slack for the app
to post answers and for a benchmark to count and time them; the tests have a fuller fake of their
own), an OpenAI-compatible model that streams, and GitHub's archive download with the archive it
serves. The tests use the PostgreSQL server and the archive server too (and make the archive fail)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl

import psycopg

RESPONSE_URL = "response_url"
POSTGRES_INSTALL_HINT = "install the Debian package `postgresql` (apt-get install -y postgresql)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthz(origin: str) -> dict[str, Any] | None:
    """The `GET /healthz` body of the app at `origin` (whatever its status), or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"{origin}/healthz", timeout=2) as response:
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = json.loads(error.read())
    except OSError:
        return None
    return body


@dataclass(frozen=True)
class ChromaProcess:
    port: int
    process: subprocess.Popen[bytes]

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): its port stays open, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


@contextmanager
def chroma_server(path: Path, timeout: float = 30.0) -> Iterator[ChromaProcess]:
    """`chroma run` on a free port, storing in `path`; yields it and stops the server after."""
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
        yield ChromaProcess(port, process)
    finally:
        os.kill(process.pid, signal.SIGCONT)  # a frozen server cannot act on SIGTERM
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def postgres_binaries() -> Path | None:
    """The folder of the newest installed `initdb` and `postgres` (Debian keeps them out of PATH), or None."""
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: [int(part) for part in re.findall(r"\d+", folder.parent.name)],
    )
    initdb = shutil.which("initdb")
    if initdb:
        folders.append(Path(initdb).resolve().parent)
    return next((f for f in reversed(folders) if (f / "initdb").exists() and (f / "postgres").exists()), None)


def postgres_unavailable_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None when it can."""
    if postgres_binaries() is None:
        return f"the PostgreSQL server binaries (initdb, postgres) are not installed; {POSTGRES_INSTALL_HINT}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "PostgreSQL refuses to run as root and there is no `postgres` user to run it as"
    return None


class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1 with password authentication, its data in a fresh
    temporary folder. As root (which PostgreSQL refuses) it runs as the `postgres` user.

        with PostgresServer() as server:
            url = server.create_database("bench")   # postgresql://postgres:…@127.0.0.1:PORT/bench

    `stop()` and `start()` again keep the data and the port: a database outage and its return.
    """

    def __init__(self, port: int | None = None):
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError(f"no PostgreSQL server binaries; {POSTGRES_INSTALL_HINT}")
        self.binaries = binaries
        self.port = port or free_port()
        self.password = secrets.token_hex(12)
        self.folder = Path(tempfile.mkdtemp(prefix="podcast-postgres-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; then it runs as `postgres`, which must own its folder.
        self._account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._account:
            os.chown(self.folder, self._account.pw_uid, self._account.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run_as_owner(self) -> dict[str, Any]:
        if self._account is None:
            return {}
        return {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": []}

    def _initdb(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if self._account:
            os.chown(password_file, self._account.pw_uid, self._account.pw_gid)
        command = [str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8"]
        command += ["--auth=scram-sha-256", f"--pwfile={password_file}", "--no-sync"]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, **self._run_as_owner())
        password_file.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """Create the cluster on first start, start the server, and return once it accepts connections."""
        if not self.data.exists():
            self._initdb()
        command = [str(self.binaries / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=100"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, **self._run_as_owner()
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"PostgreSQL did not accept connections on port {self.port}:\n{tail}") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server by its process id: a fast shutdown, which ends every connection at once."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def close(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout) or had read enough (an unchanged archive) hangs up mid-answer.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler that can answer JSON."""

    protocol_version = "HTTP/1.1"

    def send_json(self, payload: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _LocalServer:
    """A threaded HTTP server on a free port of 127.0.0.1, serving while used as a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _QuietServer(("127.0.0.1", 0), handler)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class SlackRecorder(_LocalServer):
    """Records every Web API call (`POST /api/<method>`) and `response_url` post, and when it arrived
    (time.perf_counter()), answering `ok` with a fresh `ts`. Use as `with SlackRecorder() as slack:`;
    `slack.api_url` is SLACK_API_URL."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, dict[str, Any], float]] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        recorder = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                method = RESPONSE_URL if self.path == "/response_url" else self.path.rsplit("/", 1)[-1]
                args = json.loads(body) if body.startswith("{") else dict(parse_qsl(body))
                self.send_json(json.dumps(recorder.record(method, args)).encode())

        super().__init__(Handler)

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.origin}/response_url"

    def record(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        with self._lock:
            self._calls.append((method, args, time.perf_counter()))
            return {"ok": True, "channel": args.get("channel"), "ts": f"1700000000.{next(self._ts):06d}"}

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [args for args, _ in self.arrivals(method)]

    def arrivals(self, method: str) -> list[tuple[dict[str, Any], float]]:
        """The calls to `method` with their arrival times, oldest first."""
        with self._lock:
            return [(args, at) for name, args, at in self._calls if name == method]


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


class _Trickle(io.BufferedIOBase):
    """A response stream that sends a byte every `seconds` (the headers too, or only what follows
    them), until the client or the server goes away."""

    def __init__(self, stream: Any, seconds: float, closing: threading.Event, headers: bool) -> None:
        super().__init__()
        self._stream, self._seconds, self._closing = stream, seconds, closing
        self._slow = headers  # the first write is the status line and headers

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        if not self._slow:
            self._slow = True
            return int(self._stream.write(data))
        for n in range(len(data)):
            if self._closing.wait(self._seconds):
                break
            try:
                self._stream.write(data[n : n + 1])
            except OSError:
                break  # the client gave up
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


class ArchiveServer(_LocalServer):
    """Serves one archive at every path, as codeload.github.com does: with an ETag, and a 304 to a
    request whose If-None-Match matches it. Use as `with ArchiveServer(archive) as server:`.

    Settable at any time: `archive`; `etags` (False: no ETag, If-None-Match ignored); and, to fail
    like a real server can, `status` (answer that instead), `delay` (seconds before answering),
    `cut_at` (close the connection after that many bytes of the archive) and `trickle` (seconds
    between the archive's bytes, sent one at a time; with `trickle_headers`, the status line and
    headers too). `requests` records each request's headers (lower-cased) and `statuses` the status
    answered.
    """

    def __init__(self, archive: bytes = b"") -> None:
        self.archive = archive
        self.etags = True
        self.status = 200
        self.delay = 0.0
        self.cut_at: int | None = None
        self.trickle = 0.0
        self.trickle_headers = False
        self.requests: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self._closing = threading.Event()
        server = self

        class Handler(_Handler):
            def do_GET(self) -> None:
                server.requests.append({name.lower(): value for name, value in self.headers.items()})
                server._closing.wait(server.delay)
                archive, status = server.archive, server.status
                etag = f'"{hashlib.sha1(archive).hexdigest()}"' if server.etags else None
                if status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    status, archive = 304, b""
                server.statuses.append(status)
                body = archive if status == 200 else b"" if status == 304 else b"Not Found"
                if server.trickle:
                    self.wfile = _Trickle(self.wfile, server.trickle, server._closing, server.trickle_headers)
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

        super().__init__(Handler)

    @property
    def url(self) -> str:
        """Where GitHub serves the site's main branch, on this server."""
        return f"{self.origin}/DataTalksClub/datatalksclub.github.io/tar.gz/refs/heads/main"

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # a delayed answer stops waiting
        super().__exit__(*exc)


class StreamingModel(_LocalServer):
    """An OpenAI-compatible chat endpoint whose answer is `reply`, streamed (SSE) word by word with
    `token_seconds` between words (the first at once) when asked to stream, else in one JSON body.
    `request_times` holds when each chat request arrived (time.perf_counter()). Use as
    `with StreamingModel(reply) as model:`; `model.base_url` is OPENAI_BASE_URL."""

    def __init__(self, reply: str, token_seconds: float = 0.02) -> None:
        self.request_times: list[float] = []
        model = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                model.request_times.append(time.perf_counter())
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not body.get("stream"):
                    message = {"role": "assistant", "content": reply}
                    self.send_json(json.dumps(_completion({"message": message, "finish_reason": "stop"})).encode())
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = re.split(r"(?<=\s)(?=\S)", reply)
                deltas = [{"role": "assistant", "content": ""}] + [{"content": word} for word in words]
                for n, delta in enumerate(deltas):
                    if n > 1:
                        time.sleep(token_seconds)
                    self._chunk(_completion({"delta": delta, "finish_reason": None}, "chat.completion.chunk"))
                self._chunk(_completion({"delta": {}, "finish_reason": "stop"}, "chat.completion.chunk"))
                self._write(b"data: [DONE]\n\n")
                self._write(b"")

            def _chunk(self, payload: dict[str, Any]) -> None:
                self._write(b"data: " + json.dumps(payload).encode() + b"\n\n")

            def _write(self, data: bytes) -> None:
                self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"


def _completion(choice: dict[str, Any], kind: str = "chat.completion") -> dict[str, Any]:
    return {"id": "chatcmpl-bench", "object": kind, "created": 0, "model": "bench", "choices": [{"index": 0, **choice}]}


def post_unread(url: str, body_size: int, headers: Mapping[str, str], fill: str = "x") -> tuple[int, float]:
    """POST a body of `body_size` bytes while reading the answer as soon as it comes, as a client must
    when a server refuses a body without reading it (the body repeats `fill`); the status and the
    seconds until it arrived."""
    address = urllib.parse.urlsplit(url)
    lines = ["POST /slack/events HTTP/1.1", f"Host: {address.hostname}", f"Content-Length: {body_size}"]
    head = "\r\n".join(lines + [f"{name}: {value}" for name, value in headers.items()]) + "\r\n\r\n"
    chunk = (fill * 65536)[:65536].encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:

        def send_body() -> None:
            sent = 0
            try:
                while sent < body_size:
                    sent += connection.send(chunk[: body_size - sent])
            except OSError:
                pass  # the server closed the connection: it will not read the rest

        started = time.perf_counter()
        connection.sendall(head.encode())
        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        response = b""
        while b"\r\n" not in response:
            data = connection.recv(4096)
            if not data:
                break
            response += data
        elapsed = time.perf_counter() - started
        with contextlib.suppress(OSError):  # the server may have closed the connection already
            connection.shutdown(socket.SHUT_RDWR)
    sender.join(timeout=5)
    return int(response.split()[1]), elapsed

"""GitHub's archive download of the site, played on 127.0.0.1, and the archives it serves: for tests
and benchmarks of `sync`, which can make it fail as a real server can."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.support.fakes import FakeHTTPServer


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
    them), until the client or the server goes away (`pause` says when the server closes)."""

    def __init__(self, stream: Any, seconds: float, pause: Callable[[float], bool], headers: bool) -> None:
        super().__init__()
        self._stream, self._seconds, self._pause = stream, seconds, pause
        self._slow = headers  # the first write is the status line and headers

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        if not self._slow:
            self._slow = True
            return int(self._stream.write(data))
        for n in range(len(data)):
            if self._pause(self._seconds):
                break
            try:
                self._stream.write(data[n : n + 1])
            except OSError:
                break  # the client gave up
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


class _ArchiveHandler(BaseHTTPRequestHandler):
    """Answers every GET with the server's archive, failing as it is told to."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: ArchiveServer = self.server.fake  # type: ignore[attr-defined]
        server.requests.append({name.lower(): value for name, value in self.headers.items()})
        server.pause(server.delay)
        archive, status = server.archive, server.status
        etag = f'"{hashlib.sha1(archive).hexdigest()}"' if server.etags else None
        if status == 200 and etag and self.headers.get("If-None-Match") == etag:
            status, archive = 304, b""
        server.statuses.append(status)
        body = archive if status == 200 else b"" if status == 304 else b"Not Found"
        if server.trickle:
            self.wfile = _Trickle(self.wfile, server.trickle, server.pause, server.trickle_headers)
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
        """Silence the default per-request stderr logging."""


class ArchiveServer(FakeHTTPServer):
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
        super().__init__(_ArchiveHandler)
        self.archive = archive
        self.etags = True
        self.status = 200
        self.delay = 0.0
        self.cut_at: int | None = None
        self.trickle = 0.0
        self.trickle_headers = False
        self.requests: list[dict[str, str]] = []
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        """Where GitHub serves the site's main branch, on this server."""
        return f"{super().url}/DataTalksClub/datatalksclub.github.io/tar.gz/refs/heads/main"

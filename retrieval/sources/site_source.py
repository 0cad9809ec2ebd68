"""Where the site comes from: GitHub's archive of a branch over HTTP, or a local archive or checkout.

Fetching is conditional. Over HTTP the ETag of the last download goes out as `If-None-Match`, and
an archive whose commit (named in its first header) is the one already synced is closed right
there; a local archive or checkout is compared by its files' sizes and times. So an unchanged
site costs one small request (or a few `stat` calls) and no parsing.
"""

from __future__ import annotations

import io
import logging
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

import httpx

from retrieval.errors import SyncError, UsageError
from retrieval.progress import Progress, ShowProgress
from retrieval.settings import DEFAULT_REPO
from retrieval.sources.download_deadline import DownloadDeadline
from retrieval.sources.site_archive import (
    DEFAULT_LIMITS,
    Limits,
    SiteFiles,
    copy_site_folder,
    folder_fingerprint,
    read_site_archive,
)
from retrieval.sources.urls import masked_url, split_credentials

log = logging.getLogger(__name__)

# However slowly the bytes trickle in, a download ends after this long (the per-read timeout alone would not).
DOWNLOAD_SECONDS = 30 * 60.0
CHUNK = 1 << 16
REF = re.compile(r"[\w.-]+(/[\w.-]+)*")
SOURCE_KINDS = "the source must be an http(s) URL of a .tar.gz archive, a local .tar.gz, or a checkout of the site"


def github_archive_url(ref: str, repo: str = DEFAULT_REPO) -> str:
    """The .tar.gz of a branch (`main`, `refs/heads/main`), tag or commit of a GitHub repository."""
    if not REF.fullmatch(ref) or ".." in ref.split("/"):
        raise UsageError(f"{ref!r} is not a branch, tag or commit name")
    return f"https://codeload.github.com/{repo}/tar.gz/{ref}"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@dataclass(frozen=True)
class SourceVersion:
    """One state of a source: where it is, the commit it was made from, and its ETag or file fingerprint."""

    source: str = ""
    commit: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Fetched:
    """The result of a fetch: the version seen, and its staged pages, or None when unchanged since the last."""

    version: SourceVersion
    files: SiteFiles | None
    bytes: int = 0


class _Download(io.RawIOBase):
    """The bytes of a download as a file object: counted, and shown by `progress` (else logged now and then)."""

    def __init__(self, chunks: Iterable[bytes], size: int | None, progress: ShowProgress | None):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        of = f" of {size / 1e6:.1f}" if size else ""
        self._shown = Progress(
            progress, "download", total=size, unit="B", describe=lambda count: f"download: {count / 1e6:.1f}{of} MB"
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return 0
            self._pending = memoryview(chunk)
            self._shown.advance(len(chunk))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    @property
    def count(self) -> int:
        """Bytes read so far."""
        return self._shown.count

    def close(self) -> None:
        self._shown.close()
        super().close()


def _read_archive(
    stream: _Download, version: SourceVersion, *, last: SourceVersion, staging: Path, limits: Limits
) -> Fetched:
    commit, files = read_site_archive(
        cast(BinaryIO, stream), version.source, staging, limits=limits, known_commit=last.commit
    )
    if files is None and commit:
        log.info("%s is still at commit %s", version.source, commit[:12])
    return Fetched(replace(version, commit=commit), files, stream.count)


def _download_error(url: str, error: Exception, *, expired: str | None, timeout: float) -> SyncError:
    """One line for whatever ended a download; a passed deadline first, as it is what shut the connection."""
    if expired:
        return SyncError(f"{url}: {expired}")
    if isinstance(error, SyncError):
        return error
    if isinstance(error, httpx.TimeoutException):
        return SyncError(f"{url}: no answer within {timeout:g} s")
    return SyncError(f"{url}: the download failed ({error})")


def _fetch_url(
    url: str,
    *,
    last: SourceVersion,
    staging: Path,
    timeout: float,
    deadline: float,
    limits: Limits,
    progress: ShowProgress | None,
) -> Fetched:
    # Shown, logged and remembered without its password, which goes out as credentials instead.
    url, (plain, auth) = masked_url(url), split_credentials(url)
    headers = {"User-Agent": "podcast-bot-sync"}
    if last.source == url and last.etag:
        headers["If-None-Match"] = last.etag
    log.info("downloading %s", url)
    started = time.monotonic()
    with DownloadDeadline() as clock:
        # The status and headers within one operation's timeout, however slowly they trickle in;
        # then the whole archive within `deadline` of the start.
        clock.arm(timeout, f"no answer within {timeout:g} s")
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=True, auth=auth) as client,
                client.stream("GET", plain, headers=headers, extensions={"trace": clock.trace}) as response,
            ):
                clock.arm(started + deadline - time.monotonic(), f"the download took longer than {deadline:g} s")
                if response.status_code == 304:
                    if "If-None-Match" not in headers:
                        # Nothing was ever downloaded that could be "not modified": a broken server or proxy.
                        raise SyncError(f"{url}: HTTP 304 Not Modified to a request that named no version")
                    return Fetched(last, None)
                if response.status_code != 200:
                    raise SyncError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())
                length = response.headers.get("Content-Length", "")
                size = int(length) if length.isdigit() else None
                version = SourceVersion(url, None, response.headers.get("ETag"))
                with _Download(response.iter_bytes(CHUNK), size, progress) as stream:
                    return _read_archive(stream, version, last=last, staging=staging, limits=limits)
        except (httpx.HTTPError, httpx.InvalidURL, SyncError) as error:
            raise _download_error(url, error, expired=clock.expired, timeout=timeout) from None


def _fetch_file(
    path: Path, *, last: SourceVersion, staging: Path, limits: Limits, progress: ShowProgress | None
) -> Fetched:
    info = path.stat()
    version = SourceVersion(str(path), None, f"{info.st_size}-{info.st_mtime_ns}")
    if last.source == version.source and last.etag == version.etag:
        return Fetched(last, None)
    try:
        with path.open("rb") as file:
            chunks = iter(partial(file.read, CHUNK), b"")
            with _Download(chunks, info.st_size, progress) as stream:
                return _read_archive(stream, version, last=last, staging=staging, limits=limits)
    except OSError as error:
        raise SyncError(f"{path}: cannot read it ({error.strerror or error})") from None


def _fetch_folder(folder: Path, *, last: SourceVersion, staging: Path, limits: Limits) -> Fetched:
    version = SourceVersion(str(folder), None, folder_fingerprint(folder))
    if last.source == version.source and last.etag == version.etag:
        return Fetched(last, None)
    try:
        files = copy_site_folder(folder, staging, limits)
    except OSError as error:
        raise SyncError(f"{folder}: cannot read it ({error.strerror or error})") from None
    return Fetched(version, files, files.bytes)


def _special_kind(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


def fetch_site(
    source: str,
    last: SourceVersion,
    staging: Path,
    *,
    timeout: float = 30.0,
    deadline: float = DOWNLOAD_SECONDS,
    limits: Limits = DEFAULT_LIMITS,
    progress: ShowProgress | None = None,
) -> Fetched:
    """Stage the site's pages from `source` (a URL of a .tar.gz, a local .tar.gz, or a checkout) in
    `staging`, unless it is unchanged since `last`. `timeout` is per network operation and for the
    response's headers, `deadline` for the whole download, in seconds; `progress` shows the bytes read."""
    if is_url(source):
        return _fetch_url(
            source, last=last, staging=staging, timeout=timeout, deadline=deadline, limits=limits, progress=progress
        )
    path = Path(source).expanduser().resolve()
    if path.is_dir():
        return _fetch_folder(path, last=last, staging=staging, limits=limits)
    if path.is_file():
        return _fetch_file(path, last=last, staging=staging, limits=limits, progress=progress)
    if path.exists():
        raise SyncError(f"{source}: is a {_special_kind(path)}, not a file or folder; {SOURCE_KINDS}")
    raise SyncError(f"{source}: no such file or folder; {SOURCE_KINDS}")

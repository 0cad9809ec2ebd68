"""Take the site's episode and guest pages out of a GitHub archive or a checkout, refusing anything unsafe.

Only `_podcast/*.md` and `_people/*.md` (one level deep, regular files, within size and count
limits) are written, into `_podcast/` and `_people/` of a staging folder; the rest of the site
(pages, images, layouts) is passed over unread, and every tar header is capped before tarfile reads
it (`retrieval/sources/tar_guard.py`). An entry whose path leaves the archive (absolute, `..`) anywhere,
or a link or device where a page would be written, makes the whole archive refused: GitHub never
serves such a thing, so nothing in it is trusted.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from retrieval.disk_space import os_error_reason
from retrieval.errors import SyncError
from retrieval.sources.tar_guard import TarGuard

EPISODES = "_podcast"
PEOPLE = "_people"
FOLDERS = (EPISODES, PEOPLE)
# The site's template for new episode pages, not an episode.
TEMPLATE = "_template.md"
# Episodes announced but not transcribed yet have nothing to answer from; they are left out rather
# than reported as broken on every sync. The key is top-level YAML, so it starts a line.
TRANSCRIPT_KEY = re.compile(rb"^transcript\s*:", re.MULTILINE)
COMMIT = re.compile(r"[0-9a-f]{40}")
MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    # The longest transcript on the site is about 0.2 MB.
    file_bytes: int = 5 * MB
    total_bytes: int = 200 * MB
    # The site has about 200 episode and a few hundred guest pages.
    pages: int = 5_000
    # Entries of any kind in the archive (pages, images, layouts); each costs tarfile some memory.
    entries: int = 50_000
    # A pax or GNU long-name header (git writes them for long paths and the commit: well under 1 kB).
    header_bytes: int = 64 << 10


DEFAULT_LIMITS = Limits()


@dataclass
class SiteFiles:
    """The pages taken from one archive or checkout, staged in `folder/_podcast` and `folder/_people`."""

    folder: Path
    episodes: int = 0
    people: int = 0
    without_transcript: int = 0
    bytes: int = 0

    @property
    def episodes_dir(self) -> Path:
        return self.folder / EPISODES

    @property
    def people_dir(self) -> Path:
        return self.folder / PEOPLE


def page_path(parts: tuple[str, ...]) -> str | None:
    """`_podcast/x.md` or `_people/x.md` when a site-relative path is a page we take, else None."""
    if len(parts) != 2 or parts[0] not in FOLDERS:
        return None
    folder, name = parts
    if not name.endswith(".md") or name.startswith(".") or (folder == EPISODES and name == TEMPLATE):
        return None
    return f"{folder}/{name}"


class _Pages:
    """Checks each page against the limits and writes the ones kept into the staging folder."""

    def __init__(self, staging: Path, limits: Limits, where: str):
        self.files = SiteFiles(staging)
        self.limits = limits
        self.where = where
        self.seen = 0
        for folder in FOLDERS:
            (staging / folder).mkdir(parents=True, exist_ok=True)

    def accept(self, path: str, *, kind: str, size: int, read: Callable[[], bytes]) -> None:
        self.seen += 1
        if self.seen > self.limits.pages:
            raise SyncError(
                f"{self.where}: more than {self.limits.pages:,} episode and guest pages "
                f"({EPISODES}/*.md, {PEOPLE}/*.md); refusing all of it"
            )
        if kind != "file":
            raise SyncError(f"{self.where}: {path} is a {kind}; only regular files are accepted")
        if size > self.limits.file_bytes:
            raise SyncError(
                f"{self.where}: {path} is {size / MB:.1f} MB, over the limit of "
                f"{self.limits.file_bytes / MB:g} MB for one page"
            )
        self.files.bytes += size
        if self.files.bytes > self.limits.total_bytes:
            raise SyncError(
                f"{self.where}: the episode and guest pages add up to more than {self.limits.total_bytes / MB:g} MB"
            )
        data = read()
        if path.startswith(EPISODES):
            if not TRANSCRIPT_KEY.search(data):
                self.files.without_transcript += 1
                return
            self.files.episodes += 1
        else:
            self.files.people += 1
        target = self.files.folder / path
        try:
            target.write_bytes(data)
        except OSError as error:
            raise SyncError(f"cannot write {target} ({os_error_reason(error)})") from None

    def finish(self) -> SiteFiles:
        if not self.files.episodes:
            raise SyncError(
                f"{self.where}: no episode pages with a transcript ({EPISODES}/*.md) in it; "
                "refusing to empty the episodes folder"
            )
        return self.files


def _kind(member: tarfile.TarInfo) -> str:
    if member.isreg():
        return "file"
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.isdir():
        return "folder"
    if member.ischr() or member.isblk():
        return "device"
    return "special file"


def _parts(name: str, where: str) -> tuple[str, ...]:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or re.match(r"[A-Za-z]:", name):
        raise SyncError(f"{where}: the archive has an entry outside its folder ({name!r}); refusing all of it")
    return path.parts


def _commit(tar: tarfile.TarFile, first: tarfile.TarInfo | None) -> str | None:
    """git archive's pax header comment, or the `<repo>-<sha>` top folder GitHub names an archive of a commit."""
    comment = tar.pax_headers.get("comment", "")
    if COMMIT.fullmatch(comment):
        return comment
    top = first.name.split("/", 1)[0] if first else ""
    suffix = top.rsplit("-", 1)[-1]
    return suffix if COMMIT.fullmatch(suffix) else None


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    file = tar.extractfile(member)
    return file.read() if file else b""


@contextmanager
def _reading(where: str, tar_stream: TarGuard) -> Iterator[None]:
    """Turn what a broken, cut-off or foreign archive raises into one SyncError saying which."""
    try:
        yield
    except gzip.BadGzipFile as error:
        if str(error).startswith("Not a gzipped file") and tar_stream.passed:
            # gzip reads on after its data ends, in case another gzip member follows.
            raise SyncError(f"{where}: the archive is corrupt: its gzip data is followed by trailing garbage") from None
        if str(error).startswith("Not a gzipped file"):
            raise SyncError(f"{where}: not a gzip-compressed tar archive ({error})") from None
        raise SyncError(f"{where}: the archive is corrupt ({error})") from None
    except EOFError:
        raise SyncError(f"{where}: the archive ends early (a truncated download?)") from None
    except (zlib.error, tarfile.TarError) as error:
        raise SyncError(f"{where}: the archive is corrupt ({error})") from None


def read_site_archive(
    stream: BinaryIO, where: str, staging: Path, *, limits: Limits = DEFAULT_LIMITS, known_commit: str | None = None
) -> tuple[str | None, SiteFiles | None]:
    """The commit of a GitHub archive of the site, and its pages staged in `staging`.

    The archive is read once, front to back. When its first header names `known_commit`, it is left
    there, unread, and no pages are returned.
    """
    compressed = gzip.GzipFile(fileobj=stream, mode="rb")
    guarded = TarGuard(compressed, where, header_bytes=limits.header_bytes, entries=limits.entries)
    with _reading(where, guarded), compressed:
        with tarfile.open(fileobj=guarded, mode="r|") as tar:
            member = tar.next()
            commit = _commit(tar, member)
            if commit and commit == known_commit:
                return commit, None
            pages = _Pages(staging, limits, where)
            while member is not None:
                # Every entry sits in the archive's top folder (`datatalksclub.github.io-<ref>/`).
                page = page_path(_parts(member.name, where)[1:])
                if page is not None:
                    pages.accept(page, kind=_kind(member), size=member.size, read=partial(_read, tar, member))
                member = tar.next()
        # Read to the end of the compressed stream: a cut-off download then fails gzip's length and CRC check.
        while compressed.read(1 << 16):
            pass
    return commit, pages.finish()


def _entry_kind(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "symbolic link"
    if entry.is_file():
        return "file"
    return "folder" if entry.is_dir() else "special file"


def _folder_pages(folder: Path) -> list[tuple[str, os.DirEntry[str]]]:
    pages: list[tuple[str, os.DirEntry[str]]] = []
    for sub in FOLDERS:
        if not (folder / sub).is_dir():
            continue
        with os.scandir(folder / sub) as entries:
            pages.extend((page, entry) for entry in entries if (page := page_path((sub, entry.name))) is not None)
    return sorted(pages, key=lambda pair: pair[0])


def copy_site_folder(folder: Path, staging: Path, limits: Limits = DEFAULT_LIMITS) -> SiteFiles:
    """The pages of a checkout of the site (a folder holding `_podcast/` and `_people/`)."""
    pages = _Pages(staging, limits, str(folder))
    for page, entry in _folder_pages(folder):
        size = entry.stat(follow_symlinks=False).st_size
        pages.accept(page, kind=_entry_kind(entry), size=size, read=Path(entry.path).read_bytes)
    return pages.finish()


def folder_fingerprint(folder: Path) -> str:
    """Changes when a page of the checkout is added, removed or rewritten; costs one `stat` per page."""
    digest = hashlib.sha256()
    for page, entry in _folder_pages(folder):
        stat = entry.stat(follow_symlinks=False)
        digest.update(f"{page}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]

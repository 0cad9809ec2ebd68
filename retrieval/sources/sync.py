"""Bring the episodes folder, the guest pages folder and the index in line with the site.

The site is fetched into a temporary folder; only when all of it has been read and checked are
the pages moved into place (each file by one rename) and the incremental ingest run. The version
synced is recorded in the index last, so a sync that is interrupted anywhere is simply redone,
and one that fails before the move leaves every file and the index as they were.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from retrieval.corpus.front_matter import MAX_FILE_BYTES
from retrieval.corpus.people import load_people
from retrieval.disk_space import os_error_reason
from retrieval.errors import EpisodeError, SyncError
from retrieval.index.embedding import Embedder
from retrieval.index.ingest import IngestReport, ingest
from retrieval.index.records import EpisodeRecord
from retrieval.index.store import SectionIndex
from retrieval.progress import ShowProgress
from retrieval.sources.site_archive import DEFAULT_LIMITS, Limits
from retrieval.sources.site_source import DOWNLOAD_SECONDS, SourceVersion, fetch_site

log = logging.getLogger(__name__)

# Called with ("download", None) when fetching starts, then ("ingest", number of episode files).
StageCallback = Callable[[str, int | None], None]


@dataclass
class SyncReport:
    source: str
    commit: str | None = None
    up_to_date: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[EpisodeError] = field(default_factory=list)
    people_updated: int = 0
    seconds: float = 0.0

    def tally(self, before: dict[str, EpisodeRecord], after: dict[str, EpisodeRecord], report: IngestReport) -> None:
        """Sort the ingest's episodes into added, changed, renamed (same bytes, new name) and removed."""
        self.added = [e for e in report.ingested if e not in before]
        self.changed = [e for e in report.ingested if e in before]
        self.removed = list(report.deleted)
        for new in list(self.added):
            old = next((o for o in self.removed if before[o].content_hash == after[new].content_hash), None)
            if old is not None:
                self.renamed.append((old, new))
                self.added.remove(new)
                self.removed.remove(old)
        self.unchanged = len(report.skipped)
        self.failed = list(report.failed)

    def summary(self) -> str:
        commit = f" (commit {self.commit[:12]})" if self.commit else ""
        if self.up_to_date:
            return f"already up to date{commit}; checked in {self.seconds:.1f} s"
        failed = f", {len(self.failed)} failed" if self.failed else ""
        return (
            f"synced{commit}: {len(self.added)} added, {len(self.changed)} changed, {len(self.renamed)} renamed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged{failed}; "
            f"{self.people_updated} guest pages updated; {self.seconds:.1f} s"
        )


def last_version(index: SectionIndex, episodes_dir: Path) -> SourceVersion:
    """What the index says was synced last; nothing when the episodes folder has no episodes to match it."""
    if not any(episodes_dir.glob("*.md")):
        return SourceVersion()
    info = index.info()
    return SourceVersion(
        info.get("synced_source", ""), info.get("synced_commit") or None, info.get("synced_etag") or None
    )


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """One sync at a time per episodes folder, across processes (an advisory lock on its parent folder)."""
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError(f"another sync is updating {folder}; try again when it has finished") from None
        yield
    finally:
        os.close(handle)


def _replace_file(target: Path, data: bytes) -> None:
    handle, part = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def install(staged: Path, target: Path) -> int:
    """Make the `.md` files of `target` exactly those of `staged`; how many were written or removed.

    A file whose bytes did not change is left alone; the others are replaced by one rename each, so a
    reader never sees half a file. Other files in `target` are not touched.
    """
    try:
        target.mkdir(parents=True, exist_ok=True)
        new = {path.name: path.read_bytes() for path in staged.glob("*.md")}
        touched = 0
        for name, data in sorted(new.items()):
            current = target / name
            if current.is_file() and not current.is_symlink() and current.read_bytes() == data:
                continue
            _replace_file(current, data)
            touched += 1
        for old in sorted(target.glob("*.md")):
            if old.name not in new:
                old.unlink()
                touched += 1
    except OSError as error:
        raise SyncError(f"cannot update {target} ({os_error_reason(error)}); run the sync again") from None
    return touched


def _record(index: SectionIndex, version: SourceVersion, synced: bool = False) -> None:
    """Remember the version in the index: `checked_at` on every sync, `synced_at` when files changed."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    times = {"checked_at": now, "synced_at": now} if synced else {"checked_at": now}
    index.set_info(
        synced_source=version.source, synced_commit=version.commit or "", synced_etag=version.etag or "", **times
    )


def _drop_superseded(index: SectionIndex, folders: Sequence[Path], synced: Path) -> list[str]:
    """Delete the episodes ingested from `folders` (other than the synced one); their ids."""
    gone = {folder.resolve() for folder in folders} - {synced.resolve()}
    dropped = [e for e, record in index.episodes().items() if Path(record.source_path).parent in gone]
    for episode_id in dropped:
        index.delete_episode(episode_id)
    return dropped


def sync_site(
    source: str,
    index: SectionIndex,
    embedder: Embedder,
    *,
    episodes_dir: Path,
    people_dir: Path,
    timeout: float = 30.0,
    deadline: float = DOWNLOAD_SECONDS,
    limits: Limits = DEFAULT_LIMITS,
    progress: ShowProgress | None = None,
    on_stage: StageCallback | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    supersedes: Sequence[Path] = (),
) -> SyncReport:
    """Fetch the site from `source` and, if it changed, update both folders and ingest the episodes.
    Episodes the index holds from the folders `supersedes` (the bundled episode, which the site has
    too) are removed from it, so that none is indexed twice. `progress` shows the download and the ingest."""
    started = time.perf_counter()
    report = SyncReport(source)
    with exclusive(episodes_dir):
        last = last_version(index, episodes_dir)
        with tempfile.TemporaryDirectory(prefix="podcast-bot-sync-") as staging:
            if on_stage:
                on_stage("download", None)
            try:
                fetched = fetch_site(
                    source, last, Path(staging), timeout=timeout, deadline=deadline, limits=limits, progress=progress
                )
            except SyncError as error:
                raise SyncError(f"{error}; the episodes and the index are unchanged") from None
            report.commit = fetched.version.commit
            if fetched.files is None:
                # Also keeps a new ETag, so that the next check is answered by a 304.
                _record(index, fetched.version)
                report.up_to_date = True
                report.seconds = time.perf_counter() - started
                return report
            files = fetched.files
            log.info(
                "fetched %d episodes (%d without a transcript left out) and %d guest pages, %.1f MB read",
                files.episodes,
                files.without_transcript,
                files.people,
                fetched.bytes / 1e6,
            )
            if on_stage:
                on_stage("ingest", files.episodes)
            report.people_updated = install(files.people_dir, people_dir)
            install(files.episodes_dir, episodes_dir)
        before = index.episodes()
        # The guest pages as they are now: names and bios of the synced episodes' guests.
        people = load_people(people_dir)
        ingested = ingest([episodes_dir], index, embedder, people=people, progress=progress, max_bytes=max_bytes)
        ingested.deleted += _drop_superseded(index, supersedes, episodes_dir)
        report.tally(before, index.episodes(), ingested)
        _record(index, fetched.version, synced=True)
    report.seconds = time.perf_counter() - started
    return report

"""Bring episode files into the index: parse, section, embed, store — incrementally.

Unchanged episodes are skipped, changed ones replaced, episodes whose file was removed from an
ingested folder are deleted. Bad files are collected and reported together at the end; the good
ones are ingested regardless.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.embedding import Embedder
from retrieval.episodes import parse_episode_file
from retrieval.errors import EpisodeError, IndexUnavailableError, StoreError
from retrieval.index import EpisodeRecord, SectionIndex
from retrieval.sections import build_sections

log = logging.getLogger(__name__)

# Bump when sectioning changes, so every episode is re-cut on the next ingest.
SECTIONING_VERSION = "3"
PROGRESS_SECONDS = 10.0


@dataclass
class IngestReport:
    ingested: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[EpisodeError] = field(default_factory=list)
    sections: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.ingested)} episodes ingested ({self.sections} sections), {len(self.skipped)} unchanged, "
            f"{len(self.deleted)} removed, {len(self.failed)} failed in {self.seconds:.1f} s"
        )


def episode_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[EpisodeError]]:
    """The `.md` files named or inside the folders named; also the folders, and paths that do not exist."""
    files: list[Path] = []
    folders: list[Path] = []
    missing: list[EpisodeError] = []
    for path in paths:
        if path.is_dir():
            folders.append(path.resolve())
            files.extend(sorted(p for p in path.glob("*.md") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(EpisodeError(path, "no such file or folder"))
    return files, folders, missing


def record_hash(content_hash: str) -> str:
    """What the manifest stores: changes with the file's bytes and with the sectioning rules."""
    return hashlib.sha256(f"{SECTIONING_VERSION}:{content_hash}".encode()).hexdigest()


def _unchanged(path: Path, known: dict[str, EpisodeRecord]) -> bool:
    """True when this very file was ingested with these bytes; checked without parsing the YAML."""
    record = known.get(path.stem)
    if record is None or record.source_path != str(path.resolve()):
        return False
    try:
        return record.content_hash == record_hash(hashlib.sha256(path.read_bytes()).hexdigest())
    except OSError:
        return False


def ingest(
    paths: Iterable[Path], index: SectionIndex, embedder: Embedder, progress: bool | None = None
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    files, folders, report.failed = episode_files(paths)
    known = index.episodes()
    seen: dict[str, Path] = {}
    show_bar = sys.stderr.isatty() if progress is None else progress
    bar = _progress(files, show_bar)
    logged_at = time.monotonic()
    for done, path in enumerate(bar):
        if not show_bar and time.monotonic() - logged_at >= PROGRESS_SECONDS:
            # Off a terminal (a log file, a platform's console) a line every few seconds shows it is alive.
            log.info("ingest: %d of %d files done, %d sections so far", done, len(files), report.sections)
            logged_at = time.monotonic()
        if _unchanged(path, known) and path.stem not in seen:
            seen[path.stem] = path
            report.skipped.append(path.stem)
            continue
        try:
            episode = parse_episode_file(path)
        except EpisodeError as error:
            report.failed.append(error)
            continue
        if episode.id in seen:
            report.failed.append(EpisodeError(path, f"same episode id '{episode.id}' as {seen[episode.id]}"))
            continue
        seen[episode.id] = path
        for warning in episode.warnings:
            log.warning("%s: %s", path, warning)
        sections = build_sections(episode)
        vectors = embedder.embed_documents([section.search_text for section in sections])
        record = EpisodeRecord(
            episode_id=episode.id,
            content_hash=record_hash(episode.content_hash),
            source_path=str(path.resolve()),
            section_count=len(sections),
            title=episode.title,
            season=episode.season,
            number=episode.number,
            guests=episode.guests,
        )
        try:
            index.replace_episode(record, sections, vectors)
        except IndexUnavailableError:
            raise  # the server is gone: every other episode would fail the same way
        except StoreError as error:
            # This episode could not be stored; its manifest record was not written, so a rerun retries it.
            report.failed.append(EpisodeError(path, f"could not be stored: {error}"))
            continue
        report.ingested.append(episode.id)
        report.sections += len(sections)
        log.debug("ingested %s (%d sections)", episode.id, len(sections))
    failed_ids = {Path(error.path).stem for error in report.failed}
    for episode_id, record in known.items():
        source = Path(record.source_path)
        if source.parent in folders and episode_id not in seen and episode_id not in failed_ids and not source.exists():
            index.delete_episode(episode_id)
            report.deleted.append(episode_id)
    report.seconds = time.perf_counter() - started
    return report


def _progress(files: list[Path], show: bool) -> Iterable[Path]:
    if not show:
        return files
    from tqdm import tqdm

    return tqdm(files, desc="ingest", unit="episode", file=sys.stderr)

"""Bring episode files into the index: parse, section, embed, store — incrementally.

Unchanged episodes are skipped, changed ones replaced, episodes whose file was removed from an
ingested folder are deleted. Bad files are collected and reported together at the end; the good
ones are ingested regardless.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.corpus.drafts import is_draft, published
from retrieval.corpus.episodes import Episode, parse_episode_file
from retrieval.corpus.front_matter import MAX_FILE_BYTES
from retrieval.corpus.people import Person, guest_name
from retrieval.corpus.sections import Section, build_sections
from retrieval.corpus.speakers import host_speakers
from retrieval.errors import EpisodeError, IndexNotWritableError, IndexUnavailableError, StoreError
from retrieval.index.embedding import Embedder
from retrieval.index.records import EpisodeRecord
from retrieval.index.store import SectionIndex
from retrieval.progress import ProgressBar, ShowProgress
from retrieval.search.corpus_source import persist_corpus

log = logging.getLogger(__name__)

# Bump when parsing, sectioning or the stored metadata change: the next ingest then re-processes
# every episode (re-embedding only sections whose text changed), so an upgrade never leaves a stale index.
PIPELINE_VERSION = "7"
PROGRESS_SECONDS = 10.0


@dataclass
class IngestReport:
    ingested: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[EpisodeError] = field(default_factory=list)
    sections: int = 0
    embedded: int = 0  # sections whose text was new, so the model embedded them
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.ingested)} episodes ingested ({self.sections} sections, {self.embedded} embedded), "
            f"{len(self.skipped)} unchanged, {len(self.deleted)} removed, {len(self.failed)} failed "
            f"in {self.seconds:.1f} s"
        )


def episode_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[EpisodeError]]:
    """The `.md` files named or inside the folders named (drafts only when named); also the folders,
    and the paths that cannot be read as files (missing, a broken or looping symbolic link, a folder
    named `*.md`)."""
    files: list[Path] = []
    folders: list[Path] = []
    bad: list[EpisodeError] = []
    for path in paths:
        if path.is_dir():
            folders.append(path.resolve())
            for entry in published(path):
                if entry.is_file():
                    files.append(entry)
                else:
                    bad.append(EpisodeError(entry, _not_a_file(entry)))
        elif path.is_file():
            files.append(path)
        else:
            bad.append(EpisodeError(path, _not_a_file(path)))
    # A file named and also inside a named folder is one file, ingested once.
    return list({file.resolve(): file for file in files}.values()), folders, bad


def _not_a_file(path: Path) -> str:
    if path.is_symlink():
        return "a symbolic link that leads nowhere (broken, or a loop)"
    return "a folder, not an episode file" if path.is_dir() else "no such file or folder"


def record_hash(content_hash: str, guests: Iterable[str], people: Mapping[str, Person]) -> str:
    """What the manifest stores: changes with the file's bytes, its guests' pages and the pipeline."""
    pages = [(slug, people[slug].name, people[slug].bio) for slug in guests if slug in people]
    return hashlib.sha256(f"{PIPELINE_VERSION}:{content_hash}:{pages!r}".encode()).hexdigest()


def _unchanged(path: Path, known: dict[str, EpisodeRecord], people: Mapping[str, Person]) -> bool:
    """True when this very file was ingested with these bytes, these guest pages and this pipeline;
    checked without parsing the YAML."""
    record = known.get(path.stem)
    if record is None or record.source_path != str(path.resolve()):
        return False
    try:
        file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return False
    return record.content_hash == record_hash(file_hash, record.guests, people)


def episode_record(
    episode: Episode, sections: list[Section], *, path: Path, people: Mapping[str, Person]
) -> EpisodeRecord:
    """The manifest record: everything about the episode that is not transcript text."""
    return EpisodeRecord(
        episode_id=episode.id,
        content_hash=record_hash(episode.content_hash, episode.guests, people),
        source_path=str(path.resolve()),
        section_count=len(sections),
        title=episode.title,
        season=episode.season,
        number=episode.number,
        guests=episode.guests,
        guest_names=tuple(guest_name(slug, people) for slug in episode.guests),
        bios=tuple(people[slug].bio for slug in episode.guests if slug in people and people[slug].bio),
        hosts=sections[0].hosts if sections else (),
        youtube_id=episode.youtube_id,
        description=episode.description,
        intro=episode.intro,
        topics=episode.topics,
        date=episode.date,
        headers=tuple(dict.fromkeys(item.text for item in episode.items if item.is_header)),
    )


def prepare(episode: Episode, people: Mapping[str, Person]) -> list[Section]:
    """The episode's sections, with its guests' names and its hosts known."""
    names = tuple(guest_name(slug, people) for slug in episode.guests)
    return build_sections(episode, guest_names=names, hosts=host_speakers(episode, names))


def _vectors(sections: list[Section], index: SectionIndex, embedder: Embedder) -> tuple[np.ndarray, int]:
    """Vectors for `sections`: stored ones where the embedded text is unchanged (a re-cut after an
    upgrade, a renamed file), the model's for the rest. Also how many were embedded."""
    stored = index.vectors_for([section.text_hash for section in sections])
    todo = [n for n, section in enumerate(sections) if section.text_hash not in stored]
    fresh = embedder.embed_documents([sections[n].search_text for n in todo]) if todo else None
    vectors = np.zeros((len(sections), stored_dim(stored, fresh)), dtype=np.float32)
    for n, section in enumerate(sections):
        if section.text_hash in stored:
            vectors[n] = stored[section.text_hash]
    if fresh is not None:
        vectors[todo] = fresh
    return vectors, len(todo)


def stored_dim(stored: Mapping[str, np.ndarray], fresh: np.ndarray | None) -> int:
    if fresh is not None:
        return int(fresh.shape[1])
    return int(next(iter(stored.values())).shape[0]) if stored else 0


def ingest(
    paths: Iterable[Path],
    index: SectionIndex,
    embedder: Embedder,
    *,
    people: Mapping[str, Person] | None = None,
    progress: ShowProgress | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> IngestReport:
    """Ingest `paths` as the index's one writer; when anything changed, its search side is saved
    for the new version before other processes are told (see `retrieval.index.stamp`). `progress`
    shows the files done; without it a line is logged every PROGRESS_SECONDS."""
    with index.writing():
        report = _ingest(paths, index, embedder, people=people, progress=progress, max_bytes=max_bytes)
        if report.ingested or report.deleted:
            persist_corpus(index)
    return report


def _ingest(
    paths: Iterable[Path],
    index: SectionIndex,
    embedder: Embedder,
    *,
    people: Mapping[str, Person] | None,
    progress: ShowProgress | None,
    max_bytes: int,
) -> IngestReport:
    started = time.perf_counter()
    people = people or {}
    report = IngestReport()
    files, folders, report.failed = episode_files(paths)
    known = index.episodes()
    seen: dict[str, Path] = {}
    for path in _paced(files, progress, report):
        if _unchanged(path, known, people) and path.stem not in seen:
            seen[path.stem] = path
            report.skipped.append(path.stem)
            continue
        try:
            episode = parse_episode_file(path, max_bytes)
        except EpisodeError as error:
            report.failed.append(error)
            continue
        except Exception as exc:  # whatever a hostile or broken file does, it fails alone
            report.failed.append(EpisodeError(path, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"))
            continue
        if episode.id in seen:
            report.failed.append(EpisodeError(path, f"same episode id '{episode.id}' as {seen[episode.id]}"))
            continue
        seen[episode.id] = path
        for warning in episode.warnings:
            log.warning("%s: %s", path, warning)
        sections = prepare(episode, people)
        try:
            # Before the embedding, which costs seconds: a full disk is said at once.
            index.ensure_room(f"episode {episode.id}", sum(len(section.text) for section in sections))
            vectors, embedded = _vectors(sections, index, embedder)
            record = episode_record(episode, sections, path=path, people=people)
            index.replace_episode(
                record, sections, vectors=vectors, card_vector=embedder.embed_documents([record.card])[0]
            )
        except (IndexUnavailableError, IndexNotWritableError):
            raise  # the server is gone or the disk full: every other episode would fail the same way
        except StoreError as error:
            # This episode could not be stored; its manifest record was not written, so a rerun retries it.
            report.failed.append(EpisodeError(path, f"could not be stored: {error}"))
            continue
        report.ingested.append(episode.id)
        report.sections += len(sections)
        report.embedded += embedded
        log.debug("ingested %s (%d sections, %d embedded)", episode.id, len(sections), embedded)
    failed_ids = {Path(error.path).stem for error in report.failed}
    for episode_id, record in known.items():
        source = Path(record.source_path)
        gone = not source.exists() or is_draft(source)  # a draft ingested before drafts were skipped
        if source.parent in folders and episode_id not in seen and episode_id not in failed_ids and gone:
            index.delete_episode(episode_id)
            report.deleted.append(episode_id)
    if report.ingested or report.deleted:
        index.set_info(pipeline_version=PIPELINE_VERSION)
    report.seconds = time.perf_counter() - started
    return report


def _paced(files: list[Path], progress: ShowProgress | None, report: IngestReport) -> Iterator[Path]:
    """`files` one by one, each shown by `progress` once done; without it, a line every PROGRESS_SECONDS."""
    bar: ProgressBar | None = progress("ingest", len(files), "episode") if progress is not None else None
    logged_at = time.monotonic()
    try:
        for done, path in enumerate(files):
            if bar is None and time.monotonic() - logged_at >= PROGRESS_SECONDS:
                # Off a terminal (a log file, a platform's console) a line every few seconds shows it is alive.
                log.info("ingest: %d of %d files done, %d sections so far", done, len(files), report.sections)
                logged_at = time.monotonic()
            yield path
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

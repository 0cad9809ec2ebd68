"""Bring episode files into the index: parse, section, embed, store — incrementally.

Unchanged episodes are skipped, changed ones replaced, episodes whose file was removed from an
ingested folder are deleted. Bad files are collected and reported together at the end; the good
ones are ingested regardless. Files are read and sectioned on a thread of their own while the
model embeds the episodes before them, a window of a few episodes at a time.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.corpus.drafts import is_draft
from retrieval.corpus.episodes import Episode, parse_episode_file
from retrieval.corpus.front_matter import MAX_FILE_BYTES
from retrieval.corpus.people import Person, guest_name
from retrieval.corpus.sections import Section, build_sections
from retrieval.corpus.speakers import host_speakers
from retrieval.errors import EpisodeError, IndexNotWritableError, IndexUnavailableError, StoreError
from retrieval.index.embedding import Embedder
from retrieval.index.episode_files import episode_files
from retrieval.index.prefetch import prefetched
from retrieval.index.records import EpisodeRecord
from retrieval.index.store import EpisodeWrite, SectionIndex
from retrieval.progress import Progress, ShowProgress
from retrieval.release_memory import release_freed_memory
from retrieval.search.corpus_source import persist_corpus

log = logging.getLogger(__name__)

# Bump when parsing, sectioning or the stored metadata change: the next ingest then re-processes
# every episode (re-embedding only sections whose text changed), so an upgrade never leaves a stale index.
PIPELINE_VERSION = "7"
# Episodes embedded and stored together (see `_vectors`) until they hold this many sections: two or three.
WINDOW_SECTIONS = 128
READ_AHEAD = 4  # files read, parsed and sectioned ahead of the embedding, on a thread of their own


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


@dataclass(frozen=True)
class _Prepared:
    """An episode file read ahead of the embedding: its manifest record and its sections."""

    path: Path
    record: EpisodeRecord
    sections: list[Section]


def _read(
    files: list[Path],
    *,
    known: dict[str, EpisodeRecord],
    people: Mapping[str, Person],
    max_bytes: int,
    seen: dict[str, Path],
) -> Iterator[_Prepared | EpisodeError | str]:
    """Each file's outcome in turn: its episode prepared, why it failed, or the id of an unchanged
    episode. `seen` gathers the episode id of each file taken (a second file with the same id fails)."""
    for path in files:
        if _unchanged(path, known, people) and path.stem not in seen:
            seen[path.stem] = path
            yield path.stem
            continue
        try:
            episode = parse_episode_file(path, max_bytes)
        except EpisodeError as error:
            yield error
            continue
        except Exception as exc:  # whatever a hostile or broken file does, it fails alone
            yield EpisodeError(path, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})")
            continue
        if episode.id in seen:
            yield EpisodeError(path, f"same episode id '{episode.id}' as {seen[episode.id]}")
            continue
        seen[episode.id] = path
        for warning in episode.warnings:
            log.warning("%s: %s", path, warning)
        sections = prepare(episode, people)
        yield _Prepared(path, episode_record(episode, sections, path=path, people=people), sections)


def _vectors(window: list[_Prepared], index: SectionIndex, embedder: Embedder) -> tuple[list[EpisodeWrite], list[int]]:
    """The window's episodes with their vectors: stored ones where the embedded text is unchanged (a
    re-cut after an upgrade, a renamed file), the model's for the rest and for the cards, in one call
    so that the model's runs keep every core busy across the episodes of the window. Also how many
    sections of each episode the model embedded."""
    sections = [section for prepared in window for section in prepared.sections]
    stored = index.vectors_for([section.text_hash for section in sections])
    todo = [n for n, section in enumerate(sections) if section.text_hash not in stored]
    fresh = embedder.embed_documents([sections[n].search_text for n in todo] + [p.record.card for p in window])
    vectors = np.zeros((len(sections), fresh.shape[1]), dtype=np.float32)
    for n, section in enumerate(sections):
        if section.text_hash in stored:
            vectors[n] = stored[section.text_hash]
    vectors[todo] = fresh[: len(todo)]
    ends = np.cumsum([len(prepared.sections) for prepared in window])
    cards = fresh[len(todo) :]
    writes = [
        EpisodeWrite(p.record, p.sections, episode_vectors, card)
        for p, episode_vectors, card in zip(window, np.split(vectors, ends[:-1]), cards, strict=True)
    ]
    embedded = np.bincount(np.searchsorted(ends, todo, side="right"), minlength=len(window))
    return writes, [int(count) for count in embedded]


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
    shows the files done; without it a line is logged every few seconds (`retrieval.progress`)."""
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
    pace = Progress(
        progress,
        "ingest",
        total=len(files),
        unit="episode",
        describe=lambda done: f"ingest: {done} of {len(files)} files done, {report.sections} sections so far",
    )
    window: list[_Prepared] = []
    try:
        read = _read(files, known=known, people=people, max_bytes=max_bytes, seen=seen)
        for outcome in prefetched(read, depth=READ_AHEAD, name="ingest-read"):
            if isinstance(outcome, _Prepared):
                window.append(outcome)
                if sum(len(prepared.sections) for prepared in window) >= WINDOW_SECTIONS:
                    _store(window, index, embedder, report=report, pace=pace)
                    window = []
                continue
            if isinstance(outcome, EpisodeError):
                report.failed.append(outcome)
            else:
                report.skipped.append(outcome)
            pace.advance()
        _store(window, index, embedder, report=report, pace=pace)
    finally:
        pace.close()
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


def _store(
    window: list[_Prepared], index: SectionIndex, embedder: Embedder, *, report: IngestReport, pace: Progress
) -> None:
    """Embed and store the window's episodes together; when that fails, each episode alone, so one
    that cannot be stored fails alone (its manifest record is not written, so a rerun retries it)."""
    if not window:
        return
    try:
        # Before the embedding, which costs seconds: a full disk is said at once.
        index.ensure_room(
            f"episode {window[0].record.episode_id}", sum(len(s.text) for p in window for s in p.sections)
        )
        writes, embedded = _vectors(window, index, embedder)
        index.replace_episodes(writes)
    except (IndexUnavailableError, IndexNotWritableError):
        raise  # the server is gone or the disk full: every other episode would fail the same way
    except StoreError as error:
        if len(window) > 1:
            for prepared in window:
                _store([prepared], index, embedder, report=report, pace=pace)
            return
        report.failed.append(EpisodeError(window[0].path, f"could not be stored: {error}"))
        pace.advance()
        return
    for prepared, count in zip(window, embedded, strict=True):
        report.ingested.append(prepared.record.episode_id)
        report.sections += len(prepared.sections)
        report.embedded += count
        log.debug("ingested %s (%d sections, %d embedded)", prepared.record.episode_id, len(prepared.sections), count)
        pace.advance()
    # The window's garbage is in three threads' malloc arenas, which keep it: the peak grew each window.
    release_freed_memory()

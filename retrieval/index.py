"""The Chroma store of sections: embedded on disk by default, or a shared `chroma run` server.

Two collections: `sections` (one vector per section, cosine space) and `episodes`, a manifest
with one record per ingested episode. An episode's manifest record is written only after all of
its sections are stored, so an ingest killed half-way is simply redone for that episode; section
ids are content hashes, so the redo cannot create duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from retrieval.sections import Section

log = logging.getLogger(__name__)

SECTIONS = "podcast-sections"
EPISODES = "podcast-episodes"
MODEL_KEY = "embedding_model"
BATCH = 256


class StoreError(RuntimeError):
    """The index cannot be used as it is; the message tells the user what to do."""


class IndexUnavailableError(StoreError):
    """The Chroma server cannot be reached."""


class ModelMismatchError(StoreError):
    pass


@dataclass(frozen=True)
class StoreConfig:
    """Where the index lives: a folder (embedded Chroma) or a Chroma server."""

    index_dir: Path = Path("data/index")
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def location(self) -> str:
        if self.is_server:
            return f"{'https' if self.chroma_ssl else 'http'}://{self.chroma_host}:{self.chroma_port}"
        return str(self.index_dir)


@dataclass(frozen=True)
class EpisodeRecord:
    """What the manifest remembers of an ingested episode."""

    episode_id: str
    content_hash: str
    source_path: str
    section_count: int
    title: str
    season: int | None
    number: int | None
    guests: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    section: Section
    distance: float


def open_client(config: StoreConfig):  # type: ignore[no-untyped-def]
    """A chromadb client for `config`, with telemetry off; connection problems become clear errors."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if config.is_server:
        try:
            client = chromadb.HttpClient(
                host=config.chroma_host or "localhost",
                port=config.chroma_port,
                ssl=config.chroma_ssl,
                headers=config.chroma_headers or None,
                settings=settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise IndexUnavailableError(
                f"cannot reach the Chroma server at {config.chroma_host}:{config.chroma_port} ({_short(exc)}); "
                f"is `chroma run` up, and are CHROMA_HOST/CHROMA_PORT right?"
            ) from exc
        return client
    folder = config.index_dir
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "chroma.sqlite3").exists():
        raise StoreError(f"{folder} holds other files and is not a Chroma index folder; choose another --index")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(config.index_dir), settings=settings)
    except Exception as exc:
        raise StoreError(
            f"the index folder {config.index_dir} cannot be opened as a Chroma index ({_short(exc)}); "
            f"rebuild it with `podcast-bot ingest --rebuild`"
        ) from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def remove_embedded_index(config: StoreConfig) -> None:
    """Delete an embedded index folder, refusing folders that hold anything but a Chroma index."""
    folder = config.index_dir
    if not folder.exists():
        return
    entries = list(folder.iterdir())
    if entries and not (folder / "chroma.sqlite3").exists():
        raise StoreError(f"{folder} is not a Chroma index folder; refusing to delete it, choose another --index")
    shutil.rmtree(folder)


class SectionIndex:
    """Sections and the episode manifest in Chroma, for one embedding model."""

    def __init__(self, config: StoreConfig, model_id: str):
        self.config = config
        self.model_id = model_id
        self._client = open_client(config)
        try:
            self._sections = self._client.get_or_create_collection(
                SECTIONS, metadata={"hnsw:space": "cosine", MODEL_KEY: model_id}, embedding_function=None
            )
            self._episodes = self._client.get_or_create_collection(EPISODES, embedding_function=None)
        except Exception as exc:
            raise self._wrap(exc, "open") from exc
        built_with = (self._sections.metadata or {}).get(MODEL_KEY)
        if built_with != model_id:
            raise ModelMismatchError(
                f"the index at {config.location} was built with the embedding model {built_with!r}, but "
                f"{model_id!r} is configured; mixing them would give wrong results. Re-ingest with "
                f"`podcast-bot ingest --rebuild`, or set the model back to {built_with!r}."
            )

    def _wrap(self, exc: Exception, action: str) -> StoreError:
        if isinstance(exc, StoreError):
            return exc
        if self.config.is_server:
            return IndexUnavailableError(
                f"Chroma server at {self.config.chroma_host}:{self.config.chroma_port} failed to {action} ({_short(exc)})"
            )
        return StoreError(
            f"the index at {self.config.index_dir} failed to {action} ({_short(exc)}); "
            f"rebuild it with `podcast-bot ingest --rebuild`"
        )

    @classmethod
    def rebuild(cls, config: StoreConfig, model_id: str) -> "SectionIndex":
        """An empty index for `model_id`, dropping whatever was stored before."""
        try:
            client = open_client(config)
            existing = {getattr(c, "name", c) for c in client.list_collections()}
            for name in (SECTIONS, EPISODES):
                if name in existing:
                    client.delete_collection(name)
        except Exception as exc:
            if config.is_server:
                raise
            # The folder is too damaged for Chroma to open: start it afresh.
            log.warning("removing unreadable index folder %s (%s)", config.index_dir, _short(exc))
            from chromadb.api.client import SharedSystemClient

            remove_embedded_index(config)
            SharedSystemClient.clear_system_cache()
        return cls(config, model_id)

    # Manifest -----------------------------------------------------------------------------

    def episodes(self) -> dict[str, EpisodeRecord]:
        try:
            found = self._episodes.get(include=["metadatas"])
        except Exception as exc:
            raise self._wrap(exc, "read the episode list") from exc
        return {
            episode_id: _record_from_metadata(episode_id, metadata or {})
            for episode_id, metadata in zip(found["ids"], found["metadatas"] or [])
        }

    def version(self) -> str:
        """Changes whenever any episode is added, replaced or removed (by any process)."""
        records = sorted((r.episode_id, r.content_hash) for r in self.episodes().values())
        return hashlib.sha256(repr(records).encode()).hexdigest()[:16]

    def section_count(self) -> int:
        try:
            return self._sections.count()
        except Exception as exc:
            raise self._wrap(exc, "count sections") from exc

    # Writing ------------------------------------------------------------------------------

    def replace_episode(self, record: EpisodeRecord, sections: Sequence[Section], vectors: np.ndarray) -> None:
        """Store an episode's sections, drop its stale ones, then mark it complete in the manifest."""
        try:
            new_ids = [section.id for section in sections]
            for start in range(0, len(sections), BATCH):
                batch = sections[start : start + BATCH]
                self._sections.upsert(
                    ids=new_ids[start : start + BATCH],
                    embeddings=vectors[start : start + BATCH],
                    documents=[section.text for section in batch],
                    metadatas=[section_metadata(section) for section in batch],
                )
            stored = self._sections.get(where={"episode_id": record.episode_id}, include=[])["ids"]
            stale = sorted(set(stored) - set(new_ids))
            if stale:
                self._sections.delete(ids=stale)
            self._episodes.upsert(
                ids=[record.episode_id], embeddings=[[1.0]], documents=[record.title], metadatas=[_record_metadata(record)]
            )
        except Exception as exc:
            raise self._wrap(exc, f"store episode {record.episode_id}") from exc

    def delete_episode(self, episode_id: str) -> None:
        try:
            self._episodes.delete(ids=[episode_id])
            self._sections.delete(where={"episode_id": episode_id})
        except Exception as exc:
            raise self._wrap(exc, f"delete episode {episode_id}") from exc

    # Reading ------------------------------------------------------------------------------

    def all_sections(self) -> list[Section]:
        try:
            found = self._sections.get(include=["documents", "metadatas"])
        except Exception as exc:
            raise self._wrap(exc, "read sections") from exc
        return [
            section_from_record(section_id, document, metadata)
            for section_id, document, metadata in zip(found["ids"], found["documents"], found["metadatas"])
        ]

    def stored_episode(self, episode_id: str) -> tuple[list[Section], np.ndarray]:
        """An episode's sections with their stored vectors, e.g. to copy an index without re-embedding."""
        try:
            found = self._sections.get(where={"episode_id": episode_id}, include=["embeddings", "documents", "metadatas"])
        except Exception as exc:
            raise self._wrap(exc, "read sections") from exc
        sections = [section_from_record(*row) for row in zip(found["ids"], found["documents"], found["metadatas"])]
        return sections, np.asarray(found["embeddings"], dtype=np.float32)

    def query(self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None) -> list[Hit]:
        """The `k` nearest sections, optionally only among `ids`."""
        if ids is not None and not ids:
            return []
        try:
            found = self._sections.query(
                query_embeddings=[vector], n_results=k, ids=list(ids) if ids is not None else None,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise self._wrap(exc, "search") from exc
        return [
            Hit(section_from_record(section_id, document, metadata), float(distance))
            for section_id, document, metadata, distance in zip(
                found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0]
            )
        ]


def section_metadata(section: Section) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "episode_id": section.episode_id,
        "title": section.episode_title,
        "youtube_id": section.youtube_id,
        "header": section.header,
        "start_sec": section.start_sec,
        "end_sec": section.end_sec,
        "position": section.position,
        "url": section.url,
        "season": _storable(section.season),
        "episode_number": _storable(section.number),
    }
    return _with_lists(metadata, speakers=section.speakers, guests=section.guests, line_secs=section.line_secs)


def section_from_record(section_id: str, document: str, metadata: dict[str, Any]) -> Section:
    return Section(
        id=section_id,
        episode_id=metadata["episode_id"],
        episode_title=metadata.get("title", ""),
        season=_optional(metadata.get("season")),
        number=_optional(metadata.get("episode_number")),
        guests=tuple(metadata.get("guests") or ()),
        youtube_id=metadata.get("youtube_id", ""),
        header=metadata.get("header", ""),
        speakers=tuple(metadata.get("speakers") or ()),
        start_sec=int(metadata.get("start_sec", 0)),
        end_sec=int(metadata.get("end_sec", 0)),
        position=int(metadata.get("position", 0)),
        text=document,
        line_secs=tuple(metadata.get("line_secs") or ()),
    )


def _storable(value: int | None) -> int:
    """Chroma metadata cannot hold None; -1 stands for "unknown" (season and episode numbers)."""
    return -1 if value is None else value


def _optional(value: Any) -> int | None:
    return None if value is None or value == -1 else int(value)


def _with_lists(metadata: dict[str, Any], **lists: tuple[Any, ...]) -> dict[str, Any]:
    """Add the non-empty lists: Chroma rejects empty ones, and absent reads back as empty."""
    return metadata | {key: list(values) for key, values in lists.items() if values}


def _record_metadata(record: EpisodeRecord) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "content_hash": record.content_hash,
        "source_path": record.source_path,
        "section_count": record.section_count,
        "title": record.title,
        "season": _storable(record.season),
        "episode_number": _storable(record.number),
    }
    return _with_lists(metadata, guests=record.guests)


def _record_from_metadata(episode_id: str, metadata: dict[str, Any]) -> EpisodeRecord:
    return EpisodeRecord(
        episode_id=episode_id,
        content_hash=str(metadata.get("content_hash", "")),
        source_path=str(metadata.get("source_path", "")),
        section_count=int(metadata.get("section_count", 0)),
        title=str(metadata.get("title", "")),
        season=_optional(metadata.get("season")),
        number=_optional(metadata.get("episode_number")),
        guests=tuple(metadata.get("guests") or ()),
    )

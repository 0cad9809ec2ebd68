"""The Chroma store of sections: embedded on disk by default, or a shared `chroma run` server.

Two collections: `sections` (one vector per section, cosine space) and `episodes`, a manifest
with one record per ingested episode. An episode's manifest record is written only after all of
its sections are stored, so an ingest killed half-way is simply redone for that episode; section
ids are content hashes, so the redo cannot create duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.corpus.sections import Section
from retrieval.disk_space import ensure_room
from retrieval.errors import IndexUnavailableError, ModelMismatchError, StoreError
from retrieval.index.failures import embedded_error, short_reason
from retrieval.index.folder import open_client, remove_embedded_index, writing
from retrieval.index.records import EpisodeRecord, from_metadata, to_metadata
from retrieval.index.vector_collections import vector_collection
from retrieval.settings import StoreConfig

log = logging.getLogger(__name__)

SECTIONS = "podcast-sections"
EPISODES = "podcast-episodes"
# Facts about the index as a whole (how it was built, when it was last synced), one record per key.
INFO = "podcast-info"
# One vector per episode for its card (title, guests, bios, description, topics, headers).
CARDS = "podcast-cards"
MODEL_KEY = "embedding_model"
BATCH = 256
# Sections per write: one write of a few episodes' sections costs ~25 % less than one per episode.
WRITE_BATCH = 1000
READ_BATCH = 500


@dataclass(frozen=True)
class EpisodeWrite:
    """One episode as stored: its manifest record, its sections with their vectors, its card's vector."""

    record: EpisodeRecord
    sections: Sequence[Section]
    vectors: np.ndarray
    card_vector: np.ndarray

    @property
    def payload(self) -> int:
        """Roughly the bytes it adds to the index."""
        texts = sum(len(section.text) for section in self.sections)
        return texts + self.vectors.nbytes + self.card_vector.nbytes + len(self.record.card)


class SectionIndex:
    """Sections and the episode manifest in Chroma, for one embedding model."""

    def __init__(self, config: StoreConfig, model_id: str):
        self.config = config
        self.model_id = model_id
        self._open()

    def _open(self) -> None:
        config, model_id = self.config, self.model_id
        self._client = open_client(config)
        with self._failing_to("open"):
            self._sections = vector_collection(self._client, SECTIONS, {MODEL_KEY: model_id})
            self._episodes = self._client.get_or_create_collection(EPISODES, embedding_function=None)
            self._info = self._client.get_or_create_collection(INFO, embedding_function=None)
            self._cards = vector_collection(self._client, CARDS)
        built_with = (self._sections.metadata or {}).get(MODEL_KEY)
        if built_with != model_id:
            raise ModelMismatchError(
                f"the index at {config.location} was built with the embedding model {built_with!r}, but "
                f"{model_id!r} is configured; mixing them would give wrong results. Re-ingest with "
                f"`podcast-bot ingest --rebuild`, or set the model back to {built_with!r} "
                f"(PODCAST_BOT_EMBEDDING_MODEL)."
            )

    def reopen(self) -> None:
        """Open the index afresh, after another process wrote it."""
        self._open()

    def writing(self) -> contextlib.AbstractContextManager[None]:
        return writing(self.config)

    @contextmanager
    def _failing_to(self, action: str) -> Iterator[None]:
        """Turn any failure of Chroma inside the block into one StoreError saying what failed."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            if self.config.is_server:
                where = f"{self.config.chroma_host}:{self.config.chroma_port}"
                raise IndexUnavailableError(
                    f"Chroma server at {where} failed to {action} ({short_reason(exc)})"
                ) from exc
            raise embedded_error(self.config.index_dir, action, exc) from exc

    @classmethod
    def rebuild(cls, config: StoreConfig, model_id: str) -> SectionIndex:
        """An empty index for `model_id`, dropping whatever was stored before."""
        try:
            client = open_client(config)
            existing = {getattr(c, "name", c) for c in client.list_collections()}
            for name in (SECTIONS, EPISODES, INFO, CARDS):
                if name in existing:
                    client.delete_collection(name)
        except Exception as exc:
            if config.is_server:
                raise
            # The folder is too damaged for Chroma to open: start it afresh.
            log.warning("removing unreadable index folder %s (%s)", config.index_dir, short_reason(exc))
            from chromadb.api.client import SharedSystemClient

            remove_embedded_index(config)
            SharedSystemClient.clear_system_cache()
        return cls(config, model_id)

    # Manifest -----------------------------------------------------------------------------

    def episodes(self) -> dict[str, EpisodeRecord]:
        with self._failing_to("read the episode list"):
            found = self._episodes.get(include=["metadatas"])
        return {
            episode_id: from_metadata(EpisodeRecord, metadata, episode_id=episode_id)
            for episode_id, metadata in zip(found["ids"], found["metadatas"] or [], strict=False)
        }

    def info(self) -> dict[str, str]:
        """What the index records about itself, e.g. `synced_commit`, `synced_at`."""
        with self._failing_to("read the index information"):
            found = self._info.get(include=["documents"])
        return dict(zip(found["ids"], found["documents"] or [], strict=True))

    def set_info(self, **values: str) -> None:
        self.ensure_room("the index information")
        with self._failing_to("store the index information"):
            self._info.upsert(
                ids=list(values), embeddings=[[1.0]] * len(values), documents=[str(v) for v in values.values()]
            )

    def version(self) -> str:
        """Changes whenever any episode is added, replaced or removed (by any process)."""
        records = sorted((r.episode_id, r.content_hash) for r in self.episodes().values())
        return hashlib.sha256(repr(records).encode()).hexdigest()[:16]

    def section_count(self) -> int:
        with self._failing_to("count sections"):
            return self._sections.count()

    # Writing ------------------------------------------------------------------------------

    def ensure_room(self, what: str, payload: int = 0) -> None:
        """Refuse a write of `payload` bytes its disk has no room for (IndexNotWritableError); a server
        minds its own disk."""
        if not self.config.is_server:
            ensure_room(self.config.index_dir, what, payload)

    def replace_episodes(self, episodes: Sequence[EpisodeWrite]) -> None:
        """Store the episodes' sections and cards in a few large writes, drop their stale sections,
        then mark them all complete in the manifest."""
        if not episodes:
            return
        ids = [episode.record.episode_id for episode in episodes]
        what = f"episode {ids[0]}" if len(ids) == 1 else f"episodes {', '.join(ids)}"
        self.ensure_room(what, sum(episode.payload for episode in episodes))
        with self._failing_to(f"store {what}"):
            sections = [section for episode in episodes for section in episode.sections]
            new_ids = [section.id for section in sections]
            if sections:
                # Inside the block: vectors of different sizes are a failure to store, said as one.
                vectors = np.concatenate([episode.vectors for episode in episodes if len(episode.sections)])
            for start in range(0, len(sections), WRITE_BATCH):
                batch = sections[start : start + WRITE_BATCH]
                self._sections.upsert(
                    ids=new_ids[start : start + WRITE_BATCH],
                    embeddings=vectors[start : start + WRITE_BATCH],
                    documents=[section.text for section in batch],
                    metadatas=[
                        to_metadata(section, leave_out=("id", "text")) | {"text_hash": section.text_hash}
                        for section in batch
                    ],
                )
            stored = self._sections.get(where={"episode_id": {"$in": ids}}, include=[])["ids"]
            stale = sorted(set(stored) - set(new_ids))
            if stale:
                self._sections.delete(ids=stale)
            self._cards.upsert(
                ids=ids,
                embeddings=np.stack([episode.card_vector for episode in episodes]),
                documents=[episode.record.card for episode in episodes],
            )
            self._episodes.upsert(
                ids=ids,
                embeddings=[[1.0]] * len(ids),
                documents=[episode.record.title for episode in episodes],
                metadatas=[to_metadata(episode.record, leave_out=("episode_id",)) for episode in episodes],
            )

    def delete_episode(self, episode_id: str) -> None:
        self.ensure_room(f"the removal of episode {episode_id}")
        with self._failing_to(f"delete episode {episode_id}"):
            self._episodes.delete(ids=[episode_id])
            self._sections.delete(where={"episode_id": episode_id})
            self._cards.delete(ids=[episode_id])

    # Reading ------------------------------------------------------------------------------

    def all_sections(self) -> list[Section]:
        """Every stored section, read a batch at a time: one read of all of them costs the process
        several times their size at its peak."""
        sections: list[Section] = []
        shared: dict[Any, Any] = {}
        with self._failing_to("read sections"):
            total = self._sections.count()
            for offset in range(0, total, READ_BATCH):
                found = self._sections.get(include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
                sections += [
                    from_metadata(Section, metadata, shared, id=section_id, text=document)
                    for section_id, document, metadata in zip(
                        found["ids"], found["documents"], found["metadatas"], strict=True
                    )
                ]
        return sections

    def stored_episode(self, episode_id: str) -> tuple[list[Section], np.ndarray, np.ndarray]:
        """An episode's sections with their stored vectors, and its card's vector: enough to copy the
        episode into another index without re-embedding."""
        with self._failing_to("read sections"):
            found = self._sections.get(
                where={"episode_id": episode_id}, include=["embeddings", "documents", "metadatas"]
            )
            card = self._cards.get(ids=[episode_id], include=["embeddings"])
        sections = [
            from_metadata(Section, metadata, id=section_id, text=document)
            for section_id, document, metadata in zip(found["ids"], found["documents"], found["metadatas"], strict=True)
        ]
        return sections, np.asarray(found["embeddings"], dtype=np.float32), np.asarray(card["embeddings"][0])

    def vectors_for(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of sections whose embedded text has one of these hashes."""
        found: dict[str, np.ndarray] = {}
        wanted = sorted(set(text_hashes))
        for start in range(0, len(wanted), BATCH):
            with self._failing_to("read stored vectors"):
                rows = self._sections.get(
                    where={"text_hash": {"$in": wanted[start : start + BATCH]}}, include=["embeddings", "metadatas"]
                )
            for metadata, vector in zip(rows["metadatas"] or [], rows["embeddings"], strict=True):
                found[str((metadata or {}).get("text_hash"))] = np.asarray(vector, dtype=np.float32)
        return found

    def vectors_by_id(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the sections with these ids."""
        with self._failing_to("read stored vectors"):
            found = self._sections.get(ids=list(ids), include=["embeddings"])
        return {
            section_id: np.asarray(vector, dtype=np.float32)
            for section_id, vector in zip(found["ids"], found["embeddings"], strict=True)
        }

    def query_cards(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` episodes whose cards are nearest to `vector`, with their cosine similarity."""
        with self._failing_to("search episode cards"):
            # Chroma returns fewer than `k` when it holds fewer (none when empty): no count() first.
            found = self._cards.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [
            (episode_id, 1.0 - float(d)) for episode_id, d in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def nearest(self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ids of the `k` sections nearest to `vector` (optionally only among `ids`), with their
        cosine similarity. Only ids and distances: the search holds the sections themselves, and
        Chroma's documents and metadata would be most of the query's time."""
        if ids is not None and not ids:
            return []
        with self._failing_to("search"):
            found = self._sections.query(
                query_embeddings=[vector],
                n_results=k,
                ids=list(ids) if ids is not None else None,
                include=["distances"],
            )
        return [
            (section_id, 1.0 - float(distance))
            for section_id, distance in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

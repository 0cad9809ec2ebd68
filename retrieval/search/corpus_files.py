"""The search side of an index on disk: its sections, episode cards and keyword indexes, in a folder
named by the index's version, so any process can load it in a fraction of the time building it from
Chroma takes, and processes share the memory-mapped keyword scores instead of each holding a copy.

Written whole into a temporary folder and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.corpus.sections import Section
from retrieval.index.records import EpisodeRecord, from_metadata, to_metadata
from retrieval.search.corpus_tables import Corpus, assemble_corpus
from retrieval.search.keyword import KeywordIndex

log = logging.getLogger(__name__)

# Bump when what is written here changes: older folders are then simply not found, and rebuilt.
FORMAT = "1"
# Fields every section of an episode shares: written once per episode.
EPISODE_FIELDS = ("episode_id", "episode_title", "season", "number", "guests", "youtube_id", "guest_names", "hosts")


def corpus_key(episodes: dict[str, EpisodeRecord]) -> str:
    """Names the search side of an index holding exactly these episode records (from any process)."""
    records = sorted(repr(asdict(record)) for record in episodes.values())
    return hashlib.sha256(f"{FORMAT}:{records!r}".encode()).hexdigest()[:20]


def save_corpus(corpus: Corpus, folder: Path) -> None:
    """Write `corpus` as `folder`/<its version>, and remove the other versions there."""
    assert corpus.version is not None, "only a corpus built for a version is saved"
    target = folder / corpus.version
    if target.exists():
        return
    temporary = folder / f".{corpus.version}.{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    by_episode: dict[str, list[dict[str, Any]]] = {}
    shared: dict[str, dict[str, Any]] = {}
    for section in corpus.sections:
        row = to_metadata(section)
        shared.setdefault(section.episode_id, {f: row[f] for f in EPISODE_FIELDS if f in row})
        by_episode.setdefault(section.episode_id, []).append({f: v for f, v in row.items() if f not in EPISODE_FIELDS})
    document = {
        "episodes": {episode_id: to_metadata(record) for episode_id, record in corpus.episodes.items()},
        "sections": [{"episode": shared[episode_id], "rows": rows} for episode_id, rows in by_episode.items()],
        "asked": corpus.asked,
    }
    (temporary / "corpus.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    np.save(temporary / "host_share.npy", corpus.host_share)
    corpus.keywords.save(temporary / "keywords")
    corpus.cards.save(temporary / "cards")
    try:
        temporary.rename(target)
    except OSError:  # another process saved the same version first
        shutil.rmtree(temporary, ignore_errors=True)
    for old in folder.iterdir():
        if old.is_dir() and old.name != corpus.version and not old.name.startswith("."):
            # A process still using an old version keeps its memory-mapped pages; unlinking is safe.
            shutil.rmtree(old, ignore_errors=True)


def load_corpus(folder: Path, key: str) -> Corpus | None:
    """The corpus saved for `key` in `folder`, or None when there is none (or it cannot be read)."""
    source = folder / key
    if not (source / "corpus.json").exists():
        return None
    try:
        document = json.loads((source / "corpus.json").read_text(encoding="utf-8"))
        episodes = {
            episode_id: from_metadata(EpisodeRecord, values) for episode_id, values in document["episodes"].items()
        }
        interned: dict[Any, Any] = {}
        sections: list[Section] = []
        for group in document["sections"]:
            common = {f: tuple(v) if isinstance(v, list) else v for f, v in group["episode"].items()}
            sections += [from_metadata(Section, row, interned, **common) for row in group["rows"]]
        return assemble_corpus(
            key,
            sections,
            episodes,
            keywords=KeywordIndex.load(source / "keywords"),
            cards=KeywordIndex.load(source / "cards"),
            host_share=np.load(source / "host_share.npy", mmap_mode="r"),
            # A term is one string however many sections ask it (~4 MB less on 200 episodes).
            asked=tuple(tuple(sys.intern(term) for term in terms) for terms in document["asked"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:  # removed meanwhile, or damaged: rebuilt
        log.warning("the saved search side in %s cannot be read (%s); rebuilding it", source, error)
        return None

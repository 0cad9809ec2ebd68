"""Chroma collections of vectors, searched widely enough that every process finds the same neighbours.

Chroma's HNSW index is approximate: with its default search breadth (`ef_search` 100) the 80 nearest
sections it returned differed between two processes opening the same index, so the same question
could rank its moments differently in the CLI and in each web worker. Searched 400 wide, the 80 it
returns are the exact 80 on the dev index (checked against every vector) in every process, for
about a millisecond more per query. Collections made before this are widened once when opened.
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)

SEARCH_EF = 400
# SQLite answers "database is locked" at once, without waiting, when two of Chroma's own connections
# would deadlock (seen under load, right after another process made the index): a moment later the
# same write goes through.
WIDEN_ATTEMPTS = 5
WIDEN_PAUSE_S = 0.2


def vector_collection(client: Any, name: str, metadata: dict[str, Any] | None = None) -> Any:
    """The cosine-space collection `name` of `client`, made (or widened) to search `SEARCH_EF` wide."""
    collection = client.get_or_create_collection(
        name,
        metadata=metadata,
        configuration={"hnsw": {"space": "cosine", "ef_search": SEARCH_EF}},
        embedding_function=None,
    )
    hnsw = (collection.configuration_json or {}).get("hnsw") or {}
    if hnsw.get("ef_search", SEARCH_EF) < SEARCH_EF:
        _widen(collection, name)
    return collection


def _widen(collection: Any, name: str) -> None:
    """Store the wider search in the index, or warn once that this process searches approximately."""
    for attempt in range(1, WIDEN_ATTEMPTS + 1):
        try:
            collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
            return
        except Exception as error:  # a read-only index still answers, with approximate neighbours
            if "locked" in str(error) and attempt < WIDEN_ATTEMPTS:
                time.sleep(WIDEN_PAUSE_S * attempt)
                continue
            log.warning("could not widen the search of %s (%s); its neighbours stay approximate", name, error)
            return

"""Chroma collections of vectors, searched widely enough that every process finds the same neighbours.

Chroma's HNSW index is approximate: with its default search breadth (`ef_search` 100) the 80 nearest
sections it returned differed between two processes opening the same index, so the same question
could rank its moments differently in the CLI and in each web worker. Searched 400 wide, the 80 it
returns are the exact 80 on the dev index (checked against every vector) in every process, for
about a millisecond more per query. Collections made before this are widened once when opened.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

SEARCH_EF = 400


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
        try:
            collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
        except Exception as error:  # a read-only index still answers, with approximate neighbours
            log.warning("could not widen the search of %s (%s); its neighbours stay approximate", name, error)
    return collection

"""Localisation: once an episode is known to be about the question, which of its moments answers it.

Finding the episode and finding the second are different problems. Across the archive, what sets an
episode apart is its topic ("DataOps" is rare overall), so the fused score rewards a section for
every mention of the topic. Inside the episode the topic is everywhere, and what sets the answering
moment apart is how closely the whole exchange — header, host question and the guest's answer, as
embedded together — means what the question asks, and which of the question's other words it
shares. So every section of a candidate episode is scored afresh, also those that were not among
the archive-wide candidates:

    within = w × meaning + (1 − w) × keywords
    local  = ((1 − f) × within + f × fused + d × defines) × (1 − host_penalty × monologue)

with meaning, keywords and the archive-wide fused score (0 for a section that was not a candidate)
min-max scaled among the episode's own sections, keyword terms counted once each (a question that
repeats "data" is not asking twice as much about data), `defines` 1 where the term a "what is X"
question asks about is defined (`retrieval.search.definitions`), and the same discount for a section that
is mostly the host talking as the fused score uses. The episode's moments are then its sections in
that order, overlapping neighbours merged into one span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.index.store import SectionIndex
from retrieval.search.corpus_tables import Corpus
from retrieval.search.definitions import DefinedTerm, defines


@dataclass(frozen=True)
class LocalMoment:
    """A section in its episode's ranking, with its cosine to the question."""

    row: int
    similarity: float


@dataclass(frozen=True)
class LocalQuery:
    """What localisation needs of a question: its embedding, its distinct keyword terms, and the term
    it asks to be defined, if it asks what something is."""

    vector: np.ndarray
    # The BM25 score of every corpus row for the question's distinct terms (computed once a query).
    keywords: np.ndarray
    defined: DefinedTerm | None = None
    # The fused (archive-wide) score of the rows that were candidates, by row.
    fused: dict[int, float] = field(default_factory=dict)


class Localiser:
    """Ranks the sections of one episode for a question (see the module docstring)."""

    def __init__(self, *, meaning_weight: float, fused_weight: float, definition_weight: float, host_penalty: float):
        self.meaning_weight = meaning_weight
        self.fused_weight = fused_weight
        self.definition_weight = definition_weight
        self.host_penalty = host_penalty

    def rank(
        self, index: SectionIndex, corpus: Corpus, episode_id: str, *, query: LocalQuery, mask: np.ndarray | None
    ) -> list[LocalMoment]:
        """The episode's sections that `mask` allows, best first (`index` holds their vectors)."""
        rows = corpus.episode_rows.get(episode_id)
        if rows is None or not len(rows):
            return []
        if mask is not None:
            rows = rows[mask[rows]]
            if not len(rows):
                return []
        similarity = _vectors(index, corpus, episode_id, rows=rows) @ query.vector
        w = self.meaning_weight
        within = w * _scaled(similarity) + (1.0 - w) * _scaled(query.keywords[rows])
        # What the archive-wide ranking saw (episode evidence, the host asking the question) still
        # counts, scaled among the episode's sections; sections it never reached count 0 there.
        fused = np.array([query.fused.get(int(row), 0.0) for row in rows])
        local = (1.0 - self.fused_weight) * within + self.fused_weight * _scaled(fused)
        if query.defined is not None:
            local = local + self.definition_weight * self._definitions(corpus, rows, query.defined)
        monologue = np.maximum(0.0, corpus.host_share[rows] - 0.5) * 2
        local = local * (1.0 - self.host_penalty * monologue)
        order = np.argsort(-local, kind="stable")
        return [LocalMoment(int(rows[i]), float(similarity[i])) for i in order]

    @staticmethod
    def _definitions(corpus: Corpus, rows: np.ndarray, term: DefinedTerm) -> np.ndarray:
        """1 for each section that says what `term` is (or where it is asked), else 0."""
        found = []
        for row in rows:
            section = corpus.sections[int(row)]
            lines = [(line.text, line.by_host) for line in section.lines()]
            found.append(defines(term, section.header, lines))
        return np.array(found, dtype=np.float64)


def _vectors(index: SectionIndex, corpus: Corpus, episode_id: str, *, rows: np.ndarray) -> np.ndarray:
    """The stored vectors of `rows`, read from the index once per episode and corpus snapshot."""
    cached = corpus.vectors.get(episode_id)
    if cached is None:
        all_rows = corpus.episode_rows[episode_id]
        ids = [corpus.sections[int(row)].id for row in all_rows]
        found = index.vectors_by_id(ids)
        # A section another process removed since this snapshot was read has no vector: it then
        # matches by keywords alone until the snapshot is refreshed.
        missing = np.zeros(len(next(iter(found.values()))) if found else 0, dtype=np.float32)
        # Kept at half precision (cosines move by ~1e-3): 200 episodes' vectors take ~12 MB, not 24.
        cached = np.stack([found.get(section_id, missing) for section_id in ids]).astype(np.float16)
        # Rows of an episode are consecutive in the corpus, so a row's vector is at row - first.
        corpus.vectors[episode_id] = cached
    return cached[rows - corpus.episode_rows[episode_id][0]].astype(np.float32)


def _scaled(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.ones_like(values, dtype=np.float64)
    return (values - low) / (high - low)


def distinct(terms: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(terms))

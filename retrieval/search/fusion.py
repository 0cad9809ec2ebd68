"""The archive-wide score of a section for a question: a weighted sum of its meaning and keyword
matches (each scaled to 0..1 within the query), its episode's metadata and named guest, the host
asking what the user asks, and less for the host talking. It ranks the episodes; `retrieval.search.localise`
then ranks the moments inside each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from retrieval.index.store import SectionIndex
from retrieval.search.corpus_tables import Corpus
from retrieval.settings import SearchConfig

Ranking = list[tuple[int, float]]  # (corpus row, score), best first
K = TypeVar("K")


class Fusion:
    """The fused score's signals, read from the index and the corpus tables with `config`'s weights."""

    def __init__(self, index: SectionIndex, config: SearchConfig):
        self.index = index
        self.config = config

    def dense(self, corpus: Corpus, vector: np.ndarray, mask: np.ndarray | None) -> Ranking:
        ids = None if mask is None else [corpus.sections[i].id for i in np.flatnonzero(mask)]
        hits = self.index.nearest(vector, self.config.candidates, ids=ids)
        return [(corpus.positions[section_id], cosine) for section_id, cosine in hits if section_id in corpus.positions]

    def keyword(self, corpus: Corpus, terms: Sequence[str], mask: np.ndarray | None) -> Ranking:
        scores = corpus.keywords.scores(terms)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[: self.config.candidates]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def transcript_scores(self, dense: Ranking, keyword: Ranking) -> dict[int, float]:
        """Convex combination of the meaning and keyword matches, each scaled to 0..1 in this query."""
        scores: dict[int, float] = {}
        scaled_rankings = (
            (_scaled(dense), 1.0 - self.config.keyword_weight),
            (_scaled(keyword, 0.0), self.config.keyword_weight),
        )
        for ranking, share in scaled_rankings:
            for row, scaled in ranking.items():
                scores[row] = scores.get(row, 0.0) + share * scaled
        if not dense or not keyword:
            # One signal alone (the baselines): its scaled score is the whole score.
            top = max(scores.values(), default=1.0) or 1.0
            scores = {row: score / top for row, score in scores.items()}
        return scores

    def add_episode_evidence(
        self,
        corpus: Corpus,
        scores: dict[int, float],
        *,
        query: str,
        vector: np.ndarray,
        terms: Sequence[str],
        mask: np.ndarray | None,
        dense: Ranking,
    ) -> None:
        """Evidence that comes from episodes rather than single sections: the episode's metadata
        matches the question, its best section means what the question asks (`dense`, the meaning
        candidates), or the question names the episode's guest."""
        card_keyword = corpus.cards.scores(terms)
        by_card = _scaled([(i, float(score)) for i, score in enumerate(card_keyword) if score > 0], 0.0)
        card_match = {corpus.card_ids[i]: 0.5 * scaled for i, scaled in by_card.items()}
        for episode_id, scaled in _scaled(self.index.query_cards(vector, 10)).items():
            card_match[episode_id] = card_match.get(episode_id, 0.0) + 0.5 * scaled
        for row in scores:
            scores[row] += self.config.metadata_weight * card_match.get(corpus.sections[row].episode_id, 0.0)
        self._add_episode_meaning(corpus, scores, dense)
        named = [episode_id for episode_id in corpus.named_episodes(query) if episode_id in corpus.episode_rows]
        if not named:
            return
        inside = np.zeros(len(corpus.sections), dtype=bool)
        inside[np.concatenate([corpus.episode_rows[episode_id] for episode_id in named])] = True
        if mask is not None:
            inside &= mask
        if inside.any():
            within = self.transcript_scores(self.dense(corpus, vector, inside), self.keyword(corpus, terms, inside))
            for row, score in within.items():
                scores[row] = scores.get(row, 0.0) + self.config.named_weight * score

    def _add_episode_meaning(self, corpus: Corpus, scores: dict[int, float], dense: Ranking) -> None:
        """Reward every candidate of an episode whose best section means what the question asks (the
        episode's best cosine, scaled among the episodes in `dense`). Keyword matches dominate the
        section score, so without it an episode that talks about the subject in other words (the
        answer of a question asked across episodes) falls behind those repeating its words."""
        best: dict[str, float] = {}
        for row, similarity in dense:
            episode_id = corpus.sections[row].episode_id
            best[episode_id] = max(best.get(episode_id, -1.0), similarity)
        scaled = _scaled(list(best.items()))
        for row in scores:
            scores[row] += self.config.episode_meaning_weight * scaled.get(corpus.sections[row].episode_id, 0.0)

    def add_asked(self, corpus: Corpus, scores: dict[int, float], terms: Sequence[str]) -> None:
        """Reward sections in which the host asks much of what the user asks: the answer follows there."""
        content = set(terms)
        total = sum(corpus.weight(term) for term in content)
        if not total:
            return
        for row in scores:
            asked = content.intersection(corpus.asked[row])
            if asked:
                scores[row] += self.config.asked_weight * sum(corpus.weight(term) for term in asked) / total

    def penalise_host_talk(self, corpus: Corpus, scores: dict[int, float]) -> None:
        for row in scores:
            monologue = max(0.0, float(corpus.host_share[row]) - 0.5) * 2
            scores[row] *= 1.0 - self.config.host_penalty * monologue


def _scaled(ranking: Sequence[tuple[K, float]], floor: float | None = None) -> dict[K, float]:
    """Scores scaled to 0..1 within one query: the best is 1, `floor` (default: the weakest candidate) 0.

    Keyword scores have a natural floor, 0 (no term matches); cosine similarities don't."""
    if not ranking:
        return {}
    values = [score for _, score in ranking]
    low, high = min(values) if floor is None else floor, max(values)
    if high - low < 1e-9:
        return {key: 1.0 for key, _ in ranking}
    return {key: (score - low) / (high - low) for key, score in ranking}

"""Find the moments that answer a question: which episodes (dense + BM25 + episode metadata), then
where inside each of them (`retrieval.search.localise`).

One search:
1. candidates: the nearest sections by meaning (Chroma) and the best keyword matches (BM25) across
   the archive;
2. episode evidence: the episodes whose metadata (title, guests' names and bios, description,
   topics, headers) matches, and the episodes whose guest the question names — those episodes'
   sections are searched on their own too, so a guest's episode is found even when the question's
   words are only in the guest's page;
3. a weighted sum of those scores (each scaled within the query); a section that is mostly the host
   talking (a question, the introduction) counts less than the guest's answer. This ranks the
   episodes: an episode is as good as its best section;
4. localisation: inside each of the k best episodes, every section is ranked afresh on what answers
   (meaning and keywords among the episode's own sections, where the term a "what is X" question
   asks about is defined); the episode keeps the places its fused scores earned, filled with its
   localised moments in order;
5. overlapping windows of one moment are merged, repeats dropped, and moments capped per episode
   by the question's shape (the best moment of each strong episode first when it asks across
   episodes);
6. a calibrated decision whether any of it is about the question (`retrieval.search.relevance`), judged
   on the fused ranking.

The keyword side comes from `retrieval.search.corpus_source`: saved beside the index, followed when
another process writes it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from retrieval.answering.catalogue import CatalogueAnswer, answer_catalogue
from retrieval.answering.quotes import QuoteQuery, asks_amount
from retrieval.corpus.sections import Section
from retrieval.index.embedding import Embedder
from retrieval.index.store import SectionIndex
from retrieval.search.corpus_source import CorpusSource
from retrieval.search.corpus_tables import Corpus
from retrieval.search.definitions import defined_term
from retrieval.search.filters import NO_FILTERS, SearchFilters, allowed
from retrieval.search.fusion import Fusion
from retrieval.search.keyword import tokenize
from retrieval.search.localise import Localiser, LocalQuery, distinct
from retrieval.search.moments import (
    EpisodeMatch,
    Moment,
    SearchResult,
    cap_per_episode,
    group_by_episode,
    merge_overlaps,
    shortfall,
    spread,
)
from retrieval.search.relevance import asking_terms, gather_evidence, name_terms, relevant
from retrieval.search.shapes import question_shape
from retrieval.settings import SearchConfig

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")
# An episode's localised moments beyond those the fused ranking found score this much less each.
LATER = 0.9


class Searcher:
    """Hybrid search over a SectionIndex. Thread-safe; share one per process."""

    def __init__(self, index: SectionIndex, embedder: Embedder, config: SearchConfig | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config or SearchConfig()
        self._source = CorpusSource(index, self.config.refresh_seconds)
        self._fusion = Fusion(index, self.config)
        self._localiser = Localiser(
            meaning_weight=self.config.local_meaning_weight,
            fused_weight=self.config.local_fused_weight,
            definition_weight=self.config.definition_weight,
            host_penalty=self.config.host_penalty,
        )

    # The keyword side, kept in step with the index -------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Follow the index if another process (or this one) changed its episodes."""
        self._source.refresh(force)

    @property
    def corpus(self) -> Corpus:
        return self._source.current()

    def term_weights(self, text: str) -> dict[str, float]:
        """The keyword terms of `text` with their inverse document frequency in the index."""
        corpus = self.corpus
        return {term: corpus.weight(term) for term in tokenize([text])[0]}

    def question_weights(self, question: str) -> dict[str, float]:
        """The question's terms to match quotes against: without the words that only ask ("did",
        "guest", "talk"), which would favour the introduction and the host's questions, unless they
        are part of a name ("DataTalks") or nothing else is left."""
        weights = self.term_weights(question)
        asking = asking_terms() - name_terms(question)
        return {term: weight for term, weight in weights.items() if term not in asking} or weights

    def sentence_similarity(self, question: str) -> Callable[[Sequence[str]], list[float]]:
        """A function giving the cosine between `question` and each of some sentences (embedded then)."""
        vector = self.embedder.embed_query(question)

        def similarity(sentences: Sequence[str]) -> list[float]:
            if not sentences:
                return []
            return [float(v) for v in np.asarray(self.embedder.embed_documents(list(sentences))) @ vector]

        return similarity

    def quote_query(self, question: str) -> QuoteQuery:
        """What the quotes of an offline answer to `question` are matched against (`retrieval.answering.quotes`)."""
        return QuoteQuery(
            self.term_weights,
            self.question_weights(question),
            self.sentence_similarity(question),
            defined_term(question),
            asks_amount(question),
        )

    def catalogue(self, question: str) -> CatalogueAnswer | None:
        """The answer to a question about the episodes themselves (`retrieval.answering.catalogue`), if it is one."""
        corpus = self.corpus
        return answer_catalogue(question, corpus.episodes, corpus.named_episodes)

    def neighbours(self, moment: Moment, *, before: int = 1, after: int = 1) -> list[Section]:
        """The moment's section with up to `before` sections before it and `after` after it."""
        corpus = self.corpus
        row = corpus.positions.get(moment.section.id)
        if row is None:
            return [moment.section]
        rows = [corpus.neighbour(row, offset) for offset in range(-before, after + 1)]
        return [corpus.sections[r] for r in rows if r is not None]

    # Search -----------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: SearchFilters = NO_FILTERS,
        mode: Mode = "hybrid",
        per_episode: int | None = None,
    ) -> SearchResult:
        corpus = self.corpus
        k = k or self.config.k
        query = query.strip()
        if not query or not corpus.sections:
            return SearchResult(query, [], relevant=False)
        shape = question_shape(query)
        mask = allowed(corpus.sections, filters)
        terms = tokenize([query])[0]
        vector = self.embedder.embed_query(query)
        dense = self._fusion.dense(corpus, vector, mask) if mode in ("hybrid", "dense") else []
        keyword = self._fusion.keyword(corpus, terms, mask) if mode in ("hybrid", "bm25") else []
        scores = self._fusion.transcript_scores(dense, keyword)
        if mode == "hybrid":
            self._fusion.add_episode_evidence(
                corpus, scores, query=query, vector=vector, terms=terms, mask=mask, dense=dense
            )
            self._fusion.add_asked(corpus, scores, terms)
            self._fusion.penalise_host_talk(corpus, scores)
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        similarity = dict(dense)
        moments = [Moment.at(corpus.sections[i], score, similarity.get(i)) for i, score in ranked]
        merged = merge_overlaps(moments)
        by_episode = group_by_episode(merged)
        if mode == "hybrid":
            by_episode = self._localise(
                corpus,
                by_episode,
                query=LocalQuery(vector, corpus.keywords.scores(distinct(terms)), defined_term(query), scores),
                mask=mask,
                k=k,
            )
        if per_episode is None and shape.spread == "episodes":
            per_episode = 1
            moments = spread(by_episode, self.config.strong_episode)[:k]
        else:
            per_episode = self.config.per_episode if per_episode is None else per_episode
            ordered = sorted((m for found in by_episode.values() for m in found), key=lambda m: -m.score)
            moments = cap_per_episode(ordered, per_episode)[:k]
        # Judged on the best-scoring moments, whatever order they are then shown in.
        top = merged[:3]
        evidence = gather_evidence(
            corpus,
            query,
            terms=terms,
            best=[m.section for m in top],
            similarities=self._similarities(corpus, vector, top, known=similarity),
        )
        is_relevant = bool(moments) and relevant(evidence, self.config.relevance)
        note = shortfall(len(moments), k, per_episode=per_episode, before_cap=len(merged)) if is_relevant else ""
        return SearchResult(query, moments, is_relevant, evidence=evidence, shape=shape, note=note)

    def _localise(
        self,
        corpus: Corpus,
        by_episode: dict[str, list[Moment]],
        *,
        query: LocalQuery,
        mask: np.ndarray | None,
        k: int,
    ) -> dict[str, list[Moment]]:
        """The moments of the `k` best episodes in the order `retrieval.search.localise` ranks them inside
        each episode. How many places an episode gets is still decided by its fused scores: the
        episode's n-th moment takes the n-th best fused score the episode had."""
        localised: dict[str, list[Moment]] = {}
        for episode_id, found in itertools.islice(by_episode.items(), k):
            # Twice as many as can be shown: merging overlapping neighbours makes fewer.
            ranked = self._localiser.rank(self.index, corpus, episode_id, query=query, mask=mask)[: 2 * k]
            places = [m.score for m in found] + [found[-1].score * LATER**n for n in range(1, len(ranked) + 1)]
            # Merging removes moments; the places are then given out in order.
            merged = merge_overlaps([Moment.at(corpus.sections[local.row], 0.0, local.similarity) for local in ranked])
            localised[episode_id] = [replace(m, score=places[n]) for n, m in enumerate(merged)] or found
        return localised

    def _similarities(
        self, corpus: Corpus, vector: np.ndarray, moments: Sequence[Moment], *, known: dict[int, float]
    ) -> list[float]:
        """Cosine of the question with each of `moments` (asking the index for those not yet known)."""
        rows = [corpus.positions[m.section.id] for m in moments]
        missing = [corpus.sections[row].id for row in rows if row not in known]
        if missing:
            hits = self.index.nearest(vector, len(missing), ids=missing)
            known = known | {corpus.positions[section_id]: cosine for section_id, cosine in hits}
        return [known.get(row, 0.0) for row in rows]

    def search_episodes(
        self, query: str, *, k: int = 5, filters: SearchFilters = NO_FILTERS, moments_per_episode: int = 3
    ) -> list[EpisodeMatch]:
        """Episodes ranked by how well their best moments match, for "which episode…" questions."""
        result = self.search(query, k=k * moments_per_episode, filters=filters, per_episode=moments_per_episode)
        matches: dict[str, EpisodeMatch] = {}
        for moment in result.moments:
            s = moment.section
            match = matches.setdefault(s.episode_id, EpisodeMatch(s.episode_id, s.episode_title, 0.0, []))
            match.moments.append(moment)
        ranked = [
            replace(m, score=sum(moment.score / (n + 1) for n, moment in enumerate(m.moments)))
            for m in matches.values()
        ]
        return sorted(ranked, key=lambda m: -m.score)[:k]

"""Find the moments that answer a question: which episodes (dense + BM25 + episode metadata), then
where inside each of them (`retrieval.localise`).

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
6. a calibrated decision whether any of it is about the question (`retrieval.relevance`), judged
   on the fused ranking.

The keyword side comes from `retrieval.corpus_source`: saved beside the index, followed when
another process writes it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np

from retrieval.corpus import Corpus
from retrieval.corpus_source import CorpusSource
from retrieval.definitions import defined_term
from retrieval.embedding import Embedder
from retrieval.filters import NO_FILTERS, SearchFilters, allowed
from retrieval.index import SectionIndex
from retrieval.keyword import tokenize
from retrieval.localise import Localiser, LocalQuery, distinct
from retrieval.relevance import (
    Evidence,
    asking_terms,
    content_terms,
    name_terms,
    names,
    relevant,
    unwritten,
    unwritten_anywhere,
)
from retrieval.sections import Section
from retrieval.settings import SearchConfig
from retrieval.shapes import QuestionShape, question_shape

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")
Ranking = list[tuple[int, float]]  # (corpus row, score), best first
K = TypeVar("K")
# About the size of a few dozen episodes (the 40 dev episodes have ~3,000 sections).
FULL_CORPUS_SECTIONS = 2000
# An episode's localised moments beyond those the fused ranking found score this much less each.
LATER = 0.9


@dataclass(frozen=True)
class Moment:
    """A retrieved section; its span grows when overlapping neighbours are merged into it.

    The link (and `start_sec`) stay at the best-matching section's start; the span is what the
    moment covers, e.g. for judging whether it contains an answer.
    """

    section: Section
    score: float
    similarity: float | None
    span_start: int
    span_end: int

    @classmethod
    def at(cls, section: Section, score: float, similarity: float | None) -> Moment:
        """A moment spanning just its section."""
        return cls(section, score, similarity, section.start_sec, section.end_sec)

    @property
    def start_sec(self) -> int:
        return self.section.start_sec

    @property
    def url(self) -> str:
        return self.section.url

    def to_dict(self) -> dict[str, Any]:
        s = self.section
        return {
            "episode_id": s.episode_id,
            "episode_title": s.episode_title,
            "season": s.season,
            "episode": s.number,
            "guests": list(s.guest_names),
            "speakers": list(s.speakers),
            "header": s.header,
            "start_sec": self.start_sec,
            "span": [self.span_start, self.span_end],
            "url": self.url,
            "score": round(self.score, 6),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "text": s.text,
        }


@dataclass(frozen=True)
class SearchResult:
    """Ranked moments; `relevant` is False when nothing found is about the question."""

    query: str
    moments: list[Moment]
    relevant: bool
    best_similarity: float | None = None
    evidence: Evidence | None = None
    shape: QuestionShape | None = None
    # Why fewer than k moments were returned, when that happens.
    note: str = ""


@dataclass(frozen=True)
class EpisodeMatch:
    episode_id: str
    title: str
    score: float
    moments: list[Moment] = field(default_factory=list)


class Searcher:
    """Hybrid search over a SectionIndex. Thread-safe; share one per process."""

    def __init__(self, index: SectionIndex, embedder: Embedder, config: SearchConfig | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config or SearchConfig()
        self._source = CorpusSource(index, self.config.refresh_seconds)
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

    def neighbours(self, moment: Moment, before: int = 1, after: int = 1) -> list[Section]:
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
        dense = self._dense(corpus, vector, mask) if mode in ("hybrid", "dense") else []
        keyword = self._keyword(corpus, terms, mask) if mode in ("hybrid", "bm25") else []
        scores = self._transcript_scores(dense, keyword)
        if mode == "hybrid":
            self._add_episode_evidence(corpus, scores, query, vector, terms, mask)
            self._add_asked(corpus, scores, terms)
            self._penalise_host_talk(corpus, scores)
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        similarity = dict(dense)
        moments = [Moment.at(corpus.sections[i], score, similarity.get(i)) for i, score in ranked]
        merged = _merge_overlaps(moments)
        by_episode = _by_episode(merged)
        if mode == "hybrid":
            by_episode = self._localise(
                corpus,
                by_episode,
                LocalQuery(vector, corpus.keywords.scores(distinct(terms)), defined_term(query), scores),
                mask,
                k,
            )
        if per_episode is None and shape.spread == "episodes":
            per_episode = 1
            moments = _spread(by_episode, self.config.strong_episode)[:k]
        else:
            per_episode = self.config.per_episode if per_episode is None else per_episode
            ordered = sorted((m for found in by_episode.values() for m in found), key=lambda m: -m.score)
            moments = _cap_per_episode(ordered, per_episode)[:k]
        # Judged on the best-scoring moments, whatever order they are then shown in.
        top = merged[:3]
        evidence = self._evidence(corpus, query, terms, top, self._similarities(corpus, vector, top, similarity))
        is_relevant = bool(moments) and relevant(evidence, self.config.relevance)
        note = _shortfall(len(moments), k, per_episode, len(merged)) if is_relevant else ""
        best = max(similarity.values(), default=None)
        return SearchResult(query, moments, is_relevant, best, evidence, shape, note)

    def _localise(
        self,
        corpus: Corpus,
        by_episode: dict[str, list[Moment]],
        query: LocalQuery,
        mask: np.ndarray | None,
        k: int,
    ) -> dict[str, list[Moment]]:
        """The moments of the `k` best episodes in the order `retrieval.localise` ranks them inside
        each episode. How many places an episode gets is still decided by its fused scores: the
        episode's n-th moment takes the n-th best fused score the episode had."""
        localised: dict[str, list[Moment]] = {}
        for episode_id, found in itertools.islice(by_episode.items(), k):
            # Twice as many as can be shown: merging overlapping neighbours makes fewer.
            ranked = self._localiser.rank(self.index, corpus, episode_id, query, mask)[: 2 * k]
            places = [m.score for m in found] + [found[-1].score * LATER**n for n in range(1, len(ranked) + 1)]
            # Merging removes moments; the places are then given out in order.
            merged = _merge_overlaps([Moment.at(corpus.sections[local.row], 0.0, local.similarity) for local in ranked])
            localised[episode_id] = [replace(m, score=places[n]) for n, m in enumerate(merged)] or found
        return localised

    def _dense(self, corpus: Corpus, vector: np.ndarray, mask: np.ndarray | None) -> Ranking:
        ids = None if mask is None else [corpus.sections[i].id for i in np.flatnonzero(mask)]
        hits = self.index.query(vector, self.config.candidates, ids=ids)
        return [
            (corpus.positions[hit.section.id], 1.0 - hit.distance) for hit in hits if hit.section.id in corpus.positions
        ]

    def _keyword(self, corpus: Corpus, terms: Sequence[str], mask: np.ndarray | None) -> Ranking:
        scores = corpus.keywords.scores(terms)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[: self.config.candidates]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def _transcript_scores(self, dense: Ranking, keyword: Ranking) -> dict[int, float]:
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

    def _add_episode_evidence(
        self,
        corpus: Corpus,
        scores: dict[int, float],
        query: str,
        vector: np.ndarray,
        terms: Sequence[str],
        mask: np.ndarray | None,
    ) -> None:
        """Evidence that comes from episodes rather than single sections: the episode's metadata
        matches the question, or the question names the episode's guest."""
        card_keyword = corpus.cards.scores(terms)
        by_card = _scaled([(i, float(score)) for i, score in enumerate(card_keyword) if score > 0], 0.0)
        card_match = {corpus.card_ids[i]: 0.5 * scaled for i, scaled in by_card.items()}
        for episode_id, scaled in _scaled(self.index.query_cards(vector, 10)).items():
            card_match[episode_id] = card_match.get(episode_id, 0.0) + 0.5 * scaled
        for row in scores:
            scores[row] += self.config.metadata_weight * card_match.get(corpus.sections[row].episode_id, 0.0)
        named = [episode_id for episode_id in corpus.named_episodes(query) if episode_id in corpus.episode_rows]
        if not named:
            return
        inside = np.zeros(len(corpus.sections), dtype=bool)
        inside[np.concatenate([corpus.episode_rows[episode_id] for episode_id in named])] = True
        if mask is not None:
            inside &= mask
        if inside.any():
            within = self._transcript_scores(self._dense(corpus, vector, inside), self._keyword(corpus, terms, inside))
            for row, score in within.items():
                scores[row] = scores.get(row, 0.0) + self.config.named_weight * score

    def _add_asked(self, corpus: Corpus, scores: dict[int, float], terms: Sequence[str]) -> None:
        """Reward sections in which the host asks much of what the user asks: the answer follows there."""
        content = set(terms)
        total = sum(corpus.weight(term) for term in content)
        if not total:
            return
        for row in scores:
            asked = content.intersection(corpus.asked[row])
            if asked:
                scores[row] += self.config.asked_weight * sum(corpus.weight(term) for term in asked) / total

    def _penalise_host_talk(self, corpus: Corpus, scores: dict[int, float]) -> None:
        for row in scores:
            monologue = max(0.0, float(corpus.host_share[row]) - 0.5) * 2
            scores[row] *= 1.0 - self.config.host_penalty * monologue

    def _similarities(
        self, corpus: Corpus, vector: np.ndarray, moments: Sequence[Moment], known: dict[int, float]
    ) -> list[float]:
        """Cosine of the question with each of `moments` (asking the index for those not yet known)."""
        rows = [corpus.positions[m.section.id] for m in moments]
        missing = [corpus.sections[row].id for row in rows if row not in known]
        if missing:
            hits = self.index.query(vector, len(missing), ids=missing)
            known = known | {corpus.positions[hit.section.id]: 1.0 - hit.distance for hit in hits}
        return [known.get(row, 0.0) for row in rows]

    def _evidence(
        self, corpus: Corpus, query: str, terms: Sequence[str], moments: Sequence[Moment], similarities: Sequence[float]
    ) -> Evidence:
        # Two-letter terms ("ds", "ai") are abbreviations with many spellings: left out like asking words.
        content = content_terms(terms)
        total = sum(corpus.weight(term) for term in content) or 1.0
        # A name the podcast never mentions ("Tokyo", "Clojure") is strong evidence however small the
        # index; that a common word is missing from one episode says little, from dozens a lot.
        named = name_terms(query)
        size = min(1.0, len(corpus.sections) / FULL_CORPUS_SECTIONS)
        # A name counts only where it is written as one ("Formula 1", not the "formula" of algebra).
        written = names(query)
        absent = unwritten_anywhere(written, corpus)
        missing = [term for term in content if term not in corpus.vocabulary or term in absent]
        unknown = sum(corpus.weight(term) * (1.0 if term in named else size) for term in missing) / total
        covered = 0.0
        for moment in moments[:3]:
            row = corpus.positions[moment.section.id]
            around = [
                corpus.sections[r].keyword_text
                for r in (corpus.neighbour(row, -1), row, corpus.neighbour(row, 1))
                if r is not None
            ]
            record = corpus.episodes.get(moment.section.episode_id)
            text = "\n".join(around + ([record.card] if record else []))
            words = set(tokenize([text])[0]) - unwritten(written, text)
            covered = max(covered, sum(corpus.weight(term) for term in content if term in words) / total)
        return Evidence(similarity=max(similarities, default=0.0), coverage=covered, unknown=unknown)

    def search_episodes(
        self, query: str, k: int = 5, filters: SearchFilters = NO_FILTERS, moments_per_episode: int = 3
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


def _merge_overlaps(moments: list[Moment]) -> list[Moment]:
    """One moment per stretch of transcript: overlapping neighbours widen the better one's span,
    and a section repeating an earlier one's words is dropped."""
    kept: list[Moment] = []
    for moment in moments:
        for n, other in enumerate(kept):
            a, b = moment.section, other.section
            if a.episode_id == b.episode_id and a.text == b.text:
                break
            overlapping = moment.span_start <= other.span_end and other.span_start <= moment.span_end
            if a.episode_id == b.episode_id and abs(a.position - b.position) <= 1 and overlapping:
                kept[n] = replace(
                    other,
                    span_start=min(other.span_start, moment.span_start),
                    span_end=max(other.span_end, moment.span_end),
                )
                break
        else:
            kept.append(moment)
    return kept


def _cap_per_episode(moments: list[Moment], per_episode: int) -> list[Moment]:
    if per_episode <= 0:
        return moments
    counts: dict[str, int] = {}
    capped = []
    for moment in moments:
        episode_id = moment.section.episode_id
        if counts.get(episode_id, 0) < per_episode:
            counts[episode_id] = counts.get(episode_id, 0) + 1
            capped.append(moment)
    return capped


def _by_episode(moments: list[Moment]) -> dict[str, list[Moment]]:
    """Moments grouped by episode, episodes in the order of their best moment."""
    by_episode: dict[str, list[Moment]] = {}
    for moment in moments:
        by_episode.setdefault(moment.section.episode_id, []).append(moment)
    return by_episode


def _spread(by_episode: dict[str, list[Moment]], strong: float) -> list[Moment]:
    """For a question across episodes: the best moment of each episode that matches strongly (its
    best within `strong` of the very best), then their second-best, then the other episodes' best."""
    top = max((found[0].score for found in by_episode.values()), default=0.0)
    leaders = [found for found in by_episode.values() if found[0].score >= strong * top]
    others = [found for found in by_episode.values() if found[0].score < strong * top]
    return [f[0] for f in leaders] + [f[1] for f in leaders if len(f) > 1] + [f[0] for f in others]


def _shortfall(found: int, k: int, per_episode: int, before_cap: int) -> str:
    """Why fewer than `k` moments came back, in words for the user."""
    if found >= k:
        return ""
    if per_episode > 0 and before_cap > found:
        return (
            f"only {found} of the {k} moments asked for: at most {per_episode} per episode, "
            f"and only {found if per_episode == 1 else 'these'} episodes matched"
        )
    return f"only {found} of the {k} moments asked for matched"

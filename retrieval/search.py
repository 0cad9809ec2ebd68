"""Find the moments that answer a question: dense (Chroma) + BM25, fused by reciprocal rank.

The BM25 side is built once from the documents in the index (not from the YAML files) and rebuilt
only when the index's episode manifest changes — also when another process ingested into a
shared Chroma server. Results are merged when they are overlapping windows of the same moment,
capped per episode, and judged against a relevance threshold so that a question no episode
answers gets "nothing found" instead of the least bad guess.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import bm25s
import numpy as np
import Stemmer

from retrieval.embedding import Embedder
from retrieval.errors import FilterError
from retrieval.index import SectionIndex
from retrieval.sections import Section

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import; its index-building chatter is not ours to show.
logging.getLogger("bm25s").setLevel(logging.WARNING)

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class SearchConfig:
    k: int = 5
    candidates: int = 80
    per_episode: int = 3
    rrf_k: int = 20
    # Keyword matches are the stronger signal on these transcripts (measured with `podcast-bot eval`).
    keyword_weight: float = 2.0
    # Cosine similarity of the best dense match below which we say nothing relevant was found.
    min_similarity: float = 0.45
    # How often (seconds) to check whether another process changed the index.
    refresh_seconds: float = 5.0


@dataclass(frozen=True)
class SearchFilters:
    season: int | None = None
    episode: str | None = None
    guest: str | None = None
    speaker: str | None = None

    def __bool__(self) -> bool:
        return any(value not in (None, "") for value in (self.season, self.episode, self.guest, self.speaker))


NO_FILTERS = SearchFilters()


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
    """Ranked moments; `relevant` is False when even the best is below the relevance threshold."""

    query: str
    moments: list[Moment]
    relevant: bool
    best_similarity: float | None = None


@dataclass(frozen=True)
class EpisodeMatch:
    episode_id: str
    title: str
    score: float
    moments: list[Moment] = field(default_factory=list)


@dataclass(frozen=True)
class _Corpus:
    """Everything a search reads, built together and swapped in one assignment (thread-safe)."""

    version: str | None = None
    sections: tuple[Section, ...] = ()
    positions: dict[str, int] = field(default_factory=dict)
    bm25: Any = None
    vocabulary: frozenset[str] = frozenset()
    idf: dict[str, float] = field(default_factory=dict)


class Searcher:
    """Hybrid search over a SectionIndex. Thread-safe; share one per process."""

    def __init__(self, index: SectionIndex, embedder: Embedder, config: SearchConfig = SearchConfig()):
        self.index = index
        self.embedder = embedder
        self.config = config
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._corpus = _Corpus()
        self._local = threading.local()

    # BM25 corpus, kept in step with the index ------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Rebuild the keyword index if the stored episodes changed since it was built."""
        now = time.monotonic()
        if not force and self._corpus.version is not None and now - self._checked_at < self.config.refresh_seconds:
            return
        with self._lock:
            version = self.index.version()
            self._checked_at = now
            if version == self._corpus.version and not force:
                return
            self._corpus = self._build_corpus(
                version, sorted(self.index.all_sections(), key=lambda s: (s.episode_id, s.position))
            )
            log.debug("keyword index built over %d sections", len(self._corpus.sections))

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        # PyStemmer objects cache internally and are not thread-safe: one per thread.
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer.stemWords, return_ids=False, show_progress=False)

    def _build_corpus(self, version: str, sections: list[Section]) -> _Corpus:
        if not sections:
            return _Corpus(version=version)
        tokens = self._tokenize([s.keyword_text for s in sections])
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        document_frequency: dict[str, int] = {}
        for document in tokens:
            for token in set(document):
                document_frequency[token] = document_frequency.get(token, 0) + 1
        return _Corpus(
            version=version,
            sections=tuple(sections),
            positions={section.id: i for i, section in enumerate(sections)},
            bm25=bm25,
            vocabulary=frozenset(bm25.vocab_dict),
            idf={t: math.log(1 + len(tokens) / n) for t, n in document_frequency.items()},
        )

    def term_weights(self, text: str) -> dict[str, float]:
        """The keyword terms of `text` with their inverse document frequency in the index."""
        self.refresh()
        corpus = self._corpus
        default = math.log(1 + max(len(corpus.sections), 1))
        return {term: corpus.idf.get(term, default) for term in self._tokenize([text])[0]}

    # Filters ----------------------------------------------------------------------------------

    @staticmethod
    def _allowed(sections: tuple[Section, ...], filters: SearchFilters) -> np.ndarray | None:
        """A boolean mask over `sections`, or None when nothing is filtered."""
        if not filters:
            return None
        mask = np.ones(len(sections), dtype=bool)
        tests = [
            (
                "season",
                None if filters.season is None else str(filters.season),
                lambda s, wanted: s.season == int(wanted),
            ),
            ("episode", filters.episode, _episode_matches),
            ("guest", filters.guest, _guest_matches),
            ("speaker", filters.speaker, _speaker_matches),
        ]
        for what, wanted, test in tests:
            if wanted:
                matches = np.array([test(s, wanted) for s in sections], dtype=bool)
                if sections and not matches.any():
                    raise FilterError(f"no indexed {what} matches {wanted!r}")
                mask &= matches
        return mask

    # Search -----------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters = NO_FILTERS,
        mode: Mode = "hybrid",
        per_episode: int | None = None,
    ) -> SearchResult:
        self.refresh()
        corpus = self._corpus
        k = k or self.config.k
        per_episode = self.config.per_episode if per_episode is None else per_episode
        query = query.strip()
        if not query or not corpus.sections:
            return SearchResult(query, [], relevant=False)
        allowed = self._allowed(corpus.sections, filters)
        dense = self._dense(corpus, query, allowed) if mode in ("hybrid", "dense") else []
        keyword = self._keyword(corpus, query, allowed) if mode in ("hybrid", "bm25") else []
        fused = self._fuse((dense, 1.0), (keyword, self.config.keyword_weight))
        similarity = dict(dense)
        best = max(similarity.values(), default=None)
        moments = [
            Moment(
                corpus.sections[i], score, similarity.get(i), corpus.sections[i].start_sec, corpus.sections[i].end_sec
            )
            for i, score in fused
        ]
        moments = _cap_per_episode(_merge_overlaps(moments), per_episode)[:k]
        top_keyword = corpus.sections[keyword[0][0]] if keyword else None
        relevant = bool(moments) and self._on_topic(corpus, query, best, top_keyword)
        return SearchResult(query, moments, relevant, best)

    def _on_topic(
        self, corpus: _Corpus, query: str, best_similarity: float | None, top_keyword: Section | None
    ) -> bool:
        """False when no episode plausibly answers `query`.

        Calibrated on the dev questions: the best dense match is weak (unless a short query's
        words all occur together in one section, like "book of the week"), or the question names
        something no transcript mentions (a capitalised word that is not an acronym, like "Tokyo"
        or "Clojure").
        """
        if best_similarity is not None and best_similarity < self.config.min_similarity:
            terms = set(self._tokenize([query])[0])
            covered = (
                top_keyword is not None
                and len(terms) >= 2
                and terms <= set(self._tokenize([top_keyword.keyword_text])[0])
            )
            if not covered or best_similarity < self.config.min_similarity - 0.1:
                return False
        names = [word for word in _content_words(query) if word[:1].isupper() and not word.isupper()]
        name_terms = [set(terms) for terms in self._tokenize(names) if terms] if names else []
        return all(terms & corpus.vocabulary for terms in name_terms)

    def _dense(self, corpus: _Corpus, query: str, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        vector = self.embedder.embed_query(query)
        ids = None if allowed is None else [corpus.sections[i].id for i in np.flatnonzero(allowed)]
        hits = self.index.query(vector, self.config.candidates, ids=ids)
        return [
            (corpus.positions[hit.section.id], 1.0 - hit.distance) for hit in hits if hit.section.id in corpus.positions
        ]

    def _keyword(self, corpus: _Corpus, query: str, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        tokens = self._tokenize([query])[0]
        if corpus.bm25 is None or not tokens:
            return []
        scores = corpus.bm25.get_scores(tokens)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores)[: self.config.candidates]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def _fuse(self, *rankings: tuple[list[tuple[int, float]], float]) -> list[tuple[int, float]]:
        """Weighted reciprocal rank fusion of (ranking, weight) pairs."""
        scores: dict[int, float] = {}
        for ranking, weight in rankings:
            for rank, (i, _) in enumerate(ranking):
                scores[i] = scores.get(i, 0.0) + weight / (self.config.rrf_k + rank + 1)
        return sorted(scores.items(), key=lambda item: -item[1])

    def search_episodes(
        self, query: str, k: int = 5, filters: SearchFilters = NO_FILTERS, moments_per_episode: int = 3
    ) -> list[EpisodeMatch]:
        """Episodes ranked by how well their best moments match, for "which episode…" questions."""
        result = self.search(query, k=self.config.candidates, filters=filters, per_episode=moments_per_episode)
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


def _merge_overlaps(moments: list[Moment]) -> list[Moment]:
    kept: list[Moment] = []
    for moment in moments:
        for n, other in enumerate(kept):
            a, b = moment.section, other.section
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


def _content_words(query: str) -> list[str]:
    """The words of a question, without a first word that is capitalised only by its position."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9'+#.-]*[A-Za-z0-9+#]|[A-Za-z]", query)
    return [w for n, w in enumerate(words) if len(w) > 2 and (n > 0 or not w[:1].isupper() or w.isupper())]


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _episode_matches(section: Section, wanted: str) -> bool:
    wanted = wanted.strip()
    code = re.fullmatch(r"[sS](\d+)[eE](\d+)", wanted)
    if code:
        return section.season == int(code.group(1)) and section.number == int(code.group(2))
    if wanted.isdigit():
        return section.number == int(wanted)
    return section.episode_id == wanted.removesuffix(".md") or _normalise(wanted) in _normalise(section.episode_id)


def _guest_matches(section: Section, wanted: str) -> bool:
    key = _normalise(wanted)
    return any(key in _normalise(guest) for guest in section.guests)


def _speaker_matches(section: Section, wanted: str) -> bool:
    key = _normalise(wanted)
    return any(_normalise(speaker) == key for speaker in section.speakers)

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


class FilterError(ValueError):
    """A filter matches nothing that is indexed; the message lists what exists."""


class Searcher:
    """Hybrid search over a SectionIndex. Thread-safe; share one per process."""

    def __init__(self, index: SectionIndex, embedder: Embedder, config: SearchConfig = SearchConfig()):
        self.index = index
        self.embedder = embedder
        self.config = config
        self._lock = threading.Lock()
        self._version: str | None = None
        self._checked_at = 0.0
        self._sections: list[Section] = []
        self._positions: dict[str, int] = {}
        self._bm25: Any = None
        self._stemmer: Any = None
        self._vocabulary: set[str] = set()
        self._idf: dict[str, float] = {}

    # BM25 corpus, kept in step with the index ------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Rebuild the keyword index if the stored episodes changed since it was built."""
        now = time.monotonic()
        if not force and self._version is not None and now - self._checked_at < self.config.refresh_seconds:
            return
        with self._lock:
            version = self.index.version()
            self._checked_at = now
            if version == self._version and not force:
                return
            sections = self.index.all_sections()
            sections.sort(key=lambda s: (s.episode_id, s.position))
            self._bm25 = self._build_bm25(sections)
            self._sections = sections
            self._positions = {section.id: i for i, section in enumerate(sections)}
            self._version = version
            log.debug("keyword index built over %d sections", len(sections))

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer("english")
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer.stemWords, return_ids=False, show_progress=False)

    def _build_bm25(self, sections: list[Section]) -> Any:
        if not sections:
            return None
        retriever = bm25s.BM25()
        corpus = self._tokenize([s.keyword_text for s in sections])
        retriever.index(corpus, show_progress=False)
        self._vocabulary = set(retriever.vocab_dict)
        document_frequency: dict[str, int] = {}
        for tokens in corpus:
            for token in set(tokens):
                document_frequency[token] = document_frequency.get(token, 0) + 1
        self._idf = {t: math.log(1 + len(corpus) / n) for t, n in document_frequency.items()}
        return retriever

    def term_weights(self, text: str) -> dict[str, float]:
        """The keyword terms of `text` with their inverse document frequency in the index."""
        self.refresh()
        default = math.log(1 + max(len(self._sections), 1))
        return {term: self._idf.get(term, default) for term in self._tokenize([text])[0]}

    @property
    def sections(self) -> list[Section]:
        self.refresh()
        return self._sections

    # Filters ----------------------------------------------------------------------------------

    def _allowed(self, filters: SearchFilters) -> np.ndarray | None:
        """A 0/1 mask over `self._sections`, or None when nothing is filtered."""
        if not filters:
            return None
        sections = self._sections
        mask = np.ones(len(sections), dtype=bool)
        if filters.season is not None:
            mask &= self._match(sections, "season", str(filters.season), lambda s, wanted: s.season == int(wanted))
        if filters.episode:
            mask &= self._match(sections, "episode", filters.episode, _episode_matches)
        if filters.guest:
            mask &= self._match(sections, "guest", filters.guest, _guest_matches)
        if filters.speaker:
            mask &= self._match(sections, "speaker", filters.speaker, _speaker_matches)
        return mask

    @staticmethod
    def _match(sections: list[Section], what: str, wanted: str, test) -> np.ndarray:  # type: ignore[no-untyped-def]
        mask = np.array([test(s, wanted) for s in sections], dtype=bool)
        if sections and not mask.any():
            raise FilterError(f"no indexed {what} matches {wanted!r}")
        return mask

    # Search -----------------------------------------------------------------------------------

    def search(
        self, query: str, k: int | None = None, filters: SearchFilters = SearchFilters(), mode: Mode = "hybrid",
        per_episode: int | None = None,
    ) -> SearchResult:
        self.refresh()
        k = k or self.config.k
        per_episode = self.config.per_episode if per_episode is None else per_episode
        query = query.strip()
        if not query or not self._sections:
            return SearchResult(query, [], relevant=False)
        allowed = self._allowed(filters)
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self._dense(query, allowed)
        if mode in ("hybrid", "bm25"):
            keyword = self._keyword(query, allowed)
        fused = self._fuse((dense, 1.0), (keyword, self.config.keyword_weight))
        similarity = {i: sim for i, sim in dense}
        best = max(similarity.values(), default=None)
        moments = [
            Moment(self._sections[i], score, similarity.get(i), self._sections[i].start_sec, self._sections[i].end_sec)
            for i, score in fused
        ]
        moments = _cap_per_episode(_merge_overlaps(moments), per_episode)[:k]
        top_keyword = self._sections[keyword[0][0]] if keyword else None
        relevant = bool(moments) and self._on_topic(query, best, top_keyword)
        return SearchResult(query, moments, relevant, best)

    def _on_topic(self, query: str, best_similarity: float | None, top_keyword: Section | None) -> bool:
        """False when no episode plausibly answers `query`.

        Calibrated on the dev questions: the best dense match is weak (unless a short query's
        words all occur together in one section, like "book of the week"), or the question names
        something no transcript mentions (a capitalised word that is not an acronym, like "Tokyo"
        or "Clojure").
        """
        if best_similarity is not None and best_similarity < self.config.min_similarity:
            terms = set(self._tokenize([query])[0])
            covered = top_keyword is not None and len(terms) >= 2 and terms <= set(self._tokenize([top_keyword.keyword_text])[0])
            if not covered or best_similarity < self.config.min_similarity - 0.1:
                return False
        names = [word for word in _content_words(query) if word[:1].isupper() and not word.isupper()]
        return all(set(self._tokenize([name])[0]) & self._vocabulary for name in names if self._tokenize([name])[0])

    def _dense(self, query: str, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        vector = self.embedder.embed_query(query)
        ids = None if allowed is None else [self._sections[i].id for i in np.flatnonzero(allowed)]
        hits = self.index.query(vector, self.config.candidates, ids=ids)
        position = self._positions
        return [(position[hit.section.id], 1.0 - hit.distance) for hit in hits if hit.section.id in position]

    def _keyword(self, query: str, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        if self._bm25 is None:
            return []
        tokens = self._tokenize([query])[0]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
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
        self, query: str, k: int = 5, filters: SearchFilters = SearchFilters(), moments_per_episode: int = 3
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

    def neighbourhood(self, moment: Moment, radius: int = 1) -> list[Section]:
        """The section and its neighbours in the same episode, in order, for a fuller context."""
        p = moment.section.position
        return self.index.sections_at(moment.section.episode_id, range(max(0, p - radius), p + radius + 1))


def _merge_overlaps(moments: list[Moment]) -> list[Moment]:
    kept: list[Moment] = []
    for moment in moments:
        for n, other in enumerate(kept):
            a, b = moment.section, other.section
            overlapping = moment.span_start <= other.span_end and other.span_start <= moment.span_end
            if a.episode_id == b.episode_id and abs(a.position - b.position) <= 1 and overlapping:
                kept[n] = replace(other, span_start=min(other.span_start, moment.span_start), span_end=max(other.span_end, moment.span_end))
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

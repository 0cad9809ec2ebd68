"""Found moments, and how a ranked list of them is merged, grouped, capped and spread over episodes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from retrieval.corpus.sections import Section
from retrieval.search.relevance import Evidence
from retrieval.search.shapes import QuestionShape


@dataclass(frozen=True)
class Moment:
    """A retrieved section; its span grows when overlapping neighbours are merged into it.

    The link (and `start_sec`) stay at the best-matching section, where its answer starts
    (`Section.answer_sec`: past the host's question it opens with); the span is what the moment
    covers, e.g. for judging whether it contains an answer.
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
        return self.section.answer_sec

    @property
    def url(self) -> str:
        return self.section.url_at(self.start_sec)

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


def merge_overlaps(moments: list[Moment]) -> list[Moment]:
    """One moment per stretch of transcript: overlapping neighbours widen the better one's span,
    and a section repeating an earlier one's words is dropped."""
    kept: list[Moment] = []
    # Only moments of one episode can merge: each is compared with its episode's kept ones alone.
    in_episode: dict[str, list[int]] = {}
    for moment in moments:
        a = moment.section
        places = in_episode.setdefault(a.episode_id, [])
        for n in places:
            other = kept[n]
            b = other.section
            if a.text == b.text:
                break
            overlapping = moment.span_start <= other.span_end and other.span_start <= moment.span_end
            # Windows of one long line all start (and link) at its second: to the asker they are
            # one moment, however far apart their positions.
            if overlapping and (abs(a.position - b.position) <= 1 or a.start_sec == b.start_sec):
                kept[n] = replace(
                    other,
                    span_start=min(other.span_start, moment.span_start),
                    span_end=max(other.span_end, moment.span_end),
                )
                break
        else:
            places.append(len(kept))
            kept.append(moment)
    return kept


def cap_per_episode(moments: list[Moment], per_episode: int) -> list[Moment]:
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


def group_by_episode(moments: list[Moment]) -> dict[str, list[Moment]]:
    """Moments grouped by episode, episodes in the order of their best moment."""
    by_episode: dict[str, list[Moment]] = {}
    for moment in moments:
        by_episode.setdefault(moment.section.episode_id, []).append(moment)
    return by_episode


def spread(by_episode: dict[str, list[Moment]], strong: float) -> list[Moment]:
    """For a question across episodes: the best moment of each episode that matches strongly (its
    best within `strong` of the very best), then their second-best, then the other episodes' best."""
    top = max((found[0].score for found in by_episode.values()), default=0.0)
    leaders = [found for found in by_episode.values() if found[0].score >= strong * top]
    others = [found for found in by_episode.values() if found[0].score < strong * top]
    return [f[0] for f in leaders] + [f[1] for f in leaders if len(f) > 1] + [f[0] for f in others]


def shortfall(found: int, k: int, *, per_episode: int, before_cap: int) -> str:
    """Why fewer than `k` moments came back, in words for the user."""
    if found >= k:
        return ""
    if per_episode > 0 and before_cap > found:
        return (
            f"only {found} of the {k} moments asked for: at most {per_episode} per episode, "
            f"and only {found if per_episode == 1 else 'these'} episodes matched"
        )
    return f"only {found} of the {k} moments asked for matched"

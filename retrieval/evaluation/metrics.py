"""What one retriever achieved on a set of questions, at three levels and in the model's context.

Each expected moment (an episode and the second its answer is said) is looked for in a result:
- episode: a moment of the expected episode is among the top k;
- moment: a moment of that episode whose span contains the second (± `SLACK_SEC`) is among them;
- moment given episode: of what was found at episode level, the share found at moment level too;
- link: a moment of that episode whose link (`Moment.start_sec`, where a click in Slack lands)
  is within `SLACK_SEC` of the second is among them — stricter than the moment level, whose span
  may run minutes either side of where the link lands;
- context: the second is in the transcript handed to the language model with those moments.

A question counts at each level only when every moment it expects does ("every"); the per-moment
shares count each expected moment of a multi-episode question on its own.

MRR comes with a 95 % bootstrap interval (the questions resampled): the spread another set of
questions of the same kinds could give. On ~100 questions it is about ±0.07, and re-embedding the
same episodes with vectors that differ by cosine 0.99 moved MRR by 0.02: a difference between two
constants smaller than that is not evidence for either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.evaluation.questions import Question


@dataclass(frozen=True)
class Found:
    """Where one expected moment turned up in a retriever's result (ranks are 1-based)."""

    episode_rank: int | None  # the first moment of the expected episode
    moment_rank: int | None  # the first moment whose span contains the expected second
    in_context: bool  # the second is in the transcript the language model would be given
    link_rank: int | None  # the first moment whose link lands within SLACK_SEC of the second


@dataclass(frozen=True)
class Outcome:
    """One question searched by one retriever."""

    question: Question
    found: tuple[Found, ...]  # one per expected moment, in the question's order
    refused: bool
    latency_ms: float

    @property
    def rank(self) -> int | None:
        """The rank by which every expected moment has been found, or None."""
        return _every(f.moment_rank for f in self.found)

    @property
    def episode_rank(self) -> int | None:
        """The rank by which every expected episode has been found, or None."""
        return _every(f.episode_rank for f in self.found)

    @property
    def link_rank(self) -> int | None:
        """The rank by which a link to every expected moment has been given, or None."""
        return _every(f.link_rank for f in self.found)

    @property
    def in_context(self) -> bool:
        return bool(self.found) and all(f.in_context for f in self.found)


def _every(ranks: Iterable[int | None]) -> int | None:
    ranks = list(ranks)
    if not ranks or any(rank is None for rank in ranks):
        return None
    return max(rank for rank in ranks if rank is not None)


def _within(rank: int | None, k: int) -> bool:
    return rank is not None and rank <= k


@dataclass(frozen=True)
class Share:
    count: int
    total: int

    @property
    def value(self) -> float | None:
        return self.count / self.total if self.total else None


def share(flags: Iterable[bool]) -> Share:
    flags = list(flags)
    return Share(sum(flags), len(flags))


@dataclass(frozen=True)
class Level:
    """One level (episode, moment, moment given episode, context) counted per question and per moment."""

    every: Share  # questions whose every expected moment counts
    per_moment: Share  # expected moments, each on its own


@dataclass(frozen=True)
class Scores:
    questions: int
    k: int
    episode: Level
    moment: Level
    moment_given_episode: Level
    link: Level
    context: Level
    hit_at: dict[int, Share]  # moment level at 1, 3 and 5, per question
    link_at_1: Share  # the first moment's link lands on the answer (per question)
    mrr: float | None
    mrr_95: tuple[float, float] | None  # the bootstrap interval of `mrr`
    refused: Share  # unanswerable questions refused (right)
    false_refusals: Share  # answerable questions refused (wrong)
    p50_ms: float
    p95_ms: float

    def to_dict(self) -> dict[str, Any]:
        levels = {
            "episode_hit": self.episode,
            "moment_hit": self.moment,
            "moment_given_episode": self.moment_given_episode,
            "link_hit": self.link,
            "context_recall": self.context,
        }
        return {
            "questions": self.questions,
            "answerable": self.false_refusals.total,
            "moments": self.moment.per_moment.total,
            **{f"hit@{k}": hits.value for k, hits in self.hit_at.items()},
            "link@1": self.link_at_1.value,
            "mrr": self.mrr,
            "mrr_95": None if self.mrr_95 is None else list(self.mrr_95),
            **{name: level.every.value for name, level in levels.items()},
            "per_moment": {name: level.per_moment.value for name, level in levels.items()},
            "refusal_accuracy": self.refused.value,
            "false_refusal_rate": self.false_refusals.value,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


def score(outcomes: Sequence[Outcome], k: int) -> Scores:
    """The scores of `outcomes` (one retriever's), with hits counted in the top `k`."""
    answerable = [o for o in outcomes if o.question.answerable]
    moments = [f for o in answerable for f in o.found]
    episode_found = [o for o in answerable if _within(o.episode_rank, k)]
    latencies = np.array([o.latency_ms for o in outcomes]) if outcomes else np.zeros(1)
    return Scores(
        questions=len(outcomes),
        k=k,
        episode=Level(
            share(_within(o.episode_rank, k) for o in answerable), share(_within(f.episode_rank, k) for f in moments)
        ),
        moment=Level(share(_within(o.rank, k) for o in answerable), share(_within(f.moment_rank, k) for f in moments)),
        moment_given_episode=Level(
            share(_within(o.rank, k) for o in episode_found),
            share(_within(f.moment_rank, k) for f in moments if _within(f.episode_rank, k)),
        ),
        link=Level(share(_within(o.link_rank, k) for o in answerable), share(_within(f.link_rank, k) for f in moments)),
        context=Level(share(o.in_context for o in answerable), share(f.in_context for f in moments)),
        link_at_1=share(_within(o.link_rank, 1) for o in answerable),
        hit_at={at: share(_within(o.rank, at) for o in answerable) for at in (1, 3, 5)},
        mrr=sum(1.0 / o.rank for o in answerable if o.rank) / len(answerable) if answerable else None,
        mrr_95=bootstrap_interval([1.0 / o.rank if o.rank else 0.0 for o in answerable]),
        refused=share(o.refused for o in outcomes if not o.question.answerable),
        false_refusals=share(o.refused for o in answerable),
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
    )


def bootstrap_interval(
    values: Sequence[float], *, level: float = 0.95, resamples: int = 1000
) -> tuple[float, float] | None:
    """The `level` interval of the mean of `values` over `resamples` resamplings with replacement
    (a fixed seed: the same report gives the same interval); None for fewer than two values."""
    if len(values) < 2:
        return None
    sample = np.asarray(values, dtype=np.float64)
    means = sample[np.random.default_rng(0).integers(0, len(sample), (resamples, len(sample)))].mean(axis=1)
    low, high = np.percentile(means, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(low), float(high)

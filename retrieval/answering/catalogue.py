"""Questions about the catalogue itself, answered from episode metadata rather than transcripts:
"what's the latest episode?", "which episodes has Eugene Yan been on?", "what was season 7 about?".

The answer lists episodes with their guests, date (`dateadded`, where the file has one) and links to
the episode's page on the site and its video.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from retrieval.index.records import EpisodeRecord
from retrieval.search.corpus_tables import name_words

LATEST = re.compile(
    r"\b(latest|newest|most recent|last|new)\s+(episodes?|podcasts?)\b|\bwhat'?s new on the podcast\b", re.IGNORECASE
)
SEASON = re.compile(r"\bseason\s+(\d{1,2})\b", re.IGNORECASE)
GUEST_EPISODES = re.compile(
    r"\b(which|what|how many)\s+(episodes|podcasts)\b.*\b(been on|appear\w*|guest\w*|with|feature\w*|join\w*)\b"
    r"|\b(been on|appeared on|was a guest on)\s+(the\s+)?(podcast|show)\b",
    re.IGNORECASE,
)
MAX_LISTED = 10


@dataclass(frozen=True)
class CatalogueAnswer:
    text: str
    episodes: list[EpisodeRecord]


def episode_line(record: EpisodeRecord) -> str:
    guests = ", ".join(record.guest_names or record.guests)
    code = f"S{record.season}E{record.number}: " if record.season and record.number else ""
    added = f", added {record.date}" if record.date else ""
    return f"{code}{record.title}" + (f" (with {guests}{added})" if guests else f" ({added[2:]})" if added else "")


def _numbers(record: EpisodeRecord) -> tuple[int, int]:
    return (record.season or 0, record.number or 0)


def oldest_first(records: Iterable[EpisodeRecord]) -> list[EpisodeRecord]:
    """In the order the episodes came out: by `dateadded` where known, else by season and number.

    The newest files have no `dateadded` yet, so an episode without one counts as added on the
    latest date of the dated episodes numbered before it (and after them), never as the oldest.
    """
    listed = list(records)
    dated = [r for r in listed if r.date]

    def added(record: EpisodeRecord) -> tuple[str, tuple[int, int]]:
        numbers = _numbers(record)
        if record.date:
            return (record.date, numbers)
        return (max((r.date for r in dated if _numbers(r) <= numbers), default=""), numbers)

    return sorted(listed, key=added)


def newest(records: Iterable[EpisodeRecord]) -> EpisodeRecord | None:
    """The most recently added episode."""
    ordered = oldest_first(records)
    return ordered[-1] if ordered else None


def newest_first(records: Iterable[EpisodeRecord]) -> list[EpisodeRecord]:
    return oldest_first(records)[::-1]


def answer_catalogue(
    question: str, episodes: dict[str, EpisodeRecord], named: Callable[[str], frozenset[str]]
) -> CatalogueAnswer | None:
    """The answer when `question` asks about the catalogue, else None. `named` finds the episodes
    of guests the question names."""
    if not episodes:
        return None
    season = SEASON.search(question)
    if season and re.search(r"\b(about|episodes?|cover\w*|topics?|who)\b", question, re.IGNORECASE):
        number = int(season.group(1))
        found = sorted((r for r in episodes.values() if r.season == number), key=lambda r: r.number or 0)
        if not found:
            seasons = sorted({r.season for r in episodes.values() if r.season})
            return CatalogueAnswer(f"I don't know episodes of season {number}; I know seasons {_spans(seasons)}.", [])
        return _listing(f"Season {number} has {len(found)} episode{'s' * (len(found) != 1)} that I know:", found)
    guests = named(question)
    if guests and GUEST_EPISODES.search(question):
        found = oldest_first(episodes[e] for e in guests if e in episodes)
        names = _asked_names(question, {n for r in found for n in r.guest_names})
        verb = "has" if len(names) == 1 else "have"
        count = f"{len(found)} episode{'s' * (len(found) != 1)}"
        return _listing(f"{' and '.join(names)} {verb} been on {count}:", found)
    if LATEST.search(question):
        record = newest(episodes.values())
        assert record is not None
        return CatalogueAnswer(f"The latest episode I know is {episode_line(record)}.", [record])
    return None


def _asked_names(question: str, names: set[str]) -> list[str]:
    """The guest names the question gives in full, else those it gives a word of."""
    asked = name_words(question)
    joined = f" {' '.join(asked)} "
    full = sorted(n for n in names if f" {' '.join(name_words(n))} " in joined)
    return full or sorted(n for n in names if any(word in asked for word in name_words(n)))


def _listing(lead: str, found: list[EpisodeRecord]) -> CatalogueAnswer:
    shown = found[:MAX_LISTED]
    lines = [lead, *(f"• {episode_line(r)}" for r in shown)]
    if len(found) > len(shown):
        lines.append(f"…and {len(found) - len(shown)} more.")
    return CatalogueAnswer("\n".join(lines), shown)


def _spans(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> "1–3, 5"."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][-1] + 1:
            spans[-1].append(n)
        else:
            spans.append([n])
    return ", ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans)

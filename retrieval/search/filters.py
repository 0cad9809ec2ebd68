"""Search filters a user sets by hand: season, episode, guest, speaker."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.corpus.sections import Section
from retrieval.errors import FilterError


@dataclass(frozen=True)
class SearchFilters:
    season: int | None = None
    episode: str | None = None  # an id (s07e01-datatalksclub-behind-the-scenes), a code (s07e01) or a number
    guest: str | None = None  # loosely: "Eugene Yan", "eugeneyan", "Eugene"
    speaker: str | None = None  # as in the transcript: "Alexey"

    def __bool__(self) -> bool:
        return any(value not in (None, "") for value in (self.season, self.episode, self.guest, self.speaker))


NO_FILTERS = SearchFilters()


def allowed(sections: Sequence[Section], filters: SearchFilters) -> np.ndarray | None:
    """A boolean mask over `sections`, or None when nothing is filtered.

    A filter that matches nothing indexed is the user's mistake and says so (FilterError)."""
    if not filters:
        return None
    mask = np.ones(len(sections), dtype=bool)
    tests: list[tuple[str, str | None, Callable[[Section, str], bool]]] = [
        ("season", None if filters.season is None else str(filters.season), _season_matches),
        ("episode", filters.episode, _episode_matches),
        ("guest", filters.guest, _guest_matches),
        ("speaker", filters.speaker, _speaker_matches),
    ]
    for what, wanted, test in tests:
        if wanted:
            matches = np.array([test(s, wanted) for s in sections], dtype=bool)
            if len(sections) and not matches.any():
                raise FilterError(f"no indexed {what} matches {wanted!r}")
            mask &= matches
    return mask


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _season_matches(section: Section, wanted: str) -> bool:
    return section.season == int(wanted)


def _episode_matches(section: Section, wanted: str) -> bool:
    wanted = wanted.strip()
    code = re.fullmatch(r"[sS](\d+)[eE](\d+)", wanted)
    if code:
        return section.season == int(code.group(1)) and section.number == int(code.group(2))
    if wanted.isdigit():
        return section.number == int(wanted)
    return section.episode_id == wanted.removesuffix(".md") or normalise(wanted) in normalise(section.episode_id)


def _guest_matches(section: Section, wanted: str) -> bool:
    key = normalise(wanted)
    return any(key in normalise(guest) for guest in (*section.guests, *section.guest_names))


def _speaker_matches(section: Section, wanted: str) -> bool:
    key = normalise(wanted)
    return any(normalise(speaker) == key for speaker in section.speakers)

"""Questions to suggest (the assistant panel's prompts, the Home tab's examples), made from the index:
the newest episodes, their guests and their season, so they follow the episodes as they are added.
Each is one the bot answers well: about an episode's conversation, or about the catalogue itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retrieval import EpisodeRecord, newest_first

MAX_TITLE = 60


@dataclass(frozen=True)
class Suggestion:
    title: str  # a short label: the assistant panel shows it in place of the question
    question: str


def _guest(record: EpisodeRecord) -> str:
    """A guest's full name (from their page), not the episode's host; "" when only slugs are known."""
    for name in record.guest_names:
        if " " in name and name.split()[0] not in record.hosts:
            return name
    return ""


def _about(record: EpisodeRecord) -> Suggestion:
    guest = _guest(record)
    if guest:
        return Suggestion(_short(f"{guest} on {record.title}"), f"What did {guest} talk about in “{record.title}”?")
    return Suggestion(_short(record.title), f"What is “{record.title}” about?")


def _short(text: str) -> str:
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


def suggestions(episodes: Iterable[EpisodeRecord], count: int) -> list[Suggestion]:
    """Up to `count` questions: what the newest episodes' guests talked about, first; then the newest
    guest's episodes, the newest season, the latest episode."""
    records = newest_first(episodes)
    about = [_about(r) for r in records[:count] if r.title]
    catalogue: list[Suggestion] = []
    if records and _guest(records[0]):
        guest = _guest(records[0])
        catalogue.append(Suggestion(_short(f"{guest}’s episodes"), f"Which episodes has {guest} been on?"))
    if records and records[0].season:
        season = records[0].season
        catalogue.append(Suggestion(f"Season {season}", f"What was season {season} about?"))
    if records:
        catalogue.append(Suggestion("The newest episode", "What's the latest episode?"))
    # The newest episode and its guest first, then the next newest episodes, then the catalogue.
    ordered = about[:1] + catalogue[:1] + about[1:] + catalogue[1:]
    return ordered[:count]

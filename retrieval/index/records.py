"""What the index stores per episode, and how such records become Chroma
metadata and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class EpisodeRecord:
    """What the manifest remembers of an ingested episode."""

    episode_id: str
    content_hash: str = ""
    source_path: str = ""
    section_count: int = 0
    title: str = ""
    season: int | None = None
    number: int | None = None
    guests: tuple[str, ...] = ()  # slugs, as in the episode file
    guest_names: tuple[str, ...] = ()  # full names from the guest pages (the slug when there is none)
    bios: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    youtube_id: str = ""
    description: str = ""
    intro: str = ""
    topics: tuple[str, ...] = ()
    date: str = ""
    headers: tuple[str, ...] = ()

    @property
    def card(self) -> str:
        """The words the episode is known by besides its transcript: searchable like transcript text."""
        parts = [self.title, *self.guest_names, self.description, *self.topics, *self.bios, self.intro]
        return "\n".join(part for part in [*parts, *self.headers] if part)

    @property
    def page_url(self) -> str:
        """The episode's page on the site (Jekyll publishes `_podcast/<name>.md` there)."""
        return f"https://datatalks.club/podcast/{self.episode_id}.html"


def to_metadata(record: Any, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass as Chroma metadata. None and empty tuples are left out, as Chroma rejects them;
    `from_metadata` reads an absent field back as the dataclass's default."""
    metadata: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name in leave_out or value is None or value == ():
            continue
        metadata[f.name] = list(value) if isinstance(value, tuple) else value
    return metadata


def from_metadata(
    cls: type[R], metadata: Mapping[str, Any] | None, shared: dict[Any, Any] | None = None, **given: Any
) -> R:
    """The dataclass `cls` from Chroma metadata written by `to_metadata`, plus the `given` fields.

    With `shared`, equal values (an episode's title, guests, speakers; seconds) become one object
    across the records read together: thousands of sections repeat them."""
    metadata = metadata or {}
    values = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = metadata.get(f.name)
        if f.name in given or value is None:
            continue
        if isinstance(value, list):
            value = tuple(value if shared is None else (shared.setdefault(item, item) for item in value))
        values[f.name] = value if shared is None else shared.setdefault(value, value)
    return cls(**values, **given)

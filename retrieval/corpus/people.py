"""Guest pages (`_people/<slug>.md` on the site): the full name and short bio behind a guest slug.

Episodes name their guests only by slug (`stefangudmundsson`); transcripts call them by first name.
The pages are where "Stefan Gudmundsson" and what he does come from, so a question that names a
guest can find the guest's episodes. A page that cannot be read is skipped with a warning: it costs
one guest's name, never the episodes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from retrieval.corpus.drafts import published
from retrieval.corpus.episodes import clean_text
from retrieval.corpus.front_matter import read_front_matter
from retrieval.errors import EpisodeError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    slug: str
    name: str
    bio: str = ""


def load_people(folder: Path | None) -> dict[str, Person]:
    """Every readable guest page in `folder` by slug; empty when there is no folder."""
    if folder is None or not folder.is_dir():
        return {}
    people: dict[str, Person] = {}
    for path in published(folder):
        try:
            meta, _ = read_front_matter(path)
        except EpisodeError as error:
            log.warning("guest page skipped: %s", error)
            continue
        slug = clean_text(meta.get("short") or path.stem)
        name = clean_text(meta.get("title") or "")
        if slug and name:
            people[slug] = Person(slug, name, clean_text(meta.get("bio_short") or ""))
    return people


def guest_name(slug: str, people: Mapping[str, Person]) -> str:
    """The guest's full name, or the slug when no page names them."""
    person = people.get(slug)
    return person.name if person else slug

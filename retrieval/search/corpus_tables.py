"""Everything a search reads besides the vectors, built together from the index and swapped in one
assignment, so searches on other threads always see one consistent snapshot.

Transcript sections get a keyword index; episodes get one too, over their "cards": the title, the
guests' full names and bios, the description, intro and topics of the newer site format, and the
section headers. Metadata is evidence like transcript text: a guest's surname may appear in no
transcript line (speakers are called by first name), only in the guest's page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.corpus.sections import Section
from retrieval.corpus.speakers import is_question
from retrieval.index.records import EpisodeRecord
from retrieval.search.keyword import KeywordIndex, tokenize

NAME_WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'-]+")


def name_words(name: str) -> list[str]:
    return [word.lower() for word in NAME_WORD.findall(name)]


@dataclass(frozen=True)
class Corpus:
    version: str | None = None
    sections: tuple[Section, ...] = ()
    positions: dict[str, int] = field(default_factory=dict)  # section id -> row
    places: dict[tuple[str, int], int] = field(default_factory=dict)  # (episode id, position) -> row
    keywords: KeywordIndex = field(default_factory=lambda: KeywordIndex([]))
    episodes: dict[str, EpisodeRecord] = field(default_factory=dict)
    card_ids: tuple[str, ...] = ()  # episode id of each card, in `cards` order
    cards: KeywordIndex = field(default_factory=lambda: KeywordIndex([]))
    # A lower-case word of a guest's name -> the episodes with that guest.
    names: dict[str, frozenset[str]] = field(default_factory=dict)
    # A guest's full name or page slug, as `person_key` writes it -> the episodes with that guest.
    people: dict[str, frozenset[str]] = field(default_factory=dict)
    episode_rows: dict[str, np.ndarray] = field(default_factory=dict)
    host_share: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # The keyword terms of the questions the host asks in each section (tuples: a set per section
    # would cost several times the memory, and only a few candidates are compared per query).
    asked: tuple[tuple[str, ...], ...] = ()
    # Every keyword term of the transcripts and the metadata.
    vocabulary: frozenset[str] = frozenset()
    # Section vectors of the episodes localised so far (episode id -> rows in `episode_rows` order),
    # read from the index on first use: a snapshot's vectors never change.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def weight(self, term: str) -> float:
        return self.keywords.weight(term)

    def neighbour(self, row: int, offset: int) -> int | None:
        """The row of the section `offset` places after (or before) `row` in the same episode."""
        section = self.sections[row]
        return self.places.get((section.episode_id, section.position + offset))

    def named_episodes(self, question: str) -> frozenset[str]:
        """Episodes whose guest the question names ("Marysia Winkels", "Winkels", "Marysia").

        A full name (or the slug of the guest's page) names that person only: "Adrian Brudaru" never
        brings in Irina Brudaru's episodes. A name word alone counts where it is not part of a full
        name the question gives.
        """
        # Names are written capitalised ("rob" or "will" in lower case are just words).
        words = [w for w in NAME_WORD.findall(question) if w[:1].isupper() and not w.isupper()]
        found: set[str] = set()
        in_full_names: set[int] = set()
        for size in (3, 2):
            for start in range(len(words) - size + 1):
                episodes = self.people.get(person_key(" ".join(words[start : start + size])))
                if episodes:
                    found |= episodes
                    in_full_names.update(range(start, start + size))
        for n, word in enumerate(words):
            if n not in in_full_names:
                found |= self.names.get(word.lower(), frozenset()) | self.people.get(person_key(word), frozenset())
        return frozenset(found)


def build_corpus(version: str, sections: Sequence[Section], episodes: dict[str, EpisodeRecord]) -> Corpus:
    ordered = sorted(sections, key=lambda s: (s.episode_id, s.position))
    if not ordered:
        return Corpus(version=version)
    return assemble_corpus(
        version,
        ordered,
        episodes,
        keywords=KeywordIndex([section.keyword_text for section in ordered]),
        cards=KeywordIndex([episodes[episode_id].card for episode_id in sorted(episodes)]),
        host_share=np.array([section.host_share for section in ordered], dtype=np.float32),
        asked=tuple(tuple(dict.fromkeys(terms)) for terms in tokenize([_host_questions(s) for s in ordered])),
    )


def assemble_corpus(
    version: str,
    ordered: Sequence[Section],
    episodes: dict[str, EpisodeRecord],
    *,
    keywords: KeywordIndex,
    cards: KeywordIndex,
    host_share: np.ndarray,
    asked: tuple[tuple[str, ...], ...],
) -> Corpus:
    """A corpus from the parts that take time to compute (just built, or read from disk) and the
    sections in (episode, position) order; the tables derived from them are quick to make."""
    if not ordered:
        return Corpus(version=version)
    rows: dict[str, list[int]] = {}
    for row, section in enumerate(ordered):
        rows.setdefault(section.episode_id, []).append(row)
    return Corpus(
        version=version,
        sections=tuple(ordered),
        positions={section.id: row for row, section in enumerate(ordered)},
        places={(section.episode_id, section.position): row for row, section in enumerate(ordered)},
        keywords=keywords,
        episodes=episodes,
        card_ids=tuple(sorted(episodes)),
        cards=cards,
        names=_names(episodes.values()),
        people=_people(episodes.values()),
        episode_rows={episode_id: np.array(found) for episode_id, found in rows.items()},
        host_share=host_share,
        asked=asked,
        vocabulary=keywords.vocabulary | cards.vocabulary,
    )


def _host_questions(section: Section) -> str:
    return "\n".join(line.text for line in section.lines() if line.by_host and is_question(line.text))


def person_key(name: str) -> str:
    """A full name or slug as one lower-case word: "Eugene Yan", "eugeneyan" and "Eugene-Yan" agree."""
    return "".join(name_words(name)).replace("-", "").replace("'", "")


def _people(records: Iterable[EpisodeRecord]) -> dict[str, frozenset[str]]:
    people: dict[str, set[str]] = {}
    for record in records:
        for name in (*record.guest_names, *record.guests):
            people.setdefault(person_key(name), set()).add(record.episode_id)
    return {key: frozenset(ids) for key, ids in people.items() if key}


def _names(records: Iterable[EpisodeRecord]) -> dict[str, frozenset[str]]:
    """Guest name words -> episodes, leaving out the names of people who host many episodes:
    "Alexey" names the host of most episodes, not the one where he is a guest."""
    listed = list(records)
    hosting = Counter(host.lower() for record in listed for host in record.hosts)
    names: dict[str, set[str]] = {}
    for record in listed:
        for name in (*record.guest_names, *record.guests):
            for word in name_words(name):
                if len(word) > 2 and hosting[word] < 2:
                    names.setdefault(word, set()).add(record.episode_id)
    return {word: frozenset(ids) for word, ids in names.items()}

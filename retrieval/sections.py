"""Cut an episode's transcript into sections: the units we embed, search and cite.

Sections follow the episode's own headers and are kept well under the embedding model's
256-word-piece limit (~150 words) with a little overlap, so a moment that falls on a boundary is
still found whole. Each section knows where it sits (`position`) so a retriever can widen a hit to
its neighbours for context.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from retrieval.episodes import Episode, TranscriptItem, youtube_url

MAX_WORDS = 150
OVERLAP_WORDS = 30
MIN_TAIL_WORDS = 40
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“‘'(\[A-Z0-9])")


@dataclass(frozen=True)
class Section:
    id: str
    episode_id: str
    episode_title: str = ""
    season: int | None = None
    number: int | None = None
    guests: tuple[str, ...] = ()
    youtube_id: str = ""
    header: str = ""
    speakers: tuple[str, ...] = ()
    start_sec: int = 0
    end_sec: int = 0
    position: int = 0
    text: str = ""
    # The second each line of `text` starts at (one line per transcript paragraph), for exact quotes.
    line_secs: tuple[int, ...] = ()

    def sec_of_line(self, line: int) -> int:
        return self.line_secs[line] if 0 <= line < len(self.line_secs) else self.start_sec

    @property
    def url(self) -> str:
        return self.url_at(self.start_sec)

    def url_at(self, sec: int) -> str:
        return youtube_url(self.youtube_id, sec)

    @property
    def search_text(self) -> str:
        """What is embedded and keyword-indexed: the header gives short passages their topic."""
        return f"{self.header}\n{self.text}" if self.header else self.text

    @property
    def keyword_text(self) -> str:
        """What BM25 indexes: the episode title too, so words naming the episode's topic count."""
        return f"{self.episode_title}\n{self.search_text}"


@dataclass(frozen=True)
class _Unit:
    speaker: str
    sec: int
    text: str
    item: int

    @property
    def words(self) -> int:
        return len(self.text.split())


def build_sections(episode: Episode, max_words: int = MAX_WORDS, overlap_words: int = OVERLAP_WORDS) -> list[Section]:
    """Sections of `episode` in transcript order, positions numbered from 0."""
    blocks = _header_blocks(episode)
    next_sec = _next_item_secs(episode.items)
    sections: list[Section] = []
    seen: dict[str, int] = {}
    for header, units in blocks:
        for chunk in _pack(units, max_words, overlap_words):
            start = chunk[0].sec
            end = max(max(unit.sec for unit in chunk), next_sec.get(chunk[-1].item, start))
            text, line_secs = _render(chunk)
            key = f"{episode.id}\x1f{header}\x1f{start}\x1f{text}"
            # Ids are content hashes; a section whose text repeats an earlier one word for word gets
            # its occurrence number too, so ids stay unique and the same file gives the same ids.
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key += f"\x1f{seen[key]}"
            digest = hashlib.sha256(key.encode()).hexdigest()[:24]
            sections.append(
                Section(
                    id=f"{episode.id}:{digest}",
                    episode_id=episode.id,
                    episode_title=episode.title,
                    season=episode.season,
                    number=episode.number,
                    guests=episode.guests,
                    youtube_id=episode.youtube_id,
                    header=header,
                    speakers=tuple(dict.fromkeys(unit.speaker for unit in chunk if unit.speaker)),
                    start_sec=start,
                    end_sec=end,
                    position=len(sections),
                    text=text,
                    line_secs=line_secs,
                )
            )
    return sections


def _header_blocks(episode: Episode) -> list[tuple[str, list[_Unit]]]:
    has_headers = any(item.is_header for item in episode.items)
    blocks: list[tuple[str, list[_Unit]]] = []
    header = ""
    for index, item in enumerate(episode.items):
        if item.is_header:
            header = item.text
            continue
        if not has_headers:
            header = _clip_name(episode, item.sec)
        if not blocks or blocks[-1][0] != header:
            blocks.append((header, []))
        blocks[-1][1].extend(_units(item, index))
    return blocks


def _clip_name(episode: Episode, sec: int) -> str:
    for clip in episode.clips:
        if clip.start_sec <= sec < max(clip.end_sec, clip.start_sec + 1):
            return clip.name
    return ""


def _units(item: TranscriptItem, index: int) -> list[_Unit]:
    units = []
    for sentence in SENTENCE_END.split(item.text):
        words = sentence.split()
        # A run-on "sentence" longer than a section is cut into section-sized pieces.
        for start in range(0, len(words), MAX_WORDS):
            units.append(_Unit(item.speaker, item.sec, " ".join(words[start : start + MAX_WORDS]), index))
    return units


def _pack(units: list[_Unit], max_words: int, overlap_words: int) -> list[list[_Unit]]:
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(units):
        end, words = start, 0
        while end < len(units) and (end == start or words + units[end].words <= max_words):
            words += units[end].words
            end += 1
        spans.append((start, end))
        if end >= len(units):
            break
        back, overlap = end, 0
        while back - 1 > start and overlap + units[back - 1].words <= overlap_words:
            back -= 1
            overlap += units[back].words
        start = back
    if len(spans) > 1 and sum(unit.words for unit in units[spans[-1][0] : spans[-1][1]]) < MIN_TAIL_WORDS:
        # A short tail reads better as the end of the previous section than on its own.
        spans[-2:] = [(spans[-2][0], spans[-1][1])]
    return [units[start:end] for start, end in spans]


def _render(chunk: list[_Unit]) -> tuple[str, tuple[int, ...]]:
    """One line per transcript paragraph, prefixed `Speaker: ` when the speaker changes."""
    lines: list[str] = []
    secs: list[int] = []
    speaker, item = None, None
    for unit in chunk:
        if unit.item != item:
            label = f"{unit.speaker}: " if unit.speaker and unit.speaker != speaker else ""
            lines.append(label + unit.text)
            secs.append(unit.sec)
            speaker, item = unit.speaker, unit.item
        else:
            lines[-1] += " " + unit.text
    return "\n".join(lines), tuple(secs)


def _next_item_secs(items: tuple[TranscriptItem, ...]) -> dict[int, int]:
    """For each spoken item, the second at which the next spoken item starts (when it ends)."""
    result: dict[int, int] = {}
    following: int | None = None
    for index in range(len(items) - 1, -1, -1):
        if items[index].is_header:
            continue
        if following is not None:
            result[index] = following
        following = items[index].sec
    return result


def timestamp(sec: int) -> str:
    """`M:SS` below an hour, `H:MM:SS` from an hour on, as YouTube shows times."""
    sec = max(0, int(sec))
    hours, rest = divmod(sec, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

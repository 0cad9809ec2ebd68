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

from retrieval.corpus.episodes import Episode, TranscriptItem, youtube_url
from retrieval.corpus.speakers import is_question

MAX_WORDS = 150
OVERLAP_WORDS = 30
MIN_TAIL_WORDS = 40
# A question and answer shorter than this shares its section with the next exchange.
MIN_EXCHANGE_WORDS = 40
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“‘'(\[A-Z0-9])")


@dataclass(frozen=True, slots=True)
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
    # The guests' full names, and which speakers host (the rest answer), for ranking and quoting.
    guest_names: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    # The host's question this section answers, when the section starts after it (a long answer).
    asked: str = ""

    def sec_of_line(self, line: int) -> int:
        return self.line_secs[line] if 0 <= line < len(self.line_secs) else self.start_sec

    def lines(self) -> list[Line]:
        """Each paragraph of the section with its speaker and second (`Speaker: ` marks a change)."""
        lines: list[Line] = []
        speaker = self.speakers[0] if self.speakers else ""
        for number, line in enumerate(self.text.split("\n")):
            label, sep, said = line.partition(": ")
            if sep and label in self.speakers:
                speaker = label
            else:
                said = line
            lines.append(Line(speaker, said, self.sec_of_line(number), speaker in self.hosts))
        return lines

    @property
    def answer_sec(self) -> int:
        """Where a link to the section lands: when it opens with the host talking (a question, an
        introduction), the second the other speaker takes over, which is where the answer starts;
        otherwise the section's start. Never before the start: a few transcripts have a line whose
        second is out of order."""
        lines = self.lines()
        if not lines or not lines[0].by_host:
            return self.start_sec
        return max(self.start_sec, next((line.sec for line in lines if not line.by_host), self.start_sec))

    @property
    def host_share(self) -> float:
        """The share of the section's words that the host says (questions, introductions)."""
        lines = self.lines()
        total = sum(len(line.text.split()) for line in lines)
        return sum(len(line.text.split()) for line in lines if line.by_host) / total if total else 0.0

    @property
    def text_hash(self) -> str:
        """Identifies what is embedded, so an unchanged section can keep its stored vector."""
        return hashlib.sha256(self.search_text.encode()).hexdigest()[:32]

    @property
    def url(self) -> str:
        return self.url_at(self.start_sec)

    def url_at(self, sec: int) -> str:
        return youtube_url(self.youtube_id, sec)

    @property
    def search_text(self) -> str:
        """What is embedded and keyword-indexed: the header gives short passages their topic, and the
        question being answered gives the later parts of a long answer theirs."""
        return "\n".join(part for part in (self.header, self.asked, self.text) if part)

    @property
    def keyword_text(self) -> str:
        """What BM25 indexes: the episode title too, so words naming the episode's topic count."""
        return f"{self.episode_title}\n{self.search_text}"


@dataclass(frozen=True)
class Line:
    """One transcript paragraph inside a section."""

    speaker: str
    text: str
    sec: int
    by_host: bool


@dataclass(frozen=True)
class _Unit:
    speaker: str
    sec: int
    text: str
    item: int

    @property
    def words(self) -> int:
        return len(self.text.split())


def build_sections(
    episode: Episode,
    *,
    max_words: int = MAX_WORDS,
    overlap_words: int = OVERLAP_WORDS,
    guest_names: tuple[str, ...] = (),
    hosts: tuple[str, ...] = (),
) -> list[Section]:
    """Sections of `episode` in transcript order, positions numbered from 0."""
    blocks = _header_blocks(episode)
    next_sec = _next_item_secs(episode.items)
    asks = {n for n, item in enumerate(episode.items) if item.speaker in hosts and is_question(item.text)}
    sections: list[Section] = []
    seen: dict[str, int] = {}
    chunks = [
        (header, chunk, _question(episode.items[exchange[0].item].text) if exchange[0].item in asks else "")
        for header, units in blocks
        for exchange in _exchanges(units, asks)
        for chunk in _pack(exchange, max_words, overlap_words)
    ]
    for header, chunk, question in chunks:
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
                guest_names=guest_names,
                hosts=hosts,
                asked="" if chunk[0].item in asks else question,
            )
        )
    return sections


def _exchanges(units: list[_Unit], asks: set[int]) -> list[list[_Unit]]:
    """`units` cut where the host starts asking, so a section holds a question and its answer, not
    the end of one answer and the next question. A part too short to stand alone joins the next."""
    parts: list[list[_Unit]] = []
    for unit in units:
        opens = unit.item in asks and bool(parts) and parts[-1][-1].item != unit.item
        if not parts or (opens and sum(u.words for u in parts[-1]) >= MIN_EXCHANGE_WORDS):
            parts.append([])
        parts[-1].append(unit)
    return parts


def _question(paragraph: str) -> str:
    """The question a host's paragraph ends with (its last sentences, up to ~30 words)."""
    sentences = SENTENCE_END.split(paragraph)
    kept: list[str] = []
    for sentence in reversed(sentences):
        if kept and sum(len(s.split()) for s in kept) + len(sentence.split()) > 30:
            break
        kept.insert(0, sentence)
    return " ".join(kept)


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

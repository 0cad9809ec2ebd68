"""Parse DataTalks.Club podcast episode files (Markdown + YAML front matter) into typed records.

Both the site's older `sNNeMM-*.md` files and its newer format are read. The quirks of the real
files (see FORMAT_VARIANTS.md in the shared corpus) are repaired here, so everything downstream
sees clean text, a speaker and a second for every transcript item.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import reprlib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.corpus.front_matter import MAX_FILE_BYTES, parse_front_matter, read_text
from retrieval.errors import EpisodeError

YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
# Zero-width and bidi control characters that render as nothing but break matching.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u200e\u200f"))
LEADING_TIMESTAMP = re.compile(r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}\s*")
# Cyrillic letters that look like Latin ones; the transcripts contain a few keyboard-layout typos.
CYRILLIC_LOOKALIKES = str.maketrans("АВЕКМНОРСТХаеорсух", "ABEKMHOPCTXaeopcyx")
# Paragraphs at least this long that repeat word for word are dropped; short ones ("Yeah.") repeat naturally.
MIN_REPEAT_WORDS = 8
SPEAKER_NAME = re.compile(r"^[A-Z][\w'-]*( [A-Z][\w'-]*)?$")


@dataclass(frozen=True)
class TranscriptItem:
    """One paragraph of the transcript, or a header (then `text` is the header and `speaker` empty)."""

    text: str
    speaker: str
    sec: int
    is_header: bool = False


@dataclass(frozen=True)
class Clip:
    """A named time range from the newer format's `quotableClips`."""

    name: str
    start_sec: int
    end_sec: int


@dataclass(frozen=True)
class Episode:
    id: str
    title: str
    guests: tuple[str, ...]
    season: int | None
    number: int | None
    youtube_id: str
    links: dict[str, str]
    items: tuple[TranscriptItem, ...]
    clips: tuple[Clip, ...] = ()
    source_path: str = ""
    content_hash: str = ""
    # The newer site format's summary of the episode; empty in older files.
    description: str = ""
    intro: str = ""
    topics: tuple[str, ...] = ()
    date: str = ""  # `dateadded`, ISO yyyy-mm-dd
    # Quirks repaired while reading the file that its owner may want to fix at the source.
    warnings: tuple[str, ...] = ()

    def url_at(self, sec: int) -> str:
        return youtube_url(self.youtube_id, sec)

    @property
    def speakers(self) -> tuple[str, ...]:
        seen = dict.fromkeys(item.speaker for item in self.items if item.speaker)
        return tuple(seen)


def youtube_url(video_id: str, sec: int) -> str:
    """The YouTube link that starts playing at `sec`."""
    return f"https://www.youtube.com/watch?v={video_id}&t={max(0, int(sec))}s"


def clean_text(value: Any) -> str:
    """Normalise a transcript string: invisible characters gone, NBSP to space, whitespace folded."""
    text = unicodedata.normalize("NFC", str(value)).translate(INVISIBLE).replace("\u00a0", " ")
    text = re.sub(r"[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]", _fix_cyrillic, text)
    return re.sub(r"\s+", " ", text).strip()


def _fix_cyrillic(match: re.Match[str]) -> str:
    return match.group(0).translate(CYRILLIC_LOOKALIKES)


def parse_episode_file(path: Path | str, max_bytes: int = MAX_FILE_BYTES) -> Episode:
    path = Path(path)
    text, raw = read_text(path, max_bytes)
    return parse_episode_text(text, path, content_hash=hashlib.sha256(raw).hexdigest())


def parse_episode_text(text: str, path: Path | str, content_hash: str = "") -> Episode:
    path = Path(path)
    meta, warnings = parse_front_matter(text, path)
    transcript = meta.get("transcript")
    if not transcript:
        raise EpisodeError(path, "no 'transcript' in the front matter")
    if not isinstance(transcript, list):
        raise EpisodeError(path, f"'transcript' must be a list, not {type(transcript).__name__}")
    youtube_id = _youtube_id(meta, path)
    items = _transcript_items(transcript, path)
    if not any(not item.is_header for item in items):
        raise EpisodeError(path, "'transcript' has no spoken lines")
    return Episode(
        id=path.stem,
        title=clean_text(meta.get("title") or meta.get("short") or path.stem),
        guests=_guests(meta.get("guests"), path),
        season=_optional_int(meta.get("season"), "season", path),
        number=_optional_int(meta.get("episode"), "episode", path),
        youtube_id=youtube_id,
        links={str(k): str(v) for k, v in (meta.get("links") or {}).items()}
        if isinstance(meta.get("links"), dict)
        else {},
        items=tuple(items),
        clips=_clips(meta.get("quotableClips")),
        source_path=str(path),
        content_hash=content_hash or hashlib.sha256(text.encode("utf-8")).hexdigest(),
        description=_text(meta.get("description")),
        intro=_text(meta.get("intro")),
        topics=tuple(_text(topic) for topic in _list(meta.get("topics")) if _text(topic)),
        date=_date(meta.get("dateadded") or meta.get("date")),
        warnings=warnings,
    )


def _text(value: Any) -> str:
    return clean_text(value) if isinstance(value, (str, int, float)) else ""


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _date(value: Any) -> str:
    """`dateadded` as an ISO date (YAML reads 2025-04-30 as a date), or empty."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()[:10]
    match = re.match(r"\d{4}-\d{2}-\d{2}", str(value or "").strip())
    return match.group(0) if match else ""


def _youtube_id(meta: dict[str, Any], path: Path) -> str:
    ids = meta.get("ids")
    candidates = [ids.get("youtube") if isinstance(ids, dict) else None]
    links = meta.get("links")
    if isinstance(links, dict) and isinstance(links.get("youtube"), str):
        candidates.append(links["youtube"].rsplit("v=", 1)[-1])
    for candidate in candidates:
        # Repairs values such as 'NfAJAr7FvyY&t' (a URL fragment pasted with the id).
        match = YOUTUBE_ID.match(str(candidate or "").strip())
        if match:
            return match.group(0)
    raise EpisodeError(path, "no valid YouTube id in 'ids.youtube' or 'links.youtube'")


def _guests(value: Any, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),)
    if not isinstance(value, list):
        raise EpisodeError(path, f"'guests' must be a list, not {type(value).__name__}")
    return tuple(str(guest).strip() for guest in value if guest)


def _optional_int(value: Any, key: str, path: Path) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EpisodeError(path, f"'{key}' must be a number, not {reprlib.repr(value)}") from None


def _clips(value: Any) -> tuple[Clip, ...]:
    clips = []
    for clip in value or ():
        if isinstance(clip, dict) and clip.get("name") is not None:
            try:
                clips.append(
                    Clip(clean_text(clip["name"]), int(clip.get("startOffset", 0)), int(clip.get("endOffset", 0)))
                )
            except (TypeError, ValueError):
                continue
    return tuple(clips)


def _is_paragraph(who: str) -> bool:
    """A `who` that holds transcript text rather than a name (53 items in the real files)."""
    return len(who.split()) > 3 or who.endswith(("?", "!", ",")) or (len(who.split()) > 1 and who.endswith("."))


def _transcript_items(transcript: list[Any], path: Path) -> list[TranscriptItem]:
    raw_speakers = {
        clean_text(entry["who"]).rstrip(":.").strip()
        for entry in transcript
        if isinstance(entry, dict) and entry.get("who") is not None
    }
    known_speakers = {name for name in raw_speakers if SPEAKER_NAME.match(name)}
    items: list[TranscriptItem] = []
    said: dict[str, set[str]] = {}  # text -> who said it
    sec = 0
    speaker = ""
    # A line that is just a speaker's name switches the speaker until the next `who` change.
    override: tuple[str, str] | None = None
    for position, entry in enumerate(transcript, start=1):
        if not isinstance(entry, dict):
            raise EpisodeError(path, f"transcript item {position} is not a mapping: {reprlib.repr(entry)}")
        if "header" in entry and "line" not in entry:
            header = LEADING_TIMESTAMP.sub("", clean_text(entry["header"] or ""))
            if header:
                items.append(TranscriptItem(text=header, speaker="", sec=sec, is_header=True))
            continue
        if "line" not in entry:
            raise EpisodeError(path, f"transcript item {position} has neither 'line' nor 'header'")
        unmarked = all(entry.get(key) is None for key in ("who", "sec", "time"))
        sec = _entry_sec(entry, sec, path=path, position=position)
        text, who = _text_and_speaker(entry)
        if who and who != speaker:
            speaker, override = who, None
        name = LEADING_TIMESTAMP.sub("", text).strip()
        if name in known_speakers:
            override = (speaker, name) if name != speaker else None
            continue
        if not text:
            continue
        effective = override[1] if override and override[0] == speaker else speaker
        text = text.lstrip("= ").strip() or text
        speakers = said.setdefault(text, set())
        # A line with neither speaker nor time that repeats one already said is the site's copy of
        # it (often the host's question, after the guest's answer): credited to the speaker before
        # it, at their second, it would show the host's words as the guest's.
        if speakers and unmarked:
            continue
        # A long paragraph said again word for word is a transcript glitch, not a second moment.
        if effective in speakers and len(text.split()) >= MIN_REPEAT_WORDS:
            continue
        speakers.add(effective)
        items.append(TranscriptItem(text=text, speaker=effective, sec=sec))
    return items


def _entry_sec(entry: dict[str, Any], sec: int, *, path: Path, position: int) -> int:
    """The second a transcript item starts at: its `sec`, else its `time`, else the one before's."""
    if entry.get("sec") is not None:
        try:
            return int(entry["sec"])
        except (TypeError, ValueError):
            raise EpisodeError(
                path, f"transcript item {position}: 'sec' must be whole seconds, not {reprlib.repr(entry['sec'])}"
            ) from None
    if entry.get("time") is not None:
        return _time_to_sec(entry["time"], sec)
    return sec


def _text_and_speaker(entry: dict[str, Any]) -> tuple[str, str]:
    """A transcript item's line and who said it; a `who` that holds transcript text joins the line."""
    text = clean_text(entry.get("line") if entry.get("line") is not None else "")
    who = clean_text(entry["who"]).rstrip(":.").strip() if entry.get("who") is not None else ""
    if who and _is_paragraph(clean_text(entry["who"])):
        return f"{clean_text(entry['who'])} {text.lstrip('= ')}".strip(), ""
    return text, who


def _time_to_sec(value: Any, fallback: int) -> int:
    parts = re.findall(r"\d+", str(value))
    if not 2 <= len(parts) <= 3 or len(parts[-1]) != 2:
        return fallback
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds

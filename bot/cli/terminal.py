"""Render search results and answers for a terminal: aligned, with clickable links where supported."""

from __future__ import annotations

import os
import sys
import textwrap
from typing import TYPE_CHECKING, TextIO

from retrieval.sections import timestamp

if TYPE_CHECKING:  # only named in annotations: `--help` and `feedback` load no search stack
    from retrieval.answering import Answer, Source
    from retrieval.search import EpisodeMatch, Moment


def supports_hyperlinks(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM", "") not in ("", "dumb") and "NO_COLOR" not in os.environ


def hyperlink(url: str, label: str, stream: TextIO = sys.stdout) -> str:
    """An OSC 8 terminal hyperlink where the terminal supports it, otherwise the label and URL."""
    if supports_hyperlinks(stream):
        return f"\033]8;;{url}\033\\{label}\033]8;;\033\\"
    return f"{label}  {url}"


def snippet(text: str, width: int = 240) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def format_moment(n: int, moment: Moment, stream: TextIO = sys.stdout) -> str:
    s = moment.section
    speakers = ", ".join(s.speakers) or "unknown speaker"
    where = f"{s.episode_title}" + (f" — {s.header}" if s.header else "")
    lines = [
        f"{n}. {hyperlink(moment.url, '▶ ' + timestamp(moment.start_sec), stream)} · {where}",
        f"   {speakers}",
        textwrap.indent(textwrap.fill(snippet(s.text), width=96), "   "),
    ]
    return "\n".join(lines)


def format_moments(moments: list[Moment], stream: TextIO = sys.stdout) -> str:
    return "\n\n".join(format_moment(n, moment, stream) for n, moment in enumerate(moments, start=1))


def format_episodes(matches: list[EpisodeMatch], stream: TextIO = sys.stdout) -> str:
    blocks = []
    for n, match in enumerate(matches, start=1):
        lines = [f"{n}. {match.title}  ({match.episode_id})"]
        for moment in match.moments:
            label = "▶ " + timestamp(moment.start_sec)
            # The text names its speakers ("Alexey: …"), so they are not repeated before it.
            lines.append(f"   {hyperlink(moment.url, label, stream)} · {snippet(moment.section.text, 120)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_answer(answer: Answer, stream: TextIO = sys.stdout) -> str:
    """The answer text, an optional note, then the cited sources with their links."""
    parts = [answer.text]
    if answer.note:
        parts.append(f"({answer.note})")
    if answer.sources:
        parts.append("Sources:\n" + format_sources(answer.sources, stream))
    return "\n\n".join(parts)


def format_sources(sources: list[Source], stream: TextIO = sys.stdout) -> str:
    return "\n".join(
        f"[{s.number}] {hyperlink(s.url, '▶ ' + s.time, stream)} · {s.episode_title} — {s.speaker}"
        + (f" · {hyperlink(s.page, 'episode page', stream)}" if s.page else "")
        for s in sources
    )

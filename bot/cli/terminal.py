"""Render search results and answers for a terminal: aligned, with links to the second that are
always visible: clickable (OSC 8) in a terminal known to show them, the URL in plain text elsewhere."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, TextIO

from bot.config import TerminalConfig
from retrieval import timestamp

if TYPE_CHECKING:  # only named in annotations: `--help` and `feedback` load no search stack
    from retrieval import Answer, EpisodeMatch, Moment, Source

# Terminals that show OSC 8 links (others print the label and drop the URL, or show garbage).
OSC8_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "vscode", "ghostty"})
OSC8_TERMS = frozenset({"xterm-kitty", "xterm-ghostty", "wezterm", "foot", "alacritty"})
OSC8_VTE_VERSION = 5000  # GNOME Terminal, Tilix and other VTE terminals since VTE 0.50


def osc8_links(config: TerminalConfig, stream: TextIO) -> bool:
    """Whether to print clickable OSC 8 links to `stream` rather than plain URLs.

    `auto` is cautious: a pipe, a dumb or unknown terminal, and tmux or screen (which pass the links
    on only when configured to) get plain URLs, as the link to the second must never be lost.
    """
    if config.links != "auto":
        return config.links == "osc8"
    env = config.environment
    if not stream.isatty() or "NO_COLOR" in env or "TMUX" in env or "STY" in env:
        return False
    term = env.get("TERM", "")
    if term in ("", "dumb") or term.startswith(("screen", "tmux")):
        return False
    vte = env.get("VTE_VERSION", "")
    return (
        env.get("TERM_PROGRAM") in OSC8_PROGRAMS
        or term in OSC8_TERMS
        or "WT_SESSION" in env  # Windows Terminal
        or (vte.isdigit() and int(vte) >= OSC8_VTE_VERSION)
    )


def hyperlink(url: str, label: str, osc8: bool = False) -> str:
    """A clickable OSC 8 link, or the label and the URL in plain text."""
    if osc8:
        return f"\033]8;;{url}\033\\{label}\033]8;;\033\\"
    return f"{label}  {url}"


def snippet(text: str, width: int = 240) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def format_moment(n: int, moment: Moment, osc8: bool = False) -> str:
    s = moment.section
    speakers = ", ".join(s.speakers) or "unknown speaker"
    where = f"{s.episode_title}" + (f" — {s.header}" if s.header else "")
    lines = [
        f"{n}. {hyperlink(moment.url, '▶ ' + timestamp(moment.start_sec), osc8)} · {where}",
        f"   {speakers}",
        textwrap.indent(textwrap.fill(snippet(s.text), width=96), "   "),
    ]
    return "\n".join(lines)


def format_moments(moments: list[Moment], osc8: bool = False) -> str:
    return "\n\n".join(format_moment(n, moment, osc8) for n, moment in enumerate(moments, start=1))


def format_episodes(matches: list[EpisodeMatch], osc8: bool = False) -> str:
    blocks = []
    for n, match in enumerate(matches, start=1):
        lines = [f"{n}. {match.title}  ({match.episode_id})"]
        for moment in match.moments:
            label = "▶ " + timestamp(moment.start_sec)
            # The text names its speakers ("Alexey: …"), so they are not repeated before it.
            lines.append(f"   {hyperlink(moment.url, label, osc8)} · {snippet(moment.section.text, 120)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_answer(answer: Answer, osc8: bool = False) -> str:
    """The answer text, an optional note, then the cited sources with their links."""
    parts = [answer.text]
    if answer.note:
        parts.append(f"({answer.note})")
    if answer.sources:
        parts.append("Sources:\n" + format_sources(answer.sources, osc8))
    return "\n\n".join(parts)


def format_sources(sources: list[Source], osc8: bool = False) -> str:
    return "\n".join(
        f"[{s.number}] {hyperlink(s.url, '▶ ' + s.time, osc8)} · {s.episode_title} — {s.speaker}"
        + (f" · {hyperlink(s.page, 'episode page', osc8)}" if s.page else "")
        for s in sources
    )

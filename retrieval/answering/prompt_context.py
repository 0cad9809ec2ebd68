"""The numbered moments handed to the language model, as quoted data it cannot mistake for orders.

Each moment carries its surroundings (the question asked before it and the lines after, about
`WINDOW_WORDS`), so the model sees the guest's whole answer, plus the episode title, the guests'
names, the speakers, the time and the section header. Everything that comes from an episode file is
inside the `<moments>` block, and any text that could close or open a block there is neutralised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.corpus.sections import SENTENCE_END, Section, timestamp
from retrieval.corpus.speakers import is_question

WINDOW_WORDS = 300
# What could end the data block early or start a fake one: `"""`, <moments>, <moment n="…">.
DELIMITERS = re.compile(r'"""|</?\s*moments?\b[^>]*>', re.IGNORECASE)


@dataclass(frozen=True)
class _Said:
    speaker: str
    sec: int
    text: str
    by_host: bool


def neutralise(text: str) -> str:
    """`text` with anything that looks like a delimiter of the data block made inert."""
    return DELIMITERS.sub(lambda m: m.group(0).replace('"""', "“”“").replace("<", "‹").replace(">", "›"), text)


@dataclass(frozen=True)
class Span:
    """Transcript a window quotes without a break: from its first line's second to the second where
    the quoted text stops (the next line's start, or the end of the sections given)."""

    start_sec: int
    end_sec: int


@dataclass(frozen=True)
class _Window:
    said: list[_Said]  # every sentence of the sections given, in order, each once
    lead: list[_Said]  # the question when it is further back than the sections (not transcript lines)
    quoted: list[int]  # the positions in `said` that the window quotes, in order
    end_sec: int  # where the sections given end


def _sentences(sections: Sequence[Section], centre: Section) -> tuple[list[_Said], int]:
    """Every sentence of `sections` once, in order, and the position of `centre`'s first."""
    said: list[_Said] = []
    seen: set[tuple[int, str]] = set()
    start = 0
    for section in sections:
        if section is centre:
            start = len(said)
        for line in section.lines():
            for sentence in SENTENCE_END.split(line.text):
                # Neighbouring sections overlap by a few sentences; each is said once.
                if sentence.strip() and (line.sec, sentence) not in seen:
                    seen.add((line.sec, sentence))
                    said.append(_Said(line.speaker, line.sec, sentence, line.by_host))
    return said, start


def _cut(sections: Sequence[Section], centre: Section, words: int) -> _Window:
    said, start = _sentences(sections, centre)
    asked = [n for n in range(start) if said[n].by_host and is_question(said[n].text)]
    lead: list[_Said] = []
    quoted: list[int] = []
    if asked:
        # The whole question: the host's sentences up to the one that asks.
        first = asked[-1]
        while first > 0 and said[first - 1].by_host and said[first - 1].sec == said[asked[-1]].sec:
            first -= 1
        quoted = list(range(first, asked[-1] + 1))
        gap = range(asked[-1] + 1, start)
        # A short gap is quoted; a long one becomes "…" (see _render).
        if sum(len(said[n].text.split()) for n in gap) <= words // 3:
            quoted += gap
    elif centre.asked:
        # Further back than the sections given: the section knows the question it answers.
        host = centre.hosts[0] if centre.hosts else "Host"
        lead = [_Said("", -1, f"{host}: {centre.asked}", True), _Said("", -1, "…", False)]
    count = sum(len(s.text.split()) for s in lead) + sum(len(said[n].text.split()) for n in quoted)
    if quoted and quoted[-1] + 1 < start:
        count += 1  # the "…" that stands for the gap
    for n in range(start, len(said)):
        if n > start and count >= words:
            break
        quoted.append(n)
        count += len(said[n].text.split())
    return _Window(said, lead, quoted, sections[-1].end_sec if sections else centre.end_sec)


def window(sections: Sequence[Section], centre: Section, words: int = WINDOW_WORDS) -> str:
    """The transcript around `centre` (one of `sections`, given in order): the last question the
    host asked before it (with "…" for what lies between, in a long answer), `centre`, then onward
    until about `words` words."""
    cut = _cut(sections, centre, words)
    kept = list(cut.lead)
    for previous, n in zip([None, *cut.quoted], cut.quoted, strict=False):
        if previous is not None and n != previous + 1:
            kept.append(_Said("", -1, "…", False))
        kept.append(cut.said[n])
    return _render(kept)


def window_spans(sections: Sequence[Section], centre: Section, words: int = WINDOW_WORDS) -> list[Span]:
    """The stretches of transcript that `window` quotes for the same arguments, e.g. to check whether
    the text handed to a language model contains the second where an answer is said."""
    cut = _cut(sections, centre, words)
    runs: list[list[int]] = []
    for n in cut.quoted:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    spans = []
    for run in runs:
        secs = [cut.said[n].sec for n in run]
        stop = cut.said[run[-1] + 1].sec if run[-1] + 1 < len(cut.said) else cut.end_sec
        # min/max: a few transcripts have a line whose second is out of order.
        spans.append(Span(min(secs), max(*secs, stop)))
    return spans


def _render(said: Sequence[_Said]) -> str:
    lines: list[str] = []
    last: tuple[str, int] | None = None
    for item in said:
        if item.sec < 0:
            lines.append(item.text)
            last = None
        elif (item.speaker, item.sec) == last:
            lines[-1] += " " + item.text
        else:
            lines.append(f"{item.speaker or 'unknown speaker'} ({timestamp(item.sec)}): {item.text}")
            last = (item.speaker, item.sec)
    return "\n".join(lines)


def format_context(centres: Sequence[Section], windows: Sequence[str]) -> str:
    """The numbered moments as quoted data: `[n]` is what the answer cites."""
    blocks = []
    for n, (section, text) in enumerate(zip(centres, windows, strict=True), start=1):
        details = [
            f"episode: {section.episode_title}",
            f"guests: {', '.join(section.guest_names or section.guests) or 'unknown'}",
            f"time: {timestamp(section.start_sec)}",
        ]
        if section.header:
            details.append(f"section: {section.header}")
        data = neutralise("\n".join(details)) + f'\n"""\n{neutralise(text)}\n"""'
        blocks.append(f'<moment n="{n}">\n{data}\n</moment>')
    return "\n\n".join(blocks)

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

from retrieval.sections import SENTENCE_END, Section, timestamp
from retrieval.speakers import is_question

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


def window(sections: Sequence[Section], centre: Section, words: int = WINDOW_WORDS) -> str:
    """The transcript around `centre` (one of `sections`, given in order): the last question the
    host asked before it (with "…" for what lies between, in a long answer), `centre`, then onward
    until about `words` words."""
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
    asked = [n for n in range(start) if said[n].by_host and is_question(said[n].text)]
    question: list[_Said] = []
    if asked:
        # The whole question: the host's sentences up to the one that asks.
        first = asked[-1]
        while first > 0 and said[first - 1].by_host and said[first - 1].sec == said[asked[-1]].sec:
            first -= 1
        question = said[first : asked[-1] + 1]
        gap = said[asked[-1] + 1 : start]
        if sum(len(s.text.split()) for s in gap) <= words // 3:
            question += gap
        else:
            question.append(_Said("", -1, "…", False))
    elif centre.asked:
        # Further back than the sections given: the section knows the question it answers.
        host = centre.hosts[0] if centre.hosts else "Host"
        question = [_Said("", -1, f"{host}: {centre.asked}", True), _Said("", -1, "…", False)]
    kept = list(question)
    for n in range(start, len(said)):
        if n > start and sum(len(s.text.split()) for s in kept) >= words:
            break
        kept.append(said[n])
    return _render(kept)


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

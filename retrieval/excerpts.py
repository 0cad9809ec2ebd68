"""Pick the few sentences of a section that best answer a question, for quoting them."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.sections import SENTENCE_END, Section

MAX_QUOTE_WORDS = 55
CONTEXT_WORDS = 40


@dataclass(frozen=True)
class Excerpt:
    speaker: str
    text: str
    sec: int


def _sentences(section: Section) -> list[tuple[str, str, int]]:
    """(speaker, sentence, second) triples; a line starts with `Speaker: ` when the speaker changes."""
    triples: list[tuple[str, str, int]] = []
    speaker = section.speakers[0] if section.speakers else ""
    for number, line in enumerate(section.text.split("\n")):
        label, sep, said = line.partition(": ")
        if sep and label in section.speakers:
            speaker = label
        else:
            said = line
        sec = section.sec_of_line(number)
        triples.extend((speaker, sentence, sec) for sentence in SENTENCE_END.split(said) if sentence.strip())
    return triples


def best_excerpt(
    section: Section, weights: Callable[[str], dict[str, float]], query_weights: dict[str, float]
) -> Excerpt:
    """The sentence sharing the most weighted terms with the query, widened with its neighbours
    (same speaker) up to about `CONTEXT_WORDS`, so the quote reads on its own."""
    sentences = _sentences(section)
    if not sentences:
        return Excerpt("", textwrap.shorten(section.text, 300, placeholder=" …"), section.start_sec)
    # A question (usually the host's) rarely is the answer, so it counts half.
    scores = [
        sum(query_weights.get(term, 0.0) for term in set(weights(sentence)))
        * (0.5 if sentence.rstrip().endswith("?") else 1.0)
        for _, sentence, _ in sentences
    ]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    speaker = sentences[best][0]
    start, end = best, best + 1

    def words(a: int, b: int) -> int:
        return sum(len(sentence.split()) for _, sentence, _ in sentences[a:b])

    while True:
        if end < len(sentences) and sentences[end][0] == speaker and words(start, end + 1) <= CONTEXT_WORDS:
            end += 1
        elif start > 0 and sentences[start - 1][0] == speaker and words(start - 1, end) <= CONTEXT_WORDS:
            start -= 1
        else:
            break
    quoted = " ".join(sentence for _, sentence, _ in sentences[start:end]).split()
    text = " ".join(quoted[:MAX_QUOTE_WORDS]) + (" …" if len(quoted) > MAX_QUOTE_WORDS else "")
    return Excerpt(speaker, re.sub(r"\s+", " ", text).strip(), sentences[start][2])

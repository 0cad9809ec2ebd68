"""Pick the few sentences of a section that best answer a question, for quoting them."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Callable

from retrieval.sections import SENTENCE_END, Section

MAX_QUOTE_WORDS = 55


@dataclass(frozen=True)
class Excerpt:
    speaker: str
    text: str
    sec: int


def _sentences(section: Section) -> list[tuple[str, str, int]]:
    """(speaker, sentence, second) triples; a line starts with `Speaker: ` when the speaker changes."""
    triples = []
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


def best_excerpt(section: Section, weights: Callable[[str], dict[str, float]], query_weights: dict[str, float]) -> Excerpt:
    """The one or two consecutive sentences of one speaker that share the most weighted terms with the query."""
    sentences = _sentences(section)
    if not sentences:
        return Excerpt("", textwrap.shorten(section.text, 300, placeholder=" …"), section.start_sec)
    scores = [sum(query_weights.get(term, 0.0) for term in set(weights(sentence))) for _, sentence, _ in sentences]
    best, best_score = (0, 1), -1.0
    for start in range(len(sentences)):
        for length in (1, 2):
            end = start + length
            if end > len(sentences) or len({speaker for speaker, _, _ in sentences[start:end]}) > 1:
                continue
            # A second sentence must add matching terms (or context to a very short first one).
            score = sum(scores[start:end]) + (0.01 if length == 1 else 0.0)
            if length == 2 and scores[start + 1] == 0 and len(sentences[start][1].split()) > 12:
                continue
            if score > best_score:
                best, best_score = (start, end), score
    speaker, _, sec = sentences[best[0]]
    words = " ".join(sentence for _, sentence, _ in sentences[best[0] : best[1]]).split()
    text = " ".join(words[:MAX_QUOTE_WORDS]) + (" …" if len(words) > MAX_QUOTE_WORDS else "")
    return Excerpt(speaker, re.sub(r"\s+", " ", text).strip(), sec)

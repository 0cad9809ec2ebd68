"""Citations in a model's answer: `[n]` markers that point at the numbered moments it was given.

A marker for a number that was not given is an invention. Deleting only the marker would leave
the claim it supported standing uncited ("… [1]. See also."), so the clause or sentence that rests
only on invented citations is removed with it.
"""

from __future__ import annotations

import re
from collections.abc import Container

CITATION = re.compile(r"\[(\d{1,2})\]")
# A run of text up to and including a group of markers: "Alexey started with a landing page [1][2]".
CITED_RUN = re.compile(r"[^\[\]]*?(?:\s*\[\d{1,2}\])+")
SENTENCE = re.compile(r"[^.!?]*(?:[.!?]+|$)")
LIST_MARKER_ONLY = re.compile(r"\s*(?:[-*•]|\d+[.)])?\s*")
# What joins a clause to the one before it; left dangling when that one is removed.
LEADING_CONNECTOR = re.compile(r"^\s*[,;:]?\s*(?:(?:and|but|while|whereas|although|so)\s+)?", re.IGNORECASE)


def cited_numbers(text: str) -> list[int]:
    """The distinct numbers cited in `text`, ascending."""
    return sorted({int(n) for n in CITATION.findall(text)})


def keep_valid_citations(text: str, valid: Container[int]) -> str:
    """`text` without citations outside `valid`, and without the clauses that only they supported."""
    lines = []
    for line in text.split("\n"):
        cleaned = "".join(_clean_sentence(sentence, valid) for sentence in SENTENCE.findall(line))
        if line.strip() and LIST_MARKER_ONLY.fullmatch(cleaned):
            continue  # every claim of this line (a bullet, say) was invented
        lines.append(cleaned)
    kept = re.sub(r"[ \t]{2,}", " ", "\n".join(lines))
    kept = re.sub(r"[ \t]+([.,;:!?])", r"\1", kept)
    return re.sub(r"([,;:])([.!?])", r"\2", kept).strip()


def _clean_sentence(sentence: str, valid: Container[int]) -> str:
    if not CITATION.search(sentence):
        return sentence
    pieces: list[str] = []
    position = 0
    opening_dropped = False
    for run in CITED_RUN.finditer(sentence):
        if run.start() != position:
            break
        position = run.end()
        if any(int(n) in valid for n in CITATION.findall(run.group(0))):
            pieces.append(CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", run.group(0)))
        elif not pieces:
            opening_dropped = True
        # A clause that rests only on invented moments goes, with its citations.
    if not pieces:
        # Every claim of the sentence rested on invented moments: drop the whole sentence.
        return ""
    if opening_dropped:
        first = LEADING_CONNECTOR.sub("", pieces[0])
        pieces[0] = " " + first[:1].upper() + first[1:]
    return "".join(pieces) + sentence[position:]

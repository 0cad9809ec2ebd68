"""Citations and links in a model's answer: `[n]` markers that point at the numbered moments it was
given, and no link to anywhere else.

A marker for a number that was not given is an invention. Deleting only the marker would leave
the claim it supported standing uncited ("… [1]. See also."), so the clause or sentence that rests
only on invented citations is removed with it.

A model repeats what its context says, and the context is transcripts from a public repository: a
line telling it to link somewhere may be obeyed. So a link survives only when it is one of the
answer's own moments; any other URL — bare, Slack's `<url|text>` or `<url>`, markdown
`[text](url)` — is removed (a link's text stays, as plain words). This holds for every answer,
whatever the text around the link says.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Container

CITATION = re.compile(r"\[(\d{1,2})\]")
# A run of text up to and including a group of markers: "Alexey started with a landing page [1][2]".
CITED_RUN = re.compile(r"[^\[\]]*?(?:\s*\[\d{1,2}\])+")
SENTENCE = re.compile(r"[^.!?]*(?:[.!?]+|$)")
LIST_MARKER_ONLY = re.compile(r"\s*(?:[-*•]|\d+[.)])?\s*")
# What joins a clause to the one before it; left dangling when that one is removed.
LEADING_CONNECTOR = re.compile(r"^\s*[,;:]?\s*(?:(?:and|but|while|whereas|although|so)\s+)?", re.IGNORECASE)


# Anything a chat client may make a link of: a scheme (https://, slack://, mailto:) or a www. host.
_URL = r"(?:[a-z][a-z0-9+.\-]*://|mailto:|www\.)"
_URL_CHARS = r"[^\s<>|\[\]()\"'`]"
MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*(" + _URL + r"[^()\s]*)\s*\)", re.IGNORECASE)
SLACK_LINK = re.compile(r"<(" + _URL + r"[^<>|\s]*)(?:\|([^<>\n]*))?>", re.IGNORECASE)
# A sentence's full stop after a URL is not part of it.
BARE_URL = re.compile(r"\b" + _URL + _URL_CHARS + r"*[^\s<>|\[\]()\"'`.,;:!?]", re.IGNORECASE)
LINK_REMOVED = "(link removed)"


def keep_source_links(text: str, sources: Collection[str]) -> str:
    """`text` without links other than to `sources` (URLs); a removed link keeps its text, if it has one."""

    def kept(url: str, whole: str, label: str | None) -> str:
        return whole if url in sources else (label or "").strip() or LINK_REMOVED

    text = MARKDOWN_LINK.sub(lambda m: kept(m.group(2), m.group(0), m.group(1)), text)
    text = SLACK_LINK.sub(lambda m: kept(m.group(1), m.group(0), m.group(2)), text)
    return BARE_URL.sub(lambda m: kept(m.group(0), m.group(0), None), text)


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

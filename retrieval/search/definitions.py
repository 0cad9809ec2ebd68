"""Questions that ask what something is ("What is dbt?", "How would you define ML system design?",
"What does 'data as a product' mean?", "How was MLOps defined…?", "Can someone explain what
data-centric AI is?", "Reverse ETL — what is that?") and the moments that answer them.

Such a question is answered where the term is defined, not where it is mentioned most: the guest
says "dbt is a tool that…", or the host asks "What is DataOps?" (as a question or as the section's
header) and the guest answers right there. Keyword and meaning scores favour the moments that
mention the term most, which in an episode about the term is every moment; these rules find the
one that says what it is. They are rules about a kind of question, matched on the words, with no
list of terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.corpus.sections import SENTENCE_END
from retrieval.corpus.speakers import is_question

_END = r"(?:[?,.;:!]|\s+(?:exactly|actually|really|when|in|for|and|if|at|on|to|supposed)\b|$)"
# The term a question asks to be defined, in the question's own words: a quoted term wherever the
# question asks what something means, else the words after "what is", "define", "what does … mean".
_ASKS = re.compile(r"\b(?:what|define|defined|definition|mean|meaning)\b", re.IGNORECASE)
# Quotes around a term, not an apostrophe inside a word ("what's").
_QUOTED_TERM = re.compile(r"(?:(?<=\s)|^)[\"'‘“]([^\"'‘’“”]{2,60})[\"'’”](?=\W|$)")
_ASKS_WHAT = [
    # Not "what did Vin mean by …": there the term comes after "by" (quoted, or not a term at all).
    re.compile(r"\bwhat\s+(?:does|did|do)\s+(.{2,60}?)\s+(?:actually\s+|really\s+)?mean\b(?!\s+by\b)", re.IGNORECASE),
    re.compile(rf"\b(?:define|definition\s+of)\s+(.{{2,60}}?){_END}", re.IGNORECASE),
    re.compile(r"\bhow\s+(?:is|was|are|were)\s+(.{2,60}?)\s+defined\b", re.IGNORECASE),
    re.compile(rf"\bwhat\s+(?:is|was)\s+meant\s+by\s+(.{{2,60}}?){_END}", re.IGNORECASE),
    re.compile(rf"\bwhat(?:\s+exactly)?\s+(?:is|are)\s+(.{{2,60}}?){_END}", re.IGNORECASE),
    re.compile(rf"\bwhat's\s+(.{{2,60}}?){_END}", re.IGNORECASE),
    re.compile(r"\bwhat\s+(?:does|do|did)\s+(.{2,60}?)\s+stand\s+for\b", re.IGNORECASE),
    # The term first, then the question about it: "Feature stores - what are they exactly?"
    re.compile(
        r"(?:^|[.?!]\s+)(.{2,60}?)\s*(?:[-–—:,]\s*|\?\s+)what(?:'s|\s+is|\s+are)\s+(?:that|it|they|this|those)"
        r"(?:\s+(?:exactly|actually|really))?\s*(?:[?.!]|$)",
        re.IGNORECASE,
    ),
    # Asked inside a sentence: "can you explain what data-centric AI actually is (and how…)?"
    re.compile(
        r"\bwhat\s+(.{2,60}?)\s+(?:actually\s+|really\s+|exactly\s+)?(?:is|are)\s*(?:[?,.;:!]|$|\s(?:and|or)\s)",
        re.IGNORECASE,
    ),
]
# After "what is" a question may ask about something other than a term ("what is the best way",
# "what is it like").
_NOT_A_TERM = re.compile(
    r"^(?:the\s+|an?\s+)?(?:it|this|that|these|those|they|there|he|she|you|your|his|her|their|my|our|"
    r"best|most|top|main|biggest|hardest|easiest|first|last|next|bare|difference|point|reason|role|advice|"
    r"way|story|good|typical|one)\b"
)
_WORD = re.compile(r"[a-z0-9]+")
_COPULA = r"(?:is|are|was|means?|meant|refers\s+to|stands\s+for)"
_ADVERB = r"(?:basically|actually|really|just|essentially|simply|usually)"
# The abbreviations of the field that questions and transcripts spell either way.
_SPELLED_OUT = {
    "ml": r"machine\W+learning",
    "ai": r"artificial\W+intelligence",
    "ds": r"data\W+science",
    "nlp": r"natural\W+language\W+processing",
    "llm": r"large\W+language\W+models?",
}


@dataclass(frozen=True)
class DefinedTerm:
    """The term a question asks to be defined, as lower-case words."""

    words: tuple[str, ...]

    def _phrase(self) -> str:
        # The words in order, each allowing a plural, with any punctuation or hyphen between them.
        parts = []
        for word in self.words:
            stem = word[:-1] if len(word) > 3 and word.endswith("s") else word
            spelled = _SPELLED_OUT.get(word)
            parts.append(rf"(?:{re.escape(stem)}(?:s|es)?{'|' + spelled if spelled else ''})")
        return r"\W+(?:(?:a|an|the)\W+)?".join(parts)

    def defined_in(self, text: str) -> bool:
        """Whether a sentence of `text` says what the term is: it opens with the term (after a few
        words at most) followed by "is", "are", "means"… ("DBT is a tool…", "So a sampler is…")."""
        pattern = re.compile(
            rf"^(?:\W*\w+){{0,3}}?\W*\b{self._phrase()}\b\W*(?:{_ADVERB}\W+)?{_COPULA}\b", re.IGNORECASE
        )
        return any(pattern.search(sentence) for sentence in SENTENCE_END.split(text))

    def asked_in(self, text: str) -> bool:
        """Whether `text` (a header, or a host's question) asks what the term is, or is the term alone."""
        words = [w.rstrip("s") for w in _WORD.findall(text.lower())]
        if words == [w.rstrip("s") for w in self.words]:
            return True
        phrase = self._phrase()
        asks = (
            rf"\bwhat(?:\s+exactly)?\s+(?:is|are|'s)\s+(?:an?\s+|the\s+)?{phrase}\b",
            rf"\b{phrase}\b.{{0,40}}\bmean",
            rf"\bdefin\w*\s+(?:of\s+)?(?:an?\s+|the\s+)?{phrase}\b",
        )
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in asks)


def defined_term(question: str) -> DefinedTerm | None:
    """The term `question` asks to be defined, or None when it asks something else."""
    if not _ASKS.search(question):
        return None
    quoted = _QUOTED_TERM.search(question)
    candidates = [quoted.group(1)] if quoted else []
    candidates += [m.group(1) for pattern in _ASKS_WHAT if (m := pattern.search(question))]
    for term in candidates:
        term = term.strip(" \"'‘’“”")
        if _NOT_A_TERM.match(term):
            continue
        words = tuple(w for w in _WORD.findall(term.lower()) if w not in ("a", "an", "the"))
        # A term is a few words; a long clause is a question about something else.
        if 0 < len(words) <= 4:
            return DefinedTerm(words)
    return None


def defines(term: DefinedTerm, header: str, lines: list[tuple[str, bool]]) -> bool:
    """Whether a section answers what `term` is: its header asks it, the host asks it there, or a
    guest's sentence says it. `lines` are (text, said by the host) pairs."""
    if header and term.asked_in(header):
        return True
    for text, by_host in lines:
        if by_host:
            if is_question(text) and term.asked_in(text):
                return True
        elif term.defined_in(text):
            return True
    return False

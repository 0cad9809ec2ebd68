"""Pick the sentences of the found moments that best answer a question, for quoting them.

A sentence answers when it shares the question's weighted terms, means what the question asks
(cosine of the two embeddings), for "what is X" questions says what X is ("dbt is a tool
that…"), and for questions asking an amount ("how many applications…", "how long did it take…")
says a number, not merely that it contains the question's words. A quote should be the guest's answer,
not the host's question or introduction: sentences the host says, and questions, count for less.
A quote is the best-matching sentence widened with the same speaker's neighbouring sentences
(about `CONTEXT_WORDS`), so it reads on its own, and it links to the second its own paragraph
starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.corpus.sections import SENTENCE_END, Section
from retrieval.corpus.speakers import is_question
from retrieval.search.definitions import DefinedTerm

MAX_QUOTE_WORDS = 55
CONTEXT_WORDS = 40
# How much a sentence counts when the host says it, or when it asks something.
HOST_FACTOR = 0.3
QUESTION_FACTOR = 0.5
# How much the best moment adds to its best sentence (the n-th adds 1/n of it): the search saw more
# than words. The section after a moment, where a long answer goes on, adds half its moment's.
RANK_PRIOR = 0.25
# What a sentence's meaning adds (times its cosine with the question), and what saying what the
# asked-about term is adds ("dbt is a tool…"); both chosen on the odd-numbered dev questions.
MEANING_WEIGHT = 0.5
DEFINITION_BONUS = 0.5
# What saying a number adds for a question that asks an amount. On the 12 such dev questions the first
# quote says the number asked for 4 -> 6 times (odd ids 2 -> 2, even 2 -> 4); twice on odd ids it
# quotes another number from a moment that does not answer.
AMOUNT_BONUS = 0.5
# Asking for an amount: how many/much/long/often…, or what share of something.
_ASKS_AMOUNT = re.compile(
    r"\bhow\s+(?:many|much|long|often|old|big|large|fast|far)\b|\bwhat\s+(?:percentage|percent|share|proportion|fraction)\b",
    re.IGNORECASE,
)
# A number, in digits or words ("130", "2 years", "eighty percent", "twice"); not a year ("in 2020"
# says when, not how many) and not "one", which is mostly a pronoun ("one of the things").
_NUMBER = re.compile(
    r"\b(?!(?:19|20)\d\d\b)\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|dozens?|half|once|twice|percent)\b",
    re.IGNORECASE,
)
FOLLOW_FACTOR = 0.5


@dataclass(frozen=True)
class Excerpt:
    speaker: str
    text: str
    sec: int
    by_host: bool = False
    asks: bool = False
    score: float = 0.0
    # The sentence says what the question asks for by its form: what the term is, or a number.
    gives_asked: bool = False


@dataclass(frozen=True)
class _Sentence:
    speaker: str
    text: str
    sec: int
    by_host: bool


def _sentences(section: Section) -> list[_Sentence]:
    return [
        _Sentence(line.speaker, sentence, line.sec, line.by_host)
        for line in section.lines()
        for sentence in SENTENCE_END.split(line.text)
        if sentence.strip()
    ]


@dataclass(frozen=True)
class QuoteQuery:
    """What a quote is matched against: the question's weighted terms, the meaning of a sentence
    compared with the question's, and the term the question asks to be defined (if any)."""

    weights: Callable[[str], dict[str, float]]
    query_weights: dict[str, float]
    similarity: Callable[[Sequence[str]], Sequence[float]] | None = None
    defined: DefinedTerm | None = None
    asks_amount: bool = False  # the question asks how many, how long… (`asks_amount`)


def best_excerpt(
    section: Section, sentences: Sequence[_Sentence], *, meaning: Sequence[float], query: QuoteQuery
) -> Excerpt:
    """The sentence of `section` that best answers the query (the guest's answers first), widened
    with the same speaker's neighbours up to about `CONTEXT_WORDS`. `sentences` are the section's
    (`_sentences`), `meaning` their cosine with the question."""
    if not sentences:
        return Excerpt("", _clip(section.text.split()), section.start_sec)
    total = sum(query.query_weights.values()) or 1.0
    asked = [_asked_bonus(s, query) for s in sentences]
    scores = [
        (
            sum(query.query_weights.get(term, 0.0) for term in set(query.weights(s.text))) / total
            + MEANING_WEIGHT * max(0.0, similarity)
            + bonus
        )
        * (HOST_FACTOR if s.by_host else 1.0)
        * (QUESTION_FACTOR if is_question(s.text) else 1.0)
        for s, similarity, bonus in zip(sentences, meaning, asked, strict=True)
    ]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    speaker = sentences[best].speaker
    start, end = best, best + 1

    def words(a: int, b: int) -> int:
        return sum(len(s.text.split()) for s in sentences[a:b])

    while True:
        if end < len(sentences) and sentences[end].speaker == speaker and words(start, end + 1) <= CONTEXT_WORDS:
            end += 1
        elif start > 0 and sentences[start - 1].speaker == speaker and words(start - 1, end) <= CONTEXT_WORDS:
            start -= 1
        else:
            break
    text = _clip(" ".join(s.text for s in sentences[start:end]).split())
    first = sentences[start]
    gives_asked = asked[best] > 0 and not sentences[best].by_host
    return Excerpt(speaker, text, first.sec, first.by_host, is_question(text), scores[best], gives_asked)


def _asked_bonus(sentence: _Sentence, query: QuoteQuery) -> float:
    """What `sentence` earns for saying what the question asks for by its form: what X is, for a
    "what is X" question; a number, for one asking an amount."""
    defines = query.defined is not None and query.defined.defined_in(sentence.text)
    counts = query.asks_amount and bool(_NUMBER.search(sentence.text))
    return (DEFINITION_BONUS if defines else 0.0) + (AMOUNT_BONUS if counts else 0.0)


def asks_amount(question: str) -> bool:
    """Whether `question` asks how many, how much, how long… of something: its answer says a number."""
    return bool(_ASKS_AMOUNT.search(question))


def _meanings(sentences: Sequence[Sequence[_Sentence]], query: QuoteQuery) -> list[list[float]]:
    """Each sentence's cosine with the question (0 without a similarity), from one embedding call for
    all the candidates' sentences: neighbouring moments share sections, so each text is embedded once."""
    texts = list(dict.fromkeys(s.text for found in sentences for s in found))
    values = dict(zip(texts, query.similarity(texts), strict=True)) if query.similarity and texts else {}
    return [[values.get(s.text, 0.0) for s in found] for found in sentences]


def _clip(words: list[str]) -> str:
    text = " ".join(words[:MAX_QUOTE_WORDS]) + (" …" if len(words) > MAX_QUOTE_WORDS else "")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Candidate:
    """A section to quote from: a found moment's own (`follows` False) or the one after it."""

    section: Section
    rank: int  # of the moment, 0 for the best
    follows: bool = False

    @property
    def prior(self) -> float:
        """What the moment's rank adds to its best sentence: the search saw more than words."""
        return RANK_PRIOR / (self.rank + 1) * (FOLLOW_FACTOR if self.follows else 1.0)


def choose_quotes(candidates: Sequence[Candidate], query: QuoteQuery, limit: int) -> list[tuple[Candidate, Excerpt]]:
    """The best `limit` quotes, each from a different paragraph: first the best sentence of the best
    moment (or of the answer that goes on after it) — unless it does not say what a "what is X" or
    "how many" question asks for and another moment of its episode does —, then by a sentence's
    match to the question plus a prior for the rank of its moment."""
    sentences = [_sentences(c.section) for c in candidates]
    meaning = _meanings(sentences, query)
    scored = [
        (c, best_excerpt(c.section, found, meaning=similarity, query=query))
        for c, found, similarity in zip(candidates, sentences, meaning, strict=True)
    ]
    scored.sort(key=lambda pair: -(pair[1].score + pair[0].prior))
    if scored:
        # The first quote comes from the best moment (or where its answer goes on): the search saw
        # the whole exchange, a sentence's match alone sees a few words. Unless it does not say what
        # the question asks for by its form (what X is, how many) and another moment of the same
        # episode does: the search chose the episode, a number in another one answers something else.
        first = max((pair for pair in scored if pair[0].rank == 0), key=lambda pair: pair[1].score, default=None)
        if first is not None and not first[1].gives_asked:
            episode = first[0].section.episode_id
            first = next((p for p in scored if p[1].gives_asked and p[0].section.episode_id == episode), first)
        if first is not None:
            scored.remove(first)
            scored.insert(0, first)
    chosen: list[tuple[Candidate, Excerpt]] = []
    places: set[tuple[str, int]] = set()
    for candidate, excerpt in scored:
        # Overlapping sections can yield the same paragraph twice; quote each one once.
        place = (candidate.section.episode_id, excerpt.sec)
        if place in places:
            continue
        places.add(place)
        chosen.append((candidate, excerpt))
        if len(chosen) == limit:
            break
    return chosen

"""The answer without a model: the sentences of the found moments that best answer the question,
quoted with who said them and when."""

from __future__ import annotations

from retrieval.answering.answers import Answer, Source
from retrieval.answering.corpus_view import AnswerCorpus
from retrieval.answering.preparation import AnswerState
from retrieval.answering.quotes import Candidate, Excerpt, choose_quotes
from retrieval.corpus.sections import Section

OFFLINE_QUOTES = 3


def offline_answer(corpus: AnswerCorpus, state: AnswerState, note: str = "") -> Answer:
    """Quotes: the sentences of the found moments (and of what follows them, where answers go on)
    that best answer the question, the guest's answers before the host's questions."""
    candidates = [
        Candidate(section, rank, follows=section is not moment.section)
        for rank, moment in enumerate(state.moments)
        for section in corpus.neighbours(moment, before=0, after=1)
    ]
    chosen = choose_quotes(candidates, corpus.quote_query(state.query), OFFLINE_QUOTES)
    sources = [_quote_source(n, c.section, excerpt) for n, (c, excerpt) in enumerate(chosen, start=1)]
    lines = [f"[{s.number}] {s.speaker} ({s.episode_title}, {s.time}): “{s.quote}”" for s in sources]
    episodes = len({s.episode_id for s in sources})
    if state.shape is not None and state.shape.one_per_episode and episodes == len(sources):
        lead = f"{'These episodes talk' if episodes > 1 else 'This episode talks'} about it:"
    else:
        lead = (
            f"Here is what was said about this on the podcast ({len(sources)} moment{'s' * (len(sources) != 1)}"
            f" from {episodes} episode{'s' * (episodes != 1)}):"
        )
    return Answer(
        state.question,
        "\n".join([lead, *lines]),
        sources,
        "offline",
        grounded=True,
        query=state.query,
        note=note,
        moments=list(state.moments),
    )


def _quote_source(number: int, section: Section, excerpt: Excerpt) -> Source:
    speaker = excerpt.speaker or ", ".join(section.speakers) or "unknown speaker"
    return Source(
        number,
        section.episode_id,
        section.episode_title,
        speaker,
        excerpt.sec,
        section.url_at(excerpt.sec),
        section.header,
        excerpt.text,
        asks=excerpt.by_host and excerpt.asks,
    )

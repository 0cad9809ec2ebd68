"""The first step of answering: a question becomes either a finished answer (a question back, the
catalogue's, nothing found) or the numbered moments a reply is then written from.

question (+ history) → follow-up or not (`retrieval.answering.followups`) → a question back if it refers to
nothing → the catalogue, for questions about the episodes themselves → standalone query (the model
rewrites a follow-up; offline, the earlier questions' subject is added) → search → nothing relevant
found, or the moments [1]..[n].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda

from retrieval.answering.answers import Answer, Source
from retrieval.answering.catalogue import CatalogueAnswer
from retrieval.answering.corpus_view import AnswerCorpus
from retrieval.answering.followups import place
from retrieval.answering.prompts import History, Prompts, history_messages, text_chain
from retrieval.corpus.episodes import youtube_url
from retrieval.errors import UsageError
from retrieval.search.filters import NO_FILTERS, SearchFilters
from retrieval.search.moments import Moment
from retrieval.search.shapes import QuestionShape, question_shape

if TYPE_CHECKING:
    # Only named in annotations: importing it costs the offline CLI ~0.5 s (LangSmith's tracers).
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

NOT_FOUND = "I couldn't find anything about that in the podcast episodes I know."
CLARIFY = (
    "I'm not sure what “{cue}” refers to: there is no earlier question in this conversation. "
    "Could you ask again, naming the guest or topic you mean?"
)


@dataclass(frozen=True)
class AnswerState:
    """What flows between the steps of answering; each step returns a copy with its part filled in."""

    question: str  # as the user asked it, stripped
    history: tuple[tuple[str, str], ...] = ()  # the conversation, kept only for a follow-up
    filters: SearchFilters = NO_FILTERS  # season, episode, guest or speaker the user set by hand
    subject: str = ""  # a follow-up's earlier questions' content words (the offline search adds them)
    unclear: str = ""  # what a follow-up with nothing to follow refers back with ("she", "that")
    query: str = ""  # what is searched: the question, or a follow-up made standalone
    moments: tuple[Moment, ...] = ()  # the found moments, numbered [1]..[n] in this order
    shape: QuestionShape | None = None  # of the question as asked (one episode, or across episodes)
    note: str = ""  # why fewer moments than asked for were found
    catalogue: CatalogueAnswer | None = None  # the answer to a question about the episodes themselves
    reply: str | None = None  # the model's reply, before its citations are checked
    error: Exception | None = None  # why the model wrote no reply


def start(question: str, history: History, filters: SearchFilters) -> AnswerState:
    question = question.strip()
    if not question:
        raise UsageError("the question is empty")
    return AnswerState(question, tuple(history), filters)


def moment_source(number: int, moment: Moment) -> Source:
    """The source a model's `[number]` cites: the moment's link, and who speaks from there on (the
    guest, when the link skips the host's question)."""
    s = moment.section
    speakers = dict.fromkeys(line.speaker for line in s.lines() if line.sec >= moment.start_sec and line.speaker)
    speaker = ", ".join(speakers or s.speakers) or "unknown speaker"
    return Source(number, s.episode_id, s.episode_title, speaker, moment.start_sec, moment.url, s.header)


class Preparation:
    """Everything before the reply is written, as one runnable: `AnswerState` → `Answer | AnswerState`."""

    def __init__(self, corpus: AnswerCorpus, prompts: Prompts, *, model: BaseChatModel | None, k: int):
        self.corpus = corpus
        self.prompts = prompts
        self.model = model
        self.k = k

    def runnable(self) -> Runnable[AnswerState, Answer | AnswerState]:
        found = RunnableLambda(self._condense) | RunnableLambda(self._retrieve)
        from_transcripts = found | RunnableBranch[AnswerState, Answer | AnswerState](
            (lambda state: not state.moments, RunnableLambda(self._not_found)), RunnableLambda(_unchanged)
        )
        answer = RunnableLambda(self._look_up_catalogue) | RunnableBranch[AnswerState, Answer | AnswerState](
            (lambda state: state.catalogue is not None, RunnableLambda(self._catalogue_answer)), from_transcripts
        )
        return RunnableLambda(self._place) | RunnableBranch[AnswerState, Answer | AnswerState](
            (lambda state: bool(state.unclear), RunnableLambda(self._clarify)), answer
        )

    @staticmethod
    def _place(state: AnswerState) -> AnswerState:
        """Only a question that refers back gets the conversation; one with nothing before it to
        refer to gets a question back instead of a search."""
        placement = place(state.question, state.history)
        if placement.follows:
            return replace(state, subject=placement.subject)
        return replace(state, history=(), unclear=placement.cue if placement.unclear else "")

    def _look_up_catalogue(self, state: AnswerState) -> AnswerState:
        """Questions about the episodes themselves (latest, a guest's episodes, a season) are
        answered from their metadata; a follow-up in a conversation is about transcripts."""
        if state.history or state.filters:
            return state
        return replace(state, catalogue=self.corpus.catalogue(state.question))

    def _condense(self, state: AnswerState) -> AnswerState:
        """The search query: the question itself, or for a follow-up a standalone version of it."""
        if not state.history:
            return replace(state, query=state.question)
        if self.model is None:
            # Without a model, a follow-up is searched with what the questions before it were about.
            return replace(state, query=f"{state.question} {state.subject}")
        rewrite = text_chain(self.prompts.condense, self.model)
        try:
            query = rewrite.invoke({"question": state.question, "history": history_messages(state.history)})
        except Exception as error:  # a failed rewrite still leaves the question itself to search
            log.warning("rewriting the follow-up failed, searching the question as asked: %s", error)
            query = ""
        return replace(state, query=query.strip().strip('"') or state.question)

    def _retrieve(self, state: AnswerState) -> AnswerState:
        result = self.corpus.search(state.query, k=self.k, filters=state.filters)
        moments = tuple(result.moments) if result.relevant else ()
        # The shape of the question as the user asked it, not of a rewritten follow-up.
        return replace(state, moments=moments, shape=question_shape(state.question), note=result.note)

    @staticmethod
    def _catalogue_answer(state: AnswerState) -> Answer:
        assert state.catalogue is not None
        sources = [
            Source(
                n,
                record.episode_id,
                record.title,
                ", ".join(record.guest_names or record.guests),
                0,
                youtube_url(record.youtube_id, 0),
                page=record.page_url,
            )
            for n, record in enumerate(state.catalogue.episodes, start=1)
        ]
        return Answer(state.question, state.catalogue.text, sources, "catalogue", grounded=True, query=state.question)

    @staticmethod
    def _clarify(state: AnswerState) -> Answer:
        return Answer(state.question, CLARIFY.format(cue=state.unclear), [], "clarify", grounded=False)

    @staticmethod
    def _not_found(state: AnswerState) -> Answer:
        return Answer(state.question, NOT_FOUND, [], "not_found", grounded=False, query=state.query)


def _unchanged(state: AnswerState) -> AnswerState:
    return state

"""Answer a question with cited podcast moments: one pipeline, written by an LLM or quoted offline.

Preparation (`retrieval.answering.preparation`) either finishes the answer itself (a question back, the
catalogue, nothing found) or hands on the numbered moments; generation then writes the reply to
them — all at once (`Answerer.answer`, a LangChain chain) or streamed (`Answerer.stream`) — and
keeps only valid citations. Without a model, or when the model fails or cites nothing, the answer is
built from the best quoted sentences of the moments instead (`retrieval.answering.offline`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableLambda

from retrieval.answering.answers import Answer, Source
from retrieval.answering.citations import cited_numbers, keep_source_links, keep_valid_citations
from retrieval.answering.corpus_view import AnswerCorpus, context_sections
from retrieval.answering.offline import offline_answer
from retrieval.answering.preparation import AnswerState, Preparation, moment_source, start
from retrieval.answering.prompt_context import format_context, window
from retrieval.answering.prompts import History, Prompts, history_messages, text_chain
from retrieval.search.filters import NO_FILTERS, SearchFilters

if TYPE_CHECKING:
    # Only named in annotations: importing it costs the offline CLI ~0.5 s (LangSmith's tracers).
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

UNAVAILABLE = "The language model is unavailable right now, so here are the most relevant moments."
UNCITED = "The language model's answer cited no moment, so here are the moments themselves."


class AnswerStream:
    """An answer as the model writes it: iterating gives its text in pieces; once they are read,
    `answer` holds the checked `Answer`. An answer no model writes (offline, nothing found, the
    catalogue, a question back) comes with no pieces; when the model fails or cites nothing, the
    `answer` replaces what was streamed."""

    def __init__(self, pieces: Generator[str, None, Answer]):
        self._answer: Answer | None = None
        self._reading = self._read(pieces)

    def _read(self, pieces: Generator[str, None, Answer]) -> Generator[str, None, None]:
        self._answer = yield from pieces

    def __iter__(self) -> Iterator[str]:
        return self._reading

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            raise RuntimeError("the answer is known only once its stream has been read to the end")
        return self._answer

    def close(self) -> None:
        """Stop reading: the model's stream is closed (a caller that gives up)."""
        self._reading.close()


class Answerer:
    """Answers questions; `model=None` means the offline mode (quotes, no LLM)."""

    def __init__(self, corpus: AnswerCorpus, prompts: Prompts, model: BaseChatModel | None = None, *, k: int = 5):
        self.corpus = corpus
        self.prompts = prompts
        self.model = model
        self.k = k
        self.prepare = Preparation(corpus, prompts, model=model, k=k).runnable()
        self.chain: Runnable[AnswerState, Answer] = self.prepare | RunnableLambda(self._written)

    def answer(self, question: str, history: History = (), filters: SearchFilters = NO_FILTERS) -> Answer:
        return self.chain.invoke(start(question, history, filters))

    def stream(
        self,
        question: str,
        history: History = (),
        *,
        filters: SearchFilters = NO_FILTERS,
        on_sources: Callable[[list[Source]], None] | None = None,
    ) -> AnswerStream:
        """The same pipeline as `answer`, with the model's reply streamed. `on_sources` is called with
        the numbered moments before the model writes, so that a caller can link its `[n]` citations
        as they come."""
        return AnswerStream(self._streamed(question, history, filters=filters, on_sources=on_sources))

    def _streamed(
        self,
        question: str,
        history: History,
        *,
        filters: SearchFilters,
        on_sources: Callable[[list[Source]], None] | None,
    ) -> Generator[str, None, Answer]:
        prepared = self.prepare.invoke(start(question, history, filters))
        if isinstance(prepared, Answer):
            return prepared
        if self.model is None:
            return offline_answer(self.corpus, prepared)
        if on_sources is not None:
            on_sources([moment_source(n, moment) for n, moment in enumerate(prepared.moments, start=1)])
        pieces: list[str] = []
        try:
            # The model itself is streamed, not the prompt | model | parser chain: closing a chain's
            # stream early (a caller that gives up) waits until the model has finished writing.
            for chunk in self.model.stream(self.prompts.answer.invoke(self._prompt_input(prepared))):
                if chunk.text:
                    pieces.append(chunk.text)
                    yield chunk.text
        except Exception as error:  # the model failed part-way: the offline answer replaces it
            return self._cited_answer(replace(prepared, error=error))
        return self._cited_answer(replace(prepared, reply="".join(pieces)))

    def _written(self, prepared: Answer | AnswerState) -> Answer:
        """The reply to prepared moments, written at once; a finished answer passes through."""
        if isinstance(prepared, Answer):
            return prepared
        if self.model is None:
            return offline_answer(self.corpus, prepared)
        writer = text_chain(self.prompts.answer, self.model)
        try:
            reply = writer.invoke(self._prompt_input(prepared))
        except Exception as error:  # timeouts, rate limits, server errors, malformed replies
            return self._cited_answer(replace(prepared, error=error))
        return self._cited_answer(replace(prepared, reply=reply))

    def _prompt_input(self, state: AnswerState) -> dict[str, Any]:
        return {
            "moments": format_context(
                [moment.section for moment in state.moments],
                [window(context_sections(self.corpus, moment), moment.section) for moment in state.moments],
            ),
            "question": state.question,
            "history": history_messages(state.history),
        }

    def _cited_answer(self, state: AnswerState) -> Answer:
        """The model's reply with only valid citations and links; the quotes when it has none."""
        if state.reply is None:
            error = state.error
            log.warning("LLM call failed, answering offline: %s: %s", type(error).__name__, error)
            return offline_answer(self.corpus, state, note=UNAVAILABLE)
        reply = keep_source_links(state.reply, {moment.url for moment in state.moments})
        text = keep_valid_citations(reply, range(1, len(state.moments) + 1))
        cited = cited_numbers(text)
        if not cited:
            log.debug("model answer cited no moment; answering offline instead")
            return offline_answer(self.corpus, state, note=UNCITED)
        sources = [moment_source(n, state.moments[n - 1]) for n in cited]
        return Answer(
            state.question, text, sources, "llm", grounded=True, query=state.query, moments=list(state.moments)
        )

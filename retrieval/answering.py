"""Answer a question with cited podcast moments: a LangChain chain around an LLM, or offline quotes.

question (+ history) → follow-up or not (`retrieval.followups`) → standalone query (LLM, only for a
follow-up) → retrieve → number the moments [1]..[n] → prompt → chat model → keep only valid
citations. Without a model, or when the model fails or cites nothing, the answer is built from the
best quoted sentences of the moments instead.
When retrieval finds nothing relevant, the answer says so and no model is called; a follow-up with
no earlier question is answered with a question back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda

from retrieval.catalogue import CatalogueAnswer, answer_catalogue
from retrieval.citations import cited_numbers, keep_source_links, keep_valid_citations
from retrieval.context import format_context, window
from retrieval.definitions import defined_term
from retrieval.episodes import youtube_url
from retrieval.errors import PromptError, UsageError
from retrieval.excerpts import Candidate, Excerpt, QuoteQuery, choose_quotes
from retrieval.filters import NO_FILTERS, SearchFilters
from retrieval.followups import place
from retrieval.search import Moment, Searcher
from retrieval.sections import Section, timestamp
from retrieval.shapes import QuestionShape, question_shape

log = logging.getLogger(__name__)

Mode = Literal["llm", "offline", "not_found", "catalogue", "clarify"]
History = Sequence[tuple[str, str]]  # ("user" | "assistant", text), oldest first
NOT_FOUND = "I couldn't find anything about that in the podcast episodes I know."
CLARIFY = (
    "I'm not sure what “{cue}” refers to: there is no earlier question in this conversation. "
    "Could you ask again, naming the guest or topic you mean?"
)
OFFLINE_QUOTES = 3
# Sections before a moment searched for the question it answers (a long answer spans several).
CONTEXT_BEFORE = 3


@dataclass(frozen=True)
class Source:
    number: int
    episode_id: str
    episode_title: str
    speaker: str
    start_sec: int
    url: str
    header: str = ""
    quote: str = ""
    # The quote is the host asking (eval --answers counts how often a quote is only the question).
    asks: bool = False
    page: str = ""  # the episode's page on the site

    @property
    def time(self) -> str:
        return timestamp(self.start_sec)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    sources: list[Source]
    mode: Mode
    grounded: bool
    query: str = ""
    note: str = ""
    moments: list[Moment] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("moments")
        for source, raw in zip(data["sources"], self.sources, strict=True):
            source["time"] = raw.time
        return data


@dataclass(frozen=True)
class Prompts:
    answer: ChatPromptTemplate
    condense: ChatPromptTemplate


def load_prompt(path: Path) -> ChatPromptTemplate:
    """A chat prompt from a YAML file with `system` and `user` templates; history goes between them."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: cannot read prompt ({exc})") from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in ("system", "user")):
        raise PromptError(f"{path}: a prompt file needs 'system' and 'user' text")
    return ChatPromptTemplate.from_messages(
        [("system", data["system"]), MessagesPlaceholder("history", optional=True), ("user", data["user"])]
    )


def load_prompts(folder: Path) -> Prompts:
    return Prompts(answer=load_prompt(folder / "answer.yaml"), condense=load_prompt(folder / "condense.yaml"))


def _history_messages(history: History) -> list[BaseMessage]:
    return [HumanMessage(text) if role == "user" else AIMessage(text) for role, text in history]


def context_sections(searcher: Searcher, moment: Moment) -> list[Section]:
    """The sections a moment's context window is cut from (`retrieval.context.window`): its own,
    `CONTEXT_BEFORE` before it for the question it answers, and the one after."""
    return searcher.neighbours(moment, before=CONTEXT_BEFORE)


def _speaker(moment: Moment) -> str:
    return ", ".join(moment.section.speakers) or "unknown speaker"


@dataclass(frozen=True)
class AnswerState:
    """What flows between the chain's steps; each step returns a copy with its part filled in."""

    question: str
    history: tuple[tuple[str, str], ...] = ()  # only for a follow-up: a new question starts afresh
    filters: SearchFilters = NO_FILTERS
    subject: str = ""  # a follow-up's earlier questions' content words (the offline search adds them)
    unclear: str = ""  # what a follow-up with nothing to follow refers back with ("she", "that")
    query: str = ""
    moments: tuple[Moment, ...] = ()
    shape: QuestionShape | None = None
    note: str = ""  # why fewer moments than asked for were found
    catalogue: CatalogueAnswer | None = None  # a question about the episodes themselves
    reply: str | None = None
    error: Exception | None = None


class Answerer:
    """Answers questions; `model=None` means the offline mode (quotes, no LLM)."""

    def __init__(self, searcher: Searcher, prompts: Prompts, model: BaseChatModel | None = None, k: int = 5):
        self.searcher = searcher
        self.prompts = prompts
        self.model = model
        self.k = k
        self.chain = self._build_chain()

    # The chain -----------------------------------------------------------------------------

    def _build_chain(self) -> Runnable[AnswerState, Answer]:
        retrieve = RunnableLambda(self._condense) | RunnableLambda(self._retrieve)
        generate: Runnable[AnswerState, Answer]
        if self.model is None:
            generate = RunnableLambda(self._offline_answer)
        else:
            generate = RunnableLambda(self._generate) | RunnableLambda(self._cited_answer)
        from_transcripts = retrieve | RunnableBranch(
            (lambda state: not state.moments, RunnableLambda(self._not_found)), generate
        )
        answer = RunnableLambda(self._look_up_catalogue) | RunnableBranch(
            (lambda state: state.catalogue is not None, RunnableLambda(self._catalogue_answer)), from_transcripts
        )
        return RunnableLambda(self._place) | RunnableBranch(
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
        corpus = self.searcher.corpus
        return replace(state, catalogue=answer_catalogue(state.question, corpus.episodes, corpus.named_episodes))

    def _condense(self, state: AnswerState) -> AnswerState:
        """The search query: the question itself, or for a follow-up a standalone version of it."""
        if not state.history:
            return replace(state, query=state.question)
        if self.model is None:
            # Without a model, a follow-up is searched with what the questions before it were about.
            return replace(state, query=f"{state.question} {state.subject}")
        rewrite = self.prompts.condense | self.model | StrOutputParser()
        try:
            query = rewrite.invoke({"question": state.question, "history": _history_messages(state.history)})
        except Exception as error:  # a failed rewrite still leaves the question itself to search
            log.warning("rewriting the follow-up failed, searching the question as asked: %s", error)
            query = ""
        return replace(state, query=query.strip().strip('"') or state.question)

    def _retrieve(self, state: AnswerState) -> AnswerState:
        # The shape of the question as the user asked it, not of a rewritten follow-up.
        result = self.searcher.search(state.query, k=self.k, filters=state.filters)
        moments = tuple(result.moments) if result.relevant else ()
        return replace(state, moments=moments, shape=question_shape(state.question), note=result.note)

    def _writer(self) -> Runnable[dict[str, Any], str]:
        assert self.model is not None
        return self.prompts.answer | self.model | StrOutputParser()

    def _prompt_input(self, state: AnswerState) -> dict[str, Any]:
        return {
            "moments": format_context(
                [moment.section for moment in state.moments],
                [window(context_sections(self.searcher, moment), moment.section) for moment in state.moments],
            ),
            "question": state.question,
            "history": _history_messages(state.history),
        }

    def _generate(self, state: AnswerState) -> AnswerState:
        """The model's reply to the numbered moments, or the error that prevented one."""
        try:
            reply = self._writer().invoke(self._prompt_input(state))
        except Exception as error:  # timeouts, rate limits, server errors, malformed replies
            return replace(state, error=error)
        return replace(state, reply=reply)

    # Answer builders --------------------------------------------------------------------------

    @staticmethod
    def _source(number: int, moment: Moment) -> Source:
        s = moment.section
        return Source(number, s.episode_id, s.episode_title, _speaker(moment), moment.start_sec, moment.url, s.header)

    def _catalogue_answer(self, state: AnswerState) -> Answer:
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

    def _clarify(self, state: AnswerState) -> Answer:
        return Answer(state.question, CLARIFY.format(cue=state.unclear), [], "clarify", grounded=False)

    def _not_found(self, state: AnswerState) -> Answer:
        return Answer(state.question, NOT_FOUND, [], "not_found", grounded=False, query=state.query)

    def _offline_answer(self, state: AnswerState, note: str = "") -> Answer:
        """Quotes: the sentences of the found moments (and of what follows them, where answers go on)
        that best answer the question, the guest's answers before the host's questions."""
        candidates = [
            Candidate(section, rank, follows=section is not moment.section)
            for rank, moment in enumerate(state.moments)
            for section in self.searcher.neighbours(moment, before=0, after=1)
        ]
        query = QuoteQuery(
            self.searcher.term_weights,
            self.searcher.question_weights(state.query),
            self.searcher.sentence_similarity(state.query),
            defined_term(state.query),
        )
        chosen = choose_quotes(candidates, query, OFFLINE_QUOTES)
        sources = [self._quote_source(n, c.section, excerpt) for n, (c, excerpt) in enumerate(chosen, start=1)]
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

    @staticmethod
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

    def _cited_answer(self, state: AnswerState) -> Answer:
        if state.reply is None:
            error = state.error
            log.warning("LLM call failed, answering offline: %s: %s", type(error).__name__, error)
            return self._offline_answer(
                state, note="The language model is unavailable right now, so here are the most relevant moments."
            )
        reply = keep_source_links(state.reply, {moment.url for moment in state.moments})
        text = keep_valid_citations(reply, range(1, len(state.moments) + 1))
        cited = cited_numbers(text)
        if not cited:
            log.debug("model answer cited no moment; answering offline instead")
            return self._offline_answer(
                state, note="The language model's answer cited no moment, so here are the moments themselves."
            )
        sources = [self._source(n, state.moments[n - 1]) for n in cited]
        return Answer(
            state.question, text, sources, "llm", grounded=True, query=state.query, moments=list(state.moments)
        )

    # Public API -------------------------------------------------------------------------------

    def answer(self, question: str, history: History = (), filters: SearchFilters = NO_FILTERS) -> Answer:
        return self.chain.invoke(self._start(question, history, filters))

    def stream(
        self,
        question: str,
        history: History = (),
        filters: SearchFilters = NO_FILTERS,
        on_sources: Callable[[list[Source]], None] | None = None,
    ) -> Generator[str | Answer, None, None]:
        """The answer as the model writes it: its text in pieces, then the checked `Answer`, always last.

        The same steps as `answer`; only the model's reply is streamed. Answers that no model writes
        (offline, nothing found, the catalogue, a question back) and an LLM failure come as the final
        `Answer` alone, which then replaces anything streamed before it. `on_sources` is called with the numbered
        moments before the model writes, so that a caller can link its `[n]` citations as they come."""
        state = self._place(self._start(question, history, filters))
        if state.unclear:
            yield self._clarify(state)
            return
        state = self._look_up_catalogue(state)
        if state.catalogue is not None:
            yield self._catalogue_answer(state)
            return
        state = self._retrieve(self._condense(state))
        if not state.moments:
            yield self._not_found(state)
            return
        if self.model is None:
            yield self._offline_answer(state)
            return
        if on_sources is not None:
            on_sources([self._source(n, moment) for n, moment in enumerate(state.moments, start=1)])
        pieces: list[str] = []
        try:
            # The model itself is streamed, not the prompt | model | parser chain: closing a chain's
            # stream early (a caller that gives up) waits until the model has finished writing.
            for chunk in self.model.stream(self.prompts.answer.invoke(self._prompt_input(state))):
                if chunk.text:
                    pieces.append(chunk.text)
                    yield chunk.text
        except Exception as error:  # the model failed part-way: the offline answer replaces it
            yield self._cited_answer(replace(state, error=error))
            return
        yield self._cited_answer(replace(state, reply="".join(pieces)))

    @staticmethod
    def _start(question: str, history: History, filters: SearchFilters) -> AnswerState:
        question = question.strip()
        if not question:
            raise UsageError("the question is empty")
        return AnswerState(question, tuple(history), filters)

"""Answer a question with cited podcast moments: a LangChain chain around an LLM, or offline quotes.

question (+ history) → standalone query (LLM, only with history) → retrieve → number the moments
[1]..[n] → prompt → chat model → keep only valid citations. Without a model, or when the model
fails or cites nothing, the answer is built from the best quoted sentences of the moments instead.
When retrieval finds nothing relevant, the answer says so and no model is called.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from retrieval.excerpts import Excerpt, best_excerpt
from retrieval.search import Moment, SearchFilters, Searcher
from retrieval.sections import timestamp

log = logging.getLogger(__name__)

Mode = Literal["llm", "offline", "not_found"]
History = Sequence[tuple[str, str]]  # ("user" | "assistant", text), oldest first
CITATION = re.compile(r"\[(\d{1,2})\]")
# "Which episode…", "Was there a podcast about…", "Did any guest…": one moment per episode answers best.
EPISODE_QUESTION = re.compile(
    r"\b(which|what|any)\s+(episodes?|podcasts?|guests?)\b|\bwas there an?\s+(episode|podcast)\b|\bdid any(one| guest)\b",
    re.IGNORECASE,
)
NOT_FOUND = "I couldn't find anything about that in the podcast episodes I know."
OFFLINE_QUOTES = 3


class PromptError(ValueError):
    """A prompt file is missing or malformed; the message names the file."""


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
        for source, raw in zip(data["sources"], self.sources):
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


def _speaker(moment: Moment) -> str:
    return ", ".join(moment.section.speakers) or "unknown speaker"


def format_moments(moments: Sequence[Moment]) -> str:
    """The numbered context given to the model. Transcript text is quoted so it reads as data."""
    blocks = []
    for n, moment in enumerate(moments, start=1):
        s = moment.section
        text = s.text.replace("</moments>", "</ moments>")
        header = f" | section: {s.header}" if s.header else ""
        blocks.append(f"[{n}] episode: {s.episode_title} | speakers: {_speaker(moment)} | time: {timestamp(moment.start_sec)}{header}\n\"\"\"\n{text}\n\"\"\"")
    return "\n\n".join(blocks)


def _offline_followup_query(x: dict[str, Any]) -> str:
    earlier = [text for role, text in x["history"] if role == "user"]
    return f"{earlier[-1]} {x['question']}" if earlier else x["question"]


class Answerer:
    """Answers questions; `model=None` means the offline mode (quotes, no LLM)."""

    def __init__(self, searcher: Searcher, prompts: Prompts, model: BaseChatModel | None = None, k: int = 5):
        self.searcher = searcher
        self.prompts = prompts
        self.model = model
        self.k = k
        self.chain = self._build_chain()

    # The chain -----------------------------------------------------------------------------

    def _build_chain(self) -> Runnable:
        retrieve = RunnablePassthrough.assign(query=self._condense_step()) | RunnableLambda(self._retrieve)
        if self.model is None:
            generate: Runnable = RunnableLambda(self._offline_answer)
        else:
            llm = RunnablePassthrough.assign(
                reply=(
                    RunnableLambda(lambda x: {"moments": format_moments(x["moments"]), "question": x["question"],
                                              "history": _history_messages(x["history"])})
                    | self.prompts.answer
                    | self.model
                    | StrOutputParser()
                )
            ) | RunnableLambda(self._cited_answer)
            generate = llm.with_fallbacks([RunnableLambda(self._fallback_answer)], exception_key="error")
        return retrieve | RunnableBranch((lambda x: not x["moments"], RunnableLambda(self._not_found)), generate)

    def _condense_step(self) -> Runnable:
        if self.model is None:
            # Without a model, a follow-up is searched together with the question before it.
            return RunnableLambda(_offline_followup_query)
        rewrite = (
            RunnableLambda(lambda x: {"question": x["question"], "history": _history_messages(x["history"])})
            | self.prompts.condense
            | self.model
            | StrOutputParser()
            | RunnableLambda(lambda text: text.strip().strip('"') or None)
        )
        fallback = RunnableLambda(lambda x: x["question"])
        return RunnableBranch(
            (lambda x: bool(x["history"]), rewrite.with_fallbacks([fallback])),
            fallback,
        )

    def _retrieve(self, x: dict[str, Any]) -> dict[str, Any]:
        query = x["query"] or x["question"]
        per_episode = 1 if EPISODE_QUESTION.search(x["question"]) else None
        result = self.searcher.search(query, k=self.k, filters=x["filters"], per_episode=per_episode)
        return {**x, "query": query, "moments": result.moments if result.relevant else []}

    # Answer builders --------------------------------------------------------------------------

    def _source(self, number: int, moment: Moment, excerpt: Excerpt | None = None) -> Source:
        s = moment.section
        if excerpt is None:
            return Source(number, s.episode_id, s.episode_title, _speaker(moment), moment.start_sec, moment.url, s.header)
        return Source(number, s.episode_id, s.episode_title, excerpt.speaker or _speaker(moment), excerpt.sec,
                      s.url_at(excerpt.sec), s.header, excerpt.text)

    def _not_found(self, x: dict[str, Any]) -> Answer:
        return Answer(x["question"], NOT_FOUND, [], "not_found", grounded=False, query=x["query"])

    def _offline_answer(self, x: dict[str, Any], note: str = "") -> Answer:
        query_weights = self.searcher.term_weights(x["query"])
        sources: list[Source] = []
        quoted: list[Moment] = []
        for moment in x["moments"]:
            excerpt = best_excerpt(moment.section, self.searcher.term_weights, query_weights)
            # Overlapping sections can yield the same paragraph twice; quote each one once.
            if any(s.episode_id == moment.section.episode_id and s.start_sec == excerpt.sec for s in sources):
                continue
            sources.append(self._source(len(sources) + 1, moment, excerpt))
            quoted.append(moment)
            if len(sources) == OFFLINE_QUOTES:
                break
        lines = [f"[{s.number}] {s.speaker} ({s.episode_title}, {s.time}): “{s.quote}”" for s in sources]
        episodes = len({m.section.episode_id for m in quoted})
        if EPISODE_QUESTION.search(x["question"]) and episodes == len(quoted):
            lead = f"{'These episodes talk' if episodes > 1 else 'This episode talks'} about it:"
        else:
            lead = (
                f"Here is what was said about this on the podcast ({len(quoted)} moment{'s' * (len(quoted) != 1)}"
                f" from {episodes} episode{'s' * (episodes != 1)}):"
            )
        return Answer(x["question"], "\n".join([lead, *lines]), sources, "offline", grounded=True,
                      query=x["query"], note=note, moments=x["moments"])

    def _fallback_answer(self, x: dict[str, Any]) -> Answer:
        error = x.get("error")
        log.warning("LLM call failed, answering offline: %s: %s", type(error).__name__, error)
        return self._offline_answer(x, note="The language model is unavailable right now, so here are the most relevant moments.")

    def _cited_answer(self, x: dict[str, Any]) -> Answer:
        moments: list[Moment] = x["moments"]
        valid = range(1, len(moments) + 1)
        text = CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", x["reply"])
        text = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
        cited = sorted({int(n) for n in CITATION.findall(text)})
        if not cited:
            log.info("model answer cited no moment; answering offline instead")
            return self._offline_answer(x, note="The language model's answer cited no moment, so here are the moments themselves.")
        sources = [self._source(n, moments[n - 1]) for n in cited]
        return Answer(x["question"], text, sources, "llm", grounded=True, query=x["query"], moments=moments)

    # Public API -------------------------------------------------------------------------------

    def answer(self, question: str, history: History = (), filters: SearchFilters = SearchFilters()) -> Answer:
        question = question.strip()
        if not question:
            raise ValueError("empty question")
        return self.chain.invoke({"question": question, "history": list(history), "filters": filters})

"""The chat prompts (YAML files in `prompts/`) and the conversation history in the form they take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from retrieval.errors import PromptError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

History = Sequence[tuple[str, str]]  # ("user" | "assistant", text), oldest first


@dataclass(frozen=True)
class Prompts:
    answer: ChatPromptTemplate  # the numbered moments and the question → the cited answer
    condense: ChatPromptTemplate  # a follow-up and its history → a standalone search query


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


def history_messages(history: History) -> list[BaseMessage]:
    return [HumanMessage(text) if role == "user" else AIMessage(text) for role, text in history]


def text_chain(prompt: ChatPromptTemplate, model: BaseChatModel) -> Runnable[dict[str, object], str]:
    """`prompt | model`, giving the reply's text."""
    # Imported here, with a model at hand: output parsers load LangSmith's tracers (~0.5 s), which
    # the offline CLI never needs.
    from langchain_core.output_parsers import StrOutputParser

    return prompt | model | StrOutputParser()

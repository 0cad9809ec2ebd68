"""What an answer is: its text, the numbered sources it cites, and how it was made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from retrieval.corpus.sections import timestamp
from retrieval.search.moments import Moment

# llm: the model wrote it; offline: quotes; not_found: nothing relevant; catalogue: from episode
# metadata; clarify: a question back.
Mode = Literal["llm", "offline", "not_found", "catalogue", "clarify"]


@dataclass(frozen=True)
class Source:
    """One cited moment: where it was said (episode, speaker, second, link) and, offline, the quote."""

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
    """The reply to one question. `grounded` is False when it cites nothing (not found, a question
    back); `moments` are what the search found, kept for evaluation and not serialised."""

    question: str
    text: str
    sources: list[Source]
    mode: Mode
    grounded: bool
    query: str = ""  # what was searched: the question, or a follow-up's standalone version
    note: str = ""  # why the answer is not the model's, or why fewer moments were found
    moments: list[Moment] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("moments")
        for source, raw in zip(data["sources"], self.sources, strict=True):
            source["time"] = raw.time
        return data

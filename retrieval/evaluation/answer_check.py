"""Check the offline answers on a question file (`podcast-bot eval --answers`).

Retrieval can find the right moment while the answer still quotes the wrong sentence of it, e.g.
the host's question instead of the guest's reply. This measures what a user reads: whether any
quote, and whether the first quote, is within `SLACK_SEC` of an expected second, and how many
quotes are a host's question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from retrieval.answering.answerer import Answerer
from retrieval.answering.answers import Source
from retrieval.evaluation.questions import SLACK_SEC, Question


@dataclass(frozen=True)
class QuoteOutcome:
    """The offline answer to one question."""

    question: Question
    refused: bool
    quotes: int
    host_questions: int  # quotes that are the host asking
    near: bool  # a quote is within SLACK_SEC of an expected second
    first_near: bool  # the first quote is


@dataclass(frozen=True)
class AnswerCheck:
    answerable: int
    near_answer: int  # answerable questions with a quote within SLACK_SEC of an expected second
    first_near_answer: int  # answerable questions whose first quote is within SLACK_SEC of one
    quotes: int
    host_questions: int
    refused_answerable: int
    unanswerable: int
    refused_unanswerable: int

    @property
    def near_share(self) -> float:
        return self.near_answer / self.answerable if self.answerable else 0.0

    @property
    def first_near_share(self) -> float:
        return self.first_near_answer / self.answerable if self.answerable else 0.0

    @property
    def host_question_share(self) -> float:
        return self.host_questions / self.quotes if self.quotes else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self) | {
            "near_share": self.near_share,
            "first_near_share": self.first_near_share,
            "host_question_share": self.host_question_share,
        }


def _near(source: Source, question: Question) -> bool:
    return any(
        source.episode_id == episode_id and abs(source.start_sec - second) <= SLACK_SEC
        for episode_id, second in question.targets
    )


def check_answers(answerer: Answerer, questions: Sequence[Question]) -> list[QuoteOutcome]:
    """Answer every question offline and note where its quotes are."""
    outcomes = []
    for question in questions:
        answer = answerer.answer(question.question)
        sources = answer.sources
        outcomes.append(
            QuoteOutcome(
                question,
                refused=answer.mode == "not_found",
                quotes=len(sources),
                host_questions=sum(source.asks for source in sources),
                near=any(_near(source, question) for source in sources),
                first_near=bool(sources) and _near(sources[0], question),
            )
        )
    return outcomes


def summarise_answers(outcomes: Sequence[QuoteOutcome]) -> AnswerCheck:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    return AnswerCheck(
        answerable=len(answerable),
        near_answer=sum(o.near for o in answerable),
        first_near_answer=sum(o.first_near for o in answerable),
        quotes=sum(o.quotes for o in outcomes),
        host_questions=sum(o.host_questions for o in outcomes),
        refused_answerable=sum(o.refused for o in answerable),
        unanswerable=len(unanswerable),
        refused_unanswerable=sum(o.refused for o in unanswerable),
    )

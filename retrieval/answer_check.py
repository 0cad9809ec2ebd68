"""Check the offline answers on a question file (`podcast-bot eval --answers`).

Retrieval can find the right moment while the answer still quotes the wrong sentence of it, e.g.
the host's question instead of the guest's reply. This measures what a user reads: the share of
answerable questions whose quotes include a line within `SLACK_SEC` of an expected second, and the
share of quotes that are a host's question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from retrieval.answering import Answerer
from retrieval.evaluation import SLACK_SEC, Question


@dataclass(frozen=True)
class AnswerCheck:
    answerable: int
    near_answer: int  # answerable questions with a quote within SLACK_SEC of an expected second
    quotes: int
    host_questions: int  # quotes that are the host asking
    refused_answerable: int
    unanswerable: int
    refused_unanswerable: int

    @property
    def near_share(self) -> float:
        return self.near_answer / self.answerable if self.answerable else 0.0

    @property
    def host_question_share(self) -> float:
        return self.host_questions / self.quotes if self.quotes else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self) | {"near_share": self.near_share, "host_question_share": self.host_question_share}

    def summary(self) -> str:
        return (
            f"offline answers: {self.near_answer}/{self.answerable} answerable questions quote a line within "
            f"{SLACK_SEC} s of the answer ({self.near_share:.1%}); {self.host_questions}/{self.quotes} quotes are "
            f"a host's question ({self.host_question_share:.1%}); refused {self.refused_unanswerable}/"
            f"{self.unanswerable} unanswerable and {self.refused_answerable} answerable questions"
        )


def check_answers(answerer: Answerer, questions: Sequence[Question]) -> AnswerCheck:
    answerable = near = quotes = host_questions = refused_answerable = refused_unanswerable = 0
    for question in questions:
        answer = answerer.answer(question.question)
        refused = answer.mode == "not_found"
        quotes += len(answer.sources)
        host_questions += sum(source.asks for source in answer.sources)
        if not question.answerable:
            refused_unanswerable += refused
            continue
        answerable += 1
        refused_answerable += refused
        near += any(
            source.episode_id == episode_id and abs(source.start_sec - second) <= SLACK_SEC
            for source in answer.sources
            for episode_id, second in question.targets
        )
    unanswerable = len(questions) - answerable
    return AnswerCheck(answerable, near, quotes, host_questions, refused_answerable, unanswerable, refused_unanswerable)

"""Measure retrieval on question files: search every question with each retriever, find the expected
moments in the results and in the context the language model would be given, and sum that up for
all questions, per question file, per half (odd or even ids) and per kind (`retrieval.evaluation.metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from retrieval.answering.answerer import Answerer
from retrieval.answering.corpus_view import context_sections
from retrieval.answering.prompt_context import Span, window_spans
from retrieval.evaluation.answer_check import AnswerCheck, QuoteOutcome, check_answers, summarise_answers
from retrieval.evaluation.metrics import Found, Outcome, Scores, score
from retrieval.evaluation.questions import HALVES, Half, Question, near
from retrieval.search.moments import Moment, SearchResult
from retrieval.search.searcher import MODES, Mode, Searcher

Context = list[tuple[str, list[Span]]]  # (episode id, the transcript spans quoted) per moment handed over


def model_context(searcher: Searcher, result: SearchResult) -> Context:
    """What the answering chain would hand the language model for `result`: nothing when it is not
    relevant, else each moment's window (`retrieval.answering.prompt_context`)."""
    if not result.relevant:
        return []
    return [
        (moment.section.episode_id, window_spans(context_sections(searcher, moment), moment.section))
        for moment in result.moments
    ]


def locate(moments: Sequence[Moment], context: Context, *, episode_id: str, second: int) -> Found:
    """Where the moment that says `second` of `episode_id` is among `moments` and in `context`."""

    def first(hit: Callable[[Moment], bool]) -> int | None:
        """The rank of the first moment of the episode for which `hit` holds."""
        return next((n for n, m in enumerate(moments, start=1) if m.section.episode_id == episode_id and hit(m)), None)

    in_context = any(
        episode == episode_id and near(second, span.start_sec, span.end_sec)
        for episode, spans in context
        for span in spans
    )
    return Found(
        episode_rank=first(lambda m: True),
        moment_rank=first(lambda m: near(second, m.span_start, m.span_end)),
        in_context=in_context,
        link_rank=first(lambda m: near(second, m.start_sec, m.start_sec)),
    )


@dataclass(frozen=True)
class Summary:
    """The scores of one set of questions (all, one file, one half), per retriever and per kind."""

    questions: int
    retrievers: dict[str, Scores]
    by_kind: dict[str, dict[str, Scores]]
    answers: AnswerCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        # The number of questions is each retriever's `questions`; the report's own `questions` lists them.
        data: dict[str, Any] = {
            "retrievers": {mode: scores.to_dict() for mode, scores in self.retrievers.items()},
            "by_kind": {
                kind: {mode: scores.to_dict() for mode, scores in modes.items()} for kind, modes in self.by_kind.items()
            },
        }
        if self.answers is not None:
            data["answers"] = self.answers.to_dict()
        return data


@dataclass(frozen=True)
class EvalReport:
    k: int
    questions: list[Question]
    outcomes: dict[str, list[Outcome]]  # per retriever, in the order of `questions`
    answers: list[QuoteOutcome] | None = None  # the offline answers, with `eval --answers`

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(q.file for q in self.questions))

    def summary(self, file: str | None = None, half: Half | None = None) -> Summary:
        """All questions, or those of one file and/or one half."""

        picked = [
            n
            for n, q in enumerate(self.questions)
            if (file is None or q.file == file) and (half is None or q.half == half)
        ]

        def scores(rows: list[int]) -> dict[str, Scores]:
            return {mode: score([found[n] for n in rows], self.k) for mode, found in self.outcomes.items()}

        kinds = dict.fromkeys(self.questions[n].kind for n in picked)
        return Summary(
            len(picked),
            scores(picked),
            {kind: scores([n for n in picked if self.questions[n].kind == kind]) for kind in kinds},
            None if self.answers is None else summarise_answers([self.answers[n] for n in picked]),
        )

    def halves(self, file: str | None = None) -> dict[str, Summary]:
        return {half: self.summary(file, half) for half in HALVES}

    def to_dict(self) -> dict[str, Any]:
        def with_halves(file: str | None) -> dict[str, Any]:
            return self.summary(file).to_dict() | {
                "halves": {half: summary.to_dict() for half, summary in self.halves(file).items()}
            }

        return (
            {"k": self.k}
            | with_halves(None)
            | {
                "files": {file: with_halves(file) for file in self.files},
                "questions": [self._question_dict(n) for n in range(len(self.questions))],
            }
        )

    def _question_dict(self, n: int) -> dict[str, Any]:
        question = self.questions[n]
        data: dict[str, Any] = {
            "id": question.id,
            "file": question.file,
            "kind": question.kind,
            "half": question.half,
            "rank": {mode: found[n].rank for mode, found in self.outcomes.items()},
            "episode_rank": {mode: found[n].episode_rank for mode, found in self.outcomes.items()},
            "refused": {mode: found[n].refused for mode, found in self.outcomes.items()},
            "moments": [
                {
                    "episode": episode_id,
                    "second": second,
                    "found": {mode: asdict(found[n].found[t]) for mode, found in self.outcomes.items()},
                }
                for t, (episode_id, second) in enumerate(question.targets)
            ],
        }
        if self.answers is not None:
            answer = self.answers[n]
            data["answer"] = {
                "refused": answer.refused,
                "quotes": answer.quotes,
                "host_questions": answer.host_questions,
                "near": answer.near,
                "first_near": answer.first_near,
            }
        return data


def evaluate(
    searcher: Searcher,
    questions: list[Question],
    *,
    k: int = 5,
    modes: Iterable[Mode] = MODES,
    answerer: Answerer | None = None,
) -> EvalReport:
    """Search every question with each retriever (and answer it offline when `answerer` is given)."""
    searcher.refresh()
    searcher.embedder.embed_query("warm-up")
    outcomes: dict[str, list[Outcome]] = {}
    for mode in modes:
        results = []
        for question in questions:
            started = time.perf_counter()
            result = searcher.search(question.question, k=k, mode=mode)
            elapsed = (time.perf_counter() - started) * 1000
            context = model_context(searcher, result)
            found = tuple(
                locate(result.moments, context, episode_id=episode, second=second)
                for episode, second in question.targets
            )
            results.append(Outcome(question, found, not result.relevant, elapsed))
        outcomes[mode] = results
    answers = check_answers(answerer, questions) if answerer is not None else None
    return EvalReport(k, questions, outcomes, answers)

"""Measure retrieval quality on a question file: hit@k, MRR, refusals and latency per retriever.

A hit at k: one of the top k moments is from the expected episode and its time span contains the
answer second, with `SLACK_SEC` of slack on each side. A multi-episode question is a hit only
when every listed episode is found that way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from retrieval.errors import QuestionFileError
from retrieval.search import MODES, Mode, Moment, Searcher

SLACK_SEC = 30


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    kind: str
    targets: tuple[tuple[str, int], ...]
    answer: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.targets)


@dataclass(frozen=True)
class Outcome:
    question: Question
    rank: int | None
    refused: bool
    latency_ms: float


@dataclass(frozen=True)
class Metrics:
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr: float
    refusal_accuracy: float | None
    false_refusal_rate: float | None
    p50_ms: float
    p95_ms: float

    def to_dict(self) -> dict[str, float | None]:
        names = {"hit_at_1": "hit@1", "hit_at_3": "hit@3", "hit_at_5": "hit@5"}
        return {names.get(key, key): value for key, value in asdict(self).items()}


@dataclass(frozen=True)
class KindMetrics:
    """How one retriever did on the questions of one kind."""

    questions: int
    hit_at_1: float | None
    hit_at_3: float | None
    hit_at_5: float | None
    mrr: float | None
    refused: int  # unanswerable kinds: refused correctly; answerable: refused wrongly

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "questions": self.questions,
            "hit@1": self.hit_at_1,
            "hit@3": self.hit_at_3,
            "hit@5": self.hit_at_5,
            "mrr": self.mrr,
            "refused": self.refused,
        }


def kind_metrics(outcomes: list[Outcome]) -> KindMetrics:
    answerable = [o for o in outcomes if o.question.answerable]

    def hit_at(k: int) -> float | None:
        return sum(1 for o in answerable if o.rank and o.rank <= k) / len(answerable) if answerable else None

    mrr = sum(1.0 / o.rank for o in answerable if o.rank) / len(answerable) if answerable else None
    return KindMetrics(len(outcomes), hit_at(1), hit_at(3), hit_at(5), mrr, sum(o.refused for o in outcomes))


@dataclass(frozen=True)
class EvalReport:
    metrics: dict[str, Metrics]
    outcomes: dict[str, list[Outcome]]

    @property
    def kinds(self) -> list[str]:
        first = next(iter(self.outcomes.values()), [])
        return list(dict.fromkeys(o.question.kind for o in first))

    def by_kind(self) -> dict[str, dict[str, KindMetrics]]:
        """Per question kind, per retriever."""
        return {
            kind: {
                mode: kind_metrics([o for o in found if o.question.kind == kind])
                for mode, found in self.outcomes.items()
            }
            for kind in self.kinds
        }

    def to_dict(self) -> dict[str, Any]:
        questions = []
        first = next(iter(self.outcomes.values()), [])
        for n, outcome in enumerate(first):
            questions.append(
                {
                    "id": outcome.question.id,
                    "kind": outcome.question.kind,
                    "rank": {mode: self.outcomes[mode][n].rank for mode in self.outcomes},
                    "refused": {mode: self.outcomes[mode][n].refused for mode in self.outcomes},
                }
            )
        by_kind = {
            kind: {mode: metrics.to_dict() for mode, metrics in modes.items()} for kind, modes in self.by_kind().items()
        }
        return {
            "retrievers": {mode: m.to_dict() for mode, m in self.metrics.items()},
            "by_kind": by_kind,
            "questions": questions,
        }


def named_episode_files(questions: Iterable[Question], folder: Path) -> list[Path]:
    """The files of `folder` that the questions name as answers: indexed even when a folder scan
    skips them (a draft such as `_s12e08.md`), so a question set stays comparable."""
    names = sorted({episode_id for question in questions for episode_id, _ in question.targets})
    return [folder / f"{name}.md" for name in names if (folder / f"{name}.md").is_file()]


def _episode_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QuestionFileError(f"{where}: episode must be a file name such as s01e03-building-ds-team.md")
    return Path(value.strip()).stem


def _second(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QuestionFileError(f"{where}: answer second must be a number, not {value!r}")
    return int(value)


def load_questions(path: Path | str) -> list[Question]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuestionFileError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise QuestionFileError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, list):
        raise QuestionFileError(f"{path}: expected a list of questions at the top level")
    questions, seen = [], set()
    for n, entry in enumerate(data, start=1):
        where = f"{path}, entry {n}"
        if not isinstance(entry, dict):
            raise QuestionFileError(f"{where}: expected a mapping with id, question, episode, answer_sec")
        qid = str(entry.get("id") or "").strip()
        where = f"{path}, entry {n} (id {qid or '?'})"
        if not qid:
            raise QuestionFileError(f"{where}: missing 'id'")
        if qid in seen:
            raise QuestionFileError(f"{where}: duplicate id")
        seen.add(qid)
        text = entry.get("question")
        if not isinstance(text, str) or not text.strip():
            raise QuestionFileError(f"{where}: missing 'question' text")
        if "episodes" in entry:
            episodes, seconds = entry.get("episodes"), entry.get("answer_secs")
            if (
                not isinstance(episodes, list)
                or not isinstance(seconds, list)
                or len(episodes) != len(seconds)
                or not episodes
            ):
                raise QuestionFileError(f"{where}: 'episodes' and 'answer_secs' must be lists of the same length")
            targets = tuple((_episode_id(e, where), _second(s, where)) for e, s in zip(episodes, seconds, strict=True))
        elif entry.get("episode") is None:
            if entry.get("answer_sec") is not None:
                raise QuestionFileError(f"{where}: 'answer_sec' given but 'episode' is null")
            targets = ()
        else:
            if "answer_sec" not in entry:
                raise QuestionFileError(f"{where}: missing 'answer_sec'")
            targets = ((_episode_id(entry["episode"], where), _second(entry["answer_sec"], where)),)
        questions.append(
            Question(qid, text.strip(), str(entry.get("kind") or ""), targets, str(entry.get("answer") or ""))
        )
    return questions


def _covers(moment: Moment, episode_id: str, second: int) -> bool:
    return (
        moment.section.episode_id == episode_id
        and moment.span_start - SLACK_SEC <= second <= moment.span_end + SLACK_SEC
    )


def first_hit_rank(moments: list[Moment], question: Question) -> int | None:
    """1-based rank at which every target of `question` has been found, or None."""
    if not question.answerable:
        return None
    ranks = []
    for episode_id, second in question.targets:
        rank = next((n for n, m in enumerate(moments, start=1) if _covers(m, episode_id, second)), None)
        if rank is None:
            return None
        ranks.append(rank)
    return max(ranks)


def compute_metrics(outcomes: list[Outcome]) -> Metrics:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]

    def hit_at(k: int) -> float:
        return sum(1 for o in answerable if o.rank is not None and o.rank <= k) / len(answerable) if answerable else 0.0

    latencies = np.array([o.latency_ms for o in outcomes]) if outcomes else np.zeros(1)
    return Metrics(
        hit_at_1=hit_at(1),
        hit_at_3=hit_at(3),
        hit_at_5=hit_at(5),
        mrr=sum(1.0 / o.rank for o in answerable if o.rank) / len(answerable) if answerable else 0.0,
        refusal_accuracy=sum(o.refused for o in unanswerable) / len(unanswerable) if unanswerable else None,
        false_refusal_rate=sum(o.refused for o in answerable) / len(answerable) if answerable else None,
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
    )


def evaluate(searcher: Searcher, questions: list[Question], k: int = 5, modes: Iterable[Mode] = MODES) -> EvalReport:
    searcher.refresh()
    searcher.embedder.embed_query("warm-up")
    metrics: dict[str, Metrics] = {}
    outcomes: dict[str, list[Outcome]] = {}
    for mode in modes:
        results = []
        for question in questions:
            started = time.perf_counter()
            result = searcher.search(question.question, k=k, mode=mode)
            elapsed = (time.perf_counter() - started) * 1000
            results.append(Outcome(question, first_hit_rank(result.moments, question), not result.relevant, elapsed))
        outcomes[mode] = results
        metrics[mode] = compute_metrics(results)
    return EvalReport(metrics, outcomes)


def format_table(report: EvalReport) -> str:
    columns = ["hit@1", "hit@3", "hit@5", "mrr", "refusal_accuracy", "false_refusal_rate", "p50_ms", "p95_ms"]
    titles = ["hit@1", "hit@3", "hit@5", "MRR", "refusal acc", "false refusal", "p50 ms", "p95 ms"]
    widths = [max(len(title), 6) + 2 for title in titles]
    header = f"{'retriever':<10}" + "".join(f"{t:>{w}}" for t, w in zip(titles, widths, strict=True))
    lines = [header, "-" * len(header)]
    for mode, metrics in report.metrics.items():
        values = metrics.to_dict()
        cells = []
        for column, width in zip(columns, widths, strict=True):
            value = values[column]
            cells.append(_cell(value, width, column.endswith("_ms")))
        lines.append(f"{mode:<10}" + "".join(cells))
    return "\n".join(lines) + "\n\n" + format_kinds(report)


def format_kinds(report: EvalReport) -> str:
    """Per kind: hit@1/3/5 and MRR of each retriever; refusals (right for unanswerable, wrong otherwise)."""
    modes = list(report.outcomes)
    header = f"{'kind':<15}{'n':>4}  " + "".join(f"{mode + ' hit@1/3/5  MRR  refused':>36}" for mode in modes)
    lines = [header, "-" * len(header)]
    for kind, by_mode in report.by_kind().items():
        cells = []
        for mode in modes:
            m = by_mode[mode]
            hits = "/".join("-" if v is None else f"{v:.2f}" for v in (m.hit_at_1, m.hit_at_3, m.hit_at_5))
            mrr = "  -  " if m.mrr is None else f"{m.mrr:.2f}"
            cells.append(f"{hits:>20} {mrr:>5} {m.refused:>4}/{m.questions:<4}")
        lines.append(f"{kind:<15}{next(iter(by_mode.values())).questions:>4}  " + "".join(f"{c:>36}" for c in cells))
    return "\n".join(lines)


def _cell(value: float | None, width: int, milliseconds: bool) -> str:
    if value is None:
        return f"{'n/a':>{width}}"
    return f"{value:>{width}.1f}" if milliseconds else f"{value:>{width}.3f}"

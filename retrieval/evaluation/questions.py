"""Question files for the evaluation: what each question expects, and which half of the set it is in.

An entry expects one moment (`episode` + `answer_sec`), one per episode (`episodes` + `answer_secs`),
or none (`episode: null`: nothing should be found). Ids end in a number (`dev-01`, `more-07`): odd
ids are the half that constants are tuned on, even ids the half that checks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from retrieval.errors import QuestionFileError

# A moment "contains" an answer said up to this many seconds outside its span.
SLACK_SEC = 30
Half = Literal["odd", "even"]
HALVES: tuple[Half, ...] = ("odd", "even")
TRAILING_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    kind: str
    targets: tuple[tuple[str, int], ...]  # (episode id, second the answer is said), one per expected moment
    answer: str = ""
    file: str = ""  # the question file it came from

    @property
    def answerable(self) -> bool:
        return bool(self.targets)

    @property
    def half(self) -> Half | None:
        """Odd or even by the number the id ends in; None for an id without one."""
        number = TRAILING_NUMBER.search(self.id)
        if number is None:
            return None
        return "odd" if int(number.group(1)) % 2 else "even"


def near(second: int, start_sec: int, end_sec: int) -> bool:
    """Whether `second` lies in the span from `start_sec` to `end_sec`, give or take `SLACK_SEC`."""
    return start_sec - SLACK_SEC <= second <= end_sec + SLACK_SEC


def _episode_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QuestionFileError(f"{where}: episode must be a file name such as s01e03-building-ds-team.md")
    return Path(value.strip()).stem


def _second(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QuestionFileError(f"{where}: answer second must be a number, not {value!r}")
    return int(value)


def _targets(entry: dict[str, Any], where: str) -> tuple[tuple[str, int], ...]:
    """The (episode, second) pairs an entry expects: several, one, or none (unanswerable)."""
    if "episodes" in entry:
        episodes, seconds = entry.get("episodes"), entry.get("answer_secs")
        if (
            not isinstance(episodes, list)
            or not isinstance(seconds, list)
            or len(episodes) != len(seconds)
            or not episodes
        ):
            raise QuestionFileError(f"{where}: 'episodes' and 'answer_secs' must be lists of the same length")
        return tuple((_episode_id(e, where), _second(s, where)) for e, s in zip(episodes, seconds, strict=True))
    if entry.get("episode") is None:
        if entry.get("answer_sec") is not None:
            raise QuestionFileError(f"{where}: 'answer_sec' given but 'episode' is null")
        return ()
    if "answer_sec" not in entry:
        raise QuestionFileError(f"{where}: missing 'answer_sec'")
    return ((_episode_id(entry["episode"], where), _second(entry["answer_sec"], where)),)


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
        targets = _targets(entry, where)
        questions.append(
            Question(
                qid, text.strip(), str(entry.get("kind") or ""), targets, str(entry.get("answer") or ""), str(path)
            )
        )
    return questions


def load_question_files(paths: Sequence[Path | str]) -> list[Question]:
    """The questions of every file, in order; an id may appear only once across them."""
    questions: list[Question] = []
    where: dict[str, str] = {}
    for path in paths:
        for question in load_questions(path):
            if question.id in where:
                raise QuestionFileError(f"{path}: id {question.id} is also in {where[question.id]}")
            where[question.id] = question.file
            questions.append(question)
    return questions


def named_episode_files(questions: Iterable[Question], folder: Path) -> list[Path]:
    """The files of `folder` that the questions name as answers: indexed even when a folder scan
    skips them (a draft such as `_s12e08.md`), so a question set stays comparable."""
    names = sorted({episode_id for question in questions for episode_id, _ in question.targets})
    return [folder / f"{name}.md" for name in names if (folder / f"{name}.md").is_file()]

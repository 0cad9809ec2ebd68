"""The evaluation: hit definition, metrics on a hand-made set, question-file errors, and an end-to-end run."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.cli.main import main
from retrieval.evaluation import (
    Outcome,
    Question,
    QuestionFileError,
    compute_metrics,
    first_hit_rank,
    load_questions,
)
from retrieval.search import Moment
from retrieval.sections import Section
from tests.support.corpus import EPISODES, PEOPLE, SHARED, needs_shared


def moment(episode_id: str, start: int, end: int) -> Moment:
    section = Section(
        id=f"{episode_id}:{start}",
        episode_id=episode_id,
        episode_title="T",
        season=1,
        number=1,
        guests=(),
        youtube_id="abcdefghijk",
        header="",
        speakers=("A",),
        start_sec=start,
        end_sec=end,
        position=0,
        text="x",
    )
    return Moment(section, 1.0, 0.5, start, end)


def question(*targets: tuple[str, int], qid: str = "q") -> Question:
    return Question(qid, "?", "factual", tuple(targets))


def test_a_hit_needs_the_episode_and_the_second_within_30s_slack():
    moments = [moment("other", 100, 160), moment("ep", 100, 160), moment("ep", 500, 560)]
    assert first_hit_rank(moments, question(("ep", 130))) == 2
    assert first_hit_rank(moments, question(("ep", 190))) == 2  # 30 s after the end
    assert first_hit_rank(moments, question(("ep", 71))) == 2  # 29 s before the start
    assert first_hit_rank(moments, question(("ep", 191))) is None
    assert first_hit_rank(moments, question(("ep", 540))) == 3
    assert first_hit_rank(moments, question(("ep", 130), ("other", 120))) == 2
    assert first_hit_rank(moments, question(("ep", 130), ("missing", 120))) is None
    assert first_hit_rank(moments, question()) is None


def test_metrics_on_a_hand_made_set():
    outcomes = [
        Outcome(question(("a", 1)), 1, False, 10.0),
        Outcome(question(("a", 1)), 2, False, 20.0),
        Outcome(question(("a", 1)), 4, False, 30.0),
        Outcome(question(("a", 1)), None, True, 40.0),
        Outcome(question(), None, True, 50.0),
        Outcome(question(), None, False, 60.0),
    ]
    metrics = compute_metrics(outcomes).to_dict()
    assert metrics["hit@1"] == 0.25 and metrics["hit@3"] == 0.5 and metrics["hit@5"] == 0.75
    assert metrics["mrr"] == pytest.approx((1 + 0.5 + 0.25) / 4)
    assert metrics["refusal_accuracy"] == 0.5 and metrics["false_refusal_rate"] == 0.25
    assert metrics["p50_ms"] == pytest.approx(35.0) and metrics["p95_ms"] == pytest.approx(57.5)


def test_question_file_with_single_and_multi_episode_entries(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text(
        yaml.safe_dump(
            [
                {"id": "one", "kind": "factual", "question": "Q1?", "episode": "s01e01-x.md", "answer_sec": 12},
                {"id": "none", "kind": "unanswerable", "question": "Q2?", "episode": None, "answer_sec": None},
                {"id": "two", "question": "Q3?", "episodes": ["a.md", "b.md"], "answer_secs": [1, 2]},
            ]
        )
    )
    questions = load_questions(path)
    assert [q.targets for q in questions] == [(("s01e01-x", 12),), (), (("a", 1), ("b", 2))]
    assert [q.answerable for q in questions] == [True, False, True]


@pytest.mark.parametrize(
    "entries, message",
    [
        ({"id": "x"}, "expected a list of questions"),
        ([{"id": "a", "question": "Q?", "episode": "e.md", "answer_sec": 1}, "oops"], "entry 2: expected a mapping"),
        ([{"question": "Q?", "episode": "e.md", "answer_sec": 1}], "entry 1 (id ?): missing 'id'"),
        ([{"id": "a", "episode": "e.md", "answer_sec": 1}], "entry 1 (id a): missing 'question'"),
        ([{"id": "a", "question": "Q?", "episode": "e.md"}], "entry 1 (id a): missing 'answer_sec'"),
        ([{"id": "a", "question": "Q?", "episode": "e.md", "answer_sec": "soon"}], "answer second must be a number"),
        ([{"id": "a", "question": "Q?", "episodes": ["a.md"], "answer_secs": [1, 2]}], "same length"),
        ([{"id": "a", "question": "Q?", "episode": None, "answer_sec": 5}], "'answer_sec' given but 'episode' is null"),
        (
            [{"id": "a", "question": "Q?", "episode": None}, {"id": "a", "question": "Q?", "episode": None}],
            "entry 2 (id a): duplicate id",
        ),
    ],
)
def test_malformed_question_files_name_the_entry(tmp_path, entries, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(entries))
    with pytest.raises(QuestionFileError) as caught:
        load_questions(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_cli_reports_a_malformed_question_file_without_traceback(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("- id: a\n  question: [unclosed\n")
    assert main(["eval", str(path), "--episodes", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not valid YAML" in err and "Traceback" not in err


@pytest.mark.slow
@needs_shared
def test_end_to_end_eval_over_a_few_shared_episodes(tmp_path, capsys):
    chosen = [
        "s03e07-market-yourself.md",
        "s10e06-data-mesh-101.md",
        "s18e09-dataops-observability-and-cure-for-data-team-blues.md",
    ]
    folder = tmp_path / "episodes"
    folder.mkdir()
    for name in chosen:
        (folder / name).symlink_to(EPISODES / name)
    # Guest pages beside the episodes folder, as on the site, are found without --people.
    (tmp_path / "people").symlink_to(PEOPLE)
    dev = yaml.safe_load((SHARED / "dev_questions.yaml").read_text())
    unanswerable = [q for q in dev if q["kind"] == "unanswerable"]
    subset = [q for q in dev if q.get("episode") in chosen] + unanswerable
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(subset))
    assert main(["eval", str(questions), "--episodes", str(folder), "--index", str(tmp_path / "index"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["retrievers"]) == {"hybrid", "bm25", "dense"}
    hybrid = report["retrievers"]["hybrid"]
    assert set(hybrid) == {
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr",
        "refusal_accuracy",
        "false_refusal_rate",
        "p50_ms",
        "p95_ms",
    }
    assert hybrid["hit@5"] >= 0.5 and hybrid["refusal_accuracy"] == 1.0
    assert [q["id"] for q in report["questions"]] == [q["id"] for q in subset]
    assert all(set(q["rank"]) == {"hybrid", "bm25", "dense"} for q in report["questions"])

    assert main(["eval", str(questions), "--episodes", str(folder), "--index", str(tmp_path / "index")]) == 0
    table = capsys.readouterr().out
    assert "hybrid" in table and "bm25" in table and "dense" in table and "hit@5" in table and "false refusal" in table

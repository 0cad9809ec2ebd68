"""The evaluation: what counts as found at each level, the scores on hand-made sets, halves and
several question files, question-file errors, and end-to-end runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.config import load_settings
from bot.runtime import Runtime
from retrieval.answering.prompt_context import Span, window, window_spans
from retrieval.corpus.sections import Section
from retrieval.evaluation.answer_check import QuoteOutcome, check_answers, summarise_answers
from retrieval.evaluation.metrics import Found, Outcome, score
from retrieval.evaluation.questions import Question, QuestionFileError, load_question_files, load_questions
from retrieval.evaluation.runner import EvalReport, evaluate, locate, model_context
from retrieval.search.moments import Moment, SearchResult
from tests.support.corpus import EPISODES, PEOPLE, SHARED, needs_shared, small_episode

EPISODE = "s07e01-small"  # the bundled episode cut short (tests/support/corpus.py)
QUESTION = "How did DataTalks.Club start?"


def section(episode_id: str, start: int, end: int, position: int = 0, text: str = "x", **fields) -> Section:
    return Section(
        id=f"{episode_id}:{start}",
        episode_id=episode_id,
        episode_title="T",
        season=1,
        number=1,
        guests=(),
        youtube_id="abcdefghijk",
        header="",
        speakers=fields.pop("speakers", ("A",)),
        start_sec=start,
        end_sec=end,
        position=position,
        text=text,
        **fields,
    )


def moment(episode_id: str, start: int, end: int) -> Moment:
    return Moment(section(episode_id, start, end), 1.0, 0.5, start, end)


def question(*targets: tuple[str, int], qid: str = "q-1", kind: str = "factual") -> Question:
    return Question(qid, "?", kind, tuple(targets))


def found(
    episode_rank: int | None, moment_rank: int | None, in_context: bool = False, link_rank: int | None = None
) -> Found:
    return Found(episode_rank, moment_rank, in_context, link_rank)


def test_a_moment_is_found_in_its_episode_within_30s_of_its_span_and_its_link_within_30s_of_its_second():
    moments = [moment("other", 100, 160), moment("ep", 100, 160), moment("ep", 500, 560)]
    assert locate(moments, [], episode_id="ep", second=130) == found(2, 2, link_rank=2)
    # 30 s after the end: inside the moment, but its link (100) is 90 s before the second.
    assert locate(moments, [], episode_id="ep", second=190) == found(2, 2)
    assert locate(moments, [], episode_id="ep", second=71) == found(2, 2, link_rank=2)  # 29 s before
    # The episode is found, the moment is not: 31 s after the end.
    assert locate(moments, [], episode_id="ep", second=191) == found(2, None)
    assert locate(moments, [], episode_id="ep", second=540) == found(2, 3)  # the link is 40 s away
    assert locate(moments, [], episode_id="ep", second=525) == found(2, 3, link_rank=3)
    assert locate(moments, [], episode_id="missing", second=120) == found(None, None)


def test_the_context_counts_what_the_windows_quote_not_the_moments_spans():
    moments = [moment("ep", 100, 160)]
    context = [("ep", [Span(0, 20), Span(100, 400)]), ("other", [Span(0, 1000)])]
    # Quoted around the moment: the host's question well before it, the answer going on after it.
    assert locate(moments, context, episode_id="ep", second=5) == found(1, None, in_context=True)
    assert locate(moments, context, episode_id="ep", second=420) == found(1, None, in_context=True)
    assert locate(moments, context, episode_id="ep", second=130) == found(1, 1, in_context=True, link_rank=1)
    # Not quoted: between the two stretches or after them (more than 30 s away), or in another episode.
    assert locate(moments, context, episode_id="ep", second=55) == found(1, None, in_context=False)
    assert locate(moments, context, episode_id="ep", second=431) == found(1, None, in_context=False)
    assert locate(moments, [("other", [Span(0, 1000)])], episode_id="ep", second=130) == found(1, 1, link_rank=1)


def test_a_refused_search_hands_the_model_nothing():
    refused = SearchResult("q", [moment("ep", 100, 160)], relevant=False)
    assert model_context(None, refused) == []  # type: ignore[arg-type]


def test_scores_at_three_levels_on_a_hand_made_set():
    outcomes = [
        # episode and moment at rank 1, its second in the context, the link on it
        Outcome(question(("a", 1)), (found(1, 1, True, 1),), False, 10.0),
        # the episode at rank 2, the moment nowhere (but quoted in the context of another moment)
        Outcome(question(("a", 1)), (found(2, None, True),), False, 20.0),
        # the episode at 1, the moment at 4 (linked a minute before its answer), not in the context
        Outcome(question(("a", 1)), (found(1, 4),), False, 30.0),
        # two episodes: one moment found (rank 3, its link too), the other episode found without its moment
        Outcome(question(("a", 1), ("b", 2)), (found(1, 3, True, 3), found(2, None)), False, 40.0),
        # nothing found, refused: a false refusal
        Outcome(question(("a", 1)), (found(None, None),), True, 50.0),
        Outcome(question(), (), True, 60.0),  # unanswerable, refused
        Outcome(question(), (), False, 70.0),  # unanswerable, answered
    ]
    s = score(outcomes, k=5)
    assert (s.episode.every.count, s.episode.every.total) == (4, 5)
    assert (s.moment.every.count, s.moment.every.total) == (2, 5)  # ranks 1 and 4
    # Of the 4 questions whose episodes were all found, 2 had their moments too.
    assert (s.moment_given_episode.every.count, s.moment_given_episode.every.total) == (2, 4)
    assert (s.context.every.count, s.context.every.total) == (2, 5)
    # Only the first question's link lands on its answer (at rank 1); the two-episode one has one of two.
    assert (s.link.every.count, s.link.every.total) == (1, 5)
    assert (s.link.per_moment.count, s.link.per_moment.total) == (2, 6)
    assert (s.link_at_1.count, s.link_at_1.total) == (1, 5)
    # Per moment: the two-episode question counts 1/2 at moment level.
    assert (s.episode.per_moment.count, s.episode.per_moment.total) == (5, 6)
    assert (s.moment.per_moment.count, s.moment.per_moment.total) == (3, 6)
    assert (s.moment_given_episode.per_moment.count, s.moment_given_episode.per_moment.total) == (3, 5)
    assert (s.context.per_moment.count, s.context.per_moment.total) == (3, 6)
    assert [s.hit_at[k].count for k in (1, 3, 5)] == [1, 1, 2]
    assert s.mrr == pytest.approx((1 + 0.25) / 5)
    # Resampling five questions whose reciprocal ranks are 1, 0.25 and three 0s: somewhere from all
    # misses to mostly the rank-1 question, always around the MRR itself.
    assert s.mrr_95 is not None
    assert 0.0 <= s.mrr_95[0] < s.mrr < s.mrr_95[1] <= 1.0
    assert score(outcomes, k=5).mrr_95 == s.mrr_95  # reproducible
    assert (s.refused.count, s.refused.total) == (1, 2)
    assert (s.false_refusals.count, s.false_refusals.total) == (1, 5)
    assert s.p50_ms == pytest.approx(40.0)
    assert s.p95_ms == pytest.approx(67.0)
    # At k = 3 the moment at rank 4 no longer counts, its episode (rank 1) still does.
    s3 = score(outcomes, k=3)
    assert s3.moment.every.count == 1
    assert s3.episode.every.count == 4
    assert s3.moment_given_episode.every.count == 1

    data = s.to_dict()
    assert data["episode_hit"] == 0.8
    assert data["moment_hit"] == 0.4
    assert data["moment_given_episode"] == 0.5
    assert data["per_moment"] == {
        "episode_hit": 5 / 6,
        "moment_hit": 0.5,
        "moment_given_episode": 0.6,
        "link_hit": 2 / 6,
        "context_recall": 0.5,
    }
    assert data["link@1"] == 0.2
    assert (data["questions"], data["answerable"], data["moments"]) == (7, 5, 6)


def test_a_multi_episode_question_with_one_of_two_moments_counts_half_per_moment_and_not_at_all_every():
    s = score([Outcome(question(("a", 10), ("b", 20)), (found(1, 1, True), found(None, None)), False, 1.0)], k=5)
    assert s.moment.every.count == 0
    assert s.episode.every.count == 0
    assert s.context.every.count == 0
    assert s.moment.per_moment.value == 0.5
    assert s.episode.per_moment.value == 0.5
    assert s.context.per_moment.value == 0.5
    assert s.mrr == 0.0


def test_halves_by_the_number_ending_the_id_and_summaries_per_file():
    assert [question(qid=qid).half for qid in ("dev-01", "more-10", "x7", "intro")] == ["odd", "even", "odd", None]
    questions = [
        Question("dev-01", "?", "factual", (("a", 1),), file="dev.yaml"),
        Question("dev-02", "?", "advice", (("a", 1),), file="dev.yaml"),
        Question("more-01", "?", "factual", (("a", 1),), file="more.yaml"),
        Question("more-04", "?", "unanswerable", (), file="more.yaml"),
    ]
    hit, miss = (found(1, 1, True),), (found(1, None),)
    outcomes = {"hybrid": [Outcome(questions[0], hit, False, 1.0), Outcome(questions[1], miss, False, 1.0)]}
    outcomes["hybrid"] += [Outcome(questions[2], miss, False, 1.0), Outcome(questions[3], (), True, 1.0)]
    report = EvalReport(5, questions, outcomes)
    odd, even = report.halves()["odd"].retrievers["hybrid"], report.halves()["even"].retrievers["hybrid"]
    assert (odd.questions, odd.moment.every.count, odd.moment.every.total) == (2, 1, 2)
    assert (even.questions, even.moment.every.count, even.moment.every.total, even.refused.count) == (2, 0, 1, 1)
    assert report.files == ["dev.yaml", "more.yaml"]
    assert report.summary("more.yaml").retrievers["hybrid"].moment.every.value == 0.0
    assert report.summary("dev.yaml", "odd").retrievers["hybrid"].moment.every.value == 1.0
    assert list(report.summary().by_kind) == ["factual", "advice", "unanswerable"]
    assert report.summary().by_kind["factual"]["hybrid"].moment.every.count == 1

    data = report.to_dict()
    assert data["k"] == 5
    assert data["questions"][2] | {"moments": None} == {
        "id": "more-01",
        "file": "more.yaml",
        "kind": "factual",
        "half": "odd",
        "rank": {"hybrid": None},
        "episode_rank": {"hybrid": 1},
        "refused": {"hybrid": False},
        "moments": None,
    }
    assert data["halves"]["even"]["retrievers"]["hybrid"]["refusal_accuracy"] == 1.0
    assert set(data["files"]) == {"dev.yaml", "more.yaml"}
    assert data["files"]["dev.yaml"]["halves"]["even"]["retrievers"]["hybrid"]["moment_hit"] == 0.0


def test_answers_are_summed_up_with_their_first_quote():
    q = question(("a", 100))
    outcomes = [
        QuoteOutcome(q, refused=False, quotes=3, host_questions=1, near=True, first_near=True),
        QuoteOutcome(q, refused=False, quotes=3, host_questions=0, near=True, first_near=False),
        QuoteOutcome(q, refused=True, quotes=0, host_questions=0, near=False, first_near=False),
        QuoteOutcome(question(), refused=True, quotes=0, host_questions=0, near=False, first_near=False),
    ]
    check = summarise_answers(outcomes)
    assert (check.answerable, check.near_answer, check.first_near_answer) == (3, 2, 1)
    assert check.host_question_share == pytest.approx(1 / 6)
    assert (check.refused_answerable, check.unanswerable, check.refused_unanswerable) == (1, 1, 1)


LONG = " ".join(f"Point {n} matters here." for n in range(100))  # 400 words, every sentence different


def _exchange(answer_before: str) -> list[Section]:
    """A host's question (1:40), the guest's first answer (1:50), and a long answer (3:20, 8:20)."""
    people = {"speakers": ("Host", "Guest"), "hosts": ("Host",)}
    first = section(
        "ep", 100, 200, 0, f"Host: What is DataOps?\nGuest: {answer_before}", line_secs=(100, 110), **people
    )
    second = section("ep", 200, 600, 1, f"Guest: {LONG}\nGuest: Later on.", line_secs=(200, 500), **people)
    return [first, second]


def test_window_spans_are_the_stretches_the_window_quotes():
    sections = _exchange("It is short.")
    text = window(sections, sections[1])
    assert "Point 60" in text
    assert "Point 90" not in text
    assert text.startswith("Host (1:40): What is DataOps?\nGuest (1:50): It is short.\nGuest (3:20): Point 0")
    assert "…" not in text
    assert "Later on" not in text
    # Quoted without a break from the question to part of the long answer (cut within its line).
    assert window_spans(sections, sections[1]) == [Span(100, 200)]

    sections = _exchange(LONG)  # a long first answer is left out, as "…"
    text = window(sections, sections[1])
    assert "Host (1:40): What is DataOps?\n…\nGuest (3:20)" in text
    assert window_spans(sections, sections[1]) == [Span(100, 110), Span(200, 200)]

    # The whole last section quoted: the stretch runs to where that section ends.
    short = [section("ep", 100, 160, 0, "Guest: Brief.", line_secs=(100,), speakers=("Guest",))]
    assert window_spans(short, short[0]) == [Span(100, 160)]


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
    ("entries", "message"),
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
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_several_question_files_keep_their_order_and_an_id_may_not_repeat_across_them(tmp_path):
    first, second = tmp_path / "dev.yaml", tmp_path / "more.yaml"
    first.write_text(yaml.safe_dump([{"id": "dev-01", "question": "Q?", "episode": None}]))
    second.write_text(yaml.safe_dump([{"id": "more-01", "question": "Q?", "episode": "e.md", "answer_sec": 3}]))
    questions = load_question_files([first, second])
    assert [(q.id, q.file) for q in questions] == [("dev-01", str(first)), ("more-01", str(second))]
    with pytest.raises(QuestionFileError, match=f"{second}: id more-01 is also in {second}"):
        load_question_files([first, second, second])


def test_cli_reports_a_malformed_question_file_without_traceback(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("- id: a\n  question: [unclosed\n")
    assert main(["eval", str(path), "--episodes", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not valid YAML" in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def small(tmp_path_factory, embedder) -> tuple[Path, Runtime]:
    """An index of one short episode (folder, runtime)."""
    folder = tmp_path_factory.mktemp("small")
    small_episode(folder / "episodes", f"{EPISODE}.md", items=30)
    runtime = Runtime(load_settings({}).with_index(folder / "index"), embedder=embedder)
    runtime.ingest([folder / "episodes"])
    return folder, runtime


def test_a_real_search_counts_episode_moment_and_the_models_context(small):
    _, runtime = small
    searcher = runtime.searcher
    searcher.refresh()
    result = searcher.search(QUESTION, k=5)
    assert result.relevant
    top = result.moments[0].start_sec
    questions = [
        Question("t-01", QUESTION, "factual", ((EPISODE, top),)),
        Question("t-02", QUESTION, "factual", ((EPISODE, 99_999),)),  # the episode, never the moment
        Question("t-03", QUESTION, "multi-episode", ((EPISODE, top), ("never-indexed", 10))),
    ]
    report = evaluate(searcher, questions, k=5, modes=("hybrid",))
    first, far, multi = report.outcomes["hybrid"]
    assert first.found == (found(1, 1, in_context=True, link_rank=1),)
    assert far.found == (found(1, None, in_context=False),)
    assert multi.found == (found(1, 1, in_context=True, link_rank=1), found(None, None, in_context=False))
    scores = report.summary().retrievers["hybrid"]
    assert (scores.episode.every.count, scores.moment.every.count, scores.context.every.count) == (2, 1, 1)
    assert (scores.episode.per_moment.count, scores.moment.per_moment.count, scores.context.per_moment.count) == (
        3,
        2,
        2,
    )
    assert scores.moment.per_moment.total == 4
    assert scores.moment_given_episode.every.value == 0.5


def test_offline_answers_are_checked_on_their_first_quote(small):
    _, runtime = small
    answerer = runtime.offline_answerer()
    sources = answerer.answer(QUESTION).sources
    assert len(sources) >= 2
    assert abs(sources[0].start_sec - sources[-1].start_sec) > 60
    questions = [
        Question("a-01", QUESTION, "factual", ((EPISODE, sources[0].start_sec),)),
        Question("a-02", QUESTION, "factual", ((EPISODE, sources[-1].start_sec),)),  # a later quote only
    ]
    first, later = check_answers(answerer, questions)
    assert (first.near, first.first_near) == (True, True)
    assert (later.near, later.first_near) == (True, False)
    assert first.quotes == len(sources)
    check = summarise_answers([first, later])
    assert (check.near_answer, check.first_near_answer, check.answerable) == (2, 1, 2)


def test_cli_eval_of_two_question_files_reports_each_both_and_halves(small, tmp_path, capsys):
    folder, _ = small
    entry = {"kind": "factual", "question": QUESTION, "episode": f"{EPISODE}.md", "answer_sec": 99_999}
    dev = [entry | {"id": "dev-01"}, {"id": "dev-02", "kind": "unanswerable", "question": "?", "episode": None}]
    more = [
        {"id": "more-01", "kind": "multi-episode", "question": QUESTION}
        | {"episodes": [f"{EPISODE}.md", "never-indexed.md"], "answer_secs": [99_999, 10]},
        entry | {"id": "more-02"},
        entry | {"id": "more-04"},
    ]
    paths = [tmp_path / "dev.yaml", tmp_path / "more.yaml"]
    for path, entries in zip(paths, (dev, more), strict=True):
        path.write_text(yaml.safe_dump(entries))
    command = ["eval", *map(str, paths), "--episodes", str(folder / "episodes"), "--index", str(folder / "index")]
    assert main([*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["files"]) == [str(p) for p in paths]
    files, halves = report["files"], report["halves"]
    assert [files[str(path)]["retrievers"]["bm25"]["questions"] for path in paths] == [2, 3]
    assert [halves[half]["retrievers"]["dense"]["questions"] for half in ("odd", "even")] == [2, 3]
    assert len(report["questions"]) == 5
    assert report["questions"][2]["file"] == str(paths[1])
    hybrid = report["retrievers"]["hybrid"]
    # Only one episode is indexed: every answerable question finds it, but only one of the multi
    # question's two episodes, and no moment (all expected far after the episode's end).
    assert (hybrid["answerable"], hybrid["moments"]) == (4, 5)
    assert hybrid["episode_hit"] == 0.75
    assert hybrid["per_moment"]["episode_hit"] == 0.8
    assert hybrid["moment_hit"] == 0.0
    assert hybrid["moment_given_episode"] == 0.0
    assert hybrid["context_recall"] == 0.0
    assert report["halves"]["odd"]["retrievers"]["hybrid"]["episode_hit"] == 0.5
    assert report["files"][str(paths[1])]["halves"]["even"]["retrievers"]["dense"]["episode_hit"] == 1.0
    assert report["by_kind"]["multi-episode"]["bm25"]["per_moment"]["episode_hit"] == 0.5

    assert main(command) == 0
    table = capsys.readouterr().out
    assert f"{paths[0]}: 2 questions (1 answerable, 1 expected moment), k=5" in table
    assert "all files: 5 questions (4 answerable, 5 expected moments), k=5" in table
    rows = [line.split() for line in table.splitlines()]
    assert ["hybrid", "odd", "2", "0.500", "0.000", "0.000", "0.000"] in [row[:7] for row in rows]
    # Its episodes were not all found, so it does not count for moment|episode ("-").
    assert ["multi-episode", "hybrid", "1", "0/1", "0/1", "-", "0/1"] in [row[:7] for row in rows]


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
        "questions",
        "answerable",
        "moments",
        "hit@1",
        "hit@3",
        "hit@5",
        "link@1",
        "mrr",
        "mrr_95",
        "episode_hit",
        "moment_hit",
        "moment_given_episode",
        "link_hit",
        "context_recall",
        "per_moment",
        "refusal_accuracy",
        "false_refusal_rate",
        "p50_ms",
        "p95_ms",
    }
    assert hybrid["hit@5"] >= 0.5
    assert hybrid["refusal_accuracy"] == 1.0
    assert hybrid["episode_hit"] >= hybrid["moment_hit"] == hybrid["hit@5"]
    # A link is a second, a moment a span around it: landing on the answer is the stricter test.
    assert hybrid["hit@1"] >= hybrid["link@1"] > 0
    assert hybrid["moment_hit"] >= hybrid["link_hit"] >= hybrid["link@1"]
    assert [q["id"] for q in report["questions"]] == [q["id"] for q in subset]
    assert all(set(q["rank"]) == {"hybrid", "bm25", "dense"} for q in report["questions"])

    assert main(["eval", str(questions), "--episodes", str(folder), "--index", str(tmp_path / "index")]) == 0
    table = capsys.readouterr().out
    for words in ("hybrid", "bm25", "dense", "episode@5", "moment|episode", "context", "false refusals", "by kind"):
        assert words in table

"""`podcast-bot feedback`: vote counts and every 👎 answer, read from the configured state store."""

from __future__ import annotations

import json
import time

import pytest

from bot.cli.feedback import parse_since
from bot.cli.main import main
from bot.state.sqlite import SqliteStateStore
from tests.support.answers import SOURCE, answer

DAY = 86400.0


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A state store with answers voted on now and 10 days ago, as the Slack app leaves it."""
    path = tmp_path / "state.sqlite3"
    monkeypatch.setenv("PODCAST_BOT_STATE", str(path))
    now = time.time()
    for when, votes in ((now - 10 * DAY, [("old", "down")]), (now - 60, [("liked", "up"), ("disliked", "down")])):
        store = SqliteStateStore(path, clock=lambda when=when: when)
        for kind, vote in votes:
            answer_id = store.record_answer(answer(f"{kind} question?", f"The {kind} answer [1]."), "U1", "C1")
            store.record_feedback(answer_id, "U2", vote)
            if kind == "disliked":
                store.record_feedback(answer_id, "U3", "down")
                store.record_feedback(answer_id, "U4", "up")
        store.close()
    return path


def test_feedback_counts_votes_and_lists_each_disliked_answer_with_its_sources(state, capsys):
    assert main(["feedback"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Feedback since ")
    assert ": 4 votes on 2 answers — 👍 2, 👎 2\n" in out
    assert "👎 2 (👍 1) · last " in out
    assert " · C1 · llm" in out
    assert "  Q: disliked question?\n  A: The disliked answer [1].\n  Sources:\n" in out
    assert f"    [1] ▶ 10:13 DataTalks.Club Behind the Scenes — Alexey  {SOURCE.url}" in out
    assert "old question" not in out
    assert "Q: liked question?" not in out


def test_feedback_as_json_and_for_all_time(state, capsys):
    assert main(["feedback", "--since", "all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["since"] is None
    assert (report["up"], report["down"], report["answers"]) == (2, 3, 3)
    assert [a["question"] for a in report["disliked"]] == ["disliked question?", "old question?"]
    assert report["disliked"][0]["sources"][0]["url"] == SOURCE.url


@pytest.mark.parametrize(
    ("since", "seconds_before"),
    [("7d", 7 * DAY), ("12h", 12 * 3600.0), ("2w", 14 * DAY), ("30m", 1800.0)],
)
def test_since_takes_periods(since, seconds_before):
    assert parse_since(since, now=1_000_000_000.0) == 1_000_000_000.0 - seconds_before


def test_since_takes_dates_and_rejects_anything_else(capsys):
    assert parse_since("2026-11-01", now=0) == 1793491200.0
    assert main(["feedback", "--since", "last tuesday"]) == 2
    assert "--since takes a period such as 7d" in capsys.readouterr().err

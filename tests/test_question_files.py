"""The dev question files point at real moments: every expected second is a spoken line of an existing episode."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus.episodes import parse_episode_file
from retrieval.evaluation.questions import load_questions
from tests.support.corpus import EPISODES, ROOT, SHARED, needs_shared

MORE = ROOT / "benchmarks" / "questions" / "more_questions.yaml"


def test_more_questions_are_numbered_in_order_and_include_unanswerable_ones():
    questions = load_questions(MORE)
    assert len(questions) >= 40
    assert [q.id for q in questions] == [f"more-{n:02d}" for n in range(1, len(questions) + 1)]
    assert any(not q.answerable for q in questions)
    assert any(len(q.targets) > 1 for q in questions)


@needs_shared
@pytest.mark.parametrize("path", [MORE, SHARED / "dev_questions.yaml"], ids=["more", "dev"])
def test_every_expected_second_is_a_spoken_line_of_an_existing_episode(path: Path):
    episodes = {p.stem: parse_episode_file(p) for p in EPISODES.glob("*.md")}
    targets = [(q.id, episode_id, sec) for q in load_questions(path) for episode_id, sec in q.targets]
    assert targets
    for qid, episode_id, sec in targets:
        assert episode_id in episodes, f"{qid}: no episode {episode_id} in {EPISODES}"
        spoken = [item.sec for item in episodes[episode_id].items if not item.is_header]
        assert min(spoken) <= sec <= max(spoken), f"{qid}: {sec} s is outside {episode_id}"
        # The format asks for the second of the line that answers, so it must be one a line starts at.
        assert sec in spoken, f"{qid}: no transcript line of {episode_id} starts at {sec} s"

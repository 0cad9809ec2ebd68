"""Questions about the catalogue: the latest episode and a guest's episodes, from episode metadata."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from bot.config import Settings
from bot.runtime import Runtime
from retrieval.answering.catalogue import answer_catalogue, newest_first
from retrieval.index.records import EpisodeRecord
from retrieval.settings import StoreConfig
from tests.support.corpus import BUNDLED, cut_episode


def record(episode_id: str, season: int, number: int, date: str = "") -> EpisodeRecord:
    return EpisodeRecord(episode_id, title=episode_id.replace("-", " "), season=season, number=number, date=date)


# The site's newest files (seasons 22-24) have no `dateadded` yet; the older format has none at all.
EPISODES = {
    r.episode_id: r
    for r in (
        record("season-twenty-four-opener", 24, 1),
        record("season-twenty-two-finale", 22, 4),
        record("theme-parks", 21, 9, "2025-10-21"),
        record("finops", 20, 6, "2025-04-30"),
        record("datatalksclub-behind-the-scenes", 7, 1),
        record("career-advice", 5, 2, "2021-03-01"),
    )
}


def test_episodes_without_a_date_follow_the_dated_ones_their_numbers_come_after():
    assert [r.episode_id for r in newest_first(EPISODES.values())] == [
        "season-twenty-four-opener",
        "season-twenty-two-finale",
        "theme-parks",
        "finops",
        "datatalksclub-behind-the-scenes",
        "career-advice",
    ]


def test_the_latest_episode_is_the_highest_numbered_one_when_the_newest_have_no_date():
    answer = answer_catalogue("What's the latest episode?", EPISODES, lambda question: frozenset())
    assert answer is not None
    assert answer.text == "The latest episode I know is S24E1: season twenty four opener."
    only_dated = {k: r for k, r in EPISODES.items() if r.date}
    answer = answer_catalogue("What's the latest episode?", only_dated, lambda question: frozenset())
    assert answer is not None
    assert answer.episodes == [EPISODES["theme-parks"]]


def _guest_episode(folder: Path, name: str, guest: str, number: int) -> None:
    text = cut_episode(BUNDLED, 4)
    meta = yaml.safe_load(text.split("---\n")[1]) | {"guests": [guest], "season": 9, "episode": number}
    (folder / f"{name}.md").write_text("---\n" + yaml.safe_dump(meta) + "---\n", encoding="utf-8")


def test_a_guest_is_matched_by_full_name_never_by_a_shared_surname(tmp_path, embedder):
    episodes, people = tmp_path / "episodes", tmp_path / "people"
    episodes.mkdir()
    people.mkdir()
    for slug, name in (("adrianbrudaru", "Adrian Brudaru"), ("irinabrudaru", "Irina Brudaru")):
        (people / f"{slug}.md").write_text(f"---\ntitle: {name}\nshort: {slug}\n---\n", encoding="utf-8")
    for number in (1, 2, 3):
        _guest_episode(episodes, f"adrian-{number}", "adrianbrudaru", number)
    _guest_episode(episodes, "irina", "irinabrudaru", 4)
    settings = replace(Settings(episodes=episodes, people=people), store=StoreConfig(index_dir=tmp_path / "index"))
    runtime = Runtime(settings, embedder=embedder)
    runtime.ingest([episodes])
    adrian = runtime.answerer.answer("Which episodes has Adrian Brudaru been on?")
    assert adrian.text.startswith("Adrian Brudaru has been on 3 episodes:")
    assert "Irina" not in adrian.text
    assert sorted(s.episode_id for s in adrian.sources) == ["adrian-1", "adrian-2", "adrian-3"]
    irina = runtime.answerer.answer("Which episodes has Irina Brudaru been on?")
    assert irina.text.startswith("Irina Brudaru has been on 1 episode:")
    assert [s.episode_id for s in irina.sources] == ["irina"]

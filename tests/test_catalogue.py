"""Questions about the catalogue: the latest episode and a guest's episodes, from episode metadata."""

from __future__ import annotations

from retrieval.catalogue import answer_catalogue, newest_first
from retrieval.index import EpisodeRecord


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
    assert answer is not None and answer.episodes == [EPISODES["theme-parks"]]

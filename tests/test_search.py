"""Hybrid search over a real index: relevant moments, filters, refusals, merging, and staying in sync."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.cli.main import main
from retrieval.errors import FilterError
from retrieval.index.ingest import ingest
from retrieval.index.store import SectionIndex
from retrieval.search.filters import SearchFilters
from retrieval.search.keyword import KeywordIndex, tokenize
from retrieval.search.searcher import Searcher
from retrieval.settings import SearchConfig, StoreConfig
from tests.support.corpus import small_episode


@pytest.fixture(scope="module")
def searcher(bundled_index_dir, embedder) -> Searcher:
    return Searcher(SectionIndex(StoreConfig(index_dir=bundled_index_dir), embedder.model_id), embedder)


def test_finds_the_moment_and_links_to_its_second(searcher):
    result = searcher.search("How did Alexey start the DataTalks.Club community? What was the first step?")
    assert result.relevant
    assert result.moments
    top = result.moments[0]
    assert top.section.episode_id == "s07e01-datatalksclub-behind-the-scenes"
    # The link lands where the guest starts answering, past the host's question the section opens with.
    assert top.url == f"https://www.youtube.com/watch?v=IxTyq96juVE&t={top.start_sec}s"
    assert top.start_sec == top.section.answer_sec
    assert top.section.start_sec <= top.start_sec <= top.section.end_sec
    assert (
        next(line for line in top.section.lines() if line.sec == top.start_sec and not line.by_host).speaker == "Alexey"
    )
    assert top.span_start <= top.section.start_sec
    assert top.span_end >= top.section.end_sec
    assert "Alexey" in top.section.speakers


def test_off_topic_questions_find_nothing(searcher):
    for question in (
        "Did anyone predict earthquakes from seismic sensor data?",
        "What are data science salaries in Tokyo?",
    ):
        assert not searcher.search(question).relevant


def test_overlapping_windows_of_one_moment_are_merged(searcher):
    moments = searcher.search("community events and book of the week", k=10, per_episode=0).moments
    assert len(moments) == 10
    # Neighbouring sections share ~30 words, so the best windows overlap: some must have been merged.
    merged = [m for m in moments if m.span_end > m.section.end_sec or m.span_start < m.section.start_sec]
    assert merged
    for n, a in enumerate(moments):
        for b in moments[n + 1 :]:
            adjacent = abs(a.section.position - b.section.position) <= 1
            assert not (adjacent and a.span_start <= b.span_end and b.span_start <= a.span_end)


def test_at_most_n_moments_per_episode(searcher):
    assert len(searcher.search("community", k=10, per_episode=2).moments) == 2
    assert len(searcher.search("community", k=10, per_episode=0).moments) > 2


def test_filters_by_speaker_season_episode_and_guest(searcher):
    moments = searcher.search("machine learning", k=5, filters=SearchFilters(speaker="alexey")).moments
    assert moments
    assert all("Alexey" in m.section.speakers for m in moments)
    assert searcher.search("machine learning", filters=SearchFilters(season=7, episode="1", guest="Eugene Yan")).moments
    assert searcher.search("machine learning", filters=SearchFilters(episode="s07e01")).moments
    with pytest.raises(FilterError, match="no indexed season matches '3'"):
        searcher.search("machine learning", filters=SearchFilters(season=3))
    with pytest.raises(FilterError, match="guest"):
        searcher.search("machine learning", filters=SearchFilters(guest="Nobody Known"))


def test_which_episode_questions_rank_episodes(searcher):
    matches = searcher.search_episodes("Which episode talks about running a data community?")
    assert matches[0].episode_id == "s07e01-datatalksclub-behind-the-scenes"
    assert 1 <= len(matches[0].moments) <= 3


def test_a_question_about_a_guest_in_the_third_person_matches_what_is_asked_not_the_pronouns():
    # Transcripts speak in the first person: "he" and "his" there are always somebody else.
    sections = KeywordIndex(
        [
            "He told me his manager liked him, and he said she agreed with her team.",
            "I built the data platform at my previous company before I founded this one.",
        ]
    )
    scores = sections.scores(tokenize(["What did he build at his company before he founded his own?"])[0])
    assert scores[0] == 0.0
    assert scores[1] > 0.0


def test_quotes_are_matched_on_what_a_question_asks_about_not_on_how_it_asks(searcher):
    weights = searcher.question_weights("Did any guest talk about how DataTalks.Club started?")
    # "talk" is kept as part of the name DataTalks; "did", "guest", "how" only ask.
    assert {"datatalk", "club", "start", "talk"} <= set(weights)
    assert not {"did", "guest", "how", "about"} & set(weights)
    assert searcher.question_weights("What did they say?")  # only asking words: kept, not emptied


def test_keyword_index_follows_ingests_by_another_writer(tmp_path, embedder):
    store = StoreConfig(index_dir=tmp_path / "index")
    folder = tmp_path / "episodes"
    first = small_episode(folder, "s07e01-small.md")
    index = SectionIndex(store, embedder.model_id)
    ingest([first], index, embedder)
    searcher = Searcher(index, embedder, replace(SearchConfig(), refresh_seconds=0))
    assert {m.section.episode_id for m in searcher.search("grilling him with questions", per_episode=0).moments} == {
        "s07e01-small"
    }

    other_writer = SectionIndex(store, embedder.model_id)
    ingest([small_episode(folder, "s42e01-another.md")], other_writer, embedder)
    found = {m.section.episode_id for m in searcher.search("grilling him with questions", k=10, per_episode=0).moments}
    assert found == {"s07e01-small", "s42e01-another"}


def test_cli_search_prints_moments_and_json(bundled_index_dir, capsys):
    assert main(["search", "book of the week", "--index", str(bundled_index_dir), "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. ")
    assert "DataTalks.Club Behind the Scenes" in out
    assert "&t=" in out
    assert main(["search", "book of the week", "--index", str(bundled_index_dir), "--json", "--speaker", "Alexey"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["relevant"]
    assert all("Alexey" in m["speakers"] for m in data["moments"])
    assert main(["search", "salaries in Tokyo", "--index", str(bundled_index_dir)]) == 0
    assert "Nothing relevant found" in capsys.readouterr().out
    assert main(["search", "x", "--index", str(bundled_index_dir), "--season", "99"]) == 2
    assert "no indexed season matches '99'" in capsys.readouterr().err
    assert main(["search", " ", "--index", str(bundled_index_dir)]) == 2
    assert "the query is empty; usage: podcast-bot search" in capsys.readouterr().err


def test_windows_of_one_long_line_are_one_moment_however_far_apart():
    from retrieval.corpus.sections import Section
    from retrieval.search.moments import Moment, merge_overlaps

    def window(position: int, start: int, end: int, text: str) -> Moment:
        section = Section(f"w{position}", "s08e04", start_sec=start, end_sec=end, position=position, text=text)
        return Moment.at(section, 1.0 / (position + 1), None)

    # A five-minute answer is one transcript line: its windows 2 and 4 both link to 649 s.
    best, other, later = window(2, 649, 649, "water drops"), window(4, 649, 700, "charity"), window(9, 900, 960, "x")
    merged = merge_overlaps([best, other, later])
    assert [m.section.id for m in merged] == ["w2", "w9"]
    assert (merged[0].span_start, merged[0].span_end) == (649, 700)
    assert len({m.url for m in merged}) == len(merged)

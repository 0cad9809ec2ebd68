"""Answer quality by kind of question: guests named, questions across episodes, the guest's answer
rather than the host's question, calibrated refusal, and an index that upgrades itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.answering.prompt_context import format_context, window
from retrieval.corpus.episodes import parse_episode_file
from retrieval.corpus.people import Person, load_people
from retrieval.corpus.speakers import host_speakers
from retrieval.index.ingest import ingest, prepare
from retrieval.index.store import SectionIndex
from retrieval.search.searcher import Searcher
from retrieval.search.shapes import question_shape
from retrieval.settings import StoreConfig
from tests.support.corpus import BUNDLED, EPISODES, PEOPLE, needs_shared, small_episode


def guest_page(folder: Path, slug: str, name: str, bio: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{slug}.md").write_text(f'---\nshort: {slug}\ntitle: "{name}"\nbio_short: "{bio}"\n---\nMore.\n')


def test_guest_pages_give_full_names_and_bios_and_a_bad_page_is_skipped(tmp_path, caplog):
    guest_page(tmp_path, "janedoe", "Jane Doe-Whitfield", "Jane builds lighthouses for data teams.")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    people = load_people(tmp_path)
    assert people == {"janedoe": Person("janedoe", "Jane Doe-Whitfield", "Jane builds lighthouses for data teams.")}
    assert "broken.md" in caplog.text
    assert load_people(tmp_path / "missing") == {}


def test_a_guest_named_only_in_their_page_finds_their_episode(tmp_path, embedder):
    """The surname is in no transcript line (speakers are first names), only in the guest page."""
    folder = tmp_path / "episodes"
    small_episode(folder, "s07e01-small.md", items=30)
    other = small_episode(folder, "s01e01-other.md", items=30)
    other.write_text(other.read_text(encoding="utf-8").replace("eugeneyan", "janedoe"), encoding="utf-8")
    guest_page(tmp_path / "people", "janedoe", "Jane Doe-Whitfield", "Jane builds lighthouses for data teams.")
    index = SectionIndex(StoreConfig(index_dir=tmp_path / "index"), embedder.model_id)
    ingest([folder], index, embedder, people=load_people(tmp_path / "people"))
    record = index.episodes()["s01e01-other"]
    assert record.guest_names[0] == "Jane Doe-Whitfield"
    assert "lighthouses" in record.bios[0]

    result = Searcher(index, embedder).search("What did Doe-Whitfield say about how the podcast is prepared?")
    assert result.relevant, result.evidence
    assert result.moments[0].section.episode_id == "s01e01-other"
    assert result.moments[0].section.guest_names[0] == "Jane Doe-Whitfield"


def test_hosts_are_who_is_not_a_guest_or_who_asks_the_most():
    episode = parse_episode_file(BUNDLED)
    # Both speakers are listed as guests of this episode; Eugene asks the questions.
    assert host_speakers(episode, ("Eugene Yan", "Alexey Grigorev")) == ("Eugene",)
    assert host_speakers(episode, ("Alexey Grigorev",)) == ("Eugene",)


def test_sections_hold_a_question_with_its_answer_and_later_parts_know_the_question():
    episode = parse_episode_file(BUNDLED)
    sections = prepare(episode, {})
    asking = [s for s in sections if s.lines()[0].by_host and s.lines()[0].text.endswith("?")]
    assert len(asking) >= 10  # most of the host's questions open a section
    origin = next(s for s in sections if "What gave you this idea?" in s.text)
    assert origin.lines()[0].speaker == "Eugene"
    assert any(line.speaker == "Alexey" for line in origin.lines())
    continued = [s for s in sections if s.asked]
    assert continued
    assert all(s.asked in s.search_text and s.asked not in s.text for s in continued)
    assert any(s.asked.endswith("What gave you this idea?") for s in continued)


@pytest.mark.parametrize(
    ("question", "across", "which"),
    [
        ("Several guests admitted they felt like impostors. What did they suggest?", True, False),
        ("What did guests say about how to actually get a mentor?", True, False),
        ("Did anyone on the podcast compare PyMC with Pyro?", True, False),
        ("Do the analytics engineers on the podcast agree on that?", True, False),
        ("Which episodes cover data mesh?", True, False),
        ("Which episode gives a proper definition of data mesh?", False, True),
        ("Was there an episode about FinOps?", False, True),
        ("How did Alexey start DataTalks.Club?", False, False),
    ],
)
def test_the_shape_of_a_question_comes_from_its_words(question, across, which):
    shape = question_shape(question)
    assert (shape.spread == "episodes", shape.which_episode) == (across, which)


def test_k_is_honoured_exactly_and_a_shortfall_says_why(bundled_index_dir, embedder):
    searcher = Searcher(SectionIndex(StoreConfig(index_dir=bundled_index_dir), embedder.model_id), embedder)
    result = searcher.search("How does DataTalks.Club make money from sponsors?", k=2)
    assert len(result.moments) == 2
    assert result.note == ""
    capped = searcher.search("How does DataTalks.Club make money from sponsors?", k=10)
    assert len(capped.moments) == 4
    assert "at most 4 per episode" in capped.note
    # Across episodes: the best moment of each strong episode, then their second-best; one episode here.
    across = searcher.search("What did guests say about sponsors of DataTalks.Club?", k=3)
    assert len(across.moments) == 2
    assert "only 2 of the 3 moments" in across.note
    ids = [m.section.id for m in capped.moments]
    assert len(set(ids)) == len(ids)
    assert len({m.section.text for m in capped.moments}) == len(ids)


def test_the_model_sees_the_question_before_a_moment_and_the_answer_after_it(bundled_index_dir, embedder):
    searcher = Searcher(SectionIndex(StoreConfig(index_dir=bundled_index_dir), embedder.model_id), embedder)
    moment = searcher.search("How did Alexey come up with the idea for the community? GoDaddy domain").moments[0]
    text = window(searcher.neighbours(moment, before=3), moment.section)
    assert 150 <= len(text.split()) <= 500
    # The host's question comes first, even when the moment is the later part of a long answer.
    first = text.splitlines()[0]
    assert first.startswith("Eugene")
    assert first.endswith("What gave you this idea?")
    assert "GoDaddy" in text
    context = format_context([moment.section], [text])
    assert context.startswith('<moment n="1">\nepisode: DataTalks.Club Behind the Scenes\nguests: ')
    assert "eugeneyan" in context
    assert f'"""\n{text}\n"""' in context


def test_an_upgraded_pipeline_reprocesses_every_episode_without_re_embedding(index, embedder, tmp_path, monkeypatch):
    folder = tmp_path / "episodes"
    small_episode(folder, "s07e01-small.md", items=30)
    first = ingest([folder], index, embedder)
    assert first.embedded == first.sections > 0
    before = sorted(s.id for s in index.all_sections())
    monkeypatch.setattr("retrieval.index.ingest.PIPELINE_VERSION", "a-later-version")
    upgraded = ingest([folder], index, embedder)
    assert upgraded.ingested == ["s07e01-small"]
    assert upgraded.embedded == 0
    assert sorted(s.id for s in index.all_sections()) == before
    assert index.info()["pipeline_version"] == "a-later-version"
    # A renamed file with the same transcript is stored under its new name without re-embedding.
    (folder / "s07e01-small.md").rename(folder / "renamed-episode.md")
    renamed = ingest([folder], index, embedder)
    assert renamed.ingested == ["renamed-episode"]
    assert renamed.embedded == 0
    assert renamed.deleted == ["s07e01-small"]


@pytest.mark.slow
@needs_shared
def test_guests_named_several_episodes_and_out_of_scope_on_real_episodes(tmp_path, embedder):
    names = [
        "s03e06-from-physics-to-machine-learning.md",
        "s09e05-data-scientists-at-work.md",
        "s18e09-dataops-observability-and-cure-for-data-team-blues.md",
        "s12e03-data-centric-ai.md",
    ]
    index = SectionIndex(StoreConfig(index_dir=tmp_path / "index"), embedder.model_id)
    ingest([EPISODES / name for name in names], index, embedder, people=load_people(PEOPLE))
    searcher = Searcher(index, embedder)
    # "Bergh" appears only in the guest's page.
    bergh = searcher.search("Where did Christopher Bergh work before he moved into data?")
    assert bergh.relevant
    assert bergh.moments[0].section.episode_id.startswith("s18e09")
    impostors = searcher.search("Several guests admitted they felt like impostors. What did they suggest doing?")
    # Each guest's best moment comes before any episode's second one.
    first_two = {m.section.episode_id[:6] for m in impostors.moments[:2]}
    assert first_two == {"s03e06", "s09e05"}
    for question in ("Did anyone compare PyMC with NumPyro?", "What do data scientists earn in Tokyo?"):
        assert not searcher.search(question).relevant, question


def test_questions_about_the_catalogue_are_answered_from_metadata(bundled_index_dir, embedder):
    from bot.config import load_settings
    from bot.runtime import Runtime

    runtime = Runtime(load_settings({}).with_index(bundled_index_dir), embedder=embedder)
    latest = runtime.answerer.answer("What's the latest episode?")
    assert latest.mode == "catalogue"
    assert "DataTalks.Club Behind the Scenes" in latest.text
    (source,) = latest.sources
    assert source.page == "https://datatalks.club/podcast/s07e01-datatalksclub-behind-the-scenes.html"
    assert source.url == "https://www.youtube.com/watch?v=IxTyq96juVE&t=0s"
    # No guest pages here: the name is matched to the guest's slug.
    guest = runtime.answerer.answer("Which episodes has Eugene Yan been on?")
    assert guest.mode == "catalogue"
    assert "S7E1: DataTalks.Club Behind the Scenes" in guest.text
    season = runtime.answerer.answer("What was season 7 about?")
    assert season.mode == "catalogue"
    assert season.text.startswith("Season 7 has 1 episode that I know:")
    assert "I know seasons 7" in runtime.answerer.answer("What was season 3 about?").text
    # A question about what was said is still answered from the transcripts.
    assert runtime.answerer.answer("How did DataTalks.Club start?").mode == "offline"

"""Drafts and templates (`_`-prefixed files, which the site never publishes) are skipped in folder
scans without a warning, counted in the debug log; a file named explicitly is still ingested, and
the eval indexes the drafts its questions name."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from retrieval.corpus.people import load_people
from retrieval.evaluation.questions import load_questions, named_episode_files
from retrieval.index.ingest import ingest
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.corpus import BUNDLED, copy_episode, distinct_copy
from tests.support.embedder import HashEmbedder

EPISODE = "s07e01-datatalksclub-behind-the-scenes"


@pytest.fixture
def index(tmp_path: Path) -> SectionIndex:
    return SectionIndex(StoreConfig(index_dir=tmp_path / "index"), HashEmbedder.model_id)


def test_a_folder_scan_skips_drafts_and_counts_them_in_the_debug_log(tmp_path, index, caplog):
    folder = tmp_path / "episodes"
    copy_episode(BUNDLED, folder)
    distinct_copy(BUNDLED, folder, "_theme-park-draft.md", "draft")
    with caplog.at_level(logging.DEBUG, logger="retrieval.corpus.drafts"):
        report = ingest([folder], index, HashEmbedder())
    assert report.ingested == [EPISODE]
    assert not report.failed
    assert sorted(index.episodes()) == [EPISODE]
    assert "1 draft or template files (names starting with _) skipped" in caplog.text


def test_a_draft_named_explicitly_is_ingested_and_a_folder_scan_later_removes_it(tmp_path, index):
    folder = tmp_path / "episodes"
    copy_episode(BUNDLED, folder)
    draft = distinct_copy(BUNDLED, folder, "_s12e08.md", "draft")
    ingest([folder, draft], index, HashEmbedder())
    assert sorted(index.episodes()) == ["_s12e08", EPISODE]

    report = ingest([folder], index, HashEmbedder())
    assert report.deleted == ["_s12e08"]
    assert sorted(index.episodes()) == [EPISODE]


def test_guest_page_templates_are_skipped_without_a_warning(tmp_path, caplog):
    people = tmp_path / "people"
    people.mkdir()
    (people / "eugeneyan.md").write_text("---\ntitle: Eugene Yan\nshort: eugeneyan\n---\n", encoding="utf-8")
    (people / "_template.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        found = load_people(people)
    assert list(found) == ["eugeneyan"]
    assert found["eugeneyan"].name == "Eugene Yan"
    assert caplog.text == ""


def test_the_eval_indexes_the_draft_episodes_its_questions_name(tmp_path):
    folder = tmp_path / "episodes"
    copy_episode(BUNDLED, folder)
    draft = distinct_copy(BUNDLED, folder, "_s12e08.md", "draft")
    questions = tmp_path / "questions.yaml"
    questions.write_text(
        "- {id: q1, kind: factual, question: 'How did it start?', episode: _s12e08.md, answer_sec: 10}\n"
        f"- {{id: q2, kind: factual, question: 'Who sponsors?', episode: {EPISODE}.md, answer_sec: 20}}\n"
        "- {id: q3, kind: unanswerable, question: 'Who won the cup?', episode: null}\n",
        encoding="utf-8",
    )
    assert named_episode_files(load_questions(questions), folder) == [draft, folder / f"{EPISODE}.md"]


def test_a_file_named_and_inside_a_named_folder_is_ingested_once(tmp_path, index):
    # What the eval does with the episodes its questions name: no "same episode id" failures.
    folder = tmp_path / "episodes"
    episode = copy_episode(BUNDLED, folder)
    report = ingest([folder, episode, folder / ".." / "episodes" / episode.name], index, HashEmbedder())
    assert report.ingested == [EPISODE]
    assert not report.failed

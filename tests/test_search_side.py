"""The search side saved beside the index: written by ingest, loaded (not rebuilt) by the next
process, followed when the index changes, rebuilt when damaged; and the one-writer rule of an
embedded index: a second writer is refused in one line, a reader waits out another process's
write and then reopens the index."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runtime import UPDATING, Runtime
from retrieval.errors import IndexBusyError, StoreError
from retrieval.index import stamp as index_stamp
from retrieval.index.ingest import ingest
from retrieval.index.stamp import IndexStamp
from retrieval.index.store import SectionIndex
from retrieval.search.corpus_files import corpus_key
from retrieval.search.searcher import Searcher
from retrieval.settings import StoreConfig
from tests.support.cli import python, run, start
from tests.support.corpus import BUNDLED, distinct_copy
from tests.support.embedder import HashEmbedder

QUESTION = "How did DataTalks.Club start?"


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def built(tmp_path: Path, embedder: HashEmbedder) -> StoreConfig:
    store = StoreConfig(index_dir=tmp_path / "index")
    ingest([BUNDLED], SectionIndex(store, embedder.model_id), embedder)
    return store


def top(searcher: Searcher) -> list[tuple[str, float]]:
    return [(m.section.id, round(m.score, 6)) for m in searcher.search(QUESTION, k=4).moments]


def test_ingest_saves_the_search_side_and_the_next_process_loads_it_instead_of_reading_every_section(
    built, embedder, monkeypatch
):
    index = SectionIndex(built, embedder.model_id)
    assert (built.search_dir / corpus_key(index.episodes()) / "keywords").is_dir()
    monkeypatch.setattr(SectionIndex, "all_sections", lambda self: pytest.fail("sections were read from Chroma"))
    loaded = top(Searcher(index, embedder))
    monkeypatch.undo()

    for saved in built.search_dir.iterdir():  # without it, the same search side is built from Chroma
        if saved.is_dir():
            saved.rename(saved.with_name(".gone"))
    rebuilt = top(Searcher(SectionIndex(built, embedder.model_id), embedder))
    assert len(loaded) == 4
    assert loaded == rebuilt


def test_after_another_ingest_the_searcher_follows_the_new_version_and_the_old_one_is_removed(
    built, embedder, tmp_path
):
    index = SectionIndex(built, embedder.model_id)
    searcher = Searcher(index, embedder)
    before = corpus_key(index.episodes())
    assert len(searcher.corpus.episodes) == 1

    copy = distinct_copy(BUNDLED, tmp_path / "more", "s99e01-another-episode.md", "indeed")
    ingest([copy], SectionIndex(built, embedder.model_id), embedder)

    searcher.refresh(force=True)
    assert sorted(searcher.corpus.episodes) == ["s07e01-datatalksclub-behind-the-scenes", "s99e01-another-episode"]
    saved = [p.name for p in built.search_dir.iterdir() if p.is_dir()]
    assert saved == [corpus_key(index.episodes())]
    assert before not in saved


def test_a_damaged_search_side_is_rebuilt_with_a_warning(built, embedder, caplog):
    index = SectionIndex(built, embedder.model_id)
    (built.search_dir / corpus_key(index.episodes()) / "corpus.json").write_text("{ not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        moments = Searcher(index, embedder).search(QUESTION, k=3).moments
    assert len(moments) == 3
    assert "cannot be read" in caplog.text
    assert "rebuilding it" in caplog.text


HOLD_THE_WRITER_LOCK = """
import sys
from pathlib import Path
from retrieval.index.stamp import IndexStamp
with IndexStamp(Path(sys.argv[1])).writing():
    print("writing", flush=True)
    sys.stdin.read()
"""


def test_a_second_writer_is_refused_in_one_line_and_readers_wait_then_reopen_the_index(
    built, embedder, tmp_path, monkeypatch
):
    index = SectionIndex(built, embedder.model_id)
    searcher = Searcher(index, embedder)
    assert searcher.search(QUESTION, k=1).moments
    runtime = Runtime(Settings(store=built), embedder=embedder)
    writer = start(
        python(HOLD_THE_WRITER_LOCK, str(built.index_dir)), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "writing\n"
        monkeypatch.setattr(index_stamp, "WRITER_WAIT", 0.3)
        with pytest.raises(StoreError) as refused:
            ingest([BUNDLED], SectionIndex(built, embedder.model_id), embedder)
        message = str(refused.value)
        assert "another process is writing to the index at" in message
        assert "Chroma server" in message
        assert "\n" not in message

        assert IndexStamp(built.index_dir).busy()
        assert runtime.loading_message() == UPDATING
        with pytest.raises(IndexBusyError, match="being updated by another process"):
            searcher.search(QUESTION, k=1)
    finally:
        writer.communicate("", timeout=30)
    assert writer.returncode == 0
    assert not IndexStamp(built.index_dir).busy()
    assert runtime.loading_message() is None
    assert searcher.search(QUESTION, k=1).moments  # reopened, and answering again


@pytest.mark.slow
def test_indexes_old_and_new_search_wide_enough_to_find_the_same_neighbours_in_every_process(tmp_path):
    """Chroma's default breadth gave two processes different top-80s from one index (so different
    answers to one question); made or opened here, the vector collections search 400 wide."""
    from retrieval.index.vector_collections import SEARCH_EF

    # An index made as before, by another process.
    made_before = (
        "import chromadb, sys; chromadb.PersistentClient(sys.argv[1]).get_or_create_collection("
        "'podcast-sections', metadata={'hnsw:space': 'cosine', 'embedding_model': 'm'})"
    )
    assert run(python(made_before, str(tmp_path / "old"))).returncode == 0
    for folder in ("old", "new"):
        index = SectionIndex(StoreConfig(index_dir=tmp_path / folder), "m")
        for collection in (index._sections, index._cards):
            assert collection.configuration_json["hnsw"]["ef_search"] == SEARCH_EF
            assert collection.configuration_json["hnsw"]["space"] == "cosine"


class _BusyOnce:
    """A Chroma collection made before the wide search, whose first write SQLite answers "locked"
    (as Chroma did under load in CI, right after another process made the index)."""

    def __init__(self) -> None:
        self.configuration_json = {"hnsw": {"space": "cosine", "ef_search": 100}}
        self.writes = 0

    def modify(self, configuration: dict) -> None:
        self.writes += 1
        if self.writes == 1:
            raise RuntimeError("Database error: error returned from database: (code: 5) database is locked")
        self.configuration_json = {"hnsw": {**self.configuration_json["hnsw"], **configuration["hnsw"]}}


class _Client:
    def __init__(self, collection: _BusyOnce) -> None:
        self.collection = collection

    def get_or_create_collection(self, name: str, **_: object) -> _BusyOnce:
        return self.collection


def test_a_momentarily_locked_index_is_still_widened(caplog):
    from retrieval.index.vector_collections import SEARCH_EF, vector_collection

    collection = vector_collection(_Client(_BusyOnce()), "podcast-sections")
    assert collection.configuration_json["hnsw"]["ef_search"] == SEARCH_EF
    assert collection.writes == 2
    assert "could not widen" not in caplog.text

"""Ingest: offline index of the bundled episode, incremental and idempotent, crash-safe, model-checked."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import pytest

from bot.cli.main import main
from retrieval.corpus.episodes import parse_episode_file, parse_episode_text
from retrieval.corpus.sections import build_sections
from retrieval.errors import ModelMismatchError, StoreError
from retrieval.index.embedding import MiniLMEmbedder
from retrieval.index.ingest import ingest, prepare
from retrieval.index.prefetch import prefetched
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.cli import cli, start
from tests.support.corpus import BUNDLED, copy_episode, distinct_copy, small_episode
from tests.support.embedder import HashEmbedder, WrappedEmbedder
from tests.support.http import wait_until


@pytest.fixture
def embedder() -> HashEmbedder:
    """What is stored and how, not what the vectors mean, is tested here: the small embedder will do."""
    return HashEmbedder()


def section_ids(index: SectionIndex) -> list[str]:
    return sorted(section.id for section in index.all_sections())


def test_ingest_builds_an_index_with_metadata(index, embedder, tmp_path):
    folder = tmp_path / "episodes"
    copy_episode(BUNDLED, folder)
    report = ingest([folder], index, embedder)
    assert report.ingested == ["s07e01-datatalksclub-behind-the-scenes"]
    assert not report.failed
    sections = index.all_sections()
    assert len(sections) == report.sections == index.section_count() > 50
    section = min(sections, key=lambda s: s.position)
    assert section.episode_title == "DataTalks.Club Behind the Scenes"
    assert (section.season, section.number, section.guests) == (7, 1, ("eugeneyan", "alexeygrigorev"))
    assert section.url.startswith("https://www.youtube.com/watch?v=IxTyq96juVE&t=")
    record = index.episodes()["s07e01-datatalksclub-behind-the-scenes"]
    assert record.section_count == len(sections)


class RecordedBar:
    def __init__(self, shown: list, what: str, total: int | None, unit: str):
        self.shown = shown
        shown.append((what, total, unit))

    def update(self, n: int) -> None:
        self.shown.append(n)

    def close(self) -> None:
        self.shown.append("closed")


def test_ingest_shows_each_file_done_through_the_callers_progress(index, embedder, tmp_path):
    folder = tmp_path / "episodes"
    small_episode(folder, "s07e01-small.md")
    small_episode(folder, "s99e01-copy.md")
    shown: list = []
    ingest([folder], index, embedder, progress=lambda *job: RecordedBar(shown, *job))
    assert shown == [("ingest", 2, "episode"), 1, 1, "closed"]


def test_reingest_is_idempotent_and_incremental(index, embedder, tmp_path):
    folder = tmp_path / "episodes"
    path = small_episode(folder, "s07e01-small.md")
    small_episode(folder, "s99e01-copy.md")
    ingest([folder], index, embedder)
    before = section_ids(index)
    version = index.version()

    again = ingest([folder], index, embedder)
    assert again.ingested == []
    assert len(again.skipped) == 2
    assert section_ids(index) == before
    assert index.version() == version

    path.write_text(
        path.read_text(encoding="utf-8").replace("Something between that.", "Roughly two years."), encoding="utf-8"
    )
    changed = ingest([folder], index, embedder)
    assert changed.ingested == [path.stem]
    assert changed.skipped == ["s99e01-copy"]
    after = section_ids(index)
    assert len(after) == len(before)
    assert after != before
    assert any("Roughly two years." in s.text for s in index.all_sections())
    assert not any("Something between that." in s.text for s in index.all_sections() if s.episode_id == path.stem)

    (folder / "s99e01-copy.md").unlink()
    removed = ingest([folder], index, embedder)
    assert removed.deleted == ["s99e01-copy"]
    assert {s.episode_id for s in index.all_sections()} == {path.stem}
    assert set(index.episodes()) == {path.stem}


def test_bad_files_are_reported_and_good_ones_ingested(tmp_path, capsys):
    folder = tmp_path / "episodes"
    small_episode(folder, "s07e01-small.md")
    (folder / "notes.md").write_text("# just notes\n", encoding="utf-8")
    (folder / "broken.md").write_text("---\ntitle: [oops\n---\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    assert main(["ingest", str(folder), "--index", str(index_dir)]) == 0
    out, err = capsys.readouterr()
    assert "1 episodes ingested" in out
    assert "2 failed" in out
    assert f"{folder / 'notes.md'}: no YAML front matter" in err
    assert f"{folder / 'broken.md'}: front matter is not valid YAML" in err
    assert "Traceback" not in err

    assert main(["ingest", str(folder), "--index", str(index_dir), "--strict"]) == 1
    assert main(["ingest", str(folder / "notes.md"), "--index", str(index_dir)]) == 1
    assert main(["ingest", str(tmp_path / "missing"), "--index", str(index_dir)]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_a_different_embedding_model_is_refused_until_rebuild(store, index, embedder, tmp_path):
    ingest([small_episode(tmp_path, "small.md")], index, embedder)
    with pytest.raises(ModelMismatchError, match="ingest --rebuild"):
        SectionIndex(store, "openai:text-embedding-3-small")
    rebuilt = SectionIndex.rebuild(store, "openai:text-embedding-3-small")
    assert rebuilt.section_count() == 0
    assert rebuilt.episodes() == {}


def test_corrupt_index_folder_gives_a_rebuild_hint(tmp_path, capsys):
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    assert main(["search", "community", "--index", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "podcast-bot ingest --rebuild" in err
    assert "Traceback" not in err
    assert main(["ingest", str(small_episode(tmp_path, "small.md")), "--index", str(folder), "--rebuild"]) == 0


def test_rebuild_refuses_to_delete_a_folder_that_is_not_an_index(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.txt").write_text("do not delete", encoding="utf-8")
    with pytest.raises(StoreError, match="not a Chroma index folder"):
        SectionIndex.rebuild(StoreConfig(index_dir=folder), "all-MiniLM-L6-v2")
    assert (folder / "thesis.txt").exists()


def files_of(folder: Path) -> dict[Path, tuple[int, int]]:
    """The files under `folder` with their modification times and sizes (one removed meanwhile left out)."""
    files = {}
    for path in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            status = path.stat()
            files[path] = (status.st_mtime_ns, status.st_size)
    return files


@pytest.mark.slow
def test_kill_during_ingest_then_rerun_completes_without_duplicates(tmp_path, model_cache):
    embedder = MiniLMEmbedder(model_cache)  # the killed `podcast-bot ingest` used the configured model
    folder = tmp_path / "episodes"
    names = [f"s0{n}e01-copy.md" for n in range(1, 4)]
    for name in names:
        distinct_copy(BUNDLED, folder, name, name[:6])
    index_dir = tmp_path / "killed-index"
    process = start(cli("ingest", str(folder), "--index", str(index_dir), "-v"))
    stderr, running = process.stderr, lambda: process.poll() is None
    assert stderr is not None
    wait_until(
        lambda: "ingested s01e01-copy" in stderr.readline(),
        timeout=120,
        what="the first episode",
        every=0,
        running=running,
    )
    # The second episode is embedded first (seconds), then written: kill it once the index's files change again.
    first = files_of(index_dir)
    wait_until(lambda: files_of(index_dir) != first, timeout=120, what="the second write", every=0.01, running=running)
    process.send_signal(signal.SIGKILL)
    process.wait()

    killed = SectionIndex(StoreConfig(index_dir=index_dir), embedder.model_id)
    assert 1 <= len(killed.episodes()) < len(names)
    report = ingest([folder], killed, embedder)
    assert len(report.ingested) + len(report.skipped) == len(names)
    ids = [s.id for s in killed.all_sections()]
    assert len(ids) == len(set(ids))
    per_episode = {}
    for section in killed.all_sections():
        per_episode[section.episode_id] = per_episode.get(section.episode_id, 0) + 1
    assert per_episode == {Path(name).stem: len(prepare(parse_episode_file(folder / name), {})) for name in names}


@pytest.mark.slow
def test_first_use_builds_the_default_index_from_the_bundled_episodes(tmp_path, capsys, monkeypatch):
    default = tmp_path / "default-index"
    monkeypatch.setattr("bot.config.DEFAULT_INDEX", default)
    assert main(["search", "how did the community start", "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "DataTalks.Club Behind the Scenes" in out
    assert "youtube.com/watch?v=IxTyq96juVE&t=" in out
    assert (default / "chroma.sqlite3").exists()


def test_a_named_index_that_is_missing_or_empty_is_an_error_saying_how_to_fill_it(tmp_path, capsys):
    missing = tmp_path / "does-not-exist"
    assert main(["search", "how did the community start", "--index", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"no index at {missing}" in err
    assert f"podcast-bot ingest --index {missing}" in err
    assert not missing.exists()

    empty = tmp_path / "empty"
    assert main(["ingest", str(tmp_path / "no-episodes-here"), "--index", str(empty)]) == 1
    capsys.readouterr()
    assert main(["ask", "how did the community start", "--index", str(empty)]) == 1
    assert f"the index at {empty} is empty; fill it with `podcast-bot ingest --index {empty}" in capsys.readouterr().err


def test_a_moved_file_keeps_its_episode(index, embedder, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    path = small_episode(old, "s07e01-small.md")
    ingest([old], index, embedder)
    moved = new / path.name
    new.mkdir()
    path.rename(moved)
    assert ingest([new], index, embedder).ingested == ["s07e01-small"]
    assert ingest([old], index, embedder).deleted == []
    assert index.episodes()["s07e01-small"].source_path == str(moved.resolve())


def test_repeated_paragraphs_are_dropped_and_section_ids_stay_unique(index, embedder, tmp_path):
    repeated = "We kept the same paragraph twice because the transcript tool glitched on this part."
    items = "".join(
        f"- line: {text}\n  sec: {sec}\n  time: '0:{sec:02d}'\n  who: {who}\n"
        for sec, who, text in [
            (1, "Ann", "Welcome to the show, today we talk about glitches."),
            (5, "Bob", repeated),
            (9, "Ann", "Yeah."),
            (12, "Bob", repeated),
            (15, "Ann", "Yeah."),
            (20, "Bob", "And this is the end of the episode, thanks for listening to us."),
        ]
    )
    path = tmp_path / "episodes" / "s01e01-repeats.md"
    path.parent.mkdir()
    path.write_text(f"---\ntitle: Repeats\nids: {{youtube: abcdefghijk}}\ntranscript:\n{items}---\n", encoding="utf-8")
    episode = parse_episode_file(path)
    assert [item.text for item in episode.items].count(repeated) == 1  # the glitch is gone
    assert [item.text for item in episode.items].count("Yeah.") == 2  # short replies repeat naturally

    report = ingest([path.parent], index, embedder)
    assert report.ingested == ["s01e01-repeats"]
    assert not report.failed
    # Sections with the same words still get distinct, stable ids.
    twice = parse_episode_text(path.read_text(encoding="utf-8").replace("Yeah.", repeated), path)
    ids = [s.id for s in build_sections(twice, max_words=12, overlap_words=0)]
    assert len(ids) == len(set(ids))
    assert ids == [s.id for s in build_sections(twice, max_words=12, overlap_words=0)]


def test_text_before_the_opening_fence_is_skipped_with_a_warning(index, embedder, tmp_path, caplog):
    path = small_episode(tmp_path / "episodes", "s01e01-stray.md")
    path.write_text("_\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    episode = parse_episode_file(path)
    assert episode.title == "DataTalks.Club Behind the Scenes"
    assert episode.warnings
    with caplog.at_level("WARNING"):
        assert ingest([path.parent], index, embedder).ingested == ["s01e01-stray"]
    assert "skipped 1 line of text before the opening '---'" in caplog.text


class WrongSizeFor(WrappedEmbedder):
    """An embedder whose vectors for one episode have the wrong size, so the store refuses that episode."""

    def __init__(self, embedder, marker: str):
        super().__init__(embedder)
        self._marker = marker

    def embed_documents(self, texts):
        vectors = super().embed_documents(texts)
        return vectors[:, :3] if any(self._marker in text for text in texts) else vectors


def test_an_episode_that_cannot_be_stored_is_reported_and_the_rest_ingested(index, embedder, tmp_path, monkeypatch):
    # One episode per window: the wrapper spoils every vector of an embedding call that holds the marker.
    monkeypatch.setattr("retrieval.index.ingest.WINDOW_SECTIONS", 1)
    folder = tmp_path / "episodes"
    for name in ("s01e01-a.md", "s01e03-c.md"):
        small_episode(folder, name)
    lines = "".join(
        f"- line: UNSTORABLE words number {n} of this odd episode.\n  sec: {n}\n  who: Ann\n" for n in range(9)
    )
    (folder / "s01e02-b.md").write_text(f"---\ntitle: B\nids: {{youtube: abcdefghijk}}\ntranscript:\n{lines}---\n")
    report = ingest([folder], index, WrongSizeFor(embedder, "UNSTORABLE"))
    assert report.ingested == ["s01e01-a", "s01e03-c"]
    assert [Path(e.path).name for e in report.failed] == ["s01e02-b.md"]
    assert "could not be stored" in str(report.failed[0])
    assert "dimension" in str(report.failed[0])
    assert set(index.episodes()) == {"s01e01-a", "s01e03-c"}
    # The next run retries it.
    assert ingest([folder], index, embedder).ingested == ["s01e02-b"]


def test_the_index_keeps_facts_about_itself(store, index, embedder):
    assert index.info() == {}
    index.set_info(synced_commit="abc123", synced_at="2026-11-28T04:00:00Z")
    reopened = SectionIndex(store, embedder.model_id)
    assert reopened.info() == {"synced_commit": "abc123", "synced_at": "2026-11-28T04:00:00Z"}
    index.set_info(synced_commit="def456")
    assert reopened.info()["synced_commit"] == "def456"


class RefusingIndex(SectionIndex):
    """An index whose writes fail whenever they hold one given episode; it records what each write held."""

    refused = "s01e02-b"

    def __init__(self, store: StoreConfig, model_id: str):
        super().__init__(store, model_id)
        self.writes: list[list[str]] = []

    def replace_episodes(self, episodes):
        self.writes.append([episode.record.episode_id for episode in episodes])
        if any(episode.record.episode_id == self.refused for episode in episodes):
            raise StoreError(f"refused {self.refused}")
        super().replace_episodes(episodes)


def test_a_window_that_cannot_be_stored_is_stored_episode_by_episode(store, embedder, tmp_path):
    folder = tmp_path / "episodes"
    for name in ("s01e01-a.md", "s01e02-b.md", "s01e03-c.md"):
        distinct_copy(small_episode(tmp_path, "source.md"), folder, name, name[:6])
    index = RefusingIndex(store, embedder.model_id)
    report = ingest([folder], index, embedder)
    assert index.writes == [["s01e01-a", "s01e02-b", "s01e03-c"], ["s01e01-a"], ["s01e02-b"], ["s01e03-c"]]
    assert report.ingested == ["s01e01-a", "s01e03-c"]
    assert [Path(e.path).name for e in report.failed] == ["s01e02-b.md"]
    assert "could not be stored: refused s01e02-b" in str(report.failed[0])
    assert set(index.episodes()) == {"s01e01-a", "s01e03-c"}
    assert ingest([folder], SectionIndex(store, embedder.model_id), embedder).ingested == ["s01e02-b"]


def test_files_read_ahead_raise_the_readers_error_in_turn_and_stop_with_their_consumer():
    def failing():
        yield from (1, 2)
        raise ValueError("broken reader")

    got = []
    with pytest.raises(ValueError, match="broken reader"):
        got.extend(prefetched(failing(), depth=1, name="read-test"))
    assert got == [1, 2]

    produced: list[int] = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    stream = prefetched(endless(), depth=2, name="read-test")
    assert next(stream) == 0
    stream.close()
    assert not any(thread.name == "read-test" for thread in threading.enumerate())
    assert len(produced) <= 4  # one taken, two waiting, one blocked on the full queue

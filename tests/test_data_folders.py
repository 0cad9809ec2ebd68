"""Where episodes live: the bundled episode is tracked by git and never written; `sync` downloads the
site into a folder of its own; the tests' indexes hold only their own files, whatever a user synced."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

import bot.config
from bot.config import BUNDLED_EPISODES, Settings, load_settings
from bot.runtime import Runtime
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.archive_server import github_archive, site_pages
from tests.support.corpus import BUNDLED, cut_episode, small_episode


def test_the_tests_index_holds_the_bundled_file_and_nothing_else_from_data(bundled_index_dir, embedder):
    episodes = SectionIndex(StoreConfig(index_dir=bundled_index_dir), embedder.model_id).episodes()
    assert list(episodes) == [BUNDLED.stem]
    assert episodes[BUNDLED.stem].source_path == str(BUNDLED.resolve())


def test_tests_see_no_synced_site_by_default():
    settings = load_settings({})
    assert settings.episodes_dir == BUNDLED_EPISODES == BUNDLED.parent
    assert not any(settings.site_dir.rglob("*.md"))


def test_the_default_episodes_are_the_bundled_one_until_a_sync_brought_the_site(tmp_path):
    site = tmp_path / "site"
    settings = Settings(site_dir=site)
    assert settings.episodes_dir == BUNDLED_EPISODES
    assert (settings.sync_episodes_dir, settings.sync_people_dir) == (site / "episodes", site / "people")
    small_episode(site / "episodes", "synced.md")
    (site / "people").mkdir()
    assert (settings.episodes_dir, settings.people_dir) == (site / "episodes", site / "people")
    mine = Settings(site_dir=site, episodes=tmp_path / "mine")
    assert mine.episodes_dir == mine.sync_episodes_dir == tmp_path / "mine"
    assert mine.sync_people_dir == tmp_path / "people"


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def _site_archive(tmp_path: Path, pages: dict[str, str]) -> str:
    archive = tmp_path / "site.tar.gz"
    archive.write_bytes(github_archive(site_pages(pages, []), "c" * 40))
    return str(archive)


def test_sync_writes_its_own_folder_and_leaves_the_bundled_episode_as_shipped(
    tmp_path, embedder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bot.config, "SITE_DIR", tmp_path / "site")
    source = _site_archive(tmp_path, {"renamed-on-the-site.md": cut_episode(BUNDLED, 6)})
    settings = load_settings({"PODCAST_BOT_SOURCE": source, "PODCAST_BOT_INDEX": str(tmp_path / "index")})
    shipped = _snapshot(BUNDLED.parent)
    report = Runtime(settings, embedder=embedder).sync()
    assert report.added == ["renamed-on-the-site"]
    assert not report.removed
    assert _snapshot(BUNDLED.parent) == shipped
    assert [p.name for p in (tmp_path / "site" / "episodes").iterdir()] == ["renamed-on-the-site.md"]
    assert settings.episodes_dir == tmp_path / "site" / "episodes"


def test_after_a_sync_the_index_holds_the_site_not_the_bundled_episode_as_well(tmp_path, embedder):
    bundled = tmp_path / "bundled"
    small_episode(bundled, "s07e01-bundled.md", items=6)
    settings = replace(
        load_settings({"PODCAST_BOT_SOURCE": _site_archive(tmp_path, {"site-name.md": cut_episode(BUNDLED, 6)})}),
        store=StoreConfig(index_dir=tmp_path / "index"),
        site_dir=tmp_path / "site",
        bundled_dir=bundled,
        build_on_first_use=True,
    )
    runtime = Runtime(settings, embedder=embedder)
    assert list(runtime.index().episodes()) == ["s07e01-bundled"]
    report = runtime.sync()
    assert report.renamed == [("s07e01-bundled", "site-name")]
    assert list(SectionIndex(settings.store, embedder.model_id).episodes()) == ["site-name"]
    assert (bundled / "s07e01-bundled.md").exists()

"""`podcast-bot sync` against GitHub's archive download, played by a local server on 127.0.0.1.

The archives are built from the shared corpus (both episode formats and guest pages) and laid out
like GitHub's. Covered: a first sync, an unchanged one (one request, no work), a changed, a removed
and a renamed page, local sources, and every way a download can fail, after which the files and
the index must be exactly as before, with one clear line saying why.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.cli.main import main
from bot.config import Settings, load_settings
from bot.runtime import Runtime
from retrieval.errors import SyncError
from retrieval.index.store import SectionIndex
from retrieval.settings import MINILM_INT8_MODEL_ID
from retrieval.sources.sync import exclusive
from tests.support.archive_server import ArchiveServer, github_archive, site_pages
from tests.support.corpus import EPISODES, NEWER, PEOPLE, cut_episode, needs_shared
from tests.support.embedder import WrappedEmbedder

# Every test downloads from a local archive server and embeds with the real model.
pytestmark = [needs_shared, pytest.mark.slow]

OLDER_PAGE = EPISODES / "s18e09-dataops-observability-and-cure-for-data-team-blues.md"
NEWER_PAGE = NEWER / "finops-for-data-engineers.md"
GUESTS = [PEOPLE / "christopherbergh.md", PEOPLE / "eddyzulkifly.md"]


class CountingEmbedder(WrappedEmbedder):
    """The real model, counting the document texts it embeds."""

    def __init__(self, embedder: Any):
        super().__init__(embedder)
        self.documents = 0
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.documents += len(texts)
        self.texts += texts
        return super().embed_documents(texts)


@dataclass
class Site:
    """The site on a local server, and the bot's settings pointing at it."""

    server: ArchiveServer
    settings: Settings
    temp: Path
    pages: dict[str, bytes]
    commit: str = ""

    def publish(self, pages: dict[str, bytes] | None = None, **links: Any) -> str:
        """A new commit of the site with these pages (default: the current ones)."""
        self.commit = hashlib.sha1(self.commit.encode()).hexdigest()
        self.server.archive = github_archive(self.pages if pages is None else pages, self.commit, **links)
        return self.commit

    def runtime(self, embedder: Any) -> Runtime:
        return Runtime(self.settings, embedder=embedder)

    @property
    def index(self) -> SectionIndex:
        return SectionIndex(self.settings.store, MINILM_INT8_MODEL_ID)

    def files(self) -> dict[str, bytes]:
        folders = (self.settings.episodes_dir, self.settings.sync_people_dir)
        return {str(p): p.read_bytes() for folder in folders if folder.exists() for p in sorted(folder.iterdir())}

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a failed sync must leave as it was: both folders, byte for byte, and the index."""
        index = self.index
        episodes = {e: (r.content_hash, r.section_count) for e, r in index.episodes().items()}
        return self.files(), episodes, sorted(s.id for s in index.all_sections()), index.info()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    pages = site_pages({OLDER_PAGE.name: cut_episode(OLDER_PAGE), NEWER_PAGE.name: cut_episode(NEWER_PAGE)}, GUESTS)
    temp = tmp_path / "tmp"
    temp.mkdir()
    # Temporary folders go here, so a test can see that none is left behind.
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with ArchiveServer() as server:
        env = {
            "PODCAST_BOT_SOURCE": server.url,
            "PODCAST_BOT_EPISODES": str(tmp_path / "site" / "episodes"),
            "PODCAST_BOT_INDEX": str(tmp_path / "index"),
            "PODCAST_BOT_SYNC_TIMEOUT": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Site(server, load_settings(), temp, pages)


@pytest.fixture
def synced(site: Site, embedder: Any) -> Site:
    """The site after a first sync."""
    site.publish()
    report = site.runtime(embedder).sync()
    assert len(report.added) == 2
    assert not report.failed
    return site


def test_first_sync_brings_both_formats_and_guest_pages_into_the_index(site, capsys):
    site.pages = site_pages({OLDER_PAGE.name: OLDER_PAGE.read_text(), NEWER_PAGE.name: NEWER_PAGE.read_text()}, GUESTS)
    commit = site.publish()
    assert main(["sync"]) == 0
    out, err = capsys.readouterr()
    assert f"synced (commit {commit[:12]}): 2 added, 0 changed, 0 renamed, 0 removed, 0 unchanged;" in out
    assert "2 guest pages updated" in out
    assert "error" not in err
    settings = site.settings
    assert settings.sync_people_dir == settings.episodes_dir.parent / "people"
    assert (settings.episodes_dir / OLDER_PAGE.name).read_bytes() == OLDER_PAGE.read_bytes()
    assert (settings.episodes_dir / NEWER_PAGE.name).read_bytes() == NEWER_PAGE.read_bytes()
    assert sorted(p.name for p in settings.sync_people_dir.iterdir()) == ["christopherbergh.md", "eddyzulkifly.md"]
    index = site.index
    assert set(index.episodes()) == {OLDER_PAGE.stem, NEWER_PAGE.stem}
    assert index.section_count() > 60
    assert index.info()["synced_commit"] == commit
    assert index.info()["synced_etag"].startswith('"')
    # The synced guest pages name the guests: a question can name them.
    assert index.episodes()[NEWER_PAGE.stem].guest_names == ("Eddy Zulkifly",)
    assert "if-none-match" not in site.server.requests[0]

    assert main(["search", "cost of BigQuery in the cloud", "--k", "1"]) == 0
    assert "FinOps for Data Engineers" in capsys.readouterr().out
    assert main(["doctor"]) == 0
    assert ": 2 episodes, " in (doctor := capsys.readouterr().out)
    assert "[  ok] index" in doctor
    assert f"(commit {commit[:12]})" in doctor
    assert not list(site.temp.glob("podcast-bot-sync-*"))


def test_an_unchanged_site_costs_one_request_and_no_parsing_or_embedding(synced, embedder, capsys):
    before = synced.snapshot()
    mtimes = {p: p.stat().st_mtime_ns for p in synced.settings.episodes_dir.iterdir()}
    counting = CountingEmbedder(embedder)
    started = time.perf_counter()
    report = synced.runtime(counting).sync()
    seconds = time.perf_counter() - started
    assert report.up_to_date
    assert report.summary().startswith(f"already up to date (commit {synced.commit[:12]})")
    assert synced.server.statuses[-2:] == [200, 304]
    assert synced.server.requests[-1]["if-none-match"] == synced.index.info()["synced_etag"]
    assert counting.documents == 0
    assert seconds < 5
    assert {p: p.stat().st_mtime_ns for p in synced.settings.episodes_dir.iterdir()} == mtimes
    files, episodes, sections, _ = synced.snapshot()
    assert (files, episodes, sections) == before[:3]

    # A server without ETags: the archive's first header names the synced commit, so it is not read further.
    synced.server.etags = False
    assert main(["sync"]) == 0
    assert capsys.readouterr().out.startswith("already up to date (commit")
    assert synced.server.statuses[-1] == 200
    assert len(synced.server.requests) == 3
    assert synced.snapshot()[:3] == before[:3]


def test_a_changed_page_is_replaced_and_only_it_is_embedded(synced, embedder):
    changed = dict(synced.pages, **{f"_podcast/{NEWER_PAGE.name}": cut_episode(NEWER_PAGE, items=20).encode()})
    synced.publish(changed)
    before = synced.index.episodes()[NEWER_PAGE.stem]
    stored = {s.search_text for s in synced.index.all_sections()}
    counting = CountingEmbedder(embedder)
    report = synced.runtime(counting).sync()
    assert report.changed == [NEWER_PAGE.stem]
    assert report.unchanged == 1
    assert not (report.added)
    assert not (report.removed)
    after = synced.index.episodes()[NEWER_PAGE.stem]
    assert after.content_hash != before.content_hash
    assert after.section_count > before.section_count
    # Only the changed episode's new sections (and its card) were embedded: not the unchanged
    # episode, nor the sections of the changed page whose text stayed the same.
    new = [s.search_text for s in synced.index.all_sections() if s.search_text not in stored]
    assert new
    assert sorted(counting.texts) == sorted([*new, after.card])
    assert (synced.settings.episodes_dir / NEWER_PAGE.name).read_bytes() == changed[f"_podcast/{NEWER_PAGE.name}"]


def test_a_removed_page_leaves_the_folder_and_the_index(synced, embedder):
    pages = {k: v for k, v in synced.pages.items() if OLDER_PAGE.name not in k and "christopherbergh" not in k}
    synced.publish(pages)
    report = synced.runtime(embedder).sync()
    assert report.removed == [OLDER_PAGE.stem]
    assert report.unchanged == 1
    assert report.people_updated == 1
    assert not (synced.settings.episodes_dir / OLDER_PAGE.name).exists()
    assert not (synced.settings.sync_people_dir / "christopherbergh.md").exists()
    index = synced.index
    assert set(index.episodes()) == {NEWER_PAGE.stem}
    assert {s.episode_id for s in index.all_sections()} == {NEWER_PAGE.stem}


def test_a_renamed_page_is_reported_as_renamed(synced, embedder, capsys):
    old = f"_podcast/{NEWER_PAGE.name}"
    pages = {("_podcast/finops-renamed.md" if k == old else k): v for k, v in synced.pages.items()}
    synced.publish(pages)
    before = synced.index.episodes()[NEWER_PAGE.stem]
    report = synced.runtime(embedder).sync()
    assert report.renamed == [(NEWER_PAGE.stem, "finops-renamed")]
    assert not (report.added)
    assert not (report.removed)
    assert "1 renamed" in report.summary()
    episodes = synced.index.episodes()
    assert set(episodes) == {OLDER_PAGE.stem, "finops-renamed"}
    assert episodes["finops-renamed"].content_hash == before.content_hash
    assert sorted(p.name for p in synced.settings.episodes_dir.iterdir()) == ["finops-renamed.md", OLDER_PAGE.name]


def _corrupt(archive: bytes) -> bytes:
    middle = len(archive) // 2
    return archive[:middle] + bytes(b ^ 0xFF for b in archive[middle : middle + 64]) + archive[middle + 64 :]


HUGE = b"---\ntranscript:\n- line: " + b"a" * (5 << 20) + b"\n---\n"
FAILURES = {
    "404": (lambda site: setattr(site.server, "status", 404), "HTTP 404 Not Found"),
    "500": (lambda site: setattr(site.server, "status", 500), "HTTP 500 Internal Server Error"),
    "timeout": (lambda site: setattr(site.server, "delay", 4.0), "no answer within 1 s"),
    "truncated archive": (
        lambda site: setattr(site.server, "archive", site.server.archive[: len(site.server.archive) // 2]),
        "the archive ends early (a truncated download?)",
    ),
    "connection cut": (
        lambda site: setattr(site.server, "cut_at", len(site.server.archive) // 2),
        "the download failed (peer closed connection without sending complete message body",
    ),
    "corrupt archive": (lambda site: setattr(site.server, "archive", _corrupt(site.server.archive)), "is corrupt"),
    "not an archive": (
        lambda site: setattr(site.server, "archive", b"<!doctype html><p>Sign in</p>"),
        "not a gzip-compressed tar archive",
    ),
    "entry with ../": (
        lambda site: site.publish({**site.pages, "_podcast/../../../escaped.md": b"---\ntranscript: []\n---\n"}),
        "the archive has an entry outside its folder ('datatalksclub.github.io-main/_podcast/../../..",
    ),
    "symlink entry": (
        lambda site: site.publish(site.pages, links={"_podcast/passwords.md": "/etc/passwd"}),
        "_podcast/passwords.md is a symbolic link; only regular files are accepted",
    ),
    "oversized entry": (
        lambda site: site.publish({**site.pages, "_podcast/huge.md": HUGE}),
        "_podcast/huge.md is 5.0 MB, over the limit of 5 MB for one page",
    ),
    "no episodes": (
        lambda site: site.publish({k: v for k, v in site.pages.items() if k.startswith("_people")}),
        "no episode pages with a transcript (_podcast/*.md) in it; refusing to empty the episodes folder",
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_download_leaves_files_and_index_untouched(synced, failure, capsys):
    # The site has changed (a new commit with a longer episode), but the download goes wrong.
    synced.publish(dict(synced.pages, **{f"_podcast/{NEWER_PAGE.name}": cut_episode(NEWER_PAGE, items=20).encode()}))
    before = synced.snapshot()
    make_it_fail, message = FAILURES[failure]
    make_it_fail(synced)
    assert main(["sync"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert message in err
    assert err.rstrip().endswith("; the episodes and the index are unchanged")
    assert synced.server.url in err
    assert synced.snapshot() == before
    assert not list(synced.temp.glob("podcast-bot-sync-*"))
    assert not list(synced.settings.episodes_dir.parent.rglob("*.part"))


def test_a_second_sync_at_the_same_time_is_refused(synced, capsys):
    with exclusive(synced.settings.episodes_dir):
        assert main(["sync"]) == 1
    assert f"another sync is updating {synced.settings.episodes_dir}" in capsys.readouterr().err


def test_a_local_checkout_or_archive_works_offline(site, embedder, tmp_path):
    checkout = tmp_path / "checkout"
    for path, data in site.pages.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_bytes(data)
    (checkout / "_podcast" / "_template.md").write_text("---\ntitle: TITLE\ntranscript: []\n---\n")
    (checkout / "_podcast" / "announced.md").write_text("---\ntitle: Coming soon\n---\n")
    (checkout / "index.md").write_text("the rest of the site is ignored")
    runtime = site.runtime(CountingEmbedder(embedder))
    first = runtime.sync(str(checkout))
    assert len(first.added) == 2
    assert not first.failed
    assert first.commit is None
    assert sorted(p.name for p in site.settings.episodes_dir.iterdir()) == sorted([OLDER_PAGE.name, NEWER_PAGE.name])
    assert runtime.sync(str(checkout)).up_to_date

    (checkout / "_podcast" / "link.md").symlink_to(checkout / "_podcast" / NEWER_PAGE.name)
    before = site.snapshot()
    with pytest.raises(SyncError, match=r"_podcast/link\.md is a symbolic link"):
        runtime.sync(str(checkout))
    assert site.snapshot() == before

    archive = tmp_path / "site.tar.gz"
    archive.write_bytes(github_archive(site.pages, "c" * 40))
    assert runtime.sync(str(archive)).commit == "c" * 40
    assert runtime.sync(str(archive)).up_to_date
    assert not list(site.temp.glob("podcast-bot-sync-*"))

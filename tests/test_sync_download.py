"""How `podcast-bot sync` downloads: deadlines kept by the clock against a server that trickles,
and what it says about odd answers and odd sources. Hermetic: the site is a small archive of the
bundled episode, served by a local server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.local_services import ArchiveServer, github_archive
from bot.cli.main import main
from tests.support.corpus import BUNDLED, cut_episode


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArchiveServer]:
    """The site on a local server, and the settings pointing at it (per-operation timeout 2 s)."""
    pages = {f"_podcast/{BUNDLED.name}": cut_episode(BUNDLED).encode()}
    with ArchiveServer(github_archive(pages, "c" * 40)) as archive_server:
        monkeypatch.setenv("PODCAST_BOT_SOURCE", archive_server.url)
        monkeypatch.setenv("PODCAST_BOT_EPISODES", str(tmp_path / "site" / "episodes"))
        monkeypatch.setenv("PODCAST_BOT_INDEX", str(tmp_path / "index"))
        monkeypatch.setenv("PODCAST_BOT_SYNC_TIMEOUT", "2")
        yield archive_server


def failed_sync(capsys: pytest.CaptureFixture[str]) -> tuple[str, float]:
    """Run `podcast-bot sync`, which must fail with one line; that line and how long it took."""
    started = time.monotonic()
    assert main(["sync"]) == 1
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err, seconds


def test_a_server_trickling_the_archive_is_given_up_at_the_download_deadline(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PODCAST_BOT_SYNC_DEADLINE", "4")
    server.trickle = 1.0  # one byte a second: no single read ever waits the 2 s timeout
    err, seconds = failed_sync(capsys)
    assert "the download took longer than 4 s; the episodes and the index are unchanged" in err
    assert 3.5 < seconds < 6.5
    assert not (tmp_path / "site" / "episodes").exists()


def test_a_server_trickling_its_headers_is_given_up_at_the_timeout(server, tmp_path, capsys):
    server.trickle, server.trickle_headers = 1.0, True
    err, seconds = failed_sync(capsys)
    assert f"{server.url}: no answer within 2 s" in err
    assert 1.5 < seconds < 4.5
    assert not (tmp_path / "site" / "episodes").exists()

"""How `podcast-bot sync` downloads: deadlines kept by the clock against a server that trickles,
and what it says about odd answers and odd sources. Hermetic: the site is a small archive of the
bundled episode, served by a local server on 127.0.0.1."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.support.archive_server import ArchiveServer, github_archive
from tests.support.corpus import BUNDLED, cut_episode


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArchiveServer]:
    """The site on a local server, and the settings pointing at it (per-operation timeout 2 s);
    the index, folders and state in the test's own folder."""
    pages = {f"_podcast/{BUNDLED.name}": cut_episode(BUNDLED).encode()}
    with ArchiveServer(github_archive(pages, "c" * 40)) as archive_server:
        monkeypatch.setenv("PODCAST_BOT_SOURCE", archive_server.url)
        monkeypatch.setenv("PODCAST_BOT_EPISODES", str(tmp_path / "site" / "episodes"))
        monkeypatch.setenv("PODCAST_BOT_INDEX", str(tmp_path / "index"))
        monkeypatch.setenv("PODCAST_BOT_STATE", str(tmp_path / "state.sqlite3"))
        monkeypatch.setenv("PODCAST_BOT_SYNC_TIMEOUT", "2")
        yield archive_server


def failed_sync(capsys: pytest.CaptureFixture[str]) -> tuple[str, float]:
    """Run `podcast-bot sync`, which must fail with one line; that line and how long it took."""
    started = time.monotonic()
    assert main(["sync"]) == 1
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "Traceback" not in err
    return err, seconds


@pytest.mark.slow
def test_a_server_trickling_the_archive_is_given_up_at_the_download_deadline(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PODCAST_BOT_SYNC_DEADLINE", "4")
    server.trickle = 1.0  # one byte a second: no single read ever waits the 2 s timeout
    err, seconds = failed_sync(capsys)
    assert "the download took longer than 4 s; the episodes and the index are unchanged" in err
    assert 3.5 < seconds < 6.5
    assert not (tmp_path / "site" / "episodes").exists()


@pytest.mark.slow
def test_a_server_trickling_its_headers_is_given_up_at_the_timeout(server, tmp_path, capsys):
    server.trickle, server.trickle_headers = 1.0, True
    err, seconds = failed_sync(capsys)
    assert f"{server.url}: no answer within 2 s" in err
    assert 1.5 < seconds < 4.5
    assert not (tmp_path / "site" / "episodes").exists()


def test_a_304_to_a_request_that_named_no_version_is_an_error_not_up_to_date(server, capsys):
    server.status = 304
    err, _ = failed_sync(capsys)
    assert "HTTP 304 Not Modified to a request that named no version" in err
    assert "if-none-match" not in server.requests[-1]


def test_a_password_in_the_source_url_is_never_shown(server, monkeypatch, capsys):
    source = server.url.replace("http://", "http://alice:s3cret-pw@")
    monkeypatch.setenv("PODCAST_BOT_SOURCE", source)
    server.status = 404
    assert main(["sync", "-v"]) == 1  # -v: every log line, the HTTP requests' included
    assert main(["doctor"]) in (0, 1)
    out, err = capsys.readouterr()
    assert "s3cret-pw" not in out + err
    assert f"error: {server.url.replace('http://', 'http://alice:***@')}: HTTP 404 Not Found" in err
    assert "alice:***@" in out  # doctor shows which source, masked
    assert server.requests[-1]["authorization"].startswith("Basic ")  # the password still goes to the server


def test_a_named_pipe_as_source_is_called_one(server, tmp_path, monkeypatch, capsys):
    fifo = tmp_path / "site.tar.gz"
    os.mkfifo(fifo)
    monkeypatch.setenv("PODCAST_BOT_SOURCE", str(fifo))
    err, _ = failed_sync(capsys)
    assert f"{fifo}: is a named pipe (FIFO), not a file or folder" in err
    assert "no such file" not in err


def test_an_archive_followed_by_garbage_is_called_corrupt(server, tmp_path, monkeypatch, capsys):
    archive = tmp_path / "site.tar.gz"
    archive.write_bytes(server.archive + b"<html>this is not gzip data</html>")
    monkeypatch.setenv("PODCAST_BOT_SOURCE", str(archive))
    err, _ = failed_sync(capsys)
    assert f"{archive}: the archive is corrupt: its gzip data is followed by trailing garbage" in err
    assert "not a gzip-compressed" not in err

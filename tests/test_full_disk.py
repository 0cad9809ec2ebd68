"""A full or read-only disk under the index or the state store: every write fails at once with one
line saying so ("disk is full"), nothing hangs, and what was stored before stays usable.

The disks are real: a small tmpfs mounted for the test, filled to its last block or remounted
read-only. Commands run in subprocesses, as a user runs them, so a hang would show as a timeout."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from bot.state import StateUnavailableError
from bot.state.sqlite import SqliteStateStore
from retrieval.disk_space import MB
from tests.support.archive_server import github_archive
from tests.support.cli import cli, python
from tests.support.cli import run as run_command
from tests.support.corpus import distinct_copy, small_episode
from tests.support.disk import fill, remount, small_disk

pytestmark = pytest.mark.slow  # each command runs in a subprocess

QUESTION = "How did DataTalks.Club start?"


# `podcast-bot` as if another process filled the disk right after each check for room: the write
# itself then meets the full disk.
UNCHECKED = """
import sys
import retrieval.index.store
retrieval.index.store.ensure_room = lambda *args, **kwargs: None
from bot.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run(
    *args: str, env: dict[str, str] | None = None, checked: bool = True
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`podcast-bot ARGS` in a fresh process; its result and how long it took."""
    started = time.monotonic()
    done = run_command(cli(*args) if checked else python(UNCHECKED, *args), env=env)
    return done, time.monotonic() - started


def searchable(index: Path) -> set[str]:
    """The episodes a search of `index` finds."""
    done, _ = run("search", QUESTION, "--index", str(index), "--json")
    assert done.returncode == 0, done.stderr
    return {moment["episode_id"] for moment in json.loads(done.stdout)["moments"]}


def error_lines(done: subprocess.CompletedProcess[str]) -> int:
    return sum(line.startswith("error: ") for line in done.stderr.splitlines())


def assert_refused_at_once(done: subprocess.CompletedProcess[str], seconds: float, reason: str) -> None:
    assert done.returncode != 0, (done.returncode, seconds, done.stderr[-2000:])
    assert seconds < 10, (done.returncode, seconds, done.stderr[-2000:])
    assert reason in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]


def test_ingest_and_sync_on_a_full_disk_stop_within_seconds_and_the_index_stays_usable(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    small_episode(first, "s01e01-first.md")
    distinct_copy(small_episode(tmp_path, "source.md"), second, "s01e02-second.md", "second")
    archive = tmp_path / "site.tar.gz"
    pages = {f"_podcast/{path.name}": path.read_bytes() for path in [*first.iterdir(), *second.iterdir()]}
    archive.write_bytes(github_archive(pages, "c" * 40))
    with small_disk(tmp_path / "disk", megabytes=48) as disk:
        index = disk / "index"
        done, _ = run("ingest", str(first), "--index", str(index))
        assert done.returncode == 0, done.stderr
        # Nearly full: the index still opens and answers, but has no room for another episode.
        fill(disk, leave=4 * MB)

        done, seconds = run("ingest", str(second), "--index", str(index))
        assert_refused_at_once(done, seconds, "the disk is full")
        assert "what was stored before is intact" in done.stderr
        env = {"PODCAST_BOT_SOURCE": str(archive), "PODCAST_BOT_EPISODES": str(tmp_path / "site" / "episodes")}
        done, seconds = run("sync", "--index", str(index), env=env)
        assert_refused_at_once(done, seconds, "the disk is full")
        assert error_lines(done) == 1
        assert searchable(index) == {"s01e01-first"}

        # Full to the last block, the index cannot even be opened: said at once, too.
        fill(disk)
        done, seconds = run("ingest", str(second), "--index", str(index))
        assert_refused_at_once(done, seconds, "the disk is full")

        # Nothing was damaged: with room again the index takes the new episode.
        (disk / "filler").unlink()
        done, _ = run("ingest", str(second), "--index", str(index))
        assert done.returncode == 0, done.stderr
        assert searchable(index) == {"s01e01-first", "s01e02-second"}


def test_a_disk_filled_between_the_check_and_the_write_still_ends_the_ingest_at_the_first_failure(tmp_path):
    """Chroma's first failure may not say "disk is full" ("Failed to apply logs to the metadata
    segment"); carrying on to the next episode is what used to hang, after a few more failures."""
    first, more = tmp_path / "first", tmp_path / "more"
    small_episode(first, "s01e01-first.md")
    source = small_episode(tmp_path, "source.md", items=20)
    for n in range(2, 14):  # before, the writes after about the eighth failure never returned
        distinct_copy(source, more, f"s01e{n:02d}-more.md", f"more{n}")
    with small_disk(tmp_path / "disk", megabytes=48) as disk:
        index = disk / "index"
        done, _ = run("ingest", str(first), "--index", str(index))
        assert done.returncode == 0, done.stderr
        fill(disk, leave=64 << 10)
        done, seconds = run("ingest", str(more), "--index", str(index), checked=False)
        assert done.returncode != 0, (seconds, done.stderr[-2000:])
        assert seconds < 30, (seconds, done.stderr[-2000:])
        assert error_lines(done) == 1, done.stderr
        assert "the disk is full" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        (disk / "filler").unlink()
        assert "s01e01-first" in searchable(index)


def test_ingest_on_a_read_only_disk_stops_at_once(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    small_episode(first, "s01e01-first.md")
    distinct_copy(small_episode(tmp_path, "source.md"), second, "s01e02-second.md", "second")
    with small_disk(tmp_path / "disk", megabytes=48) as disk:
        index = disk / "index"
        done, _ = run("ingest", str(first), "--index", str(index))
        assert done.returncode == 0, done.stderr
        remount(disk, read_only=True)
        done, seconds = run("ingest", str(second), "--index", str(index))
        assert_refused_at_once(done, seconds, "read-only")
        assert error_lines(done) == 1
        remount(disk, read_only=False)
        assert searchable(index) == {"s01e01-first"}


def claim_many(store: SqliteStateStore) -> None:
    """Claim keys until the store fails: SQLite may fit a few rows in pages it already has."""
    for n in range(2, 200):
        store.claim(f"event-{n}-" + "x" * 2000)


def test_the_state_store_on_a_full_or_read_only_disk_fails_at_once_saying_so(tmp_path):
    with small_disk(tmp_path / "disk", megabytes=4) as disk:
        store = SqliteStateStore(disk / "state" / "bot-state.sqlite3")
        try:
            assert store.claim("event-1")
            fill(disk)
            started = time.monotonic()
            with pytest.raises(StateUnavailableError, match="disk is full"):
                claim_many(store)
            assert time.monotonic() - started < 2
            assert not store.claim("event-1")  # what was stored before is still there
        finally:
            store.close()
        (disk / "filler").unlink()
        remount(disk, read_only=True)
        started = time.monotonic()
        with pytest.raises(StateUnavailableError, match="the disk is read-only"):
            SqliteStateStore(disk / "state" / "bot-state.sqlite3").close()
        assert time.monotonic() - started < 2

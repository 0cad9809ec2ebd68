"""The serving process while its index is built or synced in the background: it answers at once,
says "still loading" (Slack) and reports progress (`/healthz`) while building, keeps answering from
the current index while a sync runs, and binds its port within seconds even with an empty index."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.config import Settings, SyncConfig
from bot.runtime import Runtime
from retrieval.index.store import SectionIndex
from tests.support.archive_server import ArchiveServer, github_archive, site_pages
from tests.support.cli import cli, start
from tests.support.corpus import EPISODES, NEWER, PEOPLE, cut_episode, needs_shared
from tests.support.embedder import WrappedEmbedder
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import Health, free_port, health, wait_for_health, wait_until
from tests.support.slack import SECRET, SlackHarness, settings_for

# Every test serves with the real model while its index is built or synced.
pytestmark = [needs_shared, pytest.mark.slow]

COMMUNITY = NEWER / "datatalksclub-building-scaling-data-community.md"
DATAOPS = EPISODES / "s18e09-dataops-observability-and-cure-for-data-team-blues.md"
QUESTION = "What does a principal data scientist do at OLX?"
LOADING = "I'm still loading the episodes (0 of 2); please ask again in a minute."


class GatedEmbedder(WrappedEmbedder):
    """The real model, but the background sync's embedding waits until the test opens the gate
    (answers embed their quotes' sentences meanwhile, as they would during a real sync)."""

    def __init__(self, embedder: Any):
        super().__init__(embedder)
        self.waiting = threading.Event()
        self.gate = threading.Event()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if threading.current_thread().name == "index-keeper":
            self.waiting.set()
            assert self.gate.wait(60), "the test never opened the gate"
        return super().embed_documents(texts)


def pages(items: int = 20) -> dict[str, bytes]:
    episodes = {COMMUNITY.name: cut_episode(COMMUNITY, items), DATAOPS.name: cut_episode(DATAOPS)}
    return site_pages(episodes, [PEOPLE / "alexeygrigorev.md", PEOPLE / "christopherbergh.md"])


@pytest.fixture
def archive() -> Iterator[ArchiveServer]:
    with ArchiveServer(github_archive(pages(), "a" * 40)) as server:
        yield server


def serving_settings(fake: FakeSlack, archive: ArchiveServer, tmp_path: Path) -> Settings:
    settings = settings_for(fake, tmp_path / "index", tmp_path / "state.sqlite3", rate_limit_per_minute=100)
    return replace(settings, episodes=tmp_path / "episodes", sync=SyncConfig(source=archive.url, every=3600, timeout=5))


def answer_text(fake: FakeSlack, count: int) -> str:
    return json.dumps(fake.wait_for("chat.update", count=count)[count - 1]["args"]["blocks"], ensure_ascii=False)


def health_ok(url: str) -> Health:
    """One /healthz answer, which must be a 200."""
    probe = health(url)
    assert probe is not None
    assert probe.status == 200
    return probe


def test_questions_get_a_loading_message_while_an_empty_index_is_built(fake, archive, tmp_path, embedder):
    gated = GatedEmbedder(embedder)
    harness = SlackHarness(fake, Runtime(serving_settings(fake, archive, tmp_path), embedder=gated))
    try:
        assert gated.waiting.wait(30), "the background sync never started embedding"
        probe = health_ok(harness.url)
        assert probe.body["status"] == "building"
        assert probe.body["episodes"] == 0
        assert probe.body["episodes_total"] == 2
        assert probe.seconds < 1.0

        harness.mention(QUESTION, "EvLoading")
        assert fake.wait_for("chat.postMessage")[0]["args"]["text"] == LOADING
        harness.command(QUESTION)
        reply = fake.wait_for("response_url")[0]["args"]
        assert reply["text"] == LOADING
        assert reply["response_type"] == "ephemeral"
        assert fake.calls_to("chat.update") == []  # no answer was attempted from a half-built index
    finally:
        gated.gate.set()
    ready = wait_for_health(harness.url, lambda answer: answer.body["status"] == "ok").body
    assert ready["episodes"] == 2
    assert ready["sections"] > 5
    assert ready["synced_commit"] == "a" * 40

    harness.mention(QUESTION, "EvReady", ts="1700000002.000100")
    answer = answer_text(fake, 1)
    harness.close()
    assert "Alexey Grigorev on Scaling and Growing the Community" in answer
    assert "*Sources*" in answer


def test_answers_keep_coming_from_the_current_index_while_a_sync_runs(fake, archive, tmp_path, embedder):
    settings = serving_settings(fake, archive, tmp_path)
    assert len(Runtime(settings, embedder=embedder).sync().added) == 2
    archive.archive = github_archive(pages(items=24), "b" * 40)  # the site changed since
    gated = GatedEmbedder(embedder)
    harness = SlackHarness(fake, Runtime(settings, embedder=gated))
    try:
        assert gated.waiting.wait(30), "the background sync never started embedding the changed episode"
        current = health_ok(harness.url).body
        assert current["status"] == "ok"
        assert current["episodes"] == 2
        assert current["synced_commit"] == "a" * 40
        harness.mention(QUESTION, "EvDuringSync")
        answer = answer_text(fake, 1)
        assert "Alexey Grigorev on Scaling and Growing the Community" in answer
        assert "*Sources*" in answer
    finally:
        gated.gate.set()
    wait_for_health(harness.url, lambda answer: answer.body.get("synced_commit") == "b" * 40)
    harness.close()
    index = SectionIndex(settings.store, embedder.model_id)
    assert index.info()["synced_commit"] == "b" * 40
    assert len(index.episodes()) == 2


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PODCAST_BOT_INDEX": str(tmp_path / "index"),
        "PODCAST_BOT_EPISODES": str(tmp_path / "site" / "episodes"),
        "TMPDIR": str(tmp_path / "tmp"),
        **extra,
    }


def test_serve_http_binds_and_answers_healthz_at_once_while_an_empty_index_is_built(fake, tmp_path):
    # Eight whole episodes of both formats: a build that takes far longer than the start-up.
    episodes = [*sorted(EPISODES.glob("s0*.md"))[:6], COMMUNITY, NEWER / "finops-for-data-engineers.md"]
    site = site_pages({path.name: path.read_bytes() for path in episodes}, sorted(PEOPLE.glob("*.md")))
    (tmp_path / "tmp").mkdir()
    origin = f"http://127.0.0.1:{free_port()}"
    env = _environment(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        PODCAST_BOT_STATE=str(tmp_path / "state.sqlite3"),
        PODCAST_BOT_SYNC_EVERY="6h",
    )
    with ArchiveServer(github_archive(site, "c" * 40)) as archive:
        env["PODCAST_BOT_SOURCE"] = archive.url
        server = start(cli("serve", "--http", "--port", origin.rsplit(":", 1)[1]), env=env, cwd=tmp_path)
        try:
            first = wait_for_health(origin, lambda answer: True, timeout=10).body  # any answer, within 10 s of start
            assert first["status"] in {"starting", "downloading", "building"}
            assert first["episodes"] < len(episodes)
            building = wait_for_health(origin, lambda answer: answer.body["status"] == "building", timeout=60).body
            assert building["episodes_total"] == len(episodes)
            assert building["episodes"] < len(episodes)
            ready = wait_for_health(origin, lambda answer: answer.body["status"] == "ok", timeout=600).body
            assert ready["episodes"] == len(episodes)
            assert ready["synced_commit"] == "c" * 40
        finally:
            server.send_signal(signal.SIGTERM)
            _, err = server.communicate(timeout=60)
    assert f"synced (commit {'c' * 12}): {len(episodes)} added" in err
    assert "Traceback" not in err


def test_a_scheduler_process_syncs_every_period_and_stops_cleanly(tmp_path):
    (tmp_path / "tmp").mkdir()
    with ArchiveServer(github_archive(pages(items=14), "d" * 40)) as archive:
        process = start(
            cli("sync", "--every", "1s"),
            env=_environment(tmp_path, PODCAST_BOT_SOURCE=archive.url),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        archive.status = 500  # a failing run is reported, and the next one still happens
        try:
            wait_until(lambda: archive.statuses.count(500) >= 2, timeout=30, what="two failing runs")
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
    assert lines[0].startswith(f"synced (commit {'d' * 12}): 2 added")
    assert lines[1].startswith("already up to date")
    assert archive.statuses[:2] == [200, 304]
    assert archive.statuses.count(500) >= 2
    assert "HTTP 500 Internal Server Error; the episodes and the index are unchanged" in err
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "tmp").glob("podcast-bot-sync-*"))

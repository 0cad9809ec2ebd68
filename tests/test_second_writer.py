"""A second process ingesting into the embedded index a server is answering from (issue 19): while it
writes, questions are told the episodes are being updated and `/healthz` says the index is being
updated; once it has finished, every question is answered from the new index, without a restart."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from bot.runtime import UPDATING
from tests.support.cli import cli, start
from tests.support.corpus import BUNDLED, distinct_copy
from tests.support.serve import ServedApp

QUESTION = "How did DataTalks.Club start?"


def ask(app: ServedApp, count: int) -> str:
    """Ask /ask once more (the `count`th time); what was posted back, as text."""
    status, _, _ = app.client.command(QUESTION)
    assert status == 200
    return json.dumps(app.client.fake.wait_for("response_url", count=count, timeout=30)[count - 1]["args"])


@pytest.mark.slow
def test_a_server_answers_again_after_another_process_ingested_into_its_index(fake, bundled_index_dir, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(bundled_index_dir, index)
    new = [distinct_copy(BUNDLED, tmp_path / "new", f"s99e0{n}-copy-{n}.md", f"marker{n}") for n in (1, 2)]
    app = ServedApp(
        fake,
        tmp_path,
        {
            "PODCAST_BOT_INDEX": str(index),
            "PODCAST_BOT_STATE": str(tmp_path / "state.sqlite3"),
            "PODCAST_BOT_EPISODES": str(tmp_path / "episodes"),
            "PODCAST_BOT_RATE_LIMIT": "0",
        },
    )
    try:
        assert app.wait_until()["episodes"] == 1
        asked = 1
        assert "Sources" in ask(app, asked)

        writer = start(cli("ingest", "--index", str(index), *map(str, new)))
        during: list[str] = []
        health: list[dict] = []
        while writer.poll() is None:
            asked += 1
            during.append(ask(app, asked))
            health.append(app.health() or {})
            time.sleep(0.2)
        assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""

        assert during, "the ingest finished before any question was asked"
        for reply in during:  # answered from the old index, or told to come back: never a failure
            assert "Sources" in reply or UPDATING in reply, reply
        for body in health:
            assert body.get("status") == "ok" or "being updated by another process" in body.get("error", ""), body

        after = app.wait_until(lambda body: body["status"] == "ok" and body["episodes"] == 3, timeout=60)
        assert after["episodes"] == 3
        for _ in range(3):
            asked += 1
            reply = ask(app, asked)
            assert "Sources" in reply, reply
            assert UPDATING not in reply, reply
    finally:
        log = app.stop()
    assert "Traceback" not in log, log

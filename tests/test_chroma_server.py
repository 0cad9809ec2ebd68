"""Server mode: every command and the Slack app against a real `chroma run`, and its failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.runtime import Runtime
from retrieval.corpus.episodes import parse_episode_file
from retrieval.errors import IndexUnavailableError
from retrieval.index.embedding import Embedder
from retrieval.index.ingest import ingest, prepare
from retrieval.index.store import SectionIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import SearchConfig, StoreConfig
from tests.support.chroma_server import ChromaServer
from tests.support.cli import cli, run, start
from tests.support.corpus import BUNDLED, distinct_copy, small_episode
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import Health, wait_for_health
from tests.support.slack import SlackHarness, settings_for

# Every test here starts a real `chroma run` server.
pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "chroma-data").start()
    for key, value in chroma.env.items():
        monkeypatch.setenv(key, value)
    yield chroma
    chroma.stop()


def health_until(url: str, status: int) -> Health:
    """Poll /healthz (from its cache, checked every 2 s) until it answers `status`."""
    return wait_for_health(url, lambda answer: answer.status == status, timeout=15)


def server_store(chroma: ChromaServer) -> StoreConfig:
    return StoreConfig(chroma_host="127.0.0.1", chroma_port=chroma.port)


def test_ingest_search_ask_and_eval_use_the_server(server, tmp_path, capsys):
    folder = tmp_path / "episodes"
    small_episode(folder, "s07e01-small.md", items=30)
    embedded = tmp_path / "embedded-index"
    assert main(["ingest", str(folder), "--index", str(embedded)]) == 0
    assert "1 episodes ingested" in capsys.readouterr().out
    assert not embedded.exists()  # the server holds the index, not a local folder

    assert main(["search", "How did Alexey move from Java to machine learning?", "--json"]) == 0
    moments = json.loads(capsys.readouterr().out)["moments"]
    assert moments
    assert moments[0]["episode_id"] == "s07e01-small"

    assert main(["ask", "How did Alexey get into machine learning from Java?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["mode"] == "offline"
    assert answer["sources"][0]["url"].startswith("https://www.youtube.com/watch?v=IxTyq96juVE")

    questions = tmp_path / "questions.yaml"
    questions.write_text(
        yaml.safe_dump(
            [
                {
                    "id": "q1",
                    "question": "How did Alexey move from Java to machine learning?",
                    "episode": "s07e01-small.md",
                    "answer_sec": 86,
                },
                {"id": "q2", "question": "What are salaries like in Tokyo?", "episode": None, "answer_sec": None},
            ]
        )
    )
    assert main(["eval", str(questions), "--episodes", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["retrievers"]["hybrid"]["hit@5"] == 1.0
    assert report["retrievers"]["hybrid"]["refusal_accuracy"] == 1.0


def test_an_unreachable_server_is_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", "9")
    assert main(["ingest", str(small_episode(tmp_path, "small.md"))]) == 1
    assert main(["search", "anything"]) == 1
    err = capsys.readouterr().err
    assert err.count("cannot reach the Chroma server at 127.0.0.1:9") == 2
    assert "Traceback" not in err


def test_keyword_index_follows_an_ingest_by_another_process(server, tmp_path, embedder):
    folder = tmp_path / "episodes"
    index = SectionIndex(server_store(server), embedder.model_id)
    ingest([small_episode(folder, "s07e01-small.md")], index, embedder)
    searcher = Searcher(index, embedder, replace(SearchConfig(), refresh_seconds=0))
    assert {m.section.episode_id for m in searcher.search("grilling him", per_episode=0).moments} == {"s07e01-small"}

    result = run(cli("ingest", str(small_episode(tmp_path / "more", "s42e01-other.md"))), env=server.env, timeout=300)
    assert result.returncode == 0, result.stderr
    found = {m.section.episode_id for m in searcher.search("grilling him", k=10, per_episode=0).moments}
    assert found == {"s07e01-small", "s42e01-other"}


def test_server_killed_mid_ingest_then_rerun_completes_without_duplicates(server, tmp_path, embedder):
    folder = tmp_path / "episodes"
    names = ["s01e01-a.md", "s02e01-b.md", "s03e01-c.md"]
    for name in names:
        distinct_copy(BUNDLED, folder, name, name[:6])
    process = start(cli("ingest", str(folder), "-v"), env=server.env)
    assert process.stderr is not None
    for line in process.stderr:
        if "ingested s01e01-a" in line:
            break
    server.stop(kill=True)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert f"127.0.0.1:{server.port}" in err
    assert "Traceback" not in err

    server.start()
    rerun = run(cli("ingest", str(folder)), env=server.env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    index = SectionIndex(server_store(server), embedder.model_id)
    ids = [s.id for s in index.all_sections()]
    assert len(ids) == len(set(ids))
    counts = dict.fromkeys((Path(n).stem for n in names), 0)
    for section in index.all_sections():
        counts[section.episode_id] += 1
    assert counts == {Path(n).stem: len(prepare(parse_episode_file(folder / n), {})) for n in names}
    assert set(index.episodes()) == set(counts)


def ingest_small_episode(server: ChromaServer, tmp_path: Path, embedder: Embedder) -> None:
    ingest(
        [small_episode(tmp_path / "episodes", "s07e01-small.md", items=30)],
        SectionIndex(server_store(server), embedder.model_id),
        embedder,
    )


def test_slack_app_apologises_while_the_server_is_down_and_recovers(server, tmp_path, embedder):
    ingest_small_episode(server, tmp_path, embedder)
    with FakeSlack() as fake:
        settings = replace(
            settings_for(fake, tmp_path / "unused", tmp_path / "state.sqlite3"), store=server_store(server)
        )
        harness = SlackHarness(fake, Runtime(settings, embedder=embedder))
        question = "How did Alexey move from Java to machine learning?"
        harness.mention(question, "Ev1", ts="1.1")
        assert "Sorry" not in fake.wait_for("chat.update", 1)[0]["args"]["text"]

        server.stop(kill=True)
        harness.mention(question, "Ev2", ts="2.2")
        assert "Sorry, something went wrong" in fake.wait_for("chat.update", 2)[1]["args"]["text"]
        body = health_until(harness.url, 503).body
        assert body["status"] == "unavailable"
        assert str(server.port) in body["error"]

        server.start()
        harness.mention(question, "Ev3", ts="3.3")
        recovered = fake.wait_for("chat.update", 3)[2]["args"]
        body = health_until(harness.url, 200).body
        harness.close()
    assert "Sorry" not in recovered["text"]
    assert "youtube.com" in json.dumps(recovered["blocks"])
    assert body["episodes"] == 1
    assert body["sections"] > 0


# Shorter than Chroma's own (10 s): the apology must not wait for it. Long enough that the first,
# unfrozen answer makes it on a loaded machine (3 s did not, now and then).
DEADLINE = 6.0


def test_a_frozen_server_never_stalls_healthz_or_acks_and_questions_get_an_apology_in_time(server, tmp_path, embedder):
    ingest_small_episode(server, tmp_path, embedder)
    with FakeSlack() as fake:
        settings = settings_for(fake, tmp_path / "unused", tmp_path / "state.sqlite3", answer_deadline=DEADLINE)
        runtime = Runtime(replace(settings, store=server_store(server)), embedder=embedder)
        runtime.warm_up()  # as a serving process is
        harness = SlackHarness(fake, runtime)
        question = "How did Alexey move from Java to machine learning?"
        harness.mention(question, "Ev1", ts="1.1")
        assert "Sorry" not in fake.wait_for("chat.update", 1)[0]["args"]["text"]
        health_until(harness.url, 200)

        server.pause()  # SIGSTOP: the port stays open, nothing answers
        try:
            frozen = health_until(harness.url, 503)
            body, slowest = frozen.body, frozen.seconds
            assert slowest < 1.0
            assert body["status"] == "unavailable"
            assert "has not answered" in body["error"]
            assert set(body) == {"status", "index", "error", "state"}
            assert body["state"] == "ok"
            started = time.monotonic()
            status, _, ack_seconds = harness.mention(question, "Ev2", ts="2.2")
            apology = fake.wait_for("chat.update", 2, timeout=2 * DEADLINE)[1]["args"]
            apologised_after = time.monotonic() - started
        finally:
            server.resume()
        assert status == 200
        assert ack_seconds < 1.0
        assert "Sorry, something went wrong" in apology["text"]
        assert DEADLINE <= apologised_after < DEADLINE + 2.0

        health_until(harness.url, 200)
        harness.mention(question, "Ev3", ts="3.3")
        recovered = fake.wait_for("chat.update", 3, timeout=30)[2]["args"]
        harness.close()
    assert "Sorry" not in recovered["text"]
    assert "youtube.com" in json.dumps(recovered["blocks"])


def test_a_stalled_server_fails_fast_and_is_used_again_once_it_answers(server, tmp_path, embedder):
    ingest(
        [small_episode(tmp_path / "episodes", "s07e01-small.md")],
        SectionIndex(server_store(server), embedder.model_id),
        embedder,
    )
    store = replace(server_store(server), chroma_timeout=1.0)
    searcher = Searcher(SectionIndex(store, embedder.model_id), embedder, replace(SearchConfig(), refresh_seconds=0))
    assert searcher.search("how did the community start").moments
    server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(IndexUnavailableError, match=f"127.0.0.1:{server.port}"):
            searcher.search("how did the community start")
        assert time.monotonic() - started < 5.0  # the 1 s deadline, not forever
        with pytest.raises(IndexUnavailableError, match=f"127.0.0.1:{server.port}"):
            SectionIndex(store, embedder.model_id)
    finally:
        server.resume()
    assert searcher.search("how did the community start").moments

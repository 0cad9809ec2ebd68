"""The Slack app and its state store, as users and operators see them: each event and each command
answered once across processes, one rate limit for all of them, acks that never wait on the
database, and start-up that says clearly when the database cannot be reached."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.config import StateConfig
from bot.slack.blocks import THINKING
from bot.state import open_state
from tests.support.cli import cli, run
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import free_port
from tests.support.serve import ServedApp, serve_all
from tests.support.slack import QUESTION, SlackClient, make_harness
from tests.support.sqlite_lock import SqliteLock

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
QUESTIONS = (
    QUESTION,
    "How did Alexey start DataTalks.Club?",
    "What does Alexey do to prepare a podcast episode?",
    "How much time does running the community take?",
)


def placeholders(fake: FakeSlack) -> Counter[str]:
    """How many answers were started per thread: each answer to a mention first posts a placeholder there."""
    return Counter(
        call["args"].get("thread_ts", "")
        for call in fake.calls_to("chat.postMessage")
        if call["args"].get("text") == THINKING
    )


def feedback_buttons(update: dict) -> bool:
    return any(block["type"] == "context_actions" for block in update["args"].get("blocks", []))


# In-process -----------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def test_a_replayed_signed_ask_is_acked_but_answered_once(fake, bundled_index_dir, tmp_path, embedder, request, store):
    state = StateConfig(database_url=request.getfixturevalue("postgres_url")) if store == "postgres" else None
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder, state=state, rate_limit_per_minute=100)
    body, timestamp = harness.command_body(QUESTION), int(time.time())
    replies = [harness.post(body, "application/x-www-form-urlencoded", timestamp=timestamp) for _ in range(3)]
    assert all(status == 200 and "Looking it up" in json.loads(ack)["text"] for status, ack, _ in replies)
    harness.command(QUESTIONS[1])  # the same user asking again is a new command, with a trigger id of its own
    harness.idle()
    harness.close()
    asked = sorted(call["args"]["blocks"][0]["elements"][0]["text"] for call in fake.calls_to("response_url"))
    assert asked == sorted(f"<@U1> asked: {question}" for question in (QUESTION, QUESTIONS[1]))


def feedback_value(update: dict, vote: str = "up") -> str:
    (buttons,) = next(b for b in update["args"]["blocks"] if b["type"] == "context_actions")["elements"]
    value: str = buttons["positive_button" if vote == "up" else "negative_button"]["value"]
    return value


def test_a_vote_after_the_sqlite_folder_was_deleted_is_stored_or_honestly_refused(
    fake, bundled_index_dir, tmp_path, embedder, caplog
):
    folder = tmp_path / "state"
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder, state=StateConfig(path=folder / "bot.sqlite3"))
    try:
        harness.mention(QUESTION, "EvBefore", ts="1700000001.000100")
        before = feedback_value(fake.wait_for("chat.update")[0])
        harness.idle()
        shutil.rmtree(folder)  # an operator's mistake, or a platform's cleanup, while serving

        harness.click("feedback", before)
        said = fake.wait_for("response_url")[0]["args"]["text"]
        assert "Thanks" not in said
        assert "couldn't save your feedback" in said
        assert any(r.levelname == "ERROR" and "deleted" in r.getMessage() for r in caplog.records)

        # The store was made again: a new answer's vote is stored, and it is in the file on disk.
        harness.mention(QUESTIONS[1], "EvAfter", ts="1700000002.000100")
        after = feedback_value(fake.wait_for("chat.update", 2)[1])
        harness.click("feedback", after)
        assert "Thanks for the feedback" in fake.wait_for("response_url", 2)[1]["args"]["text"]
        harness.idle()
    finally:
        harness.close()
    reopened = open_state(StateConfig(path=folder / "bot.sqlite3"))
    try:
        assert [(vote.question, vote.vote) for vote in reopened.feedback()] == [(QUESTIONS[1], "up")]
    finally:
        reopened.close()


@pytest.mark.slow
def test_a_sqlite_file_locked_by_another_process_delays_no_ack(fake, bundled_index_dir, tmp_path, embedder):
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder, rate_limit_per_minute=100)
    harness.mention(QUESTION, "EvWarm", ts="1700000001.000001")  # loads the model and the index
    assert feedback_buttons(fake.wait_for("chat.update")[0])
    lock = SqliteLock(tmp_path / "state.sqlite3")
    lock.take()
    try:
        status, _, seconds = harness.mention(QUESTION, "EvLocked", ts="1700000002.000002")
        assert status == 200
        assert seconds < 0.2, f"the ack took {seconds:.3f} s"
        answered = fake.wait_for("chat.update", 2)[1]
        assert "DataTalks.Club Behind the Scenes" in json.dumps(answered["args"]["blocks"])
        assert not feedback_buttons(answered), "votes could not be stored, so none are asked for"
        status, _, seconds = harness.mention(QUESTION, "EvLocked", ts="1700000002.000002", headers=RETRY)
        assert status == 200
        assert seconds < 0.2
        harness.idle()
        assert harness.state.problem
        assert "locked" in harness.state.problem
    finally:
        lock.release()
    assert harness.state.wait_until_available(timeout=30)
    harness.mention(QUESTION, "EvLocked", ts="1700000002.000002", headers=RETRY)
    harness.mention(QUESTION, "EvAfter", ts="1700000003.000003")
    assert feedback_buttons(fake.wait_for("chat.update", 3)[2])
    harness.idle()
    harness.close()
    assert placeholders(fake) == {"1700000001.000001": 1, "1700000002.000002": 1, "1700000003.000003": 1}


# Two `podcast-bot serve --http` processes, like two dynos ----------------------------------------


def mention_ts(n: int) -> str:
    return f"1700001000.{n:06d}"


Delivery = tuple[SlackClient, str, int, bool]  # to whom, event id, event number, as a Slack retry


def with_retries(first: ServedApp, second: ServedApp, prefix: str, numbers: range) -> list[Delivery]:
    """Event n (id `prefix`n, in channel Cn, thread `mention_ts(n)`) to `first`, and its Slack retry to `second`."""
    return [
        delivery
        for n in numbers
        for delivery in ((first.client, f"{prefix}{n:03d}", n, False), (second.client, f"{prefix}{n:03d}", n, True))
    ]


def deliver(deliveries: list[Delivery]) -> list[tuple[int, float]]:
    """Send all at once (10 at a time); the status and seconds of each ack."""

    def send(delivery: Delivery) -> tuple[int, float]:
        client, event_id, n, retry = delivery
        question = QUESTIONS[n % len(QUESTIONS)]
        status, _, seconds = client.mention(
            question, event_id, ts=mention_ts(n), channel=f"C{n:03d}", user=f"U{n:03d}", headers=RETRY if retry else {}
        )
        return status, seconds

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(send, deliveries))


def assert_acked_in_time(results: list[tuple[int, float]], limit: float = 2.5) -> None:
    """Every request acked with 200 within `limit` seconds (Slack allows 3)."""
    assert [status for status, _ in results] == [200] * len(results)
    slowest = max(seconds for _, seconds in results)
    assert slowest < limit, f"the slowest ack took {slowest:.2f} s"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("store", "answers_per_event"),
    [("one PostgreSQL database", 1), ("a SQLite file each", 2)],
)
def test_two_processes_answer_each_event_once_when_they_share_postgres(
    fake, bundled_index_dir, tmp_path, request, store, answers_per_event
):
    base = {"PODCAST_BOT_INDEX": str(bundled_index_dir), "PODCAST_BOT_RATE_LIMIT": "0"}
    if store == "one PostgreSQL database":
        url = request.getfixturevalue("postgres_url")
        states = [url, url]
    else:
        states = [str(tmp_path / "a" / "state.sqlite3"), str(tmp_path / "b" / "state.sqlite3")]
    first, second = serve_all(fake, tmp_path, [{**base, "PODCAST_BOT_STATE": state} for state in states])
    try:
        assert_acked_in_time(deliver(with_retries(first, second, "EvTwo", range(50))))
        fake.wait_for("chat.update", 50 * answers_per_event, timeout=180)
    finally:
        logs = [first.stop(), second.stop()]  # a graceful stop finishes every answer started
    assert placeholders(fake) == {mention_ts(n): answers_per_event for n in range(50)}
    assert len(fake.calls_to("chat.update")) == 50 * answers_per_event
    assert not any("Traceback" in log for log in logs)


@pytest.mark.slow
def test_the_rate_limit_is_shared_by_two_processes(fake, bundled_index_dir, tmp_path, postgres_url):
    env = {
        "PODCAST_BOT_INDEX": str(bundled_index_dir),
        "PODCAST_BOT_RATE_LIMIT": "3",
        "PODCAST_BOT_STATE": postgres_url,
    }
    first, second = serve_all(fake, tmp_path, [env, env])
    try:
        for n in range(8):
            client = (first, second)[n % 2].client
            assert client.mention(QUESTION, f"EvRate{n}", ts=mention_ts(n))[0] == 200
            fake.wait_for("chat.postMessage", n + 1, timeout=60)  # a placeholder or a refusal
    finally:
        first.stop()
        second.stop()
    posted = [call["args"]["text"] for call in fake.calls_to("chat.postMessage")]
    assert posted.count(THINKING) == 3
    assert len(fake.calls_to("chat.update")) == 3
    assert sum("up to 3 questions a minute" in text for text in posted) == 5


@pytest.mark.slow
def test_a_database_outage_keeps_acks_fast_and_answers_once_per_process(
    fake, bundled_index_dir, tmp_path, own_postgres
):
    url = own_postgres.create_database("outage")
    env = {"PODCAST_BOT_INDEX": str(bundled_index_dir), "PODCAST_BOT_RATE_LIMIT": "0", "PODCAST_BOT_STATE": url}
    first, second = serve_all(fake, tmp_path, [env, env])
    healthy, during, only_first, after = range(0, 8), range(8, 16), range(16, 20), range(20, 28)
    try:
        assert_acked_in_time(deliver(with_retries(first, second, "EvUp", healthy)))
        fake.wait_for("chat.update", 8, timeout=120)

        own_postgres.stop()
        # Each event to the first process and its retry to the second, then its retry to the first again;
        # and events that only the first process sees.
        retried_here = [(first.client, f"EvDown{n:03d}", n, True) for n in during]
        seen_once = [(first.client, f"EvOnlyFirst{n:03d}", n, False) for n in only_first]
        results = deliver(with_retries(first, second, "EvDown", during)) + deliver(retried_here + seen_once)
        assert_acked_in_time(results, limit=1.0)
        fake.wait_for("chat.update", 8 + 2 * 8 + 4, timeout=120)
        for app in (first, second):
            assert "PostgreSQL at 127.0.0.1" in app.wait_until(lambda body: body["state"] != "ok")["state"]

        own_postgres.start()
        for app in (first, second):
            app.wait_until(lambda body: body["state"] == "ok", timeout=60)
        # Retries that reach the process that never saw these events: the first one's claims were written back.
        results = deliver([(second.client, f"EvOnlyFirst{n:03d}", n, True) for n in only_first])
        results += deliver(with_retries(first, second, "EvBack", after))
        assert_acked_in_time(results)
        fake.wait_for("chat.update", 8 + 2 * 8 + 4 + 8, timeout=120)
    finally:
        logs = [first.stop(), second.stop()]
    expected = {mention_ts(n): 1 for n in (*healthy, *only_first, *after)} | {mention_ts(n): 2 for n in during}
    assert placeholders(fake) == expected
    assert len(fake.calls_to("chat.update")) == sum(expected.values())
    for log in logs:
        assert log.count("the state store is unavailable (PostgreSQL at 127.0.0.1") == 1
        assert "the state store is available again" in log
        assert "Traceback" not in log
        assert own_postgres.password not in log


# Start-up ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", ["podcast-bot serve --http", "gunicorn with the Procfile's hooks"])
def test_an_unreachable_database_stops_start_up_with_one_line_and_exit_code_2(
    fake, bundled_index_dir, tmp_path, command
):
    port, nothing_there = free_port(), free_port()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "PODCAST_BOT_INDEX": str(bundled_index_dir),
        "DATABASE_URL": f"postgres://bot:s3cret-pw@127.0.0.1:{nothing_there}/podcast",
    }
    if command.startswith("podcast-bot"):
        argv = cli("serve", "--http", "--port", str(port))
    else:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:bot.slack.gunicorn_hooks",
            "--bind",
            f"127.0.0.1:{port}",
        ]
        argv += [
            "--worker-class",
            "bot.slack.gunicorn_worker.RequestBufferingWorker",
            "bot.slack.wsgi:create_wsgi_app()",
        ]
    done = run(argv, env=env, cwd=tmp_path)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1
    assert errors[0].startswith(f"error: PostgreSQL at 127.0.0.1:{nothing_there}, database podcast: ")
    assert "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr
    assert "Booting worker" not in done.stderr

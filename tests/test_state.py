"""The state stores, SQLite and PostgreSQL, held to the same tests: each test opens two stores on one
database, as two processes (or two machines) would."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.config import StateConfig
from bot.exit_codes import exit_code
from bot.state import FeedbackVote, StateStore, StateUnavailableError, open_state
from bot.state.memory import InProcessState
from bot.state.postgres import PostgresStateStore
from bot.state.sql import SqlStateStore
from bot.state.sqlite import SqliteStateStore
from tests.support.answers import answer
from tests.support.http import free_port

T0 = 1_700_000_000.0


class Clock:
    """A settable clock shared by the stores of a test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def backend(request, tmp_path) -> str:
    """Where the stores of a test keep their state: a SQLite file path or a PostgreSQL URL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stores(backend: str, clock: Clock) -> Iterator[Callable[[], SqlStateStore]]:
    """Opens stores on the test's database (each like another process); closes them after the test."""
    opened: list[SqlStateStore] = []

    def open_one() -> SqlStateStore:
        store: SqlStateStore = (
            PostgresStateStore(backend, clock=clock)
            if backend.startswith("postgresql://")
            else SqliteStateStore(Path(backend), clock=clock)
        )
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def test_a_key_is_claimed_once_by_any_process(stores):
    first, second = stores(), stores()
    assert first.claim("event:Ev1") is True
    assert second.claim("event:Ev1") is False
    assert first.claim("event:Ev1") is False
    assert second.claim("ask:1.2.3") is True
    assert first.claim("event:Ev2") is True


def test_concurrent_claims_of_one_key_have_one_winner(stores):
    first, second = stores(), stores()
    keys = [f"event:Race{n}" for n in range(20)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        wins = list(pool.map(lambda job: job[0].claim(job[1]), [(s, k) for k in keys for s in (first, second)]))
    assert sum(wins) == len(keys)


def test_a_claim_is_remembered_for_an_hour(stores, clock):
    first, second = stores(), stores()
    assert first.claim("event:Old")
    clock.now += 3599
    assert not second.claim("event:Old")
    clock.now += 2
    assert second.claim("event:Old")
    assert not first.claim("event:Old")


def test_the_rate_limit_counts_every_process_over_a_sliding_minute(stores, clock):
    first, second = stores(), stores()
    assert [first.allow_question("U1", 3), second.allow_question("U1", 3), first.allow_question("U1", 3)] == [True] * 3
    clock.now += 30
    assert not second.allow_question("U1", 3)
    assert not first.allow_question("U1", 3)
    assert second.allow_question("U2", 3), "another user has a limit of their own"
    clock.now += 30  # the first three questions are a minute old now
    assert second.allow_question("U1", 3)
    assert all(first.allow_question("U1", 0) for _ in range(10)), "0 means no limit"


def test_concurrent_questions_never_exceed_the_limit(stores):
    first, second = stores(), stores()
    start = threading.Barrier(8)

    def ask(store: StateStore) -> bool:
        start.wait()
        return store.allow_question("U1", 3)

    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(ask, [first, second] * 4))
    assert sum(allowed) == 3


def test_feedback_is_kept_with_question_answer_and_sources_oldest_first(stores, clock):
    first, second = stores(), stores()
    asked = first.record_answer(answer(), "U1", "C1")
    other = second.record_answer(answer("Who sponsors it?", "Sponsors pay [1]."), "U2", "D9")
    assert first.record_feedback(asked, "U3", "up")
    assert second.record_feedback(other, "U3", "down")
    clock.now += 10
    assert second.record_feedback(asked, "U4", "down")
    clock.now += 10
    assert first.record_feedback(asked, "U3", "down"), "a changed vote replaces the first one"
    assert not first.record_feedback("no-such-answer", "U3", "up")

    votes = second.feedback()
    assert [(v.answer_id, v.user_id, v.vote, v.created_at) for v in votes] == [
        (other, "U3", "down", T0),
        (asked, "U4", "down", T0 + 10),
        (asked, "U3", "down", T0 + 20),
    ]
    assert votes[1] == FeedbackVote(
        answer_id=asked,
        question="How did DataTalks.Club start?",
        answer="It started as a Slack [1].",
        mode="llm",
        sources=[
            {
                "number": 1,
                "episode_id": "s07e01-datatalksclub-behind-the-scenes",
                "episode_title": "DataTalks.Club Behind the Scenes",
                "speaker": "Alexey",
                "start_sec": 613,
                "url": "https://www.youtube.com/watch?v=IxTyq96juVE&t=613s",
                "header": "How it started",
                "quote": "We started with a Slack community.",
                "asks": False,
                "page": "",
            }
        ],
        channel="C1",
        user_id="U4",
        vote="down",
        created_at=T0 + 10,
    )
    assert [v.user_id for v in first.feedback(since=T0 + 10)] == ["U4", "U3"]
    assert first.feedback(since=T0 + 21) == []


def test_streaming_support_is_remembered_per_team(stores):
    first, second = stores(), stores()
    assert first.streaming_supported("T1") is None
    first.remember_streaming("T1", True)
    assert second.streaming_supported("T1") is True
    assert second.streaming_supported("T2") is None
    second.remember_streaming("T1", False)
    assert first.streaming_supported("T1") is False


def test_check_names_the_store_and_its_schema_version(backend, stores):
    report = stores().check()
    assert report.endswith("schema version 2")
    if backend.startswith("postgresql://"):
        password = backend.split(":")[2].split("@")[0]
        assert report.startswith("PostgreSQL at 127.0.0.1:")
        assert password not in report
    else:
        assert report == f"SQLite file {backend}, schema version 2"


def test_stores_starting_at_once_migrate_the_schema_once(backend, stores):
    start = threading.Barrier(4)

    def open_at_once(_: int) -> SqlStateStore:
        start.wait()
        return stores()

    with ThreadPoolExecutor(max_workers=4) as pool:
        opened = list(pool.map(open_at_once, range(4)))
    assert opened[0].claim("event:AfterStartUp")
    assert not opened[3].claim("event:AfterStartUp")
    with opened[1]._connected(patient=True) as db:
        assert [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()] == [
            1,
            2,
        ]


# The schema of the releases before migrations, as they created it.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS questions (user_id TEXT NOT NULL, asked_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS questions_by_user ON questions (user_id, asked_at);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, user_id TEXT, channel TEXT,
    question TEXT NOT NULL, answer TEXT NOT NULL, mode TEXT NOT NULL, sources TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers (id), user_id TEXT NOT NULL, vote TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (answer_id, user_id)
);
"""


def test_a_sqlite_file_of_an_older_release_is_migrated_and_keeps_its_data(tmp_path, clock):
    path = tmp_path / "bot-state.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(OLD_SCHEMA)
        old.execute("INSERT INTO events VALUES ('EvBefore', ?)", (T0,))
        old.execute(
            "INSERT INTO answers VALUES ('a1', ?, 'U1', 'C1', 'How did it start?', 'As a Slack [1].', 'llm', ?)",
            (T0, '[{"number": 1, "url": "https://www.youtube.com/watch?v=IxTyq96juVE&t=613s"}]'),
        )
        old.execute("INSERT INTO feedback VALUES ('a1', 'U2', 'up', ?)", (T0,))
    old.close()

    store = SqliteStateStore(path, clock=clock)
    assert store.check().endswith("schema version 2")
    assert not store.claim("event:EvBefore"), "a retry of an event answered before the upgrade is still known"
    assert store.claim("event:EvAfter")
    (vote,) = store.feedback()
    assert (vote.answer_id, vote.question, vote.vote, vote.user_id) == ("a1", "How did it start?", "up", "U2")
    assert vote.sources == [{"number": 1, "url": "https://www.youtube.com/watch?v=IxTyq96juVE&t=613s"}]
    assert store.record_feedback("a1", "U3", "down")
    store.close()
    reopened = SqliteStateStore(path, clock=clock)
    assert len(reopened.feedback()) == 2
    assert not reopened.claim("event:EvAfter")
    reopened.close()


def test_an_unreachable_postgres_is_named_without_its_password():
    port = free_port()  # nothing listens there
    config = StateConfig(database_url=f"postgresql://bot:s3cret-pw@127.0.0.1:{port}/podcast")
    with pytest.raises(StateUnavailableError) as raised:
        open_state(config)
    message = str(raised.value)
    assert message.startswith(f"PostgreSQL at 127.0.0.1:{port}, database podcast: ")
    assert "refused" in message
    assert "s3cret" not in message
    assert exit_code(raised.value) == 2


@pytest.mark.slow
def test_a_wrong_postgres_password_is_reported_but_not_shown(postgres_server):
    url = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(StateUnavailableError, match="password authentication failed") as raised:
        open_state(StateConfig(database_url=url))
    assert "not-the-password" not in str(raised.value)


def test_a_sqlite_file_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StateUnavailableError, match=f"SQLite file {blocker}/state.sqlite3: cannot create its folder"):
        open_state(StateConfig(path=blocker / "state.sqlite3"))


def test_in_process_claims_are_bounded_and_expire():
    now = [0.0]
    memory = InProcessState(max_claims=3, clock=lambda: now[0])
    assert all(memory.claim(f"k{n}") for n in range(4))
    assert memory.claim("k0"), "the oldest of more than max_claims keys is forgotten"
    assert not memory.claim("k3")
    now[0] += 3601
    assert memory.claim("k3")
    assert [memory.allow_question("U1", 2) for _ in range(3)] == [True, True, False]
    now[0] += 60
    assert memory.allow_question("U1", 2)

"""ResilientState over a real store that goes away: a SQLite file locked by another process, a
PostgreSQL server that is stopped. Claims and rate limits carry on in memory, fast; the store is
used again by itself once it is back, and learns the claims made meanwhile."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.state import ResilientState, StateUnavailableError
from bot.state.postgres import POOL_WAIT, PostgresStateStore
from bot.state.sql import QUICK_TIMEOUT, SqlStateStore
from bot.state.sqlite import SqliteStateStore
from tests.support.answers import answer
from tests.support.sqlite_lock import SqliteLock


@dataclass
class Outage:
    """How to open a store on a database, take that database away and bring it back."""

    open_store: Callable[[], SqlStateStore]
    begin: Callable[[], None]
    end: Callable[[], None]
    symptom: str  # what the store's error says during the outage
    noticed_within: float  # seconds the first operation of the outage may take (later ones take none)


@pytest.fixture(params=["sqlite locked", "postgres stopped"])
def outage(request, tmp_path) -> Iterator[Outage]:
    opened: list[SqlStateStore] = []

    def opener(make: Callable[[], SqlStateStore]) -> Callable[[], SqlStateStore]:
        def open_store() -> SqlStateStore:
            opened.append(make())
            return opened[-1]

        return open_store

    if request.param == "sqlite locked":
        path = tmp_path / "state.sqlite3"
        lock = SqliteLock(path)
        yield Outage(opener(lambda: SqliteStateStore(path)), lock.take, lock.release, "locked", QUICK_TIMEOUT + 0.1)
        lock.release()
    else:
        server = request.getfixturevalue("own_postgres")
        url = server.create_database("outage")
        yield Outage(
            opener(lambda: PostgresStateStore(url)),
            server.stop,
            server.start,
            f"PostgreSQL at 127.0.0.1:{server.port}",
            POOL_WAIT + 0.5,
        )
    for store in opened:
        store.close()


def state_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.state.resilient"]


@pytest.mark.slow
def test_an_outage_is_ridden_out_in_memory_and_the_store_is_used_again_when_back(outage, caplog):
    caplog.set_level(logging.WARNING)
    state = ResilientState(outage.open_store(), retry_seconds=0.2)
    elsewhere = outage.open_store()  # another process on the same database
    assert state.claim("event:Before")
    assert state.problem is None

    outage.begin()
    started = time.perf_counter()
    assert state.claim("event:During") is True
    first_claim = time.perf_counter() - started
    assert first_claim < outage.noticed_within, f"the first claim in the outage took {first_claim:.3f} s"
    assert outage.symptom in (state.problem or "")
    started = time.perf_counter()
    assert not state.claim("event:During"), "this process remembers its claims"
    assert not state.claim("event:Before"), "this process remembers its claims"
    assert [state.allow_question("U1", 2) for _ in range(3)] == [True, True, False]
    assert time.perf_counter() - started < 0.05, "known to be down, the store is not waited on"
    with pytest.raises(StateUnavailableError):
        state.record_answer(answer(), "U1", "C1")
    state.remember_streaming("T1", True)
    assert state.streaming_supported("T1") is True
    (warning,) = state_warnings(caplog)
    assert warning.startswith("the state store is unavailable")
    assert outage.symptom in warning

    outage.end()
    assert state.wait_until_available(timeout=30), f"still unavailable: {state.problem}"
    assert state.problem is None
    assert not elsewhere.claim("event:During"), "the claim made during the outage reached the store"
    assert elsewhere.claim("event:After")
    assert not state.claim("event:After")
    assert state.allow_question("U2", 1)
    assert not elsewhere.allow_question("U2", 1)
    assert state.record_answer(answer(), "U1", "C1")
    assert state_warnings(caplog)[-1] == "the state store is available again; claims made meanwhile written to it: 1"
    state.close()


@pytest.mark.slow
def test_while_down_a_warning_is_logged_at_most_once_a_minute(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    now = [1000.0]
    path = tmp_path / "state.sqlite3"
    state = ResilientState(SqliteStateStore(path), retry_seconds=600, clock=lambda: now[0])
    lock = SqliteLock(path)
    lock.take()
    try:
        for n in range(20):
            state.claim(f"event:E{n}")
            now[0] += 2.9
        assert len(state_warnings(caplog)) == 1  # 58 s of outage
        now[0] += 2.9
        state.claim("event:Late")
        assert state_warnings(caplog)[1].startswith("the state store is still unavailable: SQLite file")
    finally:
        lock.release()
        state.close()


@pytest.mark.slow
def test_a_locked_sqlite_file_costs_a_claim_about_100_ms_not_seconds(tmp_path: Path):
    path = tmp_path / "state.sqlite3"
    state = ResilientState(SqliteStateStore(path))
    lock = SqliteLock(path)
    lock.take()
    try:
        started = time.perf_counter()
        assert state.claim("event:Locked")
        assert time.perf_counter() - started < 0.2
    finally:
        lock.release()
        state.close()


@pytest.mark.slow
def test_a_postgres_restart_between_requests_goes_unnoticed(own_postgres, caplog):
    caplog.set_level(logging.WARNING)
    url = own_postgres.create_database("restart")
    state = ResilientState(PostgresStateStore(url))
    assert state.claim("event:Before")
    own_postgres.stop()
    own_postgres.start()  # every pooled connection is broken now
    started = time.perf_counter()
    assert state.claim("event:After")
    assert time.perf_counter() - started < POOL_WAIT, "broken connections were replaced at once"
    assert state.problem is None
    assert state_warnings(caplog) == []
    other = PostgresStateStore(url)
    assert not other.claim("event:After")
    assert not other.claim("event:Before")
    other.close()
    state.close()

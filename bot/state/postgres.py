"""The shared state store: one PostgreSQL database for every process on every machine.

A small connection pool serves the app. On each pooled connection the server gives up on a
statement or a lock after QUICK_TIMEOUT (`statement_timeout`, `lock_timeout`). Waiting for a free
connection is queueing inside this process, which CPU load stretches, so it may take up to
POOL_WAIT before the database counts as unavailable (none of it delays an ack: acks never touch
the store). Rate limits serialize per user with a transaction-scoped advisory lock; migrations
with another one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from bot.state.sql import PATIENT_TIMEOUT, QUICK_TIMEOUT, Cursor, SqlStateStore

POOL_SIZE = 4
POOL_WAIT = 1.0  # seconds; also how soon a database that went away is noticed
# The pool backs off between reconnection attempts (1 s, 2 s, 4 s…); giving up on one after a few
# seconds means the next request starts a fresh attempt, so the app is back soon after the database.
RECONNECT_SECONDS = 5.0
CONNECT_TIMEOUT = 5  # seconds, for each new connection (libpq counts whole seconds, at least 2)
# Applied unless the URL says otherwise: a lost network is noticed within a few seconds, not minutes.
CONNECTION_DEFAULTS = {
    "application_name": "podcast-bot",
    "connect_timeout": CONNECT_TIMEOUT,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 3000,
}


# The pool warns on every failed reconnection; ResilientState says when the database is away, once a minute.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


class _QmarkConnection:
    """A psycopg connection that takes the `?` placeholders of the shared statements."""

    def __init__(self, connection: psycopg.Connection[Any]):
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self._connection.execute(sql.replace("?", "%s"), params)


class PostgresStateStore(SqlStateStore):
    """State in PostgreSQL: schema migrated at start-up, then served from a pool of up to POOL_SIZE connections."""

    begin_write = "BEGIN"
    lock_statement = "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))"
    # PoolTimeout and the server's lock and statement timeouts are OperationalErrors too.
    unavailable_errors = (psycopg.OperationalError, psycopg.InterfaceError)

    def __init__(self, url: str, clock: Callable[[], float] = time.time):
        super().__init__(clock)
        params = conninfo_to_dict(url)
        options: dict[str, Any] = {**CONNECTION_DEFAULTS, **params}
        self._conninfo = make_conninfo("", **options)
        self._password = str(params.get("password") or "")
        self._where = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
        self._database = str(params.get("dbname") or params.get("user") or "")
        self._pool = ConnectionPool(
            self._conninfo,
            # All open from the start: growing on demand makes the first burst of requests wait.
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            open=False,
            kwargs={"autocommit": True},
            configure=_quick_session,
            check=self._check_connection,
            timeout=POOL_WAIT,
            reconnect_timeout=RECONNECT_SECONDS,
            name="podcast-bot-state",
        )
        self._migrate()  # also the start-up check: its error names the server
        with self._reporting_unavailable():
            self._pool.open(wait=True, timeout=PATIENT_TIMEOUT)

    def _check_connection(self, connection: psycopg.Connection[Any]) -> None:
        """Before each use: a connection broken by a database restart is replaced, not failed with. One
        broken connection means the others are too, so all of them are replaced at once; otherwise the
        pool would back off after the second and the first request after a restart would time out."""
        try:
            ConnectionPool.check_connection(connection)
        except psycopg.Error:
            self._pool.check()
            raise

    def describe(self) -> str:
        return f"PostgreSQL at {self._where}" + (f", database {self._database}" if self._database else "")

    def _scrub(self, message: str) -> str:
        return message.replace(self._password, "***") if self._password else message

    @contextlib.contextmanager
    def _quick_connection(self) -> Iterator[_QmarkConnection]:
        with self._pool.connection() as connection:
            yield _QmarkConnection(connection)

    @contextlib.contextmanager
    def _patient_connection(self) -> Iterator[_QmarkConnection]:
        with psycopg.connect(self._conninfo, autocommit=True) as connection:
            yield _QmarkConnection(connection)

    def close(self) -> None:
        self._pool.close()


def _quick_session(connection: psycopg.Connection[Any]) -> None:
    """Every pooled connection gives up on a statement, or on waiting for a lock, after QUICK_TIMEOUT."""
    milliseconds = int(QUICK_TIMEOUT * 1000)
    connection.execute(f"SET statement_timeout = {milliseconds}")
    connection.execute(f"SET lock_timeout = {milliseconds}")

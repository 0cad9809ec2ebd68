"""A real PostgreSQL server for tests, or a skip that says why there is none.

The server is `tests.support.postgres_server.PostgresServer` (Debian's binaries; as root it runs as the
`postgres` user): a temporary data folder, a free port on 127.0.0.1, password authentication,
stopped by its process id. One server serves the session and each test gets a fresh database;
a test that stops its server starts its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.support.postgres_server import PostgresServer, postgres_unavailable_reason

_databases = itertools.count(1)


def postgres_or_skip() -> PostgresServer:
    """A started server of its own (the caller stops it), or a skip with the reason."""
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return PostgresServer().start()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = postgres_or_skip()
    yield server
    server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL (with its password) of a new, empty database on the session's server."""
    return postgres_server.create_database(f"test_{next(_databases)}")


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server for this test alone, which it may stop and start again."""
    server = postgres_or_skip()
    yield server
    server.close()

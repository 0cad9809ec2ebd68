"""The embedded state store: one SQLite file, shared by the processes of one machine.

A connection keeps writing into its file after the file was deleted (or replaced): every vote
would then be "stored" where nobody ever reads it. So before each serving operation the store
checks that the file it has open is still the one at its path; if not, it opens the one there,
and creates it again (its folder, WAL mode, the schema) when it is gone, logging an error: what
the old file held (answers, votes) is lost, and a vote for such an answer is refused honestly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.state.sql import PATIENT_TIMEOUT, QUICK_TIMEOUT, SqlStateStore
from bot.state.store import StateUnavailableError
from retrieval import disk_trouble

log = logging.getLogger(__name__)


class SqliteStateStore(SqlStateStore):
    """State in a SQLite file (WAL mode); every thread keeps its own connection."""

    # IMMEDIATE takes the database's write lock at once, so a rate-limit check and its insert are atomic.
    begin_write = "BEGIN IMMEDIATE"
    unavailable_errors = (sqlite3.OperationalError,)

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        super().__init__(clock)
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._create()

    def _create(self) -> None:
        """The folder, the file in WAL mode and its schema, as far as they are missing."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StateUnavailableError(f"{self.describe()}: cannot create its folder ({error})") from None
        self._use_wal()
        self._migrate()

    def _file(self) -> tuple[int, int] | None:
        """Which file is at the path now (device and inode), or None when there is none."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        return status.st_dev, status.st_ino

    def _use_wal(self) -> None:
        """WAL: readers never wait for the writer. The mode is stored in the file, so once is enough.
        Switching needs the file to itself, and SQLite reports "locked" at once (without its busy
        timeout) while another process opens it at the same moment: so retry that, as patiently. Any
        other failure (a read-only folder, a damaged file) is reported at once."""
        deadline = time.monotonic() + PATIENT_TIMEOUT
        while True:
            try:
                with self._connected(patient=True) as db:
                    db.execute("PRAGMA journal_mode=WAL")
                return
            except StateUnavailableError as error:
                busy = getattr(error.__cause__, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    def _trouble(self) -> str | None:
        return disk_trouble(self.path.parent)

    def _open(self, timeout: float) -> sqlite3.Connection:
        # `timeout` is how long a statement waits for another connection's lock before "database is locked".
        connection = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            # Safe if the process dies (WAL); skips an fsync per write, which acks would wait on.
            connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            connection.close()  # a file that cannot be used is not kept open
            raise
        return connection

    @contextlib.contextmanager
    def _quick_connection(self) -> Iterator[sqlite3.Connection]:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._file() != self._local.file:
            self._forget(connection)
            connection = None
        if connection is None:
            with self._connections_lock:  # one thread creates the file again; the others then find it
                if self._file() is None:
                    log.error(
                        "%s was deleted while serving: created it again; the answers and votes it held are lost",
                        self.describe(),
                    )
                    self._create()
            connection = self._open(QUICK_TIMEOUT)
            with self._connections_lock:
                self._connections.append(connection)
            self._local.connection = connection
            self._local.file = self._file()
        yield connection

    def _forget(self, connection: sqlite3.Connection) -> None:
        """Close a connection whose file is no longer at the path."""
        connection.close()
        with self._connections_lock:
            self._connections.remove(connection)

    @contextlib.contextmanager
    def _patient_connection(self) -> Iterator[sqlite3.Connection]:
        connection = self._open(PATIENT_TIMEOUT)
        try:
            yield connection
        finally:
            connection.close()

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

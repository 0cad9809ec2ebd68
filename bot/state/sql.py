"""The state store in SQL, shared by the SQLite and PostgreSQL stores.

Subclasses say how to get a connection, how a write transaction starts and locks, and which driver
errors mean "unavailable"; everything else (the statements, migrations, expiry) is here once.
Statements use `?` placeholders; the PostgreSQL store hands its driver `%s`.

Serving operations (claims, rate limits, answers, feedback, streaming support, the health check)
use a *quick* connection, on which the database gives up after QUICK_TIMEOUT (a lock held
elsewhere, a slow statement), so that a stuck database makes the Slack app fall back rather than
stall. Migrations and reports use a *patient* one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bot.state.migrations import MIGRATIONS, MIGRATIONS_TABLE
from bot.state.store import CLAIM_SECONDS, RATE_WINDOW_SECONDS, FeedbackVote, StateUnavailableError

if TYPE_CHECKING:
    from retrieval import Answer

log = logging.getLogger(__name__)

QUICK_TIMEOUT = 0.1  # seconds a serving operation may wait on the database (a lock, a statement)
PATIENT_TIMEOUT = 10.0  # seconds; start-up may wait for another process's migration
PURGE_SECONDS = 60  # how often one store deletes expired claims and questions

CLAIM = (
    "INSERT INTO claims (key, claimed_at) VALUES (?, ?) ON CONFLICT (key) "
    "DO UPDATE SET claimed_at = excluded.claimed_at WHERE claims.claimed_at < ?"
)
RECORD_FEEDBACK = (
    "INSERT INTO feedback (answer_id, user_id, vote, created_at) SELECT id, ?, ?, ? FROM answers WHERE id = ? "
    "ON CONFLICT (answer_id, user_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at"
)
FEEDBACK = (
    "SELECT f.answer_id, a.question, a.answer, a.mode, a.sources, a.channel, f.user_id, f.vote, f.created_at "
    "FROM feedback f JOIN answers a ON a.id = f.answer_id WHERE f.created_at >= ? "
    "ORDER BY f.created_at, f.answer_id, f.user_id"
)
REMEMBER_STREAMING = (
    "INSERT INTO streaming_support (team_id, supported, checked_at) VALUES (?, ?, ?) ON CONFLICT (team_id) "
    "DO UPDATE SET supported = excluded.supported, checked_at = excluded.checked_at"
)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """One connection, as both drivers offer it: `execute` returns a cursor."""

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor: ...


class SqlStateStore(ABC):
    """A StateStore over a SQL database; the subclass provides connections and the dialect's few differences."""

    # How a write transaction starts, and the statement (if any) that then takes a named lock.
    begin_write: ClassVar[str]
    lock_statement: ClassVar[str | None] = None
    # Driver errors that mean the database cannot be used now (unreachable, locked, too slow).
    unavailable_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._next_purge = 0.0

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for messages ("PostgreSQL at host:5432"); never a password."""

    @abstractmethod
    def _quick_connection(self) -> contextlib.AbstractContextManager[Database]:
        """A connection for one serving operation, on which the database waits at most QUICK_TIMEOUT."""

    @abstractmethod
    def _patient_connection(self) -> contextlib.AbstractContextManager[Database]:
        """A connection for migrations and reports."""

    def _scrub(self, message: str) -> str:
        """`message` without any secret of the connection (subclasses that have one remove it)."""
        return message

    def _trouble(self) -> str | None:
        """What is wrong around the database that its driver's error may not say (a read-only disk)."""
        return None

    @contextlib.contextmanager
    def _reporting_unavailable(self) -> Iterator[None]:
        """Driver errors that mean "unavailable" become StateUnavailableError naming the store."""
        try:
            yield
        except self.unavailable_errors as error:
            reason = self._scrub(" ".join(str(error).split())) or type(error).__name__
            trouble = self._trouble()
            if trouble and trouble.removeprefix("the ") not in reason:
                reason += f" ({trouble})"
            raise StateUnavailableError(f"{self.describe()}: {reason}") from error

    @contextlib.contextmanager
    def _connected(self, patient: bool = False) -> Iterator[Database]:
        with self._reporting_unavailable(), self._patient_connection() if patient else self._quick_connection() as db:
            yield db

    @contextlib.contextmanager
    def _write_transaction(self, db: Database, lock: str) -> Iterator[None]:
        """A transaction that holds the write lock named `lock` (SQLite: the database's) until it ends."""
        db.execute(self.begin_write)
        try:
            if self.lock_statement:
                db.execute(self.lock_statement, (lock,))
            yield
        except BaseException:
            # The connection may be gone; the error that brought us here is the one to report.
            with contextlib.suppress(*self.unavailable_errors):
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self) -> None:
        """Bring the schema to the latest version; concurrent start-ups wait for each other."""
        with self._connected(patient=True) as db, self._write_transaction(db, "podcast-bot schema"):
            db.execute(MIGRATIONS_TABLE)
            applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
            for migration in MIGRATIONS:
                if migration.version in applied:
                    continue
                for statement in migration.statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (migration.version, self._clock()),
                )
                log.info("%s: applied migration %d, %s", self.describe(), migration.version, migration.description)

    # The StateStore operations -----------------------------------------------------------------

    def claim(self, key: str) -> bool:
        now = self._clock()
        with self._connected() as db:
            if now >= self._next_purge:
                self._next_purge = now + PURGE_SECONDS
                db.execute("DELETE FROM claims WHERE claimed_at < ?", (now - CLAIM_SECONDS,))
                db.execute("DELETE FROM questions WHERE asked_at <= ?", (now - RATE_WINDOW_SECONDS,))
            # A key claimed over an hour ago but not yet purged counts as new: the upsert takes it over.
            return db.execute(CLAIM, (key, now, now - CLAIM_SECONDS)).rowcount == 1

    def allow_question(self, user_id: str, per_minute: int) -> bool:
        if per_minute <= 0:
            return True
        now = self._clock()
        with self._connected() as db, self._write_transaction(db, f"questions of {user_id}"):
            db.execute(
                "DELETE FROM questions WHERE user_id = ? AND asked_at <= ?", (user_id, now - RATE_WINDOW_SECONDS)
            )
            (recent,) = db.execute("SELECT COUNT(*) FROM questions WHERE user_id = ?", (user_id,)).fetchone()
            if recent >= per_minute:
                return False
            db.execute("INSERT INTO questions (user_id, asked_at) VALUES (?, ?)", (user_id, now))
            return True

    def record_answer(self, answer: Answer, user_id: str, channel: str) -> str:
        answer_id = uuid.uuid4().hex
        sources = json.dumps([asdict(source) for source in answer.sources], ensure_ascii=False)
        with self._connected() as db:
            db.execute(
                "INSERT INTO answers (id, created_at, user_id, channel, question, answer, mode, sources) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, self._clock(), user_id, channel, answer.question, answer.text, answer.mode, sources),
            )
        return answer_id

    def record_feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        with self._connected() as db:
            return db.execute(RECORD_FEEDBACK, (user_id, vote, self._clock(), answer_id)).rowcount == 1

    def feedback(self, since: float | None = None) -> list[FeedbackVote]:
        with self._connected(patient=True) as db:
            rows = db.execute(FEEDBACK, (since or 0.0,)).fetchall()
        return [
            FeedbackVote(
                answer_id=answer_id,
                question=question,
                answer=answer,
                mode=mode,
                sources=json.loads(sources),
                channel=channel or "",
                user_id=user_id,
                vote=vote,
                created_at=created_at,
            )
            for answer_id, question, answer, mode, sources, channel, user_id, vote, created_at in rows
        ]

    def streaming_supported(self, team_id: str) -> bool | None:
        with self._connected() as db:
            row = db.execute("SELECT supported FROM streaming_support WHERE team_id = ?", (team_id,)).fetchone()
        return None if row is None else bool(row[0])

    def remember_streaming(self, team_id: str, supported: bool) -> None:
        with self._connected() as db:
            db.execute(REMEMBER_STREAMING, (team_id, supported, self._clock()))

    def check(self) -> str:
        # Inside a write transaction: a store that can be read but not written (a locked SQLite
        # file) is not one the app can use.
        with self._connected() as db, self._write_transaction(db, "podcast-bot check"):
            (version,) = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return f"{self.describe()}, schema version {version}"

"""The state schema as numbered migrations, in SQL that SQLite and PostgreSQL both run.

A store applies the ones it has not recorded in `schema_migrations`, in order and in one
transaction, at start-up. Version 1 is the schema podcast-bot shipped before migrations existed
(`CREATE … IF NOT EXISTS`), so files written by those releases simply continue from it.
Never edit a released migration; add the next one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)

MIGRATIONS = (
    Migration(
        1,
        "answered events, questions for rate limits, answers and feedback",
        (
            "CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL)",
            "CREATE TABLE IF NOT EXISTS questions (user_id TEXT NOT NULL, asked_at DOUBLE PRECISION NOT NULL)",
            "CREATE INDEX IF NOT EXISTS questions_by_user ON questions (user_id, asked_at)",
            "CREATE TABLE IF NOT EXISTS answers ("
            " id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, user_id TEXT, channel TEXT,"
            " question TEXT NOT NULL, answer TEXT NOT NULL, mode TEXT NOT NULL, sources TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS feedback ("
            " answer_id TEXT NOT NULL REFERENCES answers (id), user_id TEXT NOT NULL, vote TEXT NOT NULL,"
            " created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (answer_id, user_id))",
        ),
    ),
    Migration(
        2,
        "claims of events and slash commands, streaming support per team",
        (
            "ALTER TABLE events RENAME TO claims",
            "ALTER TABLE claims RENAME COLUMN event_id TO key",
            "ALTER TABLE claims RENAME COLUMN seen_at TO claimed_at",
            # Version 1 stored bare event ids; claims are namespaced now that slash commands have them too.
            "UPDATE claims SET key = 'event:' || key",
            "CREATE INDEX claims_by_time ON claims (claimed_at)",
            "CREATE INDEX feedback_by_time ON feedback (created_at)",
            "CREATE TABLE streaming_support ("
            " team_id TEXT PRIMARY KEY, supported BOOLEAN NOT NULL, checked_at DOUBLE PRECISION NOT NULL)",
        ),
    ),
)

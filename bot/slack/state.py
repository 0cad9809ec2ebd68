"""The Slack app's small durable state in SQLite: answered events, per-user rate limits, feedback.

SQLite rather than process memory so that several gunicorn workers agree: a retried event is
claimed by exactly one worker, and a user's rate limit counts questions across all of them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from retrieval.answering import Answer

SCHEMA = """
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
EVENT_MEMORY_SECONDS = 3600


class BotState:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._connection() as db:
            db.executescript(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: safe if the process dies; skips an fsync per write, which acks wait on.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def claim_event(self, event_id: str) -> bool:
        """True the first time `event_id` is seen (by any process), False for Slack's retries."""
        now = time.time()
        db = self._connection()
        db.execute("DELETE FROM events WHERE seen_at < ?", (now - EVENT_MEMORY_SECONDS,))
        return db.execute("INSERT OR IGNORE INTO events VALUES (?, ?)", (event_id, now)).rowcount == 1

    def allow_question(self, user_id: str, per_minute: int) -> bool:
        """Record a question by `user_id` unless they already asked `per_minute` in the last minute."""
        if per_minute <= 0:
            return True
        now = time.time()
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM questions WHERE asked_at < ?", (now - 60,))
            (recent,) = db.execute("SELECT COUNT(*) FROM questions WHERE user_id = ?", (user_id,)).fetchone()
            if recent >= per_minute:
                return False
            db.execute("INSERT INTO questions VALUES (?, ?)", (user_id, now))
            return True
        finally:
            db.execute("COMMIT")

    def record_answer(self, answer: Answer, user_id: str, channel: str) -> str:
        """Keep what was answered, so feedback on it can be stored with the question and sources."""
        answer_id = uuid.uuid4().hex
        sources = json.dumps([asdict(source) for source in answer.sources], ensure_ascii=False)
        self._connection().execute(
            "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (answer_id, time.time(), user_id, channel, answer.question, answer.text, answer.mode, sources),
        )
        return answer_id

    def record_feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        """Store (or change) a user's vote on an answer; False when the answer is unknown."""
        db = self._connection()
        if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
            return False
        db.execute(
            "INSERT INTO feedback VALUES (?, ?, ?, ?) ON CONFLICT (answer_id, user_id) "
            "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
            (answer_id, user_id, vote, time.time()),
        )
        return True

    def feedback(self) -> list[dict[str, Any]]:
        """Every vote with the question, answer and sources it was about, oldest first."""
        rows = (
            self._connection()
            .execute(
                "SELECT f.vote, f.user_id, f.created_at, a.question, a.answer, a.mode, a.sources, a.channel "
                "FROM feedback f JOIN answers a ON a.id = f.answer_id ORDER BY f.created_at"
            )
            .fetchall()
        )
        keys = ("vote", "user_id", "created_at", "question", "answer", "mode", "sources", "channel")
        return [dict(zip(keys, row, strict=True)) | {"sources": json.loads(row[6])} for row in rows]

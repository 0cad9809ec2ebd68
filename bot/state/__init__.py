"""The bot's state, shared by the Slack app and the CLI (`podcast-bot feedback`, `doctor`): which
deliveries were answered, per-user rate limits, answers and their feedback, and per-team streaming
support.

`open_state` opens the configured store: an embedded SQLite file (one machine) or a PostgreSQL
database (every process on every machine shares it). The Slack app wraps it in `ResilientState`,
which keeps acks fast and the app running while the database is away.
"""

from __future__ import annotations

from bot.config import StateConfig
from bot.state.resilient import ResilientState
from bot.state.store import FeedbackVote, StateStore, StateUnavailableError

__all__ = ["FeedbackVote", "ResilientState", "StateStore", "StateUnavailableError", "open_state"]


def open_state(config: StateConfig) -> StateStore:
    """Connect to the configured store and migrate its schema; StateUnavailableError (naming where,
    never the password) when it cannot be used."""
    if config.database_url:
        from bot.state.postgres import PostgresStateStore  # loads libpq only for those who use it

        return PostgresStateStore(config.database_url)
    from bot.state.sqlite import SqliteStateStore

    return SqliteStateStore(config.path)

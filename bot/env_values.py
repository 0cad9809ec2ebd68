"""Reading one environment variable of each kind (number, flag, URL, choice, channel ids, period):
a malformed value becomes one problem naming the variable and what it must look like, never its
value, so that `bot.config.load_settings` reports every problem at once."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}
CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]+")
DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
SECONDS_PER = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Environment(Mapping[str, str]):
    """The environment being read, and every problem found in it so far: all are reported at once."""

    def __init__(self, variables: Mapping[str, str]):
        self._variables = variables
        self.problems: list[str] = []

    def __getitem__(self, name: str) -> str:
        return self._variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)


def number(
    env: Environment,
    name: str,
    default: float,
    *,
    kind: type = int,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """The number in `name`, else `default`; a malformed or out-of-range value is a problem (and `default`)."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        parsed = kind(value)
    except ValueError:
        parsed = None
    if (
        parsed is None
        or parsed != parsed  # NaN
        or (minimum is not None and parsed < minimum)
        or (maximum is not None and parsed > maximum)
    ):
        what = "a whole number" if kind is int else "a number"
        if minimum is not None and maximum is not None:
            what += f" from {minimum:g} to {maximum:g}"
        elif minimum is not None:
            what += f" of at least {minimum:g}"
        env.problems.append(f"{name} must be {what}")
        return default
    return parsed


def flag(env: Environment, name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in TRUE | FALSE:
        env.problems.append(f"{name} must be true or false (1/0, yes/no, on/off)")
    return value in TRUE


def url(env: Environment, name: str) -> str | None:
    """An http(s) URL, or None when unset."""
    value = env.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        env.problems.append(f"{name} must be an http:// or https:// URL")
        return None
    return value


def choice(env: Environment, name: str, choices: Sequence[str], *, default: str, upper: bool = False) -> str:
    value = env.get(name, "").strip() or default
    if upper:
        value = value.upper()
    if value not in choices:
        env.problems.append(f"{name} must be {' or '.join(choices)}")
        return default
    return value


def channels(env: Environment) -> frozenset[str]:
    found = frozenset(c.strip() for c in env.get("PODCAST_BOT_CHANNELS", "").split(",") if c.strip())
    if any(not CHANNEL_ID.fullmatch(channel) for channel in found):
        env.problems.append("PODCAST_BOT_CHANNELS must be comma-separated channel ids such as C0123ABCD")
    return found


def state_location(env: Environment) -> dict[str, Any]:
    """Where the Slack app's state is, as `StateConfig` fields: PODCAST_BOT_STATE, a SQLite file or a
    postgresql:// URL; unset, DATABASE_URL (as platforms set it); nothing for the default SQLite file."""
    name = "PODCAST_BOT_STATE" if env.get("PODCAST_BOT_STATE") else "DATABASE_URL"
    value = env.get(name, "").strip()
    if not value:
        return {}
    if value.startswith(POSTGRES_SCHEMES):
        try:
            urlsplit(value).port  # noqa: B018 -- reading the port is what checks it
        except ValueError:
            env.problems.append(f"{name} must be a valid postgresql://user:password@host:port/database URL")
            return {}
        return {"database_url": value}
    if name == "DATABASE_URL" or "://" in value:
        env.problems.append(
            f"{name} must be a postgresql:// URL"
            + (" or a SQLite file path" if name == "PODCAST_BOT_STATE" else "; set PODCAST_BOT_STATE to override it")
        )
        return {}
    return {"path": Path(value)}


def period_seconds(text: str) -> float | None:
    """A period such as `90s`, `30m`, `6h`, `1d` or `2w`, in seconds; None when `text` is not one."""
    match = DURATION.fullmatch(text.strip().lower())
    return float(match[1]) * SECONDS_PER[match[2]] if match else None


def parse_every(text: str, name: str = "PODCAST_BOT_SYNC_EVERY") -> float | None:
    """A period such as `6h`, `30m`, `90s` or `1d`, in seconds; None for empty, `0` or `off`. ValueError,
    naming `name`, for anything else."""
    if text.strip().lower() in {"", "0", "off", "never"}:
        return None
    seconds = period_seconds(text)
    if not seconds:
        raise ValueError(f"{name} must be a period such as 6h, 30m or 90s (or off), not {text!r}")
    return seconds


def every(env: Environment) -> float | None:
    try:
        return parse_every(env.get("PODCAST_BOT_SYNC_EVERY", ""))
    except ValueError as error:
        env.problems.append(str(error))
        return None

"""All configuration, read from the environment in one place and passed to the parts that need it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from retrieval.errors import UsageError
from retrieval.front_matter import MAX_FILE_BYTES
from retrieval.settings import DEFAULT_SOURCE, MINILM_MODEL_ID, SearchConfig, StoreConfig

# Defaults are anchored at the project folder, so commands and gunicorn work from any directory.
PROJECT_DIR = Path(__file__).resolve().parent.parent
PROMPTS_DIR = PROJECT_DIR / "prompts"
DATA_DIR = PROJECT_DIR / "data"
DEFAULT_INDEX = DATA_DIR / "index"


class ConfigError(UsageError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class LLMConfig:
    api_key: str | None = None
    base_url: str | None = None
    model: str = "openai:gpt-4o-mini"
    timeout: float = 20.0
    max_retries: int = 1
    temperature: float = 0.0
    streaming: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class StateConfig:
    """Where the Slack app keeps its state: a SQLite file on this machine, or a PostgreSQL database
    that every process and machine shares (`database_url`, which wins when set)."""

    path: Path = DATA_DIR / "bot-state.sqlite3"
    database_url: str | None = field(default=None, repr=False)  # may hold a password

    @property
    def location(self) -> str:
        """The SQLite path, or the database URL with its password masked: safe to log and print."""
        return masked_url(self.database_url) if self.database_url else str(self.path)


def masked_url(url: str) -> str:
    """`url` with any password (in the user part or a `password=` parameter) replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user_part, host_part = netloc.rsplit("@", 1)
        netloc = f"{user_part.split(':', 1)[0]}:***@{host_part}"
    query = urlencode(
        [(key, "***" if key == "password" else value) for key, value in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*",
    )
    return parts._replace(netloc=netloc, query=query).geturl()


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    api_url: str = "https://slack.com/api/"
    ask_visibility: str = "in_channel"
    rate_limit_per_minute: int = 5
    answer_threads: int = 2
    allowed_channels: frozenset[str] = frozenset()
    # Answered events and commands, rate limits, answers and feedback on them.
    state: StateConfig = field(default_factory=StateConfig)

    def require(self, *names: str) -> None:
        """Stop start-up with a clear message when a needed token or secret is absent or malformed."""
        checks = {
            "SLACK_BOT_TOKEN": (self.bot_token, r"xoxb-[\w-]+", "a bot token starting with xoxb-"),
            "SLACK_SIGNING_SECRET": (self.signing_secret, r"[0-9a-fA-F]{16,}", "the app's hex signing secret"),
            "SLACK_APP_TOKEN": (self.app_token, r"xapp-[\w-]+", "an app-level token starting with xapp-"),
        }
        for name in names:
            value, pattern, what = checks[name]
            if not value:
                raise ConfigError(f"{name} is not set; it must be {what} (see README, 'Slack app setup')")
            if not re.fullmatch(pattern, value):
                raise ConfigError(f"{name} is malformed; it must be {what}")


@dataclass(frozen=True)
class SyncConfig:
    # The site's .tar.gz archive (a URL, or a local file) or a local checkout of it.
    source: str = DEFAULT_SOURCE
    # Seconds between syncs run by the serving process (embedded store only); None: it never syncs.
    every: float | None = None
    # Seconds for each network operation of a download (connect, each read).
    timeout: float = 30.0


@dataclass(frozen=True)
class Settings:
    store: StoreConfig = field(default_factory=lambda: StoreConfig(index_dir=DEFAULT_INDEX))
    episodes_dir: Path = DATA_DIR / "episodes"
    # Guest pages (`_people/<slug>.md` on the site): full names and bios. None: look beside the episodes.
    people: Path | None = None
    # A file larger than this is refused before it is parsed (the largest real episode is ~100 KB).
    max_episode_bytes: int = MAX_FILE_BYTES
    prompts_dir: Path = PROMPTS_DIR
    embedding_model: str = MINILM_MODEL_ID
    search: SearchConfig = field(default_factory=SearchConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    log_level: str = "INFO"
    # gunicorn worker processes for `serve --http` (platforms set WEB_CONCURRENCY from the dyno size).
    web_concurrency: int = 1
    # Only the default index fills itself from the bundled episodes on first use; an index the user
    # named (--index, PODCAST_BOT_INDEX, a Chroma server) that is empty is an error saying how to fill it.
    build_on_first_use: bool = False

    @property
    def people_dir(self) -> Path | None:
        """The guest pages folder: as configured, else `people/` or `_people/` beside the episodes folder."""
        if self.people is not None:
            return self.people
        beside = (self.episodes_dir.parent / name for name in ("people", "_people"))
        return next((folder for folder in beside if folder.is_dir()), None)

    @property
    def sync_people_dir(self) -> Path:
        """Where `sync` puts the guest pages: the guest pages folder, or a new `people/` beside the episodes."""
        return self.people_dir or self.episodes_dir.parent / "people"

    def with_index(self, index_dir: str | Path | None) -> Settings:
        if index_dir is None:
            return self
        path = Path(index_dir)
        default = not self.store.is_server and path.resolve() == DEFAULT_INDEX.resolve()
        return replace(self, store=replace(self.store, index_dir=path), build_on_first_use=default)


def _number(env: Mapping[str, str], name: str, default: float, kind: type = int) -> Any:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, not {value!r}") from None


def _bool(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _state(env: Mapping[str, str]) -> StateConfig:
    """PODCAST_BOT_STATE: a SQLite file or a postgresql:// URL; unset, DATABASE_URL (as platforms set it)
    or else the default SQLite file."""
    name = "PODCAST_BOT_STATE" if env.get("PODCAST_BOT_STATE") else "DATABASE_URL"
    value = env.get(name, "").strip()
    if not value:
        return StateConfig()
    if value.startswith(POSTGRES_SCHEMES):
        try:
            urlsplit(value).port  # noqa: B018 -- reading the port is what checks it
        except ValueError as error:
            raise ConfigError(f"{name} is not a valid PostgreSQL URL ({error}): {masked_url(value)}") from None
        return StateConfig(database_url=value)
    if name == "DATABASE_URL" or "://" in value:
        raise ConfigError(
            f"{name} must be a postgresql:// URL"
            + (" or a SQLite file path" if name == "PODCAST_BOT_STATE" else "; set PODCAST_BOT_STATE to override it")
        )
    return StateConfig(path=Path(value))


DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
SECONDS_PER = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str, name: str = "PODCAST_BOT_SYNC_EVERY") -> float | None:
    """A period such as `6h`, `30m`, `90s` or `1d`, in seconds; None for empty, `0` or `off`."""
    value = text.strip().lower()
    if value in {"", "0", "off", "never"}:
        return None
    match = DURATION.fullmatch(value)
    if not match or float(match[1]) <= 0:
        raise ConfigError(f"{name} must be a period such as 6h, 30m or 90s (or off), not {text!r}")
    return float(match[1]) * SECONDS_PER[match[2]]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    headers = {}
    if env.get("CHROMA_AUTH_TOKEN"):
        headers["Authorization"] = f"Bearer {env['CHROMA_AUTH_TOKEN']}"
    store = StoreConfig(
        index_dir=Path(env.get("PODCAST_BOT_INDEX") or DEFAULT_INDEX),
        chroma_host=env.get("CHROMA_HOST") or None,
        chroma_port=_number(env, "CHROMA_PORT", 8000),
        chroma_ssl=_bool(env, "CHROMA_SSL"),
        chroma_headers=headers,
        chroma_timeout=_number(env, "CHROMA_TIMEOUT", StoreConfig.chroma_timeout, float),
    )
    defaults = SearchConfig()
    search = SearchConfig(
        k=_number(env, "PODCAST_BOT_K", defaults.k),
        per_episode=_number(env, "PODCAST_BOT_PER_EPISODE", defaults.per_episode),
        relevance=replace(
            defaults.relevance,
            threshold=_number(env, "PODCAST_BOT_RELEVANCE", defaults.relevance.threshold, float),
        ),
    )
    llm = LLMConfig(
        api_key=env.get("OPENAI_API_KEY") or None,
        base_url=env.get("OPENAI_BASE_URL") or None,
        model=env.get("PODCAST_BOT_LLM_MODEL") or LLMConfig.model,
        timeout=_number(env, "PODCAST_BOT_LLM_TIMEOUT", LLMConfig.timeout, float),
        max_retries=_number(env, "PODCAST_BOT_LLM_RETRIES", LLMConfig.max_retries),
        streaming=_bool(env, "PODCAST_BOT_LLM_STREAMING"),
    )
    visibility = env.get("PODCAST_BOT_ASK_VISIBILITY") or "in_channel"
    if visibility not in {"in_channel", "ephemeral"}:
        raise ConfigError(f"PODCAST_BOT_ASK_VISIBILITY must be in_channel or ephemeral, not {visibility!r}")
    slack = SlackConfig(
        bot_token=env.get("SLACK_BOT_TOKEN") or None,
        signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        app_token=env.get("SLACK_APP_TOKEN") or None,
        api_url=env.get("SLACK_API_URL") or SlackConfig.api_url,
        ask_visibility=visibility,
        rate_limit_per_minute=_number(env, "PODCAST_BOT_RATE_LIMIT", SlackConfig.rate_limit_per_minute),
        answer_threads=max(1, _number(env, "PODCAST_BOT_ANSWER_THREADS", SlackConfig.answer_threads)),
        allowed_channels=frozenset(c.strip() for c in env.get("PODCAST_BOT_CHANNELS", "").split(",") if c.strip()),
        state=_state(env),
    )
    sync = SyncConfig(
        source=env.get("PODCAST_BOT_SOURCE") or DEFAULT_SOURCE,
        every=parse_every(env.get("PODCAST_BOT_SYNC_EVERY", "")),
        timeout=_number(env, "PODCAST_BOT_SYNC_TIMEOUT", SyncConfig.timeout, float),
    )
    return Settings(
        store=store,
        episodes_dir=Path(env.get("PODCAST_BOT_EPISODES") or DATA_DIR / "episodes"),
        people=Path(env["PODCAST_BOT_PEOPLE"]) if env.get("PODCAST_BOT_PEOPLE") else None,
        max_episode_bytes=int(_number(env, "PODCAST_BOT_MAX_EPISODE_MB", MAX_FILE_BYTES / 1e6, float) * 1e6),
        prompts_dir=Path(env.get("PODCAST_BOT_PROMPTS") or PROMPTS_DIR),
        embedding_model=env.get("PODCAST_BOT_EMBEDDING_MODEL") or MINILM_MODEL_ID,
        search=search,
        llm=llm,
        slack=slack,
        sync=sync,
        log_level=env.get("PODCAST_BOT_LOG_LEVEL") or "INFO",
        web_concurrency=max(1, _number(env, "WEB_CONCURRENCY", 1)),
        build_on_first_use=not env.get("PODCAST_BOT_INDEX") and not store.is_server,
    )

"""The app's settings, and `load_settings`: the one place that reads them from the environment.

Settings are passed from here to the parts that need them. The library's own settings (search,
index store) are plain dataclasses in `retrieval/settings.py`, since `retrieval/` never imports
`bot/` and takes its configuration as arguments; this module adds what only the app has (Slack,
the LLM, sync, the terminal) and fills both from the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.env_values import Environment, channels, choice, every, flag, number, state_location, url
from retrieval import (
    DEFAULT_SOURCE,
    MAX_FILE_BYTES,
    MINILM_INT8_MODEL_ID,
    SearchConfig,
    StoreConfig,
    UsageError,
    masked_url,
)

# Defaults are anchored at the project folder, so commands and gunicorn work from any directory.
PROJECT_DIR = Path(__file__).resolve().parent.parent
PROMPTS_DIR = PROJECT_DIR / "prompts"
DATA_DIR = PROJECT_DIR / "data"
DEFAULT_INDEX = DATA_DIR / "index"
# The episode shipped with the code (tracked by git): `sync` never writes there.
BUNDLED_EPISODES = DATA_DIR / "episodes"
# What `podcast-bot sync` downloads, `episodes/` and `people/` (ignored by git).
SITE_DIR = DATA_DIR / "site"
# Where the offline model is quantized for this CPU on first use and kept.
MODEL_CACHE_DIR = DATA_DIR / "models"


class ConfigError(UsageError):
    """Settings are missing or malformed. The message names every such variable and what it must look
    like, never its value (which may be a secret)."""

    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} settings need fixing:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


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


# The Slack settings each way of serving needs.
SLACK_HTTP = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
SLACK_SOCKET = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
SLACK_SECRETS = {
    "SLACK_BOT_TOKEN": ("bot_token", r"xoxb-[\w-]+", "a bot token starting with xoxb-"),
    "SLACK_SIGNING_SECRET": ("signing_secret", r"[0-9a-fA-F]{16,}", "the app's hex signing secret"),
    "SLACK_APP_TOKEN": ("app_token", r"xapp-[\w-]+", "an app-level token starting with xapp-"),
}


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
    # Seconds from a question to its answer; after that the asker gets an apology instead.
    answer_deadline: float = 20.0
    # Answered events and commands, rate limits, answers and feedback on them.
    state: StateConfig = field(default_factory=StateConfig)

    def problems(self, names: Sequence[str]) -> list[str]:
        """What is wrong with the tokens and secrets `names` (see SLACK_SECRETS): absent or malformed."""
        found = []
        for name in names:
            attribute, pattern, what = SLACK_SECRETS[name]
            value = getattr(self, attribute)
            if not value:
                found.append(f"{name} is not set; it must be {what} (see README, 'Slack app setup')")
            elif not re.fullmatch(pattern, value):
                found.append(f"{name} is malformed; it must be {what}")
        return found

    def require(self, names: Sequence[str]) -> None:
        """Stop start-up with one message naming every needed token or secret that is absent or malformed."""
        problems = self.problems(names)
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True)
class SyncConfig:
    # The site's .tar.gz archive (a URL, or a local file) or a local checkout of it.
    source: str = DEFAULT_SOURCE
    # Seconds between syncs run by the serving process (embedded store only); None: it never syncs.
    every: float | None = None
    # Seconds for each network operation of a download (connect, the response's headers, each read).
    timeout: float = 30.0
    # Seconds for a whole download, however slowly the bytes come.
    deadline: float = 30 * 60.0


# What tells a terminal's kind, for deciding whether it shows OSC 8 links (bot/cli/terminal.py).
TERMINAL_VARIABLES = ("TERM", "TERM_PROGRAM", "VTE_VERSION", "WT_SESSION", "TMUX", "STY", "NO_COLOR")
LINK_STYLES = ("auto", "osc8", "plain")


@dataclass(frozen=True)
class TerminalConfig:
    # Links in terminal output: clickable OSC 8 links, the URL in plain text, or `auto` (by terminal).
    links: str = "auto"
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    store: StoreConfig = field(default_factory=lambda: StoreConfig(index_dir=DEFAULT_INDEX))
    # The episodes folder (PODCAST_BOT_EPISODES). None: the synced site's once a sync has brought
    # episodes there, else the bundled episode.
    episodes: Path | None = None
    site_dir: Path = SITE_DIR
    bundled_dir: Path = BUNDLED_EPISODES
    # Guest pages (`_people/<slug>.md` on the site): full names and bios. None: look beside the episodes.
    people: Path | None = None
    # A file larger than this is refused before it is parsed (the largest real episode is ~100 KB).
    max_episode_bytes: int = MAX_FILE_BYTES
    prompts_dir: Path = PROMPTS_DIR
    embedding_model: str = MINILM_INT8_MODEL_ID
    model_cache: Path = MODEL_CACHE_DIR
    search: SearchConfig = field(default_factory=SearchConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    terminal: TerminalConfig = field(default_factory=TerminalConfig)
    log_level: str = "INFO"
    # gunicorn worker processes for `serve --http` (platforms set WEB_CONCURRENCY from the dyno size).
    web_concurrency: int = 1
    # Only the default index fills itself from the bundled episodes on first use; an index the user
    # named (--index, PODCAST_BOT_INDEX, a Chroma server) that is empty is an error saying how to fill it.
    build_on_first_use: bool = False

    @property
    def episodes_dir(self) -> Path:
        """The episodes ingested by default: as configured; else the synced site once a sync has brought
        episodes (it has the bundled episode too, under another name, so that is not indexed twice);
        else the bundled episode."""
        if self.episodes is not None:
            return self.episodes
        synced = self.site_dir / "episodes"
        return synced if any(synced.glob("*.md")) else self.bundled_dir

    @property
    def sync_episodes_dir(self) -> Path:
        """Where `sync` puts the site's episodes: as configured, else the site folder, never the bundled one."""
        return self.episodes or self.site_dir / "episodes"

    @property
    def people_dir(self) -> Path | None:
        """The guest pages folder: as configured, else `people/` or `_people/` beside the episodes folder."""
        return self.people or _pages_beside(self.episodes_dir)

    @property
    def sync_people_dir(self) -> Path:
        """Where `sync` puts the guest pages: the guest pages folder, or a new `people/` beside its episodes."""
        return self.people or _pages_beside(self.sync_episodes_dir) or self.sync_episodes_dir.parent / "people"

    def with_index(self, index_dir: str | Path | None) -> Settings:
        if index_dir is None:
            return self
        path = Path(index_dir)
        default = not self.store.is_server and path.resolve() == DEFAULT_INDEX.resolve()
        return replace(self, store=replace(self.store, index_dir=path), build_on_first_use=default)


def _pages_beside(episodes_dir: Path) -> Path | None:
    beside = (episodes_dir.parent / name for name in ("people", "_people"))
    return next((folder for folder in beside if folder.is_dir()), None)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def load_settings(env: Mapping[str, str] | None = None, require: Sequence[str] = ()) -> Settings:
    """The settings in `env` (default: the process environment). ConfigError names every variable that
    is malformed, and every Slack token or secret in `require` (SLACK_HTTP, SLACK_SOCKET) that is absent
    or malformed, all in one message."""
    env = Environment(os.environ if env is None else env)
    headers = {}
    if env.get("CHROMA_AUTH_TOKEN"):
        headers["Authorization"] = f"Bearer {env['CHROMA_AUTH_TOKEN']}"
    store = StoreConfig(
        index_dir=Path(env.get("PODCAST_BOT_INDEX") or DEFAULT_INDEX),
        chroma_host=env.get("CHROMA_HOST") or None,
        chroma_port=number(env, "CHROMA_PORT", 8000, minimum=1, maximum=65535),
        chroma_ssl=flag(env, "CHROMA_SSL"),
        chroma_headers=headers,
        chroma_timeout=number(env, "CHROMA_TIMEOUT", StoreConfig.chroma_timeout, kind=float, minimum=0.1),
        cache_dir=Path(env.get("PODCAST_BOT_CACHE") or DATA_DIR / "cache"),
    )
    defaults = SearchConfig()
    search = SearchConfig(
        k=number(env, "PODCAST_BOT_K", defaults.k, minimum=1),
        per_episode=number(env, "PODCAST_BOT_PER_EPISODE", defaults.per_episode, minimum=0),
        relevance=replace(
            defaults.relevance,
            threshold=number(env, "PODCAST_BOT_RELEVANCE", defaults.relevance.threshold, kind=float),
        ),
    )
    llm = LLMConfig(
        api_key=env.get("OPENAI_API_KEY") or None,
        base_url=url(env, "OPENAI_BASE_URL"),
        model=env.get("PODCAST_BOT_LLM_MODEL") or LLMConfig.model,
        timeout=number(env, "PODCAST_BOT_LLM_TIMEOUT", LLMConfig.timeout, kind=float, minimum=0.1),
        max_retries=number(env, "PODCAST_BOT_LLM_RETRIES", LLMConfig.max_retries, minimum=0),
        streaming=flag(env, "PODCAST_BOT_LLM_STREAMING"),
    )
    slack = SlackConfig(
        bot_token=env.get("SLACK_BOT_TOKEN") or None,
        signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        app_token=env.get("SLACK_APP_TOKEN") or None,
        api_url=url(env, "SLACK_API_URL") or SlackConfig.api_url,
        ask_visibility=choice(env, "PODCAST_BOT_ASK_VISIBILITY", ("in_channel", "ephemeral"), default="in_channel"),
        rate_limit_per_minute=number(env, "PODCAST_BOT_RATE_LIMIT", SlackConfig.rate_limit_per_minute, minimum=0),
        answer_threads=number(env, "PODCAST_BOT_ANSWER_THREADS", SlackConfig.answer_threads, minimum=1),
        allowed_channels=channels(env),
        answer_deadline=number(
            env, "PODCAST_BOT_ANSWER_DEADLINE", SlackConfig.answer_deadline, kind=float, minimum=1, maximum=3600
        ),
        state=StateConfig(**state_location(env)),
    )
    sync = SyncConfig(
        source=env.get("PODCAST_BOT_SOURCE") or DEFAULT_SOURCE,
        every=every(env),
        timeout=number(env, "PODCAST_BOT_SYNC_TIMEOUT", SyncConfig.timeout, kind=float, minimum=0.1),
        deadline=number(env, "PODCAST_BOT_SYNC_DEADLINE", SyncConfig.deadline, kind=float, minimum=1),
    )
    settings = Settings(
        store=store,
        episodes=Path(env["PODCAST_BOT_EPISODES"]) if env.get("PODCAST_BOT_EPISODES") else None,
        site_dir=SITE_DIR,
        people=Path(env["PODCAST_BOT_PEOPLE"]) if env.get("PODCAST_BOT_PEOPLE") else None,
        max_episode_bytes=int(
            number(env, "PODCAST_BOT_MAX_EPISODE_MB", MAX_FILE_BYTES / 1e6, kind=float, minimum=0.001) * 1e6
        ),
        prompts_dir=Path(env.get("PODCAST_BOT_PROMPTS") or PROMPTS_DIR),
        embedding_model=env.get("PODCAST_BOT_EMBEDDING_MODEL") or MINILM_INT8_MODEL_ID,
        model_cache=Path(env.get("PODCAST_BOT_MODEL_CACHE") or MODEL_CACHE_DIR),
        search=search,
        llm=llm,
        slack=slack,
        sync=sync,
        terminal=TerminalConfig(
            links=choice(env, "PODCAST_BOT_LINKS", LINK_STYLES, default="auto"),
            environment={name: env[name] for name in TERMINAL_VARIABLES if name in env},
        ),
        log_level=choice(env, "PODCAST_BOT_LOG_LEVEL", LOG_LEVELS, default="INFO", upper=True),
        web_concurrency=number(env, "WEB_CONCURRENCY", 1, minimum=1),
        build_on_first_use=not env.get("PODCAST_BOT_INDEX") and not store.is_server,
    )
    env.problems += slack.problems(require)
    if env.problems:
        raise ConfigError(env.problems)
    return settings

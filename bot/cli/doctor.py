"""`podcast-bot doctor`: the configuration in effect (secrets masked) and checks of every connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.runtime import Runtime
from retrieval import masked_url


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "fail" or "skip"
    detail: str  # what was tried (a URL and method, a file), then what came of it


def mask(secret: str | None) -> str:
    """Enough of a secret to recognise which one is set, never enough to use it."""
    if not secret:
        return "(not set)"
    prefix = secret.split("-", 1)[0] + "-" if secret[:5].count("-") == 1 else ""
    return f"{prefix}…{len(secret)} chars"


def configuration(settings: Settings) -> list[tuple[str, str]]:
    store, llm, slack = settings.store, settings.llm, settings.slack
    return [
        ("index", f"Chroma server {store.location}" if store.is_server else f"{store.location} (embedded Chroma)"),
        ("chroma auth", "bearer token set" if store.chroma_headers else "(none)"),
        ("episodes", str(settings.episodes_dir)),
        ("guest pages", str(settings.sync_people_dir)),
        ("site source", masked_url(settings.sync.source)),
        ("sync every", f"{settings.sync.every / 3600:g} h" if settings.sync.every else "off (PODCAST_BOT_SYNC_EVERY)"),
        ("embedding model", settings.embedding_model),
        (
            "answers",
            f"LLM {llm.model} at {llm.base_url or 'the OpenAI API'}"
            if llm.enabled
            else "offline (quotes; OPENAI_API_KEY not set)",
        ),
        ("OPENAI_API_KEY", mask(llm.api_key)),
        ("llm timeout / retries", f"{llm.timeout:g} s / {llm.max_retries}"),
        ("llm streaming", "on (Slack answers are streamed)" if llm.streaming else "off"),
        (
            "search",
            f"k={settings.search.k}, per episode={settings.search.per_episode}, "
            f"relevance threshold={settings.search.relevance.threshold}",
        ),
        ("SLACK_BOT_TOKEN", mask(slack.bot_token)),
        ("SLACK_SIGNING_SECRET", mask(slack.signing_secret)),
        ("SLACK_APP_TOKEN", mask(slack.app_token)),
        ("Slack API", slack.api_url),
        ("/ask answers", slack.ask_visibility),
        ("rate limit", f"{slack.rate_limit_per_minute} questions/minute per user"),
        ("answer deadline", f"{slack.answer_deadline:g} s"),
        ("channels", ", ".join(sorted(slack.allowed_channels)) or "all"),
        ("bot state", f"PostgreSQL {slack.state.location}" if slack.state.database_url else slack.state.location),
    ]


def _guard(name: str, tried: str, check: Callable[[], str]) -> Check:
    """Run `check`; its outcome (or its first error line) follows `tried`, what the check does, if given."""
    try:
        outcome = check()
        return Check(name, "ok", f"{tried}: {outcome}" if tried else outcome)
    except Exception as error:  # a doctor reports every failure instead of stopping at the first
        return _failed(name, tried, error)


def _failed(name: str, tried: str, error: Exception) -> Check:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return Check(name, "fail", f"{tried}: {reason}" if tried else reason)


def llm_check(settings: Settings) -> Check:
    """GET /models on the LLM endpoint; a server without that route (some OpenAI-compatible ones) is still
    healthy when it answers a one-token chat request."""
    from openai import NotFoundError, OpenAI

    llm = settings.llm
    client = OpenAI(api_key=llm.api_key, base_url=llm.base_url, timeout=llm.timeout, max_retries=0)
    base = str(client.base_url).rstrip("/")
    models = f"GET {base}/models"
    try:
        listed = [model.id for model in client.models.list()]
        return Check("llm", "ok", f"{models}: {len(listed)} models listed")
    except NotFoundError:
        pass  # no model list on this server: ask it something instead
    except Exception as error:
        return _failed("llm", models, error)
    model = llm.model.removeprefix("openai:")
    chat = f"{models} answered 404, so POST {base}/chat/completions (model {model})"
    try:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=1)
    except Exception as error:
        return _failed("llm", chat, error)
    return Check("llm", "ok", f"{chat}: answered")


def run_checks(runtime: Runtime) -> list[Check]:
    settings = runtime.settings
    store = settings.store

    def index() -> str:
        opened = runtime.index(build_if_empty=False)
        info = opened.info()
        synced = f"; synced {info['synced_at']}" if info.get("synced_at") else "; never synced"
        commit = f" (commit {info['synced_commit'][:12]})" if info.get("synced_commit") else ""
        return f"{len(opened.episodes())} episodes, {opened.section_count()} sections" + synced + commit

    def model() -> str:
        return f"ok, {len(runtime.embedder.embed_query('doctor'))} dimensions"

    def slack() -> str:
        from slack_sdk import WebClient

        reply = WebClient(token=settings.slack.bot_token, base_url=settings.slack.api_url, timeout=10).auth_test()
        return f"ok, bot {reply.get('user')} in team {reply.get('team_id')}"

    def state() -> str:
        from bot.state import open_state

        opened = open_state(settings.slack.state)
        try:
            return opened.check()
        finally:
            opened.close()

    where = f"Chroma server {store.location} (HTTP)" if store.is_server else f"embedded Chroma folder {store.location}"
    checks = [
        _guard("index", f"read the episode list from the {where}", index),
        _guard("embedding model", f"load {runtime.settings.embedding_model} and embed a sentence", model),
        # The store's own description names where it connected (never a password).
        _guard("state", "", state),
    ]
    checks.append(
        _guard("slack", f"POST {settings.slack.api_url.rstrip('/')}/auth.test", slack)
        if settings.slack.bot_token
        else Check("slack", "skip", "SLACK_BOT_TOKEN not set")
    )
    checks.append(
        llm_check(settings)
        if settings.llm.enabled
        else Check("llm", "skip", "OPENAI_API_KEY not set (offline answers)")
    )
    return checks


def report(runtime: Runtime) -> tuple[str, bool]:
    """The printable report and whether every check passed (skips count as passing)."""
    rows = configuration(runtime.settings)
    width = max(len(key) for key, _ in rows)
    lines = ["Configuration:"] + [f"  {key:<{width}}  {value}" for key, value in rows]
    checks = run_checks(runtime)
    lines += ["", "Checks:"] + [f"  [{c.status:>4}] {c.name}: {c.detail}" for c in checks]
    return "\n".join(lines), all(c.status != "fail" for c in checks)

"""The HTTP entry point: a WSGI app for gunicorn with Slack at `/slack/events` and `GET /healthz`.

gunicorn -c python:bot.slack.gunicorn_hooks --bind 0.0.0.0:3000 --threads 8 \
    --worker-class bot.slack.gunicorn_worker.RequestBufferingWorker \
    'bot.slack.wsgi:create_wsgi_app()'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.background import IndexKeeper
from bot.config import Settings, load_settings
from bot.loading import READY
from bot.runtime import Runtime
from bot.slack.app import create_app
from bot.slack.front_door import SlackFrontDoor
from bot.slack.health import HealthMonitor, Status
from bot.state import ResilientState
from retrieval import IndexBusyError

log = logging.getLogger(__name__)


def _state_status(state: ResilientState) -> str:
    problem = state.problem
    return f"degraded: {problem}" if problem else "ok"


def loading_status(runtime: Runtime, state: ResilientState) -> Status | None:
    """/healthz while the index is being opened or built, read live (it is only counters); None once ready.

    While the index is being built the process is healthy (it answers, with "still loading"), so
    the status is 200 with the progress: a platform must not restart it half-way through.
    """
    phase, total = runtime.loading.snapshot()
    if phase == READY:
        return None
    return "200 OK", {
        "status": phase,
        "index": runtime.settings.store.location,
        "episodes": runtime.episodes_loaded(),
        "episodes_total": total,
        "state": _state_status(state),
    }


def health(runtime: Runtime, state: ResilientState) -> Status:
    """HTTP status and body for /healthz once the index is ready: is it reachable, and what does it
    hold. The state store is reported too, but its outage is no 503: the app answers without it."""
    state_status = _state_status(state)
    try:
        index = runtime.index(build_if_empty=False)
        # Through the searcher: it reopens the index after another process wrote it, and says so
        # (IndexBusyError) while one writes, when only reading the episode list would still work.
        runtime.searcher.refresh()
        info = index.info()
        synced = {key: info[key] for key in ("synced_commit", "synced_at", "checked_at") if info.get(key)}
        return "200 OK", {
            "status": "ok",
            "index": runtime.settings.store.location,
            "episodes": len(index.episodes()),
            "sections": index.section_count(),
            "state": state_status,
            **synced,
        }
    except Exception as error:  # any failure means unhealthy; the reason is in the body
        if not isinstance(error, IndexBusyError):  # the index is fine, only being written
            runtime.reset_index()
        return "503 Service Unavailable", {
            "status": "unavailable",
            "index": runtime.settings.store.location,
            "error": str(error),
            "state": state_status,
        }


class SlackWSGIApp:
    """The WSGI application: `GET /healthz`, and everything else to Bolt's Slack request handler."""

    def __init__(self, settings: Settings, runtime: Runtime):
        self.settings = settings
        self.runtime = runtime
        self.slack = create_app(settings=settings, runtime=runtime)
        self._handler = SlackFrontDoor(SlackRequestHandler(self.slack.bolt), settings.slack.signing_secret or "")
        # Opening, building or syncing the index happens in the background: the app serves at once.
        self.keeper = IndexKeeper(runtime).start()
        # /healthz answers from the last check, made in the background: never waiting on the index.
        self.health = HealthMonitor(
            check=lambda: health(runtime, self.slack.bot.state),
            index_location=settings.store.location,
            paused=lambda: runtime.loading.snapshot()[0] != READY,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            status, body = loading_status(self.runtime, self.slack.bot.state) or self.health.current()
            payload = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        response: Iterable[bytes] = self._handler(environ, start_response)
        return response

    def close(self) -> None:
        """Finish the answers in flight and release the state store (at shutdown)."""
        self.health.close()
        self.slack.bot.close()


def create_wsgi_app(settings: Settings | None = None, runtime: Runtime | None = None) -> SlackWSGIApp:
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = runtime or Runtime(settings)
    return SlackWSGIApp(settings, runtime)

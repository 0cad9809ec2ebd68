"""The HTTP entry point: a WSGI app for gunicorn with Slack at `/slack/events` and `GET /healthz`.

gunicorn -c python:bot.slack.gunicorn_hooks --bind 0.0.0.0:3000 --worker-class gthread --threads 8 \
    'bot.slack.wsgi:create_wsgi_app()'
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import Settings, load_settings
from bot.runtime import Runtime
from bot.slack.app import create_app
from bot.slack.front_door import SlackFrontDoor
from bot.slack.health import HealthMonitor
from bot.slack.state import ResilientState

log = logging.getLogger(__name__)


def health(runtime: Runtime, state: ResilientState) -> tuple[str, dict[str, Any]]:
    """HTTP status and body for /healthz: is the index reachable, and what does it hold. The state
    store is reported too, but its outage is no 503: the app answers without it."""
    problem = state.problem
    state_status = f"degraded: {problem}" if problem else "ok"
    try:
        index = runtime.index(build_if_empty=False)
        return "200 OK", {
            "status": "ok",
            "index": runtime.settings.store.location,
            "episodes": len(index.episodes()),
            "sections": index.section_count(),
            "state": state_status,
        }
    except Exception as error:  # any failure means unhealthy; the reason is in the body
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
        self.slack = create_app(settings, runtime)
        self._handler = SlackFrontDoor(SlackRequestHandler(self.slack.bolt), settings.slack.signing_secret or "")
        # /healthz answers from the last check, made in the background: never waiting on the index.
        self.health = HealthMonitor(lambda: health(runtime, self.slack.bot.state), settings.store.location)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            status, body = self.health.current()
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
    application = SlackWSGIApp(settings, runtime)
    threading.Thread(target=runtime.warm_up, name="warm-up", daemon=True).start()
    return application

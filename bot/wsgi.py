"""The HTTP entry point: a WSGI app for gunicorn with Slack at `/slack/events` and `GET /healthz`.

    gunicorn --bind 0.0.0.0:3000 --worker-class gthread --threads 8 'bot.wsgi:create_wsgi_app()'
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable, Iterable

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import Settings, load_settings
from bot.runtime import Runtime
from bot.slack_app import create_app

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def health(runtime: Runtime) -> tuple[str, dict[str, Any]]:
    """HTTP status and body for /healthz: is the index reachable, and what does it hold."""
    try:
        index = runtime.index(build_if_empty=False)
        return "200 OK", {"status": "ok", "index": runtime.settings.store.location,
                          "episodes": len(index.episodes()), "sections": index.section_count()}
    except Exception as error:  # any failure means unhealthy; the reason is in the body
        runtime.reset_index()
        return "503 Service Unavailable", {"status": "unavailable", "index": runtime.settings.store.location, "error": str(error)}


def create_wsgi_app(settings: Settings | None = None, runtime: Runtime | None = None) -> WSGIApp:
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = runtime or Runtime(settings)
    slack = SlackRequestHandler(create_app(settings, runtime))
    threading.Thread(target=runtime.warm_up, name="warm-up", daemon=True).start()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            status, body = health(runtime)
            payload = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        return slack(environ, start_response)

    return application

"""Run the Slack app: over Socket Mode, or over HTTP with gunicorn serving the WSGI app."""

from __future__ import annotations

from typing import Any

from bot.background import IndexKeeper
from bot.config import Settings
from bot.runtime import Runtime
from bot.slack import gunicorn_hooks
from bot.slack.app import create_app
from bot.slack.wsgi import create_wsgi_app
from bot.state import open_state


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    runtime = Runtime(settings)
    app = create_app(settings=settings, runtime=runtime, socket_mode=True)
    IndexKeeper(runtime).start()
    SocketModeHandler(app.bolt, settings.slack.app_token).start()


def serve_http(settings: Settings, *, host: str, port: int, workers: int = 1, threads: int = 8) -> None:
    """gunicorn with threaded workers, the same server the Procfile uses in production. An unusable
    state store stops it here, before gunicorn starts (StateUnavailableError)."""
    from gunicorn.app.base import BaseApplication

    open_state(settings.slack.state).close()  # connects and migrates once, before the workers

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "bot.slack.gunicorn_worker.RequestBufferingWorker",
                # gunicorn's control socket would be a file in ~/.gunicorn/; the app keeps to its data folder.
                "control_socket_disable": True,
                "worker_exit": gunicorn_hooks.worker_exit,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            # Built in each worker after the fork: model sessions and Chroma clients don't survive one.
            return create_wsgi_app(settings)

    Server().run()

"""Run the Slack app: over Socket Mode, or over HTTP with gunicorn serving the WSGI app."""

from __future__ import annotations

from typing import Any

from bot.background import IndexKeeper
from bot.config import Settings
from bot.runtime import Runtime
from bot.slack.app import create_app
from bot.slack.wsgi import create_wsgi_app


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    runtime = Runtime(settings)
    app = create_app(settings, runtime, socket_mode=True)
    IndexKeeper(runtime).start()
    SocketModeHandler(app.bolt, settings.slack.app_token).start()


def serve_http(settings: Settings, host: str, port: int, workers: int = 1, threads: int = 8) -> None:
    """gunicorn with threaded workers, the same server the Procfile uses in production."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                # gunicorn's control socket would be a file in ~/.gunicorn/; the app keeps to its data folder.
                "control_socket_disable": True,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            # Built in each worker after the fork: model sessions and Chroma clients don't survive one.
            return create_wsgi_app(settings)

    Server().run()

"""`podcast-bot serve --http` in a subprocess (gunicorn, as in production) on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.corpus import ROOT
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import free_port, health, wait_for_health
from tests.support.slack import SECRET, SlackClient


class ServedApp:
    """One `podcast-bot serve --http` process, like one dyno: configured by environment variables,
    its log in `folder/serve-PORT.log`. Stopping it is graceful: it finishes the answers it started."""

    def __init__(self, fake: FakeSlack, folder: Path, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = SlackClient(fake, self.url)
        self.log_path = folder / f"serve-{self.port}.log"
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            **env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(self.port)],
                cwd=folder,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def health(self) -> dict[str, Any] | None:
        """The /healthz body, or None while nothing answers."""
        answer = health(self.url)
        return answer.body if answer else None

    def wait_until(
        self, healthy: Callable[[dict[str, Any]], bool] = lambda body: body["status"] == "ok", timeout: float = 120.0
    ) -> dict[str, Any]:
        """Poll /healthz until `healthy(body)`; the body. Fails with the log when the process ends or time is up."""
        try:
            answer = wait_for_health(
                self.url,
                lambda answer: healthy(answer.body),
                timeout=timeout,
                running=lambda: self.process.poll() is None,
            )
        except AssertionError as error:
            raise AssertionError(f"{error}; the server's log:\n{self.log()}") from None
        return answer.body

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60.0) -> str:
        """Stop gracefully (SIGTERM, by process id) and wait for the exit; the server's log."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        return self.log()


def serve_all(fake: FakeSlack, folder: Path, envs: list[dict[str, str]]) -> list[ServedApp]:
    """Start one server per environment at once and return them when all are healthy."""
    apps = [ServedApp(fake, folder, env) for env in envs]
    for app in apps:
        app.wait_until()
    return apps

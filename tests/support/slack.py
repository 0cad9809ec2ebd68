"""Drive the real Slack app over HTTP: the WSGI app on 127.0.0.1, signed requests, a fake Slack Web API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.config import LLMConfig, Settings, SlackConfig, load_settings
from bot.runtime import Runtime
from bot.slack.state import BotState
from bot.slack.wsgi import create_wsgi_app
from retrieval.embedding import Embedder
from tests.support.fakes.slack_server import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5".replace("y", "0").replace("z", "1")
QUESTION = "How does DataTalks.Club make money from sponsors?"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class SlackHarness:
    """The real WSGI app on 127.0.0.1, talking to a fake Slack Web API; sends signed requests."""

    def __init__(self, fake: FakeSlack, runtime: Runtime):
        self.fake = fake
        self.runtime = runtime
        self.state = BotState(runtime.settings.slack.state_path)
        self.app = create_wsgi_app(runtime.settings, runtime)
        self.server = make_server("127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until the app has finished everything it started for the requests sent so far."""
        assert self.app.slack.bot.in_flight.wait_until_idle(timeout), f"the app was still busy after {timeout} s"

    def close(self) -> None:
        """Stop, after the work still in flight, so that no answer goes to a fake Slack that is gone."""
        self.app.slack.bot.in_flight.wait_until_idle(30.0)
        self.app.keeper.stop()
        self.server.shutdown()
        self.server.server_close()

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, float]:
        timestamp = int(time.time()) if timestamp is None else timestamp
        base = f"v0:{timestamp}:".encode() + body
        signature = signature or "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{self.url}/slack/events",
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), time.perf_counter() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read(), time.perf_counter() - started

    def event(self, event: dict[str, Any], event_id: str, **kwargs: Any) -> tuple[int, bytes, float]:
        payload = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"user_id": "UBOT", "is_bot": True, "team_id": "T1"}],
        }
        return self.post(json.dumps(payload).encode(), "application/json", **kwargs)

    def mention(
        self, text: str, event_id: str, ts: str = "1700000001.000100", thread_ts: str | None = None, **kwargs: Any
    ):
        event = {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "channel": "C1", "ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, event_id, **kwargs)

    def command(self, text: str, user: str = "U1") -> tuple[int, bytes, float]:
        form = {
            "command": "/ask",
            "text": text,
            "user_id": user,
            "user_name": "ann",
            "channel_id": "C1",
            "team_id": "T1",
            "response_url": self.fake.response_url,
            "trigger_id": "1.2.3",
            "token": "legacy",
        }
        return self.post(urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded")

    def click(self, action_id: str, value: str, user: str = "U2") -> tuple[int, bytes, float]:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "response_url": self.fake.response_url,
            "trigger_id": "1.2.3",
            "container": {"type": "message"},
            "channel": {"id": "C1"},
            "actions": [
                {"action_id": action_id, "block_id": "feedback", "value": value, "type": "button", "action_ts": "1"}
            ],
        }
        return self.post(
            urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
        )


def settings_for(fake: FakeSlack, index_dir: Path, state: Path, **slack: Any) -> Settings:
    base = load_settings({})
    return replace(
        base.with_index(index_dir),
        slack=SlackConfig(
            bot_token="xoxb-test-token", signing_secret=SECRET, api_url=fake.api_url, state_path=state, **slack
        ),
    )


def make_harness(
    fake: FakeSlack, index_dir: Path, tmp_path: Path, embedder: Embedder, llm: LLMConfig | None = None, **slack: Any
) -> SlackHarness:
    settings = settings_for(fake, index_dir, tmp_path / "state.sqlite3", **slack)
    if llm:
        settings = replace(settings, llm=llm)
    return SlackHarness(fake, Runtime(settings, embedder=embedder))

"""Drive the real Slack app over HTTP: signed requests to the WSGI app (in this process on 127.0.0.1,
or any URL), answers posted to a fake Slack Web API."""

from __future__ import annotations

import hashlib
import hmac
import itertools
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

from bot.config import LLMConfig, Settings, SlackConfig, StateConfig, load_settings
from bot.runtime import Runtime
from bot.slack.wsgi import create_wsgi_app
from bot.state import ResilientState
from retrieval.index.embedding import Embedder
from tests.support.fakes.slack_server import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5".replace("y", "0").replace("z", "1")
QUESTION = "How does DataTalks.Club make money from sponsors?"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


_trigger_ids = itertools.count(1)


class SlackClient:
    """Sends signed Slack requests (events, `/ask`, button clicks) to the app at `url`, as Slack would."""

    def __init__(self, fake: FakeSlack, url: str):
        self.fake = fake
        self.url = url

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

    def event(self, event: dict[str, Any], event_id: str, team: str = "T1", **kwargs: Any) -> tuple[int, bytes, float]:
        payload = {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A1",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"user_id": "UBOT", "is_bot": True, "team_id": team}],
        }
        return self.post(json.dumps(payload).encode(), "application/json", **kwargs)

    def mention(
        self,
        text: str,
        event_id: str,
        ts: str = "1700000001.000100",
        thread_ts: str | None = None,
        user: str = "U1",
        channel: str = "C1",
        **kwargs: Any,
    ) -> tuple[int, bytes, float]:
        event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "channel": channel, "ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, event_id, **kwargs)

    def dm(
        self, text: str, event_id: str, ts: str, thread_ts: str | None = None, channel: str = "D1", user: str = "U1"
    ) -> tuple[int, bytes, float]:
        """A direct message to the bot; with `thread_ts`, in a thread (as in the assistant panel)."""
        event = {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text, "ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, event_id)

    def assistant_thread_started(
        self, event_id: str, thread_ts: str, channel: str = "D1", user: str = "U1"
    ) -> tuple[int, bytes, float]:
        """The user opened a new thread in the assistant side panel."""
        thread = {
            "user_id": user,
            "context": {"channel_id": "C1", "team_id": "T1", "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts,
        }
        return self.event({"type": "assistant_thread_started", "assistant_thread": thread, "event_ts": "1.2"}, event_id)

    def home_opened(self, event_id: str, user: str = "U1", tab: str = "home") -> tuple[int, bytes, float]:
        return self.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": tab}, event_id)

    def command_body(self, text: str, user: str = "U1") -> bytes:
        """The form Slack posts for `/ask text`, with a trigger id of its own as every invocation has."""
        form = {
            "command": "/ask",
            "text": text,
            "user_id": user,
            "user_name": "ann",
            "channel_id": "C1",
            "team_id": "T1",
            "response_url": self.fake.response_url,
            "trigger_id": f"{next(_trigger_ids)}.1700000000.abcdef",
            "token": "legacy",
        }
        return urllib.parse.urlencode(form).encode()

    def command(self, text: str, user: str = "U1", **kwargs: Any) -> tuple[int, bytes, float]:
        return self.post(self.command_body(text, user), "application/x-www-form-urlencoded", **kwargs)

    def click(
        self, action_id: str, value: str, user: str = "U2", kind: str = "feedback_buttons"
    ) -> tuple[int, bytes, float]:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "response_url": self.fake.response_url,
            "trigger_id": "1.2.3",
            "container": {"type": "message"},
            "channel": {"id": "C1"},
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": kind, "action_ts": "1"}],
        }
        return self.post(
            urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
        )


class SlackHarness(SlackClient):
    """The real WSGI app on 127.0.0.1 in this process, talking to a fake Slack Web API."""

    def __init__(self, fake: FakeSlack, runtime: Runtime):
        self.runtime = runtime
        self.app = create_wsgi_app(runtime.settings, runtime)
        self.server = make_server("127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        super().__init__(fake, f"http://127.0.0.1:{self.server.server_port}")
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def state(self) -> ResilientState:
        return self.app.slack.bot.state

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until the app has finished everything it started for the requests sent so far."""
        assert self.app.slack.bot.in_flight.wait_until_idle(timeout), f"the app was still busy after {timeout} s"

    def close(self) -> None:
        # Let answers still being posted finish, so none hits a fake Slack that is already gone.
        self.app.slack.bot.in_flight.wait_until_idle(30.0)
        self.app.keeper.stop()
        self.server.shutdown()
        self.server.server_close()
        self.app.close()


def settings_for(fake: FakeSlack, index_dir: Path, state: Path | StateConfig, **slack: Any) -> Settings:
    base = load_settings({})
    return replace(
        base.with_index(index_dir),
        slack=SlackConfig(
            bot_token="xoxb-test-token",
            signing_secret=SECRET,
            api_url=fake.api_url,
            state=state if isinstance(state, StateConfig) else StateConfig(path=state),
            **slack,
        ),
    )


def make_harness(
    fake: FakeSlack,
    index_dir: Path,
    tmp_path: Path,
    embedder: Embedder,
    llm: LLMConfig | None = None,
    state: StateConfig | None = None,
    **slack: Any,
) -> SlackHarness:
    settings = settings_for(fake, index_dir, state or tmp_path / "state.sqlite3", **slack)
    if llm:
        settings = replace(settings, llm=llm)
    return SlackHarness(fake, Runtime(settings, embedder=embedder))

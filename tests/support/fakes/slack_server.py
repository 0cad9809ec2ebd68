"""A fake Slack Web API served over real HTTP on 127.0.0.1.

Point ``slack_sdk.WebClient(base_url=server.api_url)`` (and through it a Bolt
``App``) at the fake, and hand ``server.response_url`` to code that answers slash
commands or actions::

    with FakeSlack() as slack:
        client = WebClient(base_url=slack.api_url, token="xoxb-test")
        client.chat_postMessage(channel="C1", text="hello")
        assert slack.calls_to("chat.postMessage")[0]["args"]["text"] == "hello"

Every ``POST /api/<method>`` is recorded with its arguments, merged from the
query string and a form-encoded or JSON body (JSON-encoded form values such as
``blocks`` are decoded), and answered like Slack would for the methods the bot
uses: chat.postMessage/update, the chat streams (chat.startStream, appendStream,
stopStream, which refuse a stream that was not started or already stopped),
conversations.replies and views.publish. Any other method (assistant.threads.*,
reactions.*) answers ``{"ok": true}``; ``fail_methods`` makes one answer an error,
such as ``unknown_method`` where a workspace cannot stream.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any, TypedDict
from urllib.parse import parse_qsl

from . import FakeHTTPServer, Request, Response

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
BOT_NAME = "podcast-bot"

STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")
RESPONSE_URL_METHOD = "response_url"
"""The ``method`` under which posts to ``FakeSlack.response_url`` are recorded."""


class SlackCall(TypedDict):
    """One recorded request: Web API method name, its arguments, lower-cased headers, and when it
    arrived (time.perf_counter(), for benchmarks)."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float


class FakeSlack(FakeHTTPServer):
    """Fake Slack server; use as ``with FakeSlack() as server:``.

    Attributes, settable at any time (read on each request):

    * ``thread_messages`` -- the ``messages`` that ``conversations.replies`` returns.
    * ``fail_methods`` -- ``{method: error}``; such calls answer ``{"ok": false, "error": error}``
      (the call is still recorded).

    ``calls`` records every request in arrival order; read it through
    ``calls_to`` / ``wait_for`` while requests may still be arriving.
    """

    def __init__(self) -> None:
        super().__init__()
        self.thread_messages: list[dict[str, Any]] = []
        self.fail_methods: dict[str, str] = {}
        self.calls: list[SlackCall] = []
        self.streams: dict[str, dict[str, Any]] = {}  # ts -> thread_ts, stopped, the call that started it
        self._recorded = threading.Condition()
        self._timestamps = itertools.count(1)

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``WebClient``, e.g. ``http://127.0.0.1:54321/api/``."""
        return f"{self.url}/api/"

    @property
    def response_url(self) -> str:
        """A slash-command / interaction ``response_url`` served by this fake."""
        return f"{self.url}/response/abc"

    def calls_to(self, method: str) -> list[SlackCall]:
        """The calls recorded so far for ``method`` (e.g. ``"chat.postMessage"``), oldest first."""
        with self._recorded:
            return self._calls_to(method)

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:
        """Block until ``count`` calls to ``method`` were recorded and return all of them.

        Raises ``AssertionError`` (listing what was recorded) after ``timeout`` seconds.
        """
        with self._recorded:
            arrived = self._recorded.wait_for(lambda: len(self._calls_to(method)) >= count, timeout)
            if not arrived:
                seen = [call["method"] for call in self.calls]
                raise AssertionError(f"expected {count} {method} call(s) within {timeout}s; recorded: {seen}")
            return self._calls_to(method)

    def stream_calls(self, ts: str) -> list[SlackCall]:
        """The calls that started, appended to and stopped the stream `ts`, in order."""
        with self._recorded:
            later = [c for c in self.calls if c["method"] in STREAM_METHODS[1:] and c["args"].get("ts") == ts]
            return [self.streams[ts]["started_by"], *later]

    def streamed_text(self, ts: str) -> str:
        """The markdown sent into the stream `ts` (by every call naming it, refused ones too)."""
        texts = []
        for call in self.stream_calls(ts):
            texts.append(call["args"].get("markdown_text", ""))  # the text can come as such, or as chunks
            texts += [chunk.get("text", "") for chunk in call["args"].get("chunks") or []]
        return "".join(texts)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/response/"):
            self._record(RESPONSE_URL_METHOD, _parse_body(request), request.headers)
            return Response(body=b"ok", content_type="text/plain")
        if not request.path.startswith("/api/"):
            return Response.json({"ok": False, "error": "unknown_method"}, status=404)

        method = request.path.removeprefix("/api/")
        args = {**request.query, **_parse_body(request)}
        call = self._record(method, args, request.headers)
        if method in self.fail_methods:
            return Response.json({"ok": False, "error": self.fail_methods[method]})
        return Response.json(self._answer(method, args, call))

    def _calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call["method"] == method]

    def _record(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> SlackCall:
        call = SlackCall(method=method, args=args, headers=headers, at=time.perf_counter())
        with self._recorded:
            self.calls.append(call)
            self._recorded.notify_all()
        return call

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._timestamps):06d}"

    def _answer(self, method: str, args: dict[str, Any], call: SlackCall) -> dict[str, Any]:
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://fake.slack.com/",
                    "team": "Fake Team",
                    "user": BOT_NAME,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                }
            case "chat.postMessage":
                ts = self._next_ts()
                fields: dict[str, Any] = {key: args[key] for key in ("text", "blocks", "thread_ts") if key in args}
                message: dict[str, Any] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts, **fields}
                return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}
            case "chat.update":
                return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text", "")}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            case "conversations.replies":
                return {"ok": True, "messages": list(self.thread_messages), "has_more": False}
            case "chat.startStream":
                ts = self._next_ts()
                with self._recorded:
                    self.streams[ts] = {"thread_ts": args.get("thread_ts"), "stopped": False, "started_by": call}
                return {"ok": True, "channel": args.get("channel"), "ts": ts}
            case "chat.appendStream" | "chat.stopStream":
                stream = self.streams.get(args.get("ts", ""))
                if stream is None or stream["stopped"]:
                    return {"ok": False, "error": "message_not_in_streaming_state"}
                stream["stopped"] = method == "chat.stopStream"
                return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
            case "views.publish":
                view = args.get("view") or {}
                return {"ok": True, "view": {"id": "VHOME", **(view if isinstance(view, dict) else {})}}
            case _:  # reactions.add, reactions.remove, ...
                return {"ok": True}


def _parse_body(request: Request) -> dict[str, Any]:
    """Arguments from a JSON or form-encoded body; JSON-looking form values are decoded."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        parsed = json.loads(request.body or b"{}")
        return parsed if isinstance(parsed, dict) else {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qsl(request.body.decode(), keep_blank_values=True)
        return {key: _decode_json_value(value) for key, value in form}
    return {}


def _decode_json_value(value: str) -> Any:
    """``'[{"type": "section"}]'`` -> list; plain strings are returned unchanged."""
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value

"""The HTTP front door of the Slack app: what reaches Bolt was checked, cheapest check first.

1. A body over 1 MB is refused (413) from its Content-Length, before anything reads it.
2. A body that is not UTF-8 text cannot be Slack's (it signs and sends text): refused (400).
3. The Slack signature is checked before the body is parsed: a request without one, with a forged
   one or one older than five minutes is refused (401), and so is a timestamp that is not a number.
   The headers' shape is checked here (Bolt does not: it fails on a timestamp that is not a number);
   the HMAC itself is slack_sdk's `SignatureVerifier`.
4. A signed body that is not what Slack sends (JSON that is not an object or nested too deeply, a
   form whose `payload` is not a JSON object, another content type, or a payload of the wrong shape:
   `bot.slack.payloads`) is refused (400), not left to fail in Bolt.

A refused request leaves one short log line (method, path, size, reason): its body never reaches
the log. Other paths and methods (`GET /healthz`) pass through untouched.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from bot.slack.payloads import command_problem, event_problem, interaction_problem

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SLACK_PATH = "/slack/events"
MAX_BODY_BYTES = 1 << 20  # Slack's own requests are a few KB; 1 MB leaves room for the largest
MAX_AGE_SECONDS = 300  # Slack's five minutes: an older signed request may be a replay


@dataclass(frozen=True)
class Refusal:
    status: str
    reason: str


class SlackFrontDoor:
    """WSGI middleware in front of Bolt's request handler (`app`) for POSTs to /slack/events."""

    def __init__(self, app: WSGIApp, signing_secret: str, max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body = max_body
        self._verifier = SignatureVerifier(signing_secret)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SLACK_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        declared = environ.get("CONTENT_LENGTH") or ""
        body = self._read(environ, declared)
        if isinstance(body, Refusal):
            return self._refuse(body, int(declared) if declared.isdigit() else -1, start_response)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            return self._refuse(
                Refusal("400 Bad Request", f"malformed body ({type(error).__name__})"), len(body), start_response
            )
        refusal = self._unsigned(environ, text) or _malformed(environ.get("CONTENT_TYPE") or "", text)
        if refusal is not None:
            return self._refuse(refusal, len(body), start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(refusal: Refusal, size: int, start_response: Callable[..., Any]) -> Iterable[bytes]:
        log.warning("refused POST %s (%d bytes): %s", SLACK_PATH, size, refusal.reason)
        payload = refusal.reason.encode()
        start_response(refusal.status, [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _read(self, environ: dict[str, Any], declared: str) -> bytes | Refusal:
        """The body; or, when it is too large (then never read) or its length malformed, why not."""
        if declared and not declared.isdigit():
            return Refusal("400 Bad Request", "malformed Content-Length")
        too_large = Refusal("413 Content Too Large", f"body over {self.max_body} bytes")
        if declared and int(declared) > self.max_body:
            return too_large
        if declared:
            body: bytes = environ["wsgi.input"].read(int(declared))
        elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # No length given: read one byte past the limit to know whether it is over.
            body = environ["wsgi.input"].read(self.max_body + 1)
        else:
            body = b""  # HTTP/1.1: no length and not chunked means no body
        return too_large if len(body) > self.max_body else body

    def _unsigned(self, environ: dict[str, Any], body: str) -> Refusal | None:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not timestamp or not signature:
            return Refusal("401 Unauthorized", "no Slack signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return Refusal("401 Unauthorized", "malformed X-Slack-Request-Timestamp")
        if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
            return Refusal("401 Unauthorized", "stale X-Slack-Request-Timestamp")
        if not self._verifier.is_valid(body, timestamp, signature):
            return Refusal("401 Unauthorized", "bad Slack signature")
        return None


def _malformed(content_type: str, text: str) -> Refusal | None:
    """Why a signed body cannot be what Slack sends, or None when it can."""
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if kind == "application/json":
            data = json.loads(text)
            if not isinstance(data, dict):
                return Refusal("400 Bad Request", "JSON body is not an object")
            problem = event_problem(data)
        elif kind == "application/x-www-form-urlencoded":
            form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
            if "payload" in form:
                payload = json.loads(form["payload"][0])
                if not isinstance(payload, dict):
                    return Refusal("400 Bad Request", "form payload is not a JSON object")
                problem = interaction_problem(payload)
            else:
                problem = command_problem(form) if "command" in form else None
        else:
            return Refusal("400 Bad Request", "unsupported Content-Type")
    except ValueError as error:  # not JSON, not a form
        return Refusal("400 Bad Request", f"malformed body ({type(error).__name__})")
    except RecursionError:  # JSON nested deeper than the parser goes (Slack's is a few levels)
        return Refusal("400 Bad Request", "JSON nested too deeply")
    return Refusal("400 Bad Request", f"not a Slack payload: {problem}") if problem else None

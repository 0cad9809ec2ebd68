"""The HTTP front door under hostile input: oversized, unsigned, forged, stale and malformed requests are
refused with 413/401/400 (never 500), before Bolt reads them, with one short log line and no body."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from tests.support.http import post_unread
from tests.support.slack import SlackHarness, make_harness

MARKER = "hostile-marker-9f3a"  # in every hostile body: must never reach the log


@pytest.fixture
def harness(fake, bundled_index_dir, tmp_path, embedder) -> Iterator[SlackHarness]:
    h = make_harness(fake, bundled_index_dir, tmp_path, embedder)
    yield h
    h.close()


def test_a_10mb_unsigned_body_is_refused_unread_with_one_short_log_line(harness, fake, caplog):
    caplog.set_level(logging.DEBUG)
    status, seconds = post_unread(harness.url, 10 * 1024 * 1024, {"Content-Type": "application/json"}, fill=MARKER)
    harness.idle()
    assert status == 413
    assert seconds < 1
    logged = "\n".join(caplog.messages)
    assert len(logged.encode()) < 1024
    assert MARKER not in logged
    assert caplog.messages == ["refused POST /slack/events (10485760 bytes): body over 1048576 bytes"]
    assert fake.calls_to("chat.postMessage") == []
    assert fake.calls_to("chat.startStream") == []


def signed_json(harness: SlackHarness, body: bytes, **kwargs) -> int:
    return harness.post(body, "application/json", **kwargs)[0]


@pytest.mark.parametrize(
    ("send", "status", "reason"),
    [
        (
            lambda h: signed_json(h, b'{"type": ' + MARKER.encode(), signature="v0=" + "0" * 64),
            401,
            "bad Slack signature",
        ),
        (lambda h: signed_json(h, b'{"type": "' + MARKER.encode()), 400, "malformed body (JSONDecodeError)"),
        (lambda h: signed_json(h, json.dumps([MARKER]).encode()), 400, "JSON body is not an object"),
        (
            lambda h: signed_json(h, b'{"x": "\xff' + MARKER.encode() + b'"}'),
            400,
            "malformed body (UnicodeDecodeError)",
        ),
        (
            lambda h: h.post(f"payload={MARKER}".encode(), "application/x-www-form-urlencoded")[0],
            400,
            "malformed body (JSONDecodeError)",
        ),
        (
            lambda h: h.post(f"payload=[1]&x={MARKER}".encode(), "application/x-www-form-urlencoded")[0],
            400,
            "form payload is not a JSON object",
        ),
        (lambda h: h.post(MARKER.encode(), "text/plain")[0], 400, "unsupported Content-Type"),
        (
            lambda h: signed_json(
                h,
                b'{"type": "event_callback", "x": "'
                + MARKER.encode()
                + b'", "event": '
                + b"[" * 100_000
                + b"]" * 100_000
                + b"}",
            ),
            400,
            "JSON nested too deeply",
        ),
        (
            lambda h: h.event("x", MARKER)[0],  # type: ignore[arg-type]
            400,
            "not a Slack payload: `event` is not an object with a string `type`",
        ),
        (
            lambda h: h.event({"type": "app_mention", "user": "U1", "text": MARKER, "channel": "C1"}, "EvNoTs")[0],
            400,
            "not a Slack payload: app_mention event without `ts`",
        ),
        (
            lambda h: signed_json(h, MARKER.encode(), headers={"X-Slack-Request-Timestamp": "abc"}),
            401,
            "malformed X-Slack-Request-Timestamp",
        ),
        (
            lambda h: signed_json(h, MARKER.encode(), headers={"X-Slack-Request-Timestamp": "9" * 40}),
            401,
            "malformed X-Slack-Request-Timestamp",
        ),
        (
            lambda h: signed_json(h, MARKER.encode(), headers={"X-Slack-Request-Timestamp": ""}),
            401,
            "no Slack signature",
        ),
        (
            lambda h: signed_json(h, MARKER.encode(), timestamp=int(time.time()) - 600),
            401,
            "stale X-Slack-Request-Timestamp",
        ),
    ],
    ids=[
        "unsigned-malformed",
        "signed-malformed-json",
        "signed-json-list",
        "signed-not-utf8",
        "signed-form-payload-not-json",
        "signed-form-payload-not-object",
        "signed-other-content-type",
        "signed-json-nested-100k-deep",
        "signed-event-not-an-object",
        "signed-mention-without-ts",
        "timestamp-abc",
        "timestamp-huge",
        "timestamp-missing",
        "timestamp-stale",
    ],
)
def test_hostile_requests_are_refused_with_a_reason_never_a_500(harness, fake, caplog, send, status, reason):
    caplog.set_level(logging.DEBUG)
    assert send(harness) == status
    harness.idle()
    # The front door's one line; other loggers (the search side loading in the background) may speak too.
    refusals = [r.getMessage() for r in caplog.records if r.name == "bot.slack.front_door"]
    assert [m.split(": ", 1)[1] for m in refusals] == [reason]
    assert MARKER not in caplog.text
    assert fake.calls_to("chat.postMessage") == []
    assert fake.calls_to("chat.startStream") == []

"""`podcast-bot serve --http` with slow clients: connections that trickle a request hold no request thread,
are answered 408 and closed within seconds, while Slack's signed requests and /healthz stay fast; a
chunked body and pipelined requests are still served, and a body over 1 MB is refused unread."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import time

import numpy as np
import pytest

from benchmarks.slow_clients import BODY_TRICKLE, HEADER_TRICKLE, SlowClients
from tests.support.http import health, post_unread
from tests.support.serve import ServedApp, serve_all
from tests.support.slack import SECRET

pytestmark = pytest.mark.slow

SLOW_CONNECTIONS = 16  # twice the server's request threads


@pytest.fixture
def app(fake, bundled_index_dir, tmp_path):
    env = {"PODCAST_BOT_INDEX": str(bundled_index_dir), "PODCAST_BOT_STATE": str(tmp_path / "state.sqlite3")}
    (served,) = serve_all(fake, tmp_path, [env])
    yield served
    served.stop()


def challenge(app: ServedApp, word: str) -> float:
    """A signed url_verification request, answered by Bolt; its round trip in seconds."""
    status, body, seconds = app.client.post(
        json.dumps({"type": "url_verification", "challenge": word}).encode(), "application/json"
    )
    assert status == 200
    assert json.loads(body)["challenge"] == word
    return seconds


def healthz_seconds(app: ServedApp) -> float:
    probe = health(app.url, timeout=10)
    assert probe is not None
    assert probe.status == 200
    return probe.seconds


@pytest.mark.parametrize("variant", [HEADER_TRICKLE, BODY_TRICKLE])
def test_slow_clients_hold_no_thread_and_are_closed_within_seconds(app, variant):
    challenge(app, "warm-up")
    with SlowClients("127.0.0.1", app.port, SLOW_CONNECTIONS, variant) as slow:
        time.sleep(1.5)  # every slow connection has been accepted and is trickling
        acks = [challenge(app, f"while-slow-{n}") for n in range(60)]
        slowest_health = max(healthz_seconds(app) for _ in range(5))
        assert not slow.all_closed, "the acks were measured while the slow connections were still open"
        closed = slow.wait_closed(10.0)
    assert closed, [c.closed_after for c in slow.connections]
    assert all(c.answer.startswith(b"HTTP/1.1 408 ") for c in slow.connections)
    assert np.percentile(np.asarray(acks), 99) < 0.1, sorted(acks)[-5:]
    assert slowest_health < 1.0
    assert "closed a connection after" in app.log()


def test_chunked_pipelined_and_kept_alive_requests_are_served_and_an_oversized_body_refused_at_once(app):
    body = json.dumps({"type": "url_verification", "challenge": "chunked"}).encode()
    timestamp = int(time.time())
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    chunked = (
        (
            f"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            f"X-Slack-Request-Timestamp: {timestamp}\r\nX-Slack-Signature: {signature}\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n{len(body):x}\r\n"
        ).encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    health = b"GET /healthz HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(chunked + health)  # two requests at once, the second behind the first
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    first, second = received.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ")
    assert b"chunked" in first
    assert second.startswith(b"200 ")
    assert json.loads(second.split(b"\r\n\r\n", 1)[1])["episodes"] == 1

    # A kept-alive connection's next request, after a pause, is read and served the same way.
    kept = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    sockets = []
    for _ in range(3):
        kept.request("GET", "/healthz")
        response = kept.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["episodes"] == 1
        sockets.append(kept.sock)
        time.sleep(0.5)
    kept.close()
    assert sockets[0] is not None
    assert sockets.count(sockets[0]) == 3

    status, seconds = post_unread(app.url, 10 * 1024 * 1024, {"Content-Type": "application/json"})
    assert status == 413
    assert seconds < 2

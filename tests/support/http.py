"""Talking to local servers from a test or a benchmark: a free port, `/healthz`, polls with a deadline, a raw POST."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _always() -> bool:
    return True


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    every: float = 0.1,
    running: Callable[[], bool] = _always,
) -> T:
    """Call `condition` every `every` seconds until it returns something truthy, and return that.
    Fails (AssertionError naming `what`) after `timeout` seconds, or at once when `running()` turns false
    (say, the process that should bring it about has ended)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if not running():
            raise AssertionError(f"{what}: gave up, what was to bring it about has ended")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


@dataclass(frozen=True)
class Health:
    """One `GET /healthz` answer: its HTTP status and JSON body, and how long it took (after a wait,
    the slowest answer seen while waiting)."""

    status: int
    body: dict[str, Any]
    seconds: float


def health(origin: str, timeout: float = 2.0) -> Health | None:
    """The `GET /healthz` answer of the app at `origin` (whatever its status), or None while nothing answers."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{origin}/healthz", timeout=timeout) as response:
            status, body = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        status, body = error.code, json.loads(error.read())
    except OSError:
        return None
    return Health(status, body, time.perf_counter() - started)


def wait_for_health(
    origin: str, healthy: Callable[[Health], bool], *, timeout: float = 120.0, running: Callable[[], bool] = _always
) -> Health:
    """Poll `/healthz` until `healthy(answer)`; that answer, its `seconds` the slowest while waiting
    (a probe that got no answer counts too). Fails after `timeout` seconds, or when `running()` turns
    false, naming the last answer."""
    slowest, last = 0.0, None

    def answered() -> Health | None:
        nonlocal slowest, last
        started = time.perf_counter()
        last = health(origin)
        slowest = max(slowest, time.perf_counter() - started)
        return last if last is not None and healthy(last) else None

    try:
        found = wait_until(answered, timeout=timeout, what=f"{origin}/healthz", running=running)
    except AssertionError as error:
        raise AssertionError(f"{error}; last answer: {last}") from None
    return Health(found.status, found.body, slowest)


def post_unread(url: str, body_size: int, headers: Mapping[str, str], *, fill: str = "x") -> tuple[int, float]:
    """POST a body of `body_size` bytes while reading the answer as soon as it comes, as a client must
    when a server refuses a body without reading it (the body repeats `fill`); the status and the
    seconds until it arrived."""
    address = urllib.parse.urlsplit(url)
    lines = ["POST /slack/events HTTP/1.1", f"Host: {address.hostname}", f"Content-Length: {body_size}"]
    head = "\r\n".join(lines + [f"{name}: {value}" for name, value in headers.items()]) + "\r\n\r\n"
    chunk = (fill * 65536)[:65536].encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:

        def send_body() -> None:
            sent = 0
            try:
                while sent < body_size:
                    sent += connection.send(chunk[: body_size - sent])
            except OSError:
                pass  # the server closed the connection: it will not read the rest

        started = time.perf_counter()
        connection.sendall(head.encode())
        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        response = b""
        while b"\r\n" not in response:
            data = connection.recv(4096)
            if not data:
                break
            response += data
        elapsed = time.perf_counter() - started
        with contextlib.suppress(OSError):  # the server may have closed the connection already
            connection.shutdown(socket.SHUT_RDWR)
    sender.join(timeout=5)
    return int(response.split()[1]), elapsed

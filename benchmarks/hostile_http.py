"""The Slack app's HTTP front door under hostile input, and with a frozen Chroma server.

All parts run the real WSGI app under gunicorn (one worker, the Procfile's worker class and hooks) on
127.0.0.1, offline answers, Slack's Web API played by a fake (tests.support).

1. Oversized bodies: `--big` unsigned POSTs of `--big-mb` MB to /slack/events, each sent while its
   answer is read (as curl does), over the bundled episode's embedded index. Printed: the time from
   the first byte sent to the 413, and how much the server's log grew in all.
2. A frozen index: the index of the bundled episode copied into a `chroma run` server, a mention
   answered, then the server frozen with SIGSTOP. Printed: the slowest GET /healthz while it
   turns 503, a mention's ack, and the time from that mention to its apology (the answer's
   deadline, `--deadline` s, or CHROMA_TIMEOUT, whichever ends first); then, after SIGCONT, the
   time until /healthz is 200 again and a new mention is answered.
3. Slow clients: `--slow` connections trickling a POST (a header line, or a body byte, every second),
   held open while `--acks` signed requests (url_verification, answered by Bolt) and 10 GET /healthz
   are timed one after another. Printed per variant: the acks' p50/p99, the slowest /healthz, and
   the time from opening to the server closing the slowest slow connection (with what it answered).
   `--worker-class gthread` shows gunicorn's stock worker for comparison.

Run from the repository root:
    .venv/bin/python -m benchmarks.hostile_http [--big 5] [--big-mb 10] [--deadline 20] [--chroma-timeout 10] \
        [--slow 16] [--acks 100] [--worker-class CLASS] [--only big|frozen|slow]
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from benchmarks.common import MODEL_CACHE, build_index, copy_index, episode_files, quiet
from benchmarks.slack_ack import (
    EPISODES,
    QUESTIONS,
    WORKER_CLASS,
    Mention,
    SlackRequest,
    bot_environment,
    gunicorn,
    mention_event,
    send,
)
from benchmarks.slow_clients import BODY_TRICKLE, HEADER_TRICKLE, SlowClients
from retrieval.index.embedding import MiniLMEmbedder
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.chroma_server import ChromaServer
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import health, post_unread, wait_for_health


def health_seconds(url: str) -> float:
    """How long one GET /healthz took, answered or not (given up after 10 s)."""
    started = time.perf_counter()
    health(url, timeout=10)
    return time.perf_counter() - started


def wait_for_update(fake: FakeSlack, channel: str, timeout: float) -> tuple[str, float] | None:
    """The text of the first chat.update in `channel` and when it arrived, or None after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in fake.calls_to("chat.update"):
            if call["args"].get("channel") == channel:
                return str(call["args"].get("text", "")), call["at"]
        time.sleep(0.02)
    return None


def oversized_bodies(args: argparse.Namespace, folder: Path, secret: str) -> None:
    with FakeSlack() as fake:
        env = bot_environment(fake, secret, folder / "index", str(folder / "state-big.sqlite3"))
        log_path = folder / "gunicorn-big.log"
        with gunicorn(env, 1, log_path) as url:
            before = log_path.stat().st_size
            size, headers = args.big_mb * 1024 * 1024, {"Content-Type": "application/json"}
            results = [post_unread(url, size, headers) for _ in range(args.big)]
            grown = log_path.stat().st_size - before
    ms = np.asarray([seconds for _, seconds in results]) * 1000
    print(
        f"{args.big} unsigned {args.big_mb} MB bodies: statuses {sorted({s for s, _ in results})}, "
        f"413 after p50 {np.percentile(ms, 50):.1f} ms, max {ms.max():.1f} ms; the log grew {grown} bytes"
    )


def frozen_index(args: argparse.Namespace, folder: Path, secret: str, embedder: MiniLMEmbedder) -> None:
    embedded = SectionIndex(StoreConfig(index_dir=folder / "index"), embedder.model_id)
    with ChromaServer(folder / "chroma") as chroma, FakeSlack() as fake:
        served = StoreConfig(chroma_host="127.0.0.1", chroma_port=chroma.port)
        copy_index(embedded, SectionIndex(served, embedder.model_id))
        env = bot_environment(fake, secret, folder / "unused", str(folder / "state-chroma.sqlite3"))
        env |= {
            "CHROMA_HOST": "127.0.0.1",
            "CHROMA_PORT": str(chroma.port),
            "CHROMA_TIMEOUT": str(args.chroma_timeout),
            "PODCAST_BOT_ANSWER_DEADLINE": str(args.deadline),
        }
        with gunicorn(env, 1, folder / "gunicorn-chroma.log") as url:
            warm = Mention("EvWarm", "CWARM", "1700003000.000001")
            send(secret, mention_event(url, warm, QUESTIONS[0]))
            if wait_for_update(fake, warm.channel, 60) is None:
                raise SystemExit("the warm-up mention was not answered")

            chroma.pause()
            try:
                paused_at = time.monotonic()
                slowest = wait_for_health(url, lambda answer: answer.status == 503, timeout=30).seconds
                turned = time.monotonic() - paused_at
                frozen = Mention("EvFrozen", "CFROZEN", "1700003000.000002")
                sent_at = time.perf_counter()
                acked, ack_seconds = send(secret, mention_event(url, frozen, QUESTIONS[1]))
                apology = wait_for_update(fake, frozen.channel, args.deadline + args.chroma_timeout + 10)
            finally:
                chroma.resume()
            resumed_at = time.monotonic()
            wait_for_health(url, lambda answer: answer.status == 200, timeout=60)
            healthy_after = time.monotonic() - resumed_at
            back = Mention("EvBack", "CBACK", "1700003000.000003")
            send(secret, mention_event(url, back, QUESTIONS[2]))
            answered = wait_for_update(fake, back.channel, 60)

    print(
        f"Chroma frozen: /healthz 503 after {turned:.1f} s, slowest /healthz {slowest * 1000:.0f} ms; "
        f"mention acked {acked} in {ack_seconds * 1000:.0f} ms"
    )
    if apology is None:
        print("no apology arrived")
    else:
        print(f"apology after {apology[1] - sent_at:.1f} s: {json.dumps(apology[0][:60])}")
    recovered = "answered" if answered and "Sorry" not in answered[0] else "NOT answered"
    print(f"after SIGCONT: /healthz 200 after {healthy_after:.1f} s; a new mention {recovered}")


def slow_clients(args: argparse.Namespace, folder: Path, secret: str) -> None:
    with FakeSlack() as fake:
        env = bot_environment(fake, secret, folder / "index", str(folder / "state-slow.sqlite3"))
        with gunicorn(env, 1, folder / "gunicorn-slow.log", worker_class=args.worker_class) as url:
            port = int(url.rsplit(":", 1)[1])
            challenge = json.dumps({"type": "url_verification", "challenge": "slow"}).encode()
            request = SlackRequest(url, "event", "challenge", challenge, "application/json")
            send(secret, request)
            for variant in (HEADER_TRICKLE, BODY_TRICKLE):
                with SlowClients("127.0.0.1", port, args.slow, variant) as slow:
                    time.sleep(1.5)  # all accepted and trickling
                    acks = [send(secret, request) for _ in range(args.acks)]
                    slowest_health = max(health_seconds(url) for _ in range(10))
                    open_during = sum(c.closed_after is None for c in slow.connections)
                    slow.wait_closed(30.0)
                ms = np.asarray([seconds for _, seconds in acks]) * 1000
                closes = [c.closed_after for c in slow.connections]
                closed = (
                    f"all closed after at most {max(c for c in closes if c is not None):.1f} s"
                    if None not in closes
                    else f"{closes.count(None)} NOT closed within 30 s"
                )
                answers = sorted({c.answer.split(b"\r\n", 1)[0].decode() or "nothing" for c in slow.connections})
                print(
                    f"{args.slow} slow clients ({variant} trickle, {open_during} still open while measured): "
                    f"{args.acks} signed acks {sorted({s for s, _ in acks})} p50 {np.percentile(ms, 50):.1f} ms, "
                    f"p99 {np.percentile(ms, 99):.1f} ms; slowest /healthz {slowest_health * 1000:.0f} ms; "
                    f"{closed}, answered {answers}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=5, help="oversized unsigned POSTs")
    parser.add_argument("--big-mb", type=int, default=10, help="size of each, in MB")
    parser.add_argument("--deadline", type=float, default=20.0, help="PODCAST_BOT_ANSWER_DEADLINE, seconds")
    parser.add_argument("--chroma-timeout", type=float, default=10.0, help="CHROMA_TIMEOUT, seconds")
    parser.add_argument("--slow", type=int, default=16, help="slow connections held open")
    parser.add_argument("--acks", type=int, default=100, help="signed requests timed while they are open")
    parser.add_argument("--worker-class", default=WORKER_CLASS, help="gunicorn worker class")
    parser.add_argument("--only", choices=("all", "big", "frozen", "slow"), default="all", help="run one part")
    args = parser.parse_args()
    quiet()
    embedder = MiniLMEmbedder(MODEL_CACHE)
    embedder.load()
    secret = secrets.token_hex(16)
    with TemporaryDirectory(prefix="podcast-bench-hostile-") as temp:
        folder = Path(temp)
        build_index(folder / "index", episode_files([EPISODES], None), embedder)
        if args.only in ("all", "big"):
            oversized_bodies(args, folder, secret)
        if args.only in ("all", "frozen"):
            frozen_index(args, folder, secret, embedder)
        if args.only in ("all", "slow"):
            slow_clients(args, folder, secret)


if __name__ == "__main__":
    main()

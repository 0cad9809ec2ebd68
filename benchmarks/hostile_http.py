"""The Slack app's HTTP front door under hostile input, and with a frozen Chroma server.

Both parts run the real WSGI app under gunicorn (one worker, gthread, the Procfile's hooks) on
127.0.0.1, offline answers, Slack's Web API played by a recorder (benchmarks.local_services).

1. Oversized bodies: `--big` unsigned POSTs of `--big-mb` MB to /slack/events, each sent while its
   answer is read (as curl does), over the bundled episode's embedded index. Printed: the time from
   the first byte sent to the 413, and how much the server's log grew in all.
2. A frozen index: the index of the bundled episode copied into a `chroma run` server, a mention
   answered, then the server frozen with SIGSTOP. Printed: the slowest GET /healthz while it
   turns 503, a mention's ack, and the time from that mention to its apology (the answer's
   deadline, `--deadline` s, or CHROMA_TIMEOUT, whichever ends first); then, after SIGCONT, the
   time until /healthz is 200 again and a new mention is answered.

Run from the repository root:
    .venv/bin/python -m benchmarks.hostile_http [--big 5] [--big-mb 10] [--deadline 20] [--chroma-timeout 10]
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from benchmarks.common import build_index, copy_index, episode_files, quiet
from benchmarks.local_services import SlackRecorder, chroma_server, post_unread
from benchmarks.slack_ack import EPISODES, QUESTIONS, Mention, bot_environment, gunicorn, mention_event, send
from retrieval.embedding import MiniLMEmbedder
from retrieval.index import SectionIndex, StoreConfig


def health(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def wait_for_update(fake: SlackRecorder, channel: str, timeout: float) -> tuple[str, float] | None:
    """The text of the first chat.update in `channel` and when it arrived, or None after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for args, at in fake.arrivals("chat.update"):
            if args.get("channel") == channel:
                return str(args.get("text", "")), at
        time.sleep(0.02)
    return None


def oversized_bodies(args: argparse.Namespace, folder: Path, secret: str) -> None:
    with SlackRecorder() as fake:
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
    with chroma_server(folder / "chroma") as chroma, SlackRecorder() as fake:
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
                slowest, status = 0.0, 200
                paused_at = time.monotonic()
                while status != 503 and time.monotonic() - paused_at < 30:
                    status, seconds = health(url)
                    slowest = max(slowest, seconds)
                    time.sleep(0.1)
                turned = time.monotonic() - paused_at
                frozen = Mention("EvFrozen", "CFROZEN", "1700003000.000002")
                sent_at = time.perf_counter()
                acked, ack_seconds = send(secret, mention_event(url, frozen, QUESTIONS[1]))
                apology = wait_for_update(fake, frozen.channel, args.deadline + args.chroma_timeout + 10)
            finally:
                chroma.resume()
            resumed_at = time.monotonic()
            while health(url)[0] != 200 and time.monotonic() - resumed_at < 60:
                time.sleep(0.1)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=5, help="oversized unsigned POSTs")
    parser.add_argument("--big-mb", type=int, default=10, help="size of each, in MB")
    parser.add_argument("--deadline", type=float, default=20.0, help="PODCAST_BOT_ANSWER_DEADLINE, seconds")
    parser.add_argument("--chroma-timeout", type=float, default=10.0, help="CHROMA_TIMEOUT, seconds")
    args = parser.parse_args()
    quiet()
    embedder = MiniLMEmbedder()
    embedder.load()
    secret = secrets.token_hex(16)
    with TemporaryDirectory(prefix="podcast-bench-hostile-") as temp:
        folder = Path(temp)
        build_index(folder / "index", episode_files([EPISODES], None), embedder)
        oversized_bodies(args, folder, secret)
        frozen_index(args, folder, secret, embedder)


if __name__ == "__main__":
    main()

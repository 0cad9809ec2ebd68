"""Slack ack latency under load: signed `/ask` commands and `app_mention` events to the gunicorn-served app.

The real WSGI app (`bot.slack.wsgi:create_wsgi_app()`) runs under gunicorn (gthread, 8 threads, `--workers`
processes) on 127.0.0.1 with the offline answerer (no OPENAI_API_KEY), an index of the bundled
episode (data/episodes) built once beforehand, a temporary SQLite state file, no rate limit, and
a recorder of Slack Web API calls (benchmarks.local_services.SlackRecorder) for the answers. After GET /healthz
answers 200, a few untimed `/ask` commands warm the workers (model loaded, keyword index built).

Then `--clients` concurrent clients send `--requests` signed `/ask` commands (one user id each),
`--requests` signed `app_mention` events (one event_id, channel and ts each), and, after them,
`--retries` of those events again with `X-Slack-Retry-Num: 1`. Each HTTP round trip (Slack's ack)
is timed. Target: ack p99 <= 50 ms for `/ask` and for events.

Once the answers are in (at most `--timeout` s), it checks that every `/ask` got exactly one
response_url post naming its asker (`<@USER> asked`), every event exactly one placeholder in its
thread (thread_ts = the event ts) and one chat.update in its channel, and that the retries added
nothing. Printed: ack p50/p99/max per kind, then sent / acked 200 / answered / answered twice /
lost. Exits 1 when a request was not acked with 200 or an answer is missing or doubled.

The clients and the fake Slack share this process, so the measured acks include its own overhead.

Run from the repository root:
    .venv/bin/python -m benchmarks.slack_ack [--workers 2] [--requests 50] [--retries 10] [--clients 50]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from benchmarks.common import REPO_ROOT, build_index, episode_files, quiet
from benchmarks.local_services import RESPONSE_URL, SlackRecorder, free_port
from bot.slack.blocks import THINKING
from retrieval.embedding import MINILM_MODEL_ID, MiniLMEmbedder

EPISODES = REPO_ROOT / "data" / "episodes"
QUESTIONS = (
    "How does DataTalks.Club make money from sponsors?",
    "How did Alexey start DataTalks.Club?",
    "What does Alexey do to prepare a podcast episode?",
    "How much time does running the community take?",
    "Why did Alexey leave OLX?",
)
ACK_TARGET_MS = 50.0
WARM_UP_COMMANDS = 8
SETTLE_SECONDS = 2.0  # after the last expected answer, time for duplicates to show up
ASKER = re.compile(r"<@([A-Z0-9]+)> asked")
Kind = Literal["/ask", "event", "retry"]


@dataclass(frozen=True)
class SlackRequest:
    """One signed POST to /slack/events; `key` is the asker's user id (/ask) or the event's channel."""

    kind: Kind
    key: str
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mention:
    event_id: str
    channel: str
    ts: str


def ask_command(user: str, question: str, response_url: str) -> SlackRequest:
    form = {
        "command": "/ask",
        "text": question,
        "user_id": user,
        "user_name": user.lower(),
        "channel_id": "C1",
        "team_id": "T1",
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "token": "legacy",
    }
    return SlackRequest("/ask", user, urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded")


def mention_event(mention: Mention, question: str, retry: bool = False) -> SlackRequest:
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@UBOT> {question}",
        "channel": mention.channel,
        "ts": mention.ts,
    }
    payload = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": event,
        "event_id": mention.event_id,
        "event_time": int(time.time()),
        "authorizations": [{"user_id": "UBOT", "is_bot": True, "team_id": "T1"}],
    }
    headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
    return SlackRequest(
        "retry" if retry else "event", mention.channel, json.dumps(payload).encode(), "application/json", headers
    )


def send(url: str, secret: str, request: SlackRequest) -> tuple[int, float]:
    """Sign and POST `request`; the HTTP status and the round-trip seconds."""
    timestamp = str(int(time.time()))
    signature = (
        "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + request.body, hashlib.sha256).hexdigest()
    )
    http = urllib.request.Request(
        f"{url}/slack/events",
        data=request.body,
        method="POST",
        headers={
            "Content-Type": request.content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            **request.headers,
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            response.read()
            return response.status, time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started


def send_all(url: str, secret: str, requests: list[SlackRequest], clients: int) -> list[tuple[int, float]]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda request: send(url, secret, request), requests))


def bot_environment(fake: SlackRecorder, secret: str, index_dir: Path, state_path: Path) -> dict[str, str]:
    """This process's environment without any bot, Slack, Chroma or OpenAI settings, plus the benchmark's."""
    prefixes = ("PODCAST_BOT_", "SLACK_", "CHROMA_", "OPENAI_")
    env = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    return env | {
        "SLACK_BOT_TOKEN": "xoxb-benchmark-token",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": fake.api_url,
        "PODCAST_BOT_INDEX": str(index_dir),
        "PODCAST_BOT_EPISODES": str(EPISODES),
        "PODCAST_BOT_EMBEDDING_MODEL": MINILM_MODEL_ID,
        "PODCAST_BOT_STATE": str(state_path),
        "PODCAST_BOT_RATE_LIMIT": "0",
        "PODCAST_BOT_LOG_LEVEL": "WARNING",
        "ANONYMIZED_TELEMETRY": "False",
    }


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """Serve the app on a free 127.0.0.1 port until GET /healthz is 200; yield its URL; stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--workers",
        str(workers),
        "--no-control-socket",
        "bot.slack.wsgi:create_wsgi_app()",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                sys.exit(f"gunicorn did not become healthy within {timeout:.0f} s; its log ends:\n{tail}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Outcome:
    """How often each expected answer arrived, keyed like SlackRequest.key."""

    asks: Counter[str]
    events: Counter[str]

    def missing(self) -> bool:
        return any(n == 0 for n in self.asks.values()) or any(n == 0 for n in self.events.values())


def outcome(fake: SlackRecorder, users: list[str], mentions: list[Mention]) -> Outcome:
    """Answers so far: response_url posts naming each asker; for each event 0 until both its placeholder
    (in its thread) and a chat.update (in its channel) arrived, else the larger of the two counts."""
    askers = Counter(
        name
        for call in fake.calls_to(RESPONSE_URL)
        for name in ASKER.findall(json.dumps(call.get("blocks", []), ensure_ascii=False))
    )
    placeholders = Counter(
        (call.get("channel"), call.get("thread_ts"))
        for call in fake.calls_to("chat.postMessage")
        if call.get("text") == THINKING
    )
    updates = Counter(call.get("channel") for call in fake.calls_to("chat.update"))
    events: Counter[str] = Counter()
    for mention in mentions:
        placed, updated = placeholders[(mention.channel, mention.ts)], updates[mention.channel]
        events[mention.channel] = max(placed, updated) if placed and updated else 0
    return Outcome(Counter({user: askers[user] for user in users}), events)


def wait_for_answers(fake: SlackRecorder, users: list[str], mentions: list[Mention], timeout: float) -> Outcome:
    deadline = time.monotonic() + timeout
    while outcome(fake, users, mentions).missing() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(SETTLE_SECONDS)
    return outcome(fake, users, mentions)


def ack_line(kind: str, results: list[tuple[int, float]]) -> str:
    ms = np.asarray([seconds for _, seconds in results]) * 1000
    p50, p99 = np.percentile(ms, [50, 99])
    return f"{kind:>7} acks: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ms.max():.1f} ms (n={len(ms)})"


def count_line(kind: str, results: list[tuple[int, float]], answers: Counter[str]) -> str:
    acked = sum(status == 200 for status, _ in results)
    once = sum(n == 1 for n in answers.values())
    twice = sum(n > 1 for n in answers.values())
    lost = sum(n == 0 for n in answers.values())
    return f"{kind:>7}: sent {len(results)}, acked 200 {acked}, answered {once}, answered twice {twice}, lost {lost}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--requests", type=int, default=50, help="/ask commands, and also distinct events, to send")
    parser.add_argument("--retries", type=int, default=10, help="events sent a second time as Slack retries")
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for all answers")
    args = parser.parse_args()
    if not 0 <= args.retries <= args.requests:
        parser.error("--retries must be between 0 and --requests")
    quiet()
    embedder = MiniLMEmbedder()
    embedder.load()
    secret = secrets.token_hex(16)

    with tempfile.TemporaryDirectory(prefix="podcast-bench-slack-") as temp, SlackRecorder() as fake:
        folder = Path(temp)
        build_index(folder / "index", episode_files([EPISODES], None), embedder)
        env = bot_environment(fake, secret, folder / "index", folder / "state.sqlite3")
        with gunicorn(env, args.workers, folder / "gunicorn.log") as url:
            warm_users = [f"UWARM{n:03d}" for n in range(WARM_UP_COMMANDS)]
            send_all(url, secret, [ask_command(u, QUESTIONS[0], fake.response_url) for u in warm_users], args.clients)
            if wait_for_answers(fake, warm_users, [], args.timeout).missing():
                sys.exit(f"the warm-up commands were not answered within {args.timeout:.0f} s")

            users = [f"UASK{n:03d}" for n in range(args.requests)]
            mentions = [
                Mention(f"EvBench{n:03d}", f"CBENCH{n:03d}", f"1700001000.{n:06d}") for n in range(args.requests)
            ]
            requests: list[SlackRequest] = []
            for n, (user, mention) in enumerate(zip(users, mentions, strict=True)):
                question = QUESTIONS[n % len(QUESTIONS)]
                requests += [ask_command(user, question, fake.response_url), mention_event(mention, question)]
            requests += [
                mention_event(m, QUESTIONS[n % len(QUESTIONS)], retry=True)
                for n, m in enumerate(mentions[: args.retries])
            ]
            results = send_all(url, secret, requests, args.clients)
            answers = wait_for_answers(fake, users, mentions, args.timeout)

    by_kind: dict[Kind, list[tuple[int, float]]] = {"/ask": [], "event": [], "retry": []}
    for request, result in zip(requests, results, strict=True):
        by_kind[request.kind].append(result)
    print(
        f"gunicorn: {args.workers} workers x 8 threads; {args.clients} concurrent clients "
        f"(target ack p99 <= {ACK_TARGET_MS:.0f} ms)"
    )
    for kind, kind_results in by_kind.items():
        if kind_results:
            print(ack_line(kind, kind_results))
    print(count_line("/ask", by_kind["/ask"], answers.asks))
    print(count_line("events", by_kind["event"] + by_kind["retry"], answers.events))
    print(f"retries: sent {args.retries}; extra event answers {sum(n - 1 for n in answers.events.values() if n > 1)}")
    failed = any(status != 200 for status, _ in results) or any(
        n != 1 for n in [*answers.asks.values(), *answers.events.values()]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

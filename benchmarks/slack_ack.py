"""Slack ack latency under load: signed `/ask` commands and `app_mention` events to the gunicorn-served app.

The real WSGI app (`bot.slack.wsgi:create_wsgi_app()`) runs under gunicorn (the Procfile's worker class,
8 threads, `--workers` processes, the Procfile's hooks) on 127.0.0.1 with the offline answerer (no
OPENAI_API_KEY), an index of the bundled episode (data/episodes) built once beforehand, no rate limit,
and a fake Slack Web API (tests.support.fakes.slack_server.FakeSlack) for the answers.
`--servers` such gunicorns run side by side, like dynos behind a load balancer. The state store
(`--state`) is a temporary SQLite file per server (dynos share no disk), or one PostgreSQL database that
all of them share, on a throwaway server started for the run (tests.support.postgres_server.PostgresServer).
After GET /healthz answers 200, a few untimed `/ask` commands warm each server (model loaded, keyword
index built).

Then `--clients` concurrent clients send `--requests` signed `/ask` commands (one user id and
trigger id each), `--requests` signed `app_mention` events (one event_id, channel and ts each),
both spread over the servers in turn, and, after them, `--retries` of those events again with
`X-Slack-Retry-Num: 1`, each to the server after the one that had the event (the same one when
there is one server). Each HTTP round trip (Slack's ack) is timed. Target: ack p99 <= 50 ms for
`/ask` and for events.

Once the answers are in (at most `--timeout` s), it checks that every `/ask` got exactly one
response_url post naming its asker (`<@USER> asked`), every event exactly one placeholder in its
thread (thread_ts = the event ts) and one chat.update with the answer in its channel, and that the
retries added nothing. An apology in place of an answer (the answer deadline passed) is counted as
apologised, not answered: for `/ask` only their number is known (an apology names no asker), so
lost counts the askers without an answer beyond the apologies, who heard nothing. Printed: ack
p50/p99/max per kind, then sent / acked 200 / answered / apologised / answered twice / lost. Exits 1
when a request was not acked with 200 or an answer is missing (apologised or lost) or doubled.

The clients and the fake Slack share this process, so the measured acks include its own overhead.

Run from the repository root:
    .venv/bin/python -m benchmarks.slack_ack [--workers 2] [--requests 50] [--retries 10] [--clients 50]
        [--state sqlite|postgres] [--servers 1]
Cross-process retries: --servers 2 --retries 50, with --state postgres (none answered twice) or
--state sqlite (each answered twice: the servers do not share their state).
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from benchmarks.common import MODEL_CACHE, REPO_ROOT, build_index, episode_files, quiet
from bot.slack.blocks import APOLOGY, THINKING
from retrieval.index.embedding import MINILM_INT8_MODEL_ID, MiniLMEmbedder
from tests.support.fakes.slack_server import RESPONSE_URL_METHOD, FakeSlack
from tests.support.http import free_port, wait_for_health
from tests.support.postgres_server import PostgresServer

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

WORKER_CLASS = "bot.slack.gunicorn_worker.RequestBufferingWorker"  # as in the Procfile


@dataclass(frozen=True)
class SlackRequest:
    """One signed POST to `url`/slack/events; `key` is the asker's user id (/ask) or the event's channel."""

    url: str
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


def ask_command(url: str, user: str, question: str, response_url: str) -> SlackRequest:
    form = {
        "command": "/ask",
        "text": question,
        "user_id": user,
        "user_name": user.lower(),
        "channel_id": "C1",
        "team_id": "T1",
        "response_url": response_url,
        "trigger_id": f"{user}.{secrets.token_hex(4)}",  # every invocation has its own
        "token": "legacy",
    }
    return SlackRequest(url, "/ask", user, urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded")


def mention_event(url: str, mention: Mention, question: str, retry: bool = False) -> SlackRequest:
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
        url, "retry" if retry else "event", mention.channel, json.dumps(payload).encode(), "application/json", headers
    )


def send(secret: str, request: SlackRequest) -> tuple[int, float]:
    """Sign and POST `request`; the HTTP status and the round-trip seconds."""
    timestamp = str(int(time.time()))
    signature = (
        "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + request.body, hashlib.sha256).hexdigest()
    )
    http = urllib.request.Request(
        f"{request.url}/slack/events",
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


def send_all(secret: str, requests: list[SlackRequest], clients: int) -> list[tuple[int, float]]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda request: send(secret, request), requests))


def bot_environment(fake: FakeSlack, secret: str, index_dir: Path, state: str) -> dict[str, str]:
    """This process's environment without any bot, Slack, Chroma or OpenAI settings, plus the benchmark's;
    `state`: a SQLite file or a postgresql:// URL."""
    prefixes = ("PODCAST_BOT_", "SLACK_", "CHROMA_", "OPENAI_")
    env = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    return env | {
        "SLACK_BOT_TOKEN": "xoxb-benchmark-token",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": fake.api_url,
        "PODCAST_BOT_INDEX": str(index_dir),
        "PODCAST_BOT_EPISODES": str(EPISODES),
        "PODCAST_BOT_EMBEDDING_MODEL": MINILM_INT8_MODEL_ID,
        "PODCAST_BOT_STATE": state,
        "PODCAST_BOT_RATE_LIMIT": "0",
        "PODCAST_BOT_LOG_LEVEL": "WARNING",
        "ANONYMIZED_TELEMETRY": "False",
    }


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int, log_path: Path, timeout: float = 60.0, worker_class: str = WORKER_CLASS
) -> Iterator[str]:
    """Serve the app on a free 127.0.0.1 port until GET /healthz says ok; yield its URL; stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        worker_class,
        "--threads",
        "8",
        "--workers",
        str(workers),
        "--no-control-socket",
        "-c",
        "python:bot.slack.gunicorn_hooks",
        "bot.slack.wsgi:create_wsgi_app()",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            # Ready to answer: the index is open (not still starting or building) and reachable.
            wait_for_health(
                url,
                lambda answer: answer.body.get("status") == "ok",
                timeout=timeout,
                running=lambda: process.poll() is None,
            )
        except AssertionError as error:
            tail = log_path.read_text(errors="replace")[-3000:]
            sys.exit(f"gunicorn did not become healthy ({error}); its log ends:\n{tail}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Outcome:
    """How often each expected answer arrived, keyed like SlackRequest.key, and the apologies instead."""

    asks: Counter[str]
    events: Counter[str]
    ask_apologies: int  # response_url apologies: they name no asker
    event_apologies: Counter[str]  # by channel

    def missing(self) -> bool:
        """Some question has no answer (an apology or nothing)."""
        return any(n == 0 for n in self.asks.values()) or any(n == 0 for n in self.events.values())

    def waiting(self) -> bool:
        """Some question has neither its answer nor an apology yet."""
        unanswered_asks = sum(n == 0 for n in self.asks.values())
        silent_events = [c for c, n in self.events.items() if n == 0 and not self.event_apologies[c]]
        return unanswered_asks > self.ask_apologies or bool(silent_events)


def outcome(fake: FakeSlack, users: list[str], mentions: list[Mention]) -> Outcome:
    """Answers so far: response_url posts naming each asker; for each event 0 until both its placeholder
    (in its thread) and a chat.update with the answer (in its channel) arrived, else the larger of the
    two counts; and the apologies posted in place of answers."""
    ask_posts = [call["args"] for call in fake.calls_to(RESPONSE_URL_METHOD)]
    askers = Counter(
        name for call in ask_posts for name in ASKER.findall(json.dumps(call.get("blocks", []), ensure_ascii=False))
    )
    placeholders = Counter(
        (call["args"].get("channel"), call["args"].get("thread_ts"))
        for call in fake.calls_to("chat.postMessage")
        if call["args"].get("text") == THINKING
    )
    updates = [call["args"] for call in fake.calls_to("chat.update")]
    answered = Counter(call.get("channel") for call in updates if call.get("text") != APOLOGY)
    events: Counter[str] = Counter()
    for mention in mentions:
        placed, updated = placeholders[(mention.channel, mention.ts)], answered[mention.channel]
        events[mention.channel] = max(placed, updated) if placed and updated else 0
    return Outcome(
        asks=Counter({user: askers[user] for user in users}),
        events=events,
        ask_apologies=sum(call.get("text") == APOLOGY for call in ask_posts),
        event_apologies=Counter(str(call.get("channel")) for call in updates if call.get("text") == APOLOGY),
    )


def wait_for_answers(fake: FakeSlack, users: list[str], mentions: list[Mention], timeout: float) -> Outcome:
    deadline = time.monotonic() + timeout
    while outcome(fake, users, mentions).waiting() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(SETTLE_SECONDS)
    return outcome(fake, users, mentions)


def ack_line(kind: str, results: list[tuple[int, float]]) -> str:
    ms = np.asarray([seconds for _, seconds in results]) * 1000
    p50, p99 = np.percentile(ms, [50, 99])
    return f"{kind:>7} acks: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ms.max():.1f} ms (n={len(ms)})"


def count_line(kind: str, results: list[tuple[int, float]], answers: Counter[str], apologised: int) -> str:
    acked = sum(status == 200 for status, _ in results)
    once = sum(n == 1 for n in answers.values())
    twice = sum(n > 1 for n in answers.values())
    lost = sum(n == 0 for n in answers.values()) - apologised
    return (
        f"{kind:>7}: sent {len(results)}, acked 200 {acked}, answered {once}, apologised {apologised}, "
        f"answered twice {twice}, lost {lost}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes per server")
    parser.add_argument("--servers", type=int, default=1, help="gunicorn servers side by side, like dynos")
    parser.add_argument(
        "--state", choices=("sqlite", "postgres"), default="sqlite", help="a SQLite file per server, or one PostgreSQL"
    )
    parser.add_argument("--requests", type=int, default=50, help="/ask commands, and also distinct events, to send")
    parser.add_argument("--retries", type=int, default=10, help="events sent a second time as Slack retries")
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for all answers")
    args = parser.parse_args()
    if not 0 <= args.retries <= args.requests:
        parser.error("--retries must be between 0 and --requests")
    if args.servers < 1:
        parser.error("--servers must be at least 1")
    quiet()
    embedder = MiniLMEmbedder(MODEL_CACHE)
    embedder.load()
    secret = secrets.token_hex(16)

    with (
        tempfile.TemporaryDirectory(prefix="podcast-bench-slack-") as temp,
        FakeSlack() as fake,
        ExitStack() as stack,
    ):
        folder = Path(temp)
        build_index(folder / "index", episode_files([EPISODES], None), embedder)
        if args.state == "postgres":
            database = stack.enter_context(PostgresServer()).create_database("bench")
            states = [database] * args.servers
        else:
            states = [str(folder / f"state-{n}.sqlite3") for n in range(args.servers)]
        urls = [
            stack.enter_context(
                gunicorn(
                    bot_environment(fake, secret, folder / "index", state), args.workers, folder / f"gunicorn-{n}.log"
                )
            )
            for n, state in enumerate(states)
        ]
        warm_users = [f"UWARM{n:03d}" for n in range(WARM_UP_COMMANDS * args.servers)]
        warm_up = [
            ask_command(urls[n % len(urls)], u, QUESTIONS[0], fake.response_url) for n, u in enumerate(warm_users)
        ]
        send_all(secret, warm_up, args.clients)
        if wait_for_answers(fake, warm_users, [], args.timeout).missing():
            sys.exit(f"the warm-up commands were not answered within {args.timeout:.0f} s")

        users = [f"UASK{n:03d}" for n in range(args.requests)]
        mentions = [Mention(f"EvBench{n:03d}", f"CBENCH{n:03d}", f"1700001000.{n:06d}") for n in range(args.requests)]
        requests: list[SlackRequest] = []
        for n, (user, mention) in enumerate(zip(users, mentions, strict=True)):
            question, url = QUESTIONS[n % len(QUESTIONS)], urls[n % len(urls)]
            requests += [ask_command(url, user, question, fake.response_url), mention_event(url, mention, question)]
        requests += [
            mention_event(urls[(n + 1) % len(urls)], m, QUESTIONS[n % len(QUESTIONS)], retry=True)
            for n, m in enumerate(mentions[: args.retries])
        ]
        results = send_all(secret, requests, args.clients)
        answers = wait_for_answers(fake, users, mentions, args.timeout)

    by_kind: dict[Kind, list[tuple[int, float]]] = {"/ask": [], "event": [], "retry": []}
    for request, result in zip(requests, results, strict=True):
        by_kind[request.kind].append(result)
    where = "one shared PostgreSQL database" if args.state == "postgres" else "a SQLite file per server"
    print(
        f"gunicorn: {args.servers} server(s) x {args.workers} workers x 8 threads, state in {where}; "
        f"{args.clients} concurrent clients (target ack p99 <= {ACK_TARGET_MS:.0f} ms)"
    )
    for kind, kind_results in by_kind.items():
        if kind_results:
            print(ack_line(kind, kind_results))
    print(count_line("/ask", by_kind["/ask"], answers.asks, answers.ask_apologies))
    event_apologies = sum(1 for m in mentions if answers.events[m.channel] == 0 and answers.event_apologies[m.channel])
    print(count_line("events", by_kind["event"] + by_kind["retry"], answers.events, event_apologies))
    retried_to = "another server" if args.servers > 1 else "the same server"
    print(
        f"retries: sent {args.retries} (each to {retried_to}); "
        f"extra event answers {sum(n - 1 for n in answers.events.values() if n > 1)}"
    )
    failed = any(status != 200 for status, _ in results) or any(
        n != 1 for n in [*answers.asks.values(), *answers.events.values()]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

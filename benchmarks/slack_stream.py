"""Streamed answers in Slack: the time from a mention to its first streamed chunk, with a local model.

gunicorn serves the real WSGI app (one worker, as the Procfile) over an index of `--episodes` (the
shared corpus by default; built once into a temporary folder, or reused with --index), with
OPENAI_BASE_URL pointing at a local OpenAI-compatible model that streams a cited reply word by word,
`--token-ms` apart, the first at once (tests.support.fakes.openai_server.FakeOpenAI), and
PODCAST_BOT_LLM_STREAMING=1. Slack's Web API is a fake that notes when each call arrives
(tests.support.fakes.slack_server.FakeSlack); everything runs on 127.0.0.1, the clock is this process's.

After two untimed mentions (model loaded, keyword index built), `--mentions` signed app_mention
events are sent one at a time, each waiting for its stream to stop so that none queues behind
another, asking the answerable dev questions in turn. For each:
  ack          the HTTP round trip of the event;
  retrieval    event sent -> the model's chat request (claim, status, search, prompt);
  first chunk  event sent -> chat.startStream arriving at Slack with the first words;
  over retr.   the model's chat request -> chat.startStream: what streaming adds to retrieval
               (target: p50 <= 300 ms), the model's first word included.
Printed: p50/p95/max of each; exits 1 when the target is missed or a mention was not streamed.

Run from the repository root:
    .venv/bin/python -m benchmarks.slack_stream [--episodes DIR] [--limit N] [--mentions 30] [--token-ms 20]
"""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import MODEL_CACHE, build_index, episode_files, index_folder, make_parser, questions, quiet
from benchmarks.slack_ack import Mention, bot_environment, gunicorn, mention_event, send
from retrieval.evaluation.questions import load_questions
from retrieval.index.embedding import MiniLMEmbedder
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.fakes.slack_server import FakeSlack

TARGET_MS = 300.0
REPLY = (
    "DataTalks.Club grew from a Slack community [1]; the podcast and the free courses came later, "
    "with sponsors paying for workshops and newsletters [2]."
)
WARM_UP = 2


def stream_started(fake: FakeSlack, channel: str) -> float | None:
    """When the stream in `channel` started, or None before it did."""
    return next((c["at"] for c in fake.calls_to("chat.startStream") if c["args"].get("channel") == channel), None)


def wait_until_stopped(fake: FakeSlack, started: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while len(fake.calls_to("chat.stopStream")) <= started:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def line(name: str, seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    p50, p95 = np.percentile(ms, [50, 95])
    return f"{name:>12}: p50 {p50:6.1f} ms, p95 {p95:6.1f} ms, max {ms.max():6.1f} ms (n={len(ms)})"


def main() -> None:
    parser = make_parser(__doc__.splitlines()[0], questions=True)
    parser.add_argument("--mentions", type=int, default=30, help="timed mentions, one at a time")
    parser.add_argument("--token-ms", type=float, default=20.0, help="milliseconds between the model's words")
    args = parser.parse_args()
    quiet()
    asked = [q.question for q in load_questions(args.questions) if q.answerable] or questions(args.questions)
    embedder = MiniLMEmbedder(MODEL_CACHE)
    embedder.load()
    secret = secrets.token_hex(16)

    with (
        index_folder(args.index) as folder,
        FakeSlack() as fake,
        FakeOpenAI(REPLY) as model,
    ):
        model.chunk_delay = args.token_ms / 1000
        build_index(folder, episode_files(args.episodes, args.limit), embedder)
        env = bot_environment(fake, secret, folder, str(Path(folder) / "bench-state.sqlite3"))
        env |= {"OPENAI_API_KEY": "sk-benchmark", "OPENAI_BASE_URL": model.base_url, "PODCAST_BOT_LLM_STREAMING": "1"}
        with gunicorn(env, 1, Path(folder) / "gunicorn.log") as url:
            acks, retrieval, first_chunk, overhead = [], [], [], []
            missed = 0
            for n in range(WARM_UP + args.mentions):
                mention = Mention(f"EvStream{n:03d}", f"CSTREAM{n:03d}", f"1700002000.{n:06d}")
                stopped, requests = len(fake.calls_to("chat.stopStream")), len(model.requests)
                sent_at = time.perf_counter()
                status, ack = send(secret, mention_event(url, mention, asked[n % len(asked)]))
                if status != 200 or not wait_until_stopped(fake, stopped, timeout=30):
                    missed += 1
                    continue
                started = stream_started(fake, mention.channel)
                if n < WARM_UP or started is None or len(model.requests) <= requests:
                    missed += n >= WARM_UP
                    continue
                asked_model = model.requests[requests]["at"]
                acks.append(ack)
                retrieval.append(asked_model - sent_at)
                first_chunk.append(started - sent_at)
                overhead.append(started - asked_model)

    print(f"{args.mentions} mentions, one at a time; model words {args.token_ms:g} ms apart; gunicorn 1 worker")
    if not overhead:
        sys.exit("no mention was streamed")
    for name, seconds in [
        ("ack", acks),
        ("retrieval", retrieval),
        ("first chunk", first_chunk),
        ("over retr.", overhead),
    ]:
        print(line(name, seconds))
    over = float(np.percentile(np.asarray(overhead) * 1000, 50))
    print(f"over retrieval p50 {over:.1f} ms (target <= {TARGET_MS:.0f} ms); not streamed: {missed}")
    sys.exit(1 if over > TARGET_MS or missed else 0)


if __name__ == "__main__":
    main()

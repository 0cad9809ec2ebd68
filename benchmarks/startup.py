"""Start-up of the web process: seconds from starting `podcast-bot serve --http` (gunicorn) until its
port accepts connections and `/healthz` answers (platforms kill a web process that has not bound in
60 s)                                                                         target <= 10 s:
  * with a 5x index (the episodes plus four renamed copies of each, ~200 episodes from the full
    corpus; copies reuse the stored vectors, nothing is re-embedded): also until `/healthz` says ok;
  * with an empty index and PODCAST_BOT_SYNC_EVERY set, so the index is synced from the site (a
    local archive server) in the background: also until it is built.
Slack is played by a local fake; nothing leaves 127.0.0.1.

Run from the repository root (drop --limit for the full corpus):
    .venv/bin/python -m benchmarks.startup [--episodes DIR [DIR ...]] [--limit N] [--rounds 3]
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import CORPUS, MODEL_CACHE, REPO_ROOT, build_index, copy_index, episode_files, make_parser, quiet
from retrieval.index.embedding import MiniLMEmbedder
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.archive_server import ArchiveServer, github_archive, site_pages
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import free_port, health, wait_for_health, wait_until

COPIES = ("", "copy1-", "copy2-", "copy3-", "copy4-")
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Startup:
    bound: float
    health: float
    ready: float
    first_status: str
    episodes: int


def bound(port: int) -> bool:
    """Whether something accepts connections on `port` of 127.0.0.1."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start(env: dict[str, str], timeout: float) -> Startup:
    """Start the web process, time it, stop it."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: bound(port), timeout=timeout, what="the port bound", every=0.02)
        bound_after = time.perf_counter() - started
        first = wait_until(lambda: health(origin), timeout=timeout, what="/healthz answering", every=0.02).body
        answered_after = time.perf_counter() - started
        body = wait_for_health(origin, lambda answer: answer.body.get("status") == "ok", timeout=timeout).body
        return Startup(bound_after, answered_after, time.perf_counter() - started, first["status"], body["episodes"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def report(label: str, runs: list[Startup]) -> None:
    def median(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s"

    print(
        f"{label:<24} port bound {median([r.bound for r in runs])}, /healthz {median([r.health for r in runs])} "
        f"(first status {runs[0].first_status!r}), ok with {runs[0].episodes} episodes "
        f"{median([r.ready for r in runs])}  (median of {len(runs)}; target <= 10 s to bind and answer)"
    )


def main() -> None:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet()
    files = episode_files(args.episodes, args.limit)
    embedder = MiniLMEmbedder(MODEL_CACHE)
    embedder.load()
    with tempfile.TemporaryDirectory(prefix="podcast-bench-") as temp, FakeSlack() as slack:
        folder = Path(temp)
        base, _ = build_index(folder / "base", files, embedder)
        big = SectionIndex(StoreConfig(index_dir=folder / "big"), embedder.model_id)
        copy_index(base, big, COPIES)
        env = {
            "SLACK_BOT_TOKEN": "xoxb-benchmark",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "PODCAST_BOT_STATE": str(folder / "state.sqlite3"),
            "PODCAST_BOT_EPISODES": str(folder / "episodes"),
        }
        full = [start({**env, "PODCAST_BOT_INDEX": str(folder / "big")}, 120) for _ in range(args.rounds)]

        pages = site_pages({path.name: path.read_bytes() for path in files}, sorted((CORPUS / "people").glob("*.md")))
        with ArchiveServer(github_archive(pages, "1" * 40)) as site:
            sync = {**env, "PODCAST_BOT_SYNC_EVERY": "6h", "PODCAST_BOT_SOURCE": site.url}
            empty = start({**sync, "PODCAST_BOT_INDEX": str(folder / "empty")}, 1800)

    report(f"{len(COPIES)}x index ({len(big.episodes())} ep.):", full)
    report("empty index, syncing:", [empty])


if __name__ == "__main__":
    main()

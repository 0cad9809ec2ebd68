"""Sync speed against GitHub's archive download, played by a local server on 127.0.0.1.

The archive holds every local episode of both formats, the guest pages and `--padding-mb` of other
site files (the real site's archive is mostly images, which a sync passes over). Measures:
  * a first sync into an empty index: seconds, episodes added;
  * an unchanged sync, in process and as the `podcast-bot sync` command (a new process: start-up,
    imports and opening the index included), answered by a 304 to If-None-Match   target <= 2 s;
  * the same against a server that sends no ETag: the archive's first header names the commit
    already synced, and the download stops there                                    target <= 2 s;
  * a sync after one page changed: seconds.

Run from the repository root (drop --limit for all files):
    .venv/bin/python -m benchmarks.sync [--episodes DIR [DIR ...]] [--limit N] [--rounds 5] [--padding-mb 50]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.common import CORPUS, MODEL_CACHE, REPO_ROOT, episode_files, make_parser, quiet
from bot.config import Settings, SyncConfig, load_settings
from bot.runtime import Runtime
from retrieval.corpus.drafts import is_draft
from retrieval.index.embedding import MiniLMEmbedder
from retrieval.settings import StoreConfig
from tests.support.archive_server import ArchiveServer, github_archive, site_pages


def cli_seconds(settings: Settings, source: str) -> float:
    """Wall time of `podcast-bot sync` as a new process, as a scheduler or a person runs it."""
    env = {
        **os.environ,
        "PODCAST_BOT_INDEX": str(settings.store.index_dir),
        "PODCAST_BOT_EPISODES": str(settings.episodes_dir),
        "PODCAST_BOT_SOURCE": source,
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sync"], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not done.stdout.startswith("already up to date"):
        sys.exit(f"`podcast-bot sync` did not find the site unchanged: {done.stdout}{done.stderr}")
    return seconds


def unchanged(runtime: Runtime, server: ArchiveServer, rounds: int) -> tuple[float, float]:
    """Median seconds of an unchanged sync, in process and as a command."""
    in_process = []
    for _ in range(rounds):
        report = runtime.sync()
        assert report.up_to_date, report.summary()
        in_process.append(report.seconds)
    command = [cli_seconds(runtime.settings, server.url) for _ in range(rounds)]
    return statistics.median(in_process), statistics.median(command)


def main() -> None:
    parser = make_parser(__doc__.splitlines()[0], folders=(CORPUS / "episodes", CORPUS / "newer_format"))
    parser.add_argument("--rounds", type=int, default=5, help="unchanged syncs timed (median)")
    parser.add_argument("--padding-mb", type=int, default=50, help="MB of other site files in the archive")
    args = parser.parse_args()
    quiet()
    files = episode_files(args.episodes, args.limit)
    pages = site_pages({path.name: path.read_bytes() for path in files}, sorted((CORPUS / "people").glob("*.md")))
    pages["images/padding.bin"] = os.urandom(args.padding_mb << 20)
    embedder = MiniLMEmbedder(MODEL_CACHE)
    embedder.load()

    with tempfile.TemporaryDirectory(prefix="podcast-bench-") as temp, ArchiveServer() as server:
        server.archive = github_archive(pages, "1" * 40)
        folder = Path(temp)
        settings = replace(
            load_settings({}),
            store=StoreConfig(index_dir=folder / "index"),
            episodes=folder / "site" / "episodes",
            sync=SyncConfig(source=server.url),
        )
        runtime = Runtime(settings, embedder=embedder)
        first = runtime.sync()
        with_etag = unchanged(runtime, server, args.rounds)
        server.etags = False
        without_etag = unchanged(runtime, server, args.rounds)
        server.etags = True
        name = f"_podcast/{next(path for path in files if not is_draft(path)).name}"  # drafts are not synced
        pages[name] = pages[name].replace(b"\ntranscript:", b"\nkeywords: [benchmark]\ntranscript:", 1)
        server.archive = github_archive(pages, "2" * 40)
        changed = runtime.sync()

    print(
        f"archive:               {len(server.archive) / 1e6:.1f} MB ({len(files)} episodes, {args.padding_mb} MB other)"
    )
    print(f"first sync:            {first.seconds:.1f} s  {first.summary()}")
    print(
        f"unchanged, 304:        {with_etag[0]:.3f} s in process, {with_etag[1]:.2f} s as a command "
        f"(median of {args.rounds})  (target <= 2 s)"
    )
    print(
        f"unchanged, no ETag:    {without_etag[0]:.3f} s in process, {without_etag[1]:.2f} s as a command "
        "(download stopped after the first header)  (target <= 2 s)"
    )
    print(f"one page changed:      {changed.seconds:.1f} s  {changed.summary()}")


if __name__ == "__main__":
    main()

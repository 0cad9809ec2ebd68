"""The command line from the shell: wall and user CPU seconds of `podcast-bot --help`, `search` and `ask`
on an existing index, each a fresh process as a user runs it (the median of --rounds), and peak RSS.
Targets (issue 20, 200-episode index): `--help` <= 0.5 s, `search` <= 2 s, `ask` <= 2.5 s.

Make a 200-episode index with `benchmarks.startup`'s copies (see benchmarks/common.copy_index), then:
    .venv/bin/python -m benchmarks.cli --index DIR [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT

COMMANDS = {
    "--help": ["--help"],
    "search": ["search", "how to become a data engineer"],
    "ask": ["ask", "How did DataTalks.Club start?"],
}


def run(argv: list[str], index: Path) -> tuple[float, float, float]:
    """Wall seconds, user CPU seconds and peak RSS (MiB) of one `podcast-bot` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PODCAST_BOT_INDEX": str(index)},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`podcast-bot {' '.join(argv)}` failed: {done.stderr[-1000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an existing index folder")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.index.is_dir():
        sys.exit(f"index folder {args.index} not found")
    print(f"load average {os.getloadavg()[0]:.1f} (2 shared cores: wall times vary with it, CPU times less)")
    for name, argv in COMMANDS.items():
        runs = [run(argv, args.index) for _ in range(args.rounds)]
        wall = statistics.median(r[0] for r in runs)
        user = statistics.median(r[1] for r in runs)
        timing = f"wall {wall:5.2f} s, user CPU {user:5.2f} s (median of {args.rounds})"
        print(f"{name:<8} {timing}, peak RSS so far {runs[-1][2]:.0f} MiB")


if __name__ == "__main__":
    main()

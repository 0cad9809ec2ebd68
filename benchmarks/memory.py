"""Memory of a serving process and of an ingest: where it goes, and the totals against the targets.

1. Breakdown, in this process: resident size after each import a serving worker makes, after the
   model loads, after the index opens, after the keyword side is built, and after `--questions`
   offline answers (the dev questions, repeated).
2. A real serving worker: the Procfile's gunicorn (1 worker, the offline answerer) on `--index`,
   answering `--questions` signed `/ask` commands; then VmRSS/VmHWM of the worker and the master.
3. Ingest: `podcast-bot ingest` of `--episodes` into a new index in a subprocess; its VmHWM.

Targets: worker <= 330 MB after 100 answers on a 200-episode index (issue 20; 400 in issue 12),
master <= 60 MB, ingest peak <= 500 MB (issue 20; 700 in issue 12). A 200-episode index can be made
from the 40 dev episodes with `python -m benchmarks.search --index DIR` copies (see
benchmarks/common.copy_index).

    .venv/bin/python -m benchmarks.memory --index /tmp/index5x [--questions 100] [--episodes DIR]
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import CORPUS, REPO_ROOT
from benchmarks.slack_ack import ask_command, bot_environment, gunicorn, send
from tests.support.fakes.slack_server import FakeSlack

TARGET_WORKER_MB, TARGET_MASTER_MB, TARGET_INGEST_MB = 330, 60, 500
# What a serving worker imports, in the order it does (the LLM client only with OPENAI_API_KEY).
SERVING_IMPORTS = (
    "numpy",
    "yaml",
    "chromadb",
    "onnxruntime",
    "tokenizers",
    "bm25s",
    "langchain_core.runnables",
    "slack_bolt",
    "gunicorn",
)


def status_mib(pid: int | str, key: str) -> float:
    """A `VmRSS`/`VmHWM`-style line of /proc/<pid>/status, in MiB."""
    with open(f"/proc/{pid}/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith(key + ":"))) / 1024


def questions(count: int) -> list[str]:
    import yaml

    found = [q["question"] for q in yaml.safe_load((CORPUS / "dev_questions.yaml").read_text())]
    return [found[n % len(found)] for n in range(count)]


def breakdown(index: Path, count: int) -> None:
    print("breakdown in one process (VmRSS, MiB):")
    print(f"  {'python':<28}{status_mib('self', 'VmRSS'):7.1f}")
    for module in SERVING_IMPORTS:
        importlib.import_module(module)
        print(f"  {'+ import ' + module:<28}{status_mib('self', 'VmRSS'):7.1f}")
    from bot.config import load_settings
    from bot.runtime import Runtime

    runtime = Runtime(load_settings({}).with_index(index))
    runtime.embedder.embed_query("warm-up")
    print(f"  {'+ model session':<28}{status_mib('self', 'VmRSS'):7.1f}")
    opened = runtime.index(build_if_empty=False)
    print(f"  {'+ index opened':<28}{status_mib('self', 'VmRSS'):7.1f}  ({opened.section_count()} sections)")
    runtime.searcher.refresh()
    print(f"  {'+ keyword side built':<28}{status_mib('self', 'VmRSS'):7.1f}")
    started = time.perf_counter()
    for question in questions(count):
        runtime.answerer.answer(question)
    per = (time.perf_counter() - started) / count * 1000
    print(f"  {f'+ {count} answers':<28}{status_mib('self', 'VmRSS'):7.1f}  ({per:.0f} ms each)")


def serving(index: Path, count: int) -> None:
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="podcast-bench-memory-") as temp, FakeSlack() as slack:
        env = bot_environment(slack, secret, index, str(Path(temp) / "state.sqlite3"))
        with gunicorn(env, 1, Path(temp) / "gunicorn.log") as url:
            port = url.rsplit(":", 1)[1]
            master = next(pid for pid in _pids() if f"127.0.0.1:{port}" in _cmdline(pid) and _is_master(pid))
            worker = next(pid for pid in _pids() if _parent(pid) == master)
            for n, question in enumerate(questions(count)):
                send(secret, ask_command(url, f"U{n:04d}", question, slack.response_url))
            deadline = time.monotonic() + 120
            while len(slack.calls_to("response_url")) < count and time.monotonic() < deadline:
                time.sleep(0.2)
            answered = len(slack.calls_to("response_url"))
            rss, peak = status_mib(worker, "VmRSS"), status_mib(worker, "VmHWM")
            master_rss = status_mib(master, "VmRSS")
    print(
        f"serving worker after {answered}/{count} answers: RSS {rss:.0f} MiB (peak {peak:.0f}); "
        f"target <= {TARGET_WORKER_MB}"
    )
    print(f"gunicorn master: RSS {master_rss:.0f} MiB; target <= {TARGET_MASTER_MB}")


def ingest_peak(episodes: Path) -> None:
    script = (
        "import sys\nfrom bot.cli.main import main\ncode = main(sys.argv[1:])\n"
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\nsys.exit(code)"
    )
    with tempfile.TemporaryDirectory(prefix="podcast-bench-ingest-") as temp:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script, "ingest", str(episodes), "--index", str(Path(temp) / "index")],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"ingest failed: {done.stderr[-2000:]}")
    summary, peak_kib = done.stdout.strip().splitlines()[-2:]
    print(
        f"ingest of {episodes}: peak {int(peak_kib) / 1024:.0f} MiB in {seconds:.0f} s; target <= "
        f"{TARGET_INGEST_MB}\n  {summary}"
    )


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _is_master(pid: int) -> bool:
    return _parent(pid) == os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an existing index to serve")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--episodes", type=Path, default=CORPUS / "episodes", help="folder to ingest for the peak")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    breakdown(args.index, args.questions)
    serving(args.index, args.questions)
    if not args.skip_ingest:
        ingest_peak(args.episodes)


if __name__ == "__main__":
    main()

"""Helpers shared by the benchmark scripts: corpus arguments, index building, latency and memory figures."""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.config import MODEL_CACHE_DIR
from retrieval.evaluation.questions import load_questions
from retrieval.index.embedding import Embedder, MiniLMEmbedder
from retrieval.index.ingest import IngestReport, ingest
from retrieval.index.store import EpisodeWrite, SectionIndex
from retrieval.settings import StoreConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
# Where the offline model is quantized and kept: the CLI's default, so benchmarks and the CLI share it.
MODEL_CACHE = MODEL_CACHE_DIR


def quiet() -> None:
    """Silence the project's per-episode INFO logging so only the figures are printed."""
    logging.disable(logging.INFO)


def make_parser(
    description: str, questions: bool = False, folders: Sequence[Path] = (CORPUS / "episodes",)
) -> argparse.ArgumentParser:
    """Arguments every benchmark takes; with `questions`, also --questions, --rounds and --index."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--episodes",
        type=Path,
        nargs="+",
        default=list(folders),
        metavar="DIR",
        help=f"folders of episode .md files (default: {' '.join(str(f) for f in folders)})",
    )
    parser.add_argument("--limit", type=int, help="use only the first N episode files (sorted), for quick runs")
    if questions:
        parser.add_argument("--questions", type=Path, default=CORPUS / "dev_questions.yaml", help="question YAML file")
        parser.add_argument("--rounds", type=int, default=3, help="times each question is asked")
        parser.add_argument(
            "--index",
            type=Path,
            help="keep the index in this folder and reuse it on later runs (default: a temporary folder)",
        )
    return parser


def episode_files(folders: Sequence[Path], limit: int | None) -> list[Path]:
    """The sorted episode files of `folders`, one per episode id (file name), the first `limit`;
    exits with a message if there are none."""
    by_id: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            sys.exit(f"episodes folder {folder} not found; pass --episodes DIR")
        for path in sorted(folder.glob("*.md")):
            by_id.setdefault(path.stem, path)  # the same episode in two folders is ingested once
    files = list(by_id.values())[:limit]
    if not files:
        sys.exit(f"no .md episode files in {' '.join(map(str, folders))}")
    return files


def questions(path: Path) -> list[str]:
    if not path.is_file():
        sys.exit(f"question file {path} not found; pass --questions FILE")
    return [q.question for q in load_questions(path)]


@contextmanager
def index_folder(chosen: Path | None) -> Iterator[Path]:
    """`chosen`, or else a temporary folder deleted afterwards."""
    if chosen is not None:
        yield chosen
        return
    with tempfile.TemporaryDirectory(prefix="podcast-bench-") as folder:
        yield Path(folder)


def build_index(index_dir: Path, files: list[Path], embedder: Embedder) -> tuple[SectionIndex, IngestReport]:
    """Open (or create) the index in `index_dir` and ingest `files`; unchanged episodes are skipped."""
    index = SectionIndex(StoreConfig(index_dir=index_dir), embedder.model_id)
    return index, ingest(files, index, embedder)


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    mean_ms: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ms = np.asarray(seconds) * 1000
        return cls(float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.mean()), len(ms))

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, mean {self.mean_ms:.1f} ms (n={self.count})"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_index(source: SectionIndex, target: SectionIndex, prefixes: tuple[str, ...] = ("",)) -> None:
    """Store every episode of `source` in `target` with its stored vectors, once per id prefix."""
    for episode_id, record in source.episodes().items():
        sections, vectors, card = source.stored_episode(episode_id)
        target.replace_episodes(
            [
                EpisodeWrite(
                    replace(record, episode_id=prefix + episode_id),
                    [replace(s, id=prefix + s.id, episode_id=prefix + s.episode_id) for s in sections],
                    vectors,
                    card,
                )
                for prefix in prefixes
            ]
        )


@dataclass(frozen=True)
class SearchSetup:
    args: argparse.Namespace
    files: list[Path]
    queries: list[str]
    embedder: MiniLMEmbedder


def search_setup(doc: str) -> SearchSetup:
    """Arguments, episode files, dev questions and a loaded model: what the search benchmarks share."""
    args = make_parser(doc.splitlines()[0], questions=True).parse_args()
    quiet()
    embedder = MiniLMEmbedder(MODEL_CACHE)
    embedder.load()
    return SearchSetup(args, episode_files(args.episodes, args.limit), questions(args.questions), embedder)

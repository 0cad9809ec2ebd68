"""Ingest speed: the whole ingest pipeline against the embedding model alone on the same batches, and a no-op re-ingest.

Measures, on a fresh temporary index, over every local episode file of both formats (the older
`episodes/` and the site's current `newer_format/`; an episode in both is taken once):
  * ingest of the episode files (the whole `ingest` call: reading, parsing, sectioning, embedding,
    Chroma writes, saving the search side): seconds, sections, sections/s, and the process's peak
    RSS when it ends                                                      target <= 500 MiB;
  * the model alone: every `embed_documents` call the ingest made (its texts, sections and episode
    cards, in the same calls), replayed in the same process after the ingest: sections/s;
  * ingest / model alone, the share of the model's speed the ingest reaches  target >= 0.85;
  * files and sections per episode of each format, and the ingest extrapolated to the site's ~200
    episodes (what a first `sync` costs after the download)              target <= 5 min;
  * re-ingest with nothing changed: seconds                               target <= 3 s.
The model is loaded and warmed up before either timing starts. On a machine shared with other
work, run it a few times: the ratio moves much less with the load than the seconds do.

Run from the repository root (drop --limit for all files):
    .venv/bin/python -m benchmarks.ingest [--episodes DIR [DIR ...]] [--limit N]
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import (
    CORPUS,
    MODEL_CACHE,
    build_index,
    episode_files,
    index_folder,
    make_parser,
    peak_rss_mib,
    quiet,
)
from retrieval.index.embedding import MiniLMEmbedder

SITE_EPISODES = 200


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads: it moves much less with the machine's load than the clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RecordingEmbedder(MiniLMEmbedder):
    """The model, keeping the texts of each `embed_documents` call so the same calls can be replayed."""

    def __init__(self) -> None:
        super().__init__(MODEL_CACHE)
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().embed_documents(texts)


def main() -> None:
    parser = make_parser(__doc__.splitlines()[0], folders=(CORPUS / "episodes", CORPUS / "newer_format"))
    args = parser.parse_args()
    quiet()
    files = episode_files(args.episodes, args.limit)
    embedder = RecordingEmbedder()
    embedder.load()
    MiniLMEmbedder.embed_documents(embedder, ["warm-up"] * 8)

    with index_folder(None) as folder:
        started, cpu = time.perf_counter(), cpu_seconds()
        index, first = build_index(folder, files, embedder)
        seconds, ingest_cpu = time.perf_counter() - started, cpu_seconds() - cpu
        ingest_rss = peak_rss_mib()
        records = index.episodes()
        started, cpu = time.perf_counter(), cpu_seconds()
        for texts in embedder.calls:
            MiniLMEmbedder.embed_documents(embedder, texts)
        raw_seconds, raw_cpu = time.perf_counter() - started, cpu_seconds() - cpu
        again = build_index(folder, files, embedder)[1]

    rate, raw_rate = first.sections / seconds, first.sections / raw_seconds
    replayed = sum(len(call) for call in embedder.calls)
    print(f"episodes:        {len(files)} files, {len(first.ingested)} ingested, {len(first.failed)} failed")
    for name in sorted({path.parent.name for path in files}):
        counts = [r.section_count for r in records.values() if Path(r.source_path).parent.name == name]
        print(f"  {name + ':':<14} {len(counts)} files, {sum(counts)} sections ({np.mean(counts):.0f} per episode)")
    print(f"ingest:          {seconds:.2f} s, {first.sections} sections, {rate:.1f} sections/s")
    print(
        f"model alone:     {raw_seconds:.2f} s, the same {len(embedder.calls)} calls ({replayed} texts with cards), "
        f"{raw_rate:.1f} sections/s (one text per run, {embedder.workers} at once)"
    )
    print(
        f"ingest / model:  {rate / raw_rate:.2f} of the model's speed  (target >= 0.85); "
        f"{raw_cpu / ingest_cpu:.2f} by CPU time ({ingest_cpu:.0f} CPU-s against the model's {raw_cpu:.0f})"
    )
    per_episode = seconds / max(len(first.ingested), 1)
    print(
        f"{SITE_EPISODES} episodes:    ~{SITE_EPISODES * per_episode / 60:.1f} min to ingest "
        f"({per_episode:.2f} s per episode, {first.sections / max(len(first.ingested), 1):.0f} sections each)"
        "  (target <= 5 min)"
    )
    print(f"re-ingest:       {again.seconds:.2f} s, {len(again.skipped)} unchanged  (target <= 3 s)")
    print(f"peak RSS:        {ingest_rss:.0f} MiB at the end of the ingest, {peak_rss_mib():.0f} MiB in all")
    print(f"load average:    {' '.join(f'{load:.1f}' for load in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

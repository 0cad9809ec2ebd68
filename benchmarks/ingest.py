"""Ingest speed: the whole ingest pipeline against the embedding model alone, and a no-op re-ingest.

Measures, on a fresh temporary index:
  * ingest of the episode files: seconds, sections (chunks), chunks/s;
  * raw model throughput: one `embed_documents` call on exactly the same chunk texts (every
    section's `search_text`), chunks/s;
  * overhead = ingest seconds / raw seconds - 1 (parsing, sectioning, per-episode batching,
    Chroma writes)                                                        target <= 15 %;
  * re-ingest with nothing changed: seconds                               target <= 3 s;
  * peak RSS of the process.
For a fair comparison the model is loaded and warmed up before either timing starts, and the raw
timing runs in the same process after the ingest.

Run from the repository root (drop --limit for the full corpus):
    .venv/bin/python -m benchmarks.ingest [--episodes DIR] [--limit N]
"""

from __future__ import annotations

import time

from benchmarks.common import build_index, episode_files, index_folder, make_parser, peak_rss_mib, quiet
from retrieval.embedding import MiniLMEmbedder
from retrieval.episodes import parse_episode_file
from retrieval.sections import build_sections


def main() -> None:
    args = make_parser(__doc__.splitlines()[0]).parse_args()
    quiet()
    files = episode_files(args.episodes, args.limit)
    embedder = MiniLMEmbedder()
    embedder.load()
    embedder.embed_documents(["warm-up"])
    texts = [section.search_text for path in files for section in build_sections(parse_episode_file(path))]

    with index_folder(None) as folder:
        first = build_index(folder, files, embedder)[1]
        started = time.perf_counter()
        embedder.embed_documents(texts)
        raw_seconds = time.perf_counter() - started
        again = build_index(folder, files, embedder)[1]

    print(f"episodes:        {len(files)} files, {len(first.ingested)} ingested, {len(first.failed)} failed")
    print(
        f"ingest:          {first.seconds:.2f} s, {first.sections} chunks, "
        f"{first.sections / first.seconds:.1f} chunks/s"
    )
    print(
        f"model alone:     {raw_seconds:.2f} s, {len(texts)} chunks, {len(texts) / raw_seconds:.1f} chunks/s "
        f"(batch size {embedder.batch_size})"
    )
    print(f"overhead:        {first.seconds / raw_seconds - 1:+.1%}  (target <= 15%)")
    print(f"re-ingest:       {again.seconds:.2f} s, {len(again.skipped)} unchanged  (target <= 3 s)")
    print(f"peak RSS:        {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()

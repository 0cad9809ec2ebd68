"""Ingest speed: the whole ingest pipeline against the embedding model alone, and a no-op re-ingest.

Measures, on a fresh temporary index, over every local episode file of both formats (the older
`episodes/` and the site's current `newer_format/`; an episode in both is taken once):
  * ingest of the episode files: seconds, sections (chunks), sections/s;
  * raw model throughput: one `embed_documents` call on exactly the same chunk texts (every
    section's `search_text`), sections/s;
  * ratio of the two, and overhead = ingest seconds / raw seconds - 1 (parsing, sectioning,
    per-episode batching, Chroma writes)                                  target <= 15 %;
  * files and sections per episode of each format, and the ingest extrapolated to the site's ~200
    episodes (what a first `sync` costs after the download);
  * re-ingest with nothing changed: seconds                               target <= 3 s;
  * peak RSS of the process.
For a fair comparison the model is loaded and warmed up before either timing starts, and the raw
timing runs in the same process after the ingest.

Run from the repository root (drop --limit for all files):
    .venv/bin/python -m benchmarks.ingest [--episodes DIR [DIR ...]] [--limit N]
"""

from __future__ import annotations

import time

from benchmarks.common import CORPUS, build_index, episode_files, index_folder, make_parser, peak_rss_mib, quiet
from retrieval.corpus.episodes import parse_episode_file
from retrieval.corpus.sections import build_sections
from retrieval.index.embedding import MiniLMEmbedder

SITE_EPISODES = 200


def main() -> None:
    parser = make_parser(__doc__.splitlines()[0], folders=(CORPUS / "episodes", CORPUS / "newer_format"))
    args = parser.parse_args()
    quiet()
    files = episode_files(args.episodes, args.limit)
    embedder = MiniLMEmbedder()
    embedder.load()
    embedder.embed_documents(["warm-up"])
    texts = {path: [s.search_text for s in build_sections(parse_episode_file(path))] for path in files}
    all_texts = [text for chunks in texts.values() for text in chunks]

    with index_folder(None) as folder:
        first = build_index(folder, files, embedder)[1]
        started = time.perf_counter()
        embedder.embed_documents(all_texts)
        raw_seconds = time.perf_counter() - started
        again = build_index(folder, files, embedder)[1]
    formats = sorted({path.parent.name for path in files})
    by_format = {f"  {name}:": [path for path in files if path.parent.name == name] for name in formats}

    rate = first.sections / first.seconds
    raw_rate = len(all_texts) / raw_seconds
    print(f"episodes:        {len(files)} files, {len(first.ingested)} ingested, {len(first.failed)} failed")
    for label, paths in by_format.items():
        sections = sum(len(texts[path]) for path in paths)
        print(f"{label:<16} {len(paths)} files, {sections} sections ({sections / max(len(paths), 1):.0f} per episode)")
    print(f"ingest:          {first.seconds:.2f} s, {first.sections} sections, {rate:.1f} sections/s")
    print(
        f"model alone:     {raw_seconds:.2f} s, {len(all_texts)} sections, {raw_rate:.1f} sections/s "
        f"(batch size {embedder.batch_size})"
    )
    print(
        f"ingest / model:  {rate / raw_rate:.2f} of the model's speed, overhead {first.seconds / raw_seconds - 1:+.1%}"
    )
    print("                 (target overhead <= 15%)")
    per_episode = first.seconds / max(len(first.ingested), 1)
    print(
        f"{SITE_EPISODES} episodes:    ~{SITE_EPISODES * per_episode / 60:.1f} min to ingest "
        f"({per_episode:.2f} s per episode, {first.sections / max(len(first.ingested), 1):.0f} sections each)"
    )
    print(f"re-ingest:       {again.seconds:.2f} s, {len(again.skipped)} unchanged  (target <= 3 s)")
    print(f"peak RSS:        {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()

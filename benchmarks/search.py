"""Search latency: `Searcher.search` (query embedding included) on the corpus index and on a 5x index.

Every question of the question file is searched `--rounds` times; each call is timed alone after
one untimed warm-up search. Targets on the 1x (40-episode) index: p50 <= 30 ms, p95 <= 80 ms.

The 5x index holds the episodes plus four renamed copies of each (`copy1-` ... `copy4-`; another
file stem is another episode id). It is not re-embedded: the 1x index's stored vectors, documents
and metadata are copied under the new ids with `SectionIndex.replace_episodes`, which gives the same
index an ingest of the copied files would. Printed: p50/p95 for 1x and 5x, their growth ratio,
section counts, and the peak RSS of the process once it holds both indexes.

Run from the repository root (drop --limit for the full corpus):
    .venv/bin/python -m benchmarks.search [--episodes DIR] [--limit N] [--rounds 3] [--index DIR]
"""

from __future__ import annotations

import time

from benchmarks.common import Latency, build_index, copy_index, index_folder, peak_rss_mib, search_setup
from retrieval.index.embedding import Embedder
from retrieval.index.store import SectionIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import StoreConfig

COPIES = ("copy1-", "copy2-", "copy3-", "copy4-")


def time_searches(index: SectionIndex, embedder: Embedder, queries: list[str], rounds: int) -> Latency:
    searcher = Searcher(index, embedder)
    searcher.refresh()
    searcher.search(queries[0])
    seconds = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            searcher.search(query)
            seconds.append(time.perf_counter() - started)
    return Latency.of(seconds)


def main() -> None:
    setup = search_setup(__doc__)
    args, files, queries, embedder = setup.args, setup.files, setup.queries, setup.embedder

    with index_folder(args.index) as folder, index_folder(None) as big_folder:
        index = build_index(folder, files, embedder)[0]
        one = time_searches(index, embedder, queries, args.rounds)
        big = SectionIndex(StoreConfig(index_dir=big_folder), embedder.model_id)
        copy_index(index, big, ("", *COPIES))
        five = time_searches(big, embedder, queries, args.rounds)
        print(f"1x index: {index.section_count()} sections, {len(index.episodes())} episodes")
        print(f"  search {one}  (targets p50 <= 30 ms, p95 <= 80 ms)")
        print(f"5x index: {big.section_count()} sections, {len(big.episodes())} episodes")
        print(f"  search {five}")
        print(f"growth 5x/1x: p50 x{five.p50_ms / one.p50_ms:.2f}, p95 x{five.p95_ms / one.p95_ms:.2f}")
        print(f"peak RSS with both indexes loaded: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()

"""Search latency, embedded Chroma vs Chroma server mode: `Searcher.search` on the same index, in one run.

The embedded index of the episodes is built (or reused with --index); a `chroma run` server
(tests.support.chroma_server.ChromaServer) is started on a free 127.0.0.1 port with a temporary folder,
and the embedded index's episode manifest, sections and stored vectors are copied into it with
`SectionIndex.replace_episodes` (no re-embedding). Every question of the question file is
searched `--rounds` times against each, query embedding included, each call timed alone after one
untimed warm-up search; the embedded index is timed before the server starts, so the server's
own work (it persists the copied sections in the background) cannot slow the embedded figures.
Printed: p50/p95 for embedded and server mode and the server/embedded ratios. The server is stopped at the end.

Run from the repository root (drop --limit for the full 40-episode corpus):
    .venv/bin/python -m benchmarks.server_mode [--episodes DIR] [--limit N] [--rounds 3] [--index DIR]
"""

from __future__ import annotations

import sys

from benchmarks.common import build_index, copy_index, index_folder, search_setup
from benchmarks.search import time_searches
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.chroma_server import ChromaServer


def main() -> None:
    setup = search_setup(__doc__)
    args, files, queries, embedder = setup.args, setup.files, setup.queries, setup.embedder

    with index_folder(args.index) as folder, index_folder(None) as server_folder:
        embedded = build_index(folder, files, embedder)[0]
        sections, episodes = embedded.section_count(), len(embedded.episodes())
        local = time_searches(embedded, embedder, queries, args.rounds)
        with ChromaServer(server_folder) as chroma:
            remote = SectionIndex(StoreConfig(chroma_host="127.0.0.1", chroma_port=chroma.port), embedder.model_id)
            copy_index(embedded, remote)
            if remote.section_count() != sections:
                sys.exit(f"copied {remote.section_count()} of {sections} sections into the server")
            served = time_searches(remote, embedder, queries, args.rounds)
    print(f"index: {sections} sections, {episodes} episodes")
    print(f"embedded: search {local}")
    print(f"server:   search {served}  (chroma run on 127.0.0.1)")
    print(f"server/embedded: p50 x{served.p50_ms / local.p50_ms:.2f}, p95 x{served.p95_ms / local.p95_ms:.2f}")


if __name__ == "__main__":
    main()

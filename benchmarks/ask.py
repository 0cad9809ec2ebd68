"""Answer latency: the offline answerer, and the chain's own cost around a zero-latency model.

Measures, over every question of the question file asked `--rounds` times (after one untimed
warm-up question):
  * `Runtime.answerer.answer` in offline mode (default settings, OPENAI_API_KEY ignored):
    p50/p95/mean                                                         target p50 <= 100 ms;
  * chain overhead: per question, `searcher.search` timed alone and then `Answerer.answer` with a
    `FakeListChatModel` that replies at once citing [1]; overhead = answer time - search time,
    p50/p95                                                              target <= 20 ms.

Run from the repository root (drop --limit for the full corpus):
    .venv/bin/python -m benchmarks.ask [--episodes DIR] [--limit N] [--rounds 3] [--index DIR]
"""

from __future__ import annotations

import time
from collections.abc import Callable

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from benchmarks.common import Latency, build_index, episode_files, index_folder, make_parser, questions, quiet
from bot.config import PROMPTS_DIR, load_settings
from bot.runtime import Runtime
from retrieval.answering.answerer import Answerer
from retrieval.answering.prompts import load_prompts

FAKE_REPLY = "The guest explains this in the first moment [1]."


def timed(call: Callable[[str], object], question: str) -> float:
    started = time.perf_counter()
    call(question)
    return time.perf_counter() - started


def main() -> None:
    args = make_parser(__doc__.splitlines()[0], questions=True).parse_args()
    quiet()
    files = episode_files(args.episodes, args.limit)
    asked = questions(args.questions) * args.rounds

    with index_folder(args.index) as folder:
        # Settings from an empty environment: defaults, embedded index, no API key (offline).
        runtime = Runtime(load_settings({}).with_index(folder))
        build_index(folder, files, runtime.embedder)
        offline = runtime.answerer
        searcher = runtime.searcher
        fake = Answerer(searcher, load_prompts(PROMPTS_DIR), FakeListChatModel(responses=[FAKE_REPLY]))
        for call in (offline.answer, fake.answer):
            call(asked[0])

        offline_seconds = [timed(offline.answer, q) for q in asked]
        overhead = []
        for question in asked:
            search_seconds = timed(searcher.search, question)
            overhead.append(timed(fake.answer, question) - search_seconds)

    print(f"episodes: {len(files)}, questions: {len(asked) // args.rounds} x {args.rounds} rounds")
    print(f"offline answer:  {Latency.of(offline_seconds)}  (target p50 <= 100 ms)")
    print(f"chain overhead:  {Latency.of(overhead)}  (answer with zero-latency model - search; target <= 20 ms)")


if __name__ == "__main__":
    main()

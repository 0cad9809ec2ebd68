"""What each `podcast-bot` command does with its parsed arguments, the process's Runtime and stdout."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.repl import run_repl
from bot.cli.terminal import format_answer, format_episodes, format_moments, osc8_links
from bot.config import Settings
from bot.runtime import Runtime
from retrieval import (
    DEFAULT_SOURCE,
    EpisodeError,
    ModelMismatchError,
    PodcastBotError,
    SearchFilters,
    UsageError,
    github_archive_url,
    masked_url,
)

if TYPE_CHECKING:  # `--help`, argument errors, `doctor` and `feedback` load no model, LangChain or Chroma
    from retrieval import IngestReport, SyncReport

log = logging.getLogger("podcast_bot")


def _filters(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(season=args.season, episode=args.episode, guest=args.guest, speaker=args.speaker)


def _print_failures(report: IngestReport | SyncReport) -> None:
    for error in report.failed:
        print(f"error: {error}", file=sys.stderr)


def cmd_ingest(runtime: Runtime, args: argparse.Namespace) -> int:
    paths = args.paths or [runtime.settings.episodes_dir]
    report = runtime.ingest(paths, rebuild=args.rebuild)
    _print_failures(report)
    print(report.summary())
    nothing = not (report.ingested or report.skipped)
    if nothing or (args.strict and report.failed):
        return 1
    return 0


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Stop on SIGTERM (a platform restarting the process) as on Ctrl-C, so temporary folders are removed."""

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sync_once(runtime: Runtime, source: str) -> None:
    report = runtime.sync(source)
    _print_failures(report)
    print(report.summary(), flush=True)


def cmd_sync(runtime: Runtime, args: argparse.Namespace) -> int:
    source = runtime.settings.sync.source
    if args.ref:
        if source != DEFAULT_SOURCE:
            raise UsageError(
                f"--ref names a branch or commit on GitHub, but PODCAST_BOT_SOURCE is {masked_url(source)}; use one"
            )
        source = github_archive_url(args.ref)
    with _sigterm_interrupts():
        if args.every is None:
            _sync_once(runtime, source)
            return 0
        while True:
            try:
                _sync_once(runtime, source)
            except PodcastBotError as error:
                # A scheduler keeps going: the next run may well succeed (GitHub back, network back).
                print(f"error: {error}", file=sys.stderr, flush=True)
            log.info("next sync in %g minutes", args.every / 60)
            time.sleep(args.every)


def _require_text(text: str, what: str, usage: str) -> str:
    if not text.strip():
        raise UsageError(f"the {what} is empty; usage: podcast-bot {usage}")
    return text.strip()


def _osc8(runtime: Runtime) -> bool:
    return osc8_links(runtime.settings.terminal, sys.stdout)


def cmd_search(runtime: Runtime, args: argparse.Namespace) -> int:
    args.query = _require_text(" ".join(args.query), "query", 'search "QUERY" [--k N] [--episodes] [--json]')
    searcher = runtime.searcher
    if args.episodes:
        matches = searcher.search_episodes(args.query, k=args.k or 5, filters=_filters(args))
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "episode_id": m.episode_id,
                            "title": m.title,
                            "score": m.score,
                            "moments": [x.to_dict() for x in m.moments],
                        }
                        for m in matches
                    ],
                    indent=2,
                )
            )
        else:
            print(format_episodes(matches, _osc8(runtime)) if matches else "No episode matches that.")
        return 0
    result = searcher.search(args.query, k=args.k, filters=_filters(args))
    if args.json:
        print(
            json.dumps(
                {
                    "query": result.query,
                    "relevant": result.relevant,
                    "moments": [m.to_dict() for m in result.moments if result.relevant],
                },
                indent=2,
            )
        )
    elif result.relevant:
        print(format_moments(result.moments, _osc8(runtime)))
    else:
        print("Nothing relevant found in the indexed episodes.")
    return 0


def eval_index_dir(settings: Settings, episodes: Path) -> Path:
    """A separate index per evaluated folder, so the eval never mixes with the bot's own index."""
    digest = hashlib.sha256(str(episodes.resolve()).encode()).hexdigest()[:8]
    return settings.store.index_dir.parent / f"eval-index-{episodes.resolve().name}-{digest}"


def cmd_eval(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.cli.eval_tables import format_report
    from retrieval import evaluate, load_question_files, named_episode_files

    questions = load_question_files(args.questions)
    if not args.episodes.is_dir():
        raise EpisodeError(args.episodes, "not a folder of episode files")
    settings = runtime.settings
    own_index = args.index is None and not settings.store.is_server
    if own_index:
        settings = settings.with_index(eval_index_dir(settings, args.episodes))
    eval_runtime = Runtime(replace(settings, episodes=args.episodes), progress=runtime.progress)
    files = [args.episodes, *named_episode_files(questions, args.episodes)]
    try:
        report = eval_runtime.ingest(files)
    except ModelMismatchError:
        if not own_index:
            raise
        # The eval's own index, made by an earlier version's model: made again, not mixed.
        log.info("the eval index was embedded by another model; embedding it again")
        report = eval_runtime.ingest(files, rebuild=True)
    _print_failures(report)
    log.info("%s", report.summary())
    answerer = eval_runtime.offline_answerer() if args.answers else None
    result = evaluate(eval_runtime.searcher, questions, k=args.k, answerer=answerer)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"index {eval_runtime.settings.store.location}\n")
        print(format_report(result))
    return 0


def cmd_ask(runtime: Runtime, args: argparse.Namespace) -> int:
    question = _require_text(" ".join(args.question), "question", 'ask "QUESTION" [--json]')
    answer = runtime.answerer.answer(question, filters=_filters(args))
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_answer(answer, _osc8(runtime)))
    return 0


def cmd_repl(runtime: Runtime, args: argparse.Namespace) -> int:
    return run_repl(runtime.answerer, osc8=_osc8(runtime))


def cmd_serve(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.slack.server import serve_http, serve_socket_mode

    if args.socket:
        serve_socket_mode(runtime.settings)
    else:
        serve_http(
            runtime.settings, host=args.host, port=args.port, workers=args.workers or runtime.settings.web_concurrency
        )
    return 0


def cmd_feedback(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.cli.feedback import feedback_report, format_report, parse_since
    from bot.state import open_state

    since = parse_since(args.since, time.time())
    store = open_state(runtime.settings.slack.state)
    try:
        report = feedback_report(store.feedback(since), since)
    finally:
        store.close()
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


def cmd_doctor(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.cli.doctor import report

    text, healthy = report(runtime)
    print(text)
    return 0 if healthy else 1


COMMANDS: dict[str, Callable[[Runtime, argparse.Namespace], int]] = {
    "ingest": cmd_ingest,
    "sync": cmd_sync,
    "search": cmd_search,
    "eval": cmd_eval,
    "ask": cmd_ask,
    "repl": cmd_repl,
    "serve": cmd_serve,
    "feedback": cmd_feedback,
    "doctor": cmd_doctor,
}

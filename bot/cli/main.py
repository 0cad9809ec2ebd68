"""The `podcast-bot` command line: ingest, sync, search, eval, ask, repl, serve, feedback, doctor."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.repl import run_repl
from bot.cli.terminal import format_answer, format_episodes, format_moments, osc8_links
from bot.config import LINK_STYLES, SLACK_HTTP, SLACK_SOCKET, ConfigError, Settings, load_settings, parse_every
from bot.runtime import Runtime
from retrieval.errors import EpisodeError, PodcastBotError, UsageError
from retrieval.filters import SearchFilters
from retrieval.settings import DEFAULT_SOURCE
from retrieval.site_source import github_archive_url
from retrieval.urls import masked_url

if TYPE_CHECKING:  # `--help`, argument errors, `doctor` and `feedback` load no model, LangChain or Chroma
    from retrieval.ingest import IngestReport
    from retrieval.sync import SyncReport

log = logging.getLogger("podcast_bot")
# Loggers of libraries whose INFO lines (one per HTTP request, per collection…) are not results.
# The OpenAI client's HTTP library installs as `httpx2`/`httpcore2` next to the usual names.
JSON_HELP = "machine-readable output (JSON)"
NOISY_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "chromadb", "openai", "urllib3", "langchain")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line parser, and each command's own parser (whose usage its errors print)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", metavar="DIR", help="index folder (default: $PODCAST_BOT_INDEX or data/index)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    common.add_argument(
        "--links",
        choices=LINK_STYLES,
        help="links in the output: clickable (osc8), the URL in plain text, or auto: clickable only in a "
        "terminal known to show them (default: $PODCAST_BOT_LINKS or auto)",
    )

    parser = argparse.ArgumentParser(
        prog="podcast-bot",
        description="Answer questions about DataTalks.Club podcast episodes, with links to the second.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ingest = commands.add_parser("ingest", parents=[common], help="parse, embed and index episode files")
    ingest.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="episode files or folders (default: $PODCAST_BOT_EPISODES: the synced site, else the bundled episode)",
    )
    ingest.add_argument("--strict", action="store_true", help="exit non-zero if any file could not be ingested")
    ingest.add_argument("--rebuild", action="store_true", help="drop the index and build it again from scratch")
    _add_people(ingest)

    sync = commands.add_parser(
        "sync",
        parents=[common],
        help="download the site's episodes and guest pages, and ingest what changed",
        description="Download the site's episodes and guest pages (into data/site, or $PODCAST_BOT_EPISODES "
        "and $PODCAST_BOT_PEOPLE) and ingest what changed. "
        "It reads $PODCAST_BOT_SOURCE: a .tar.gz URL, a local .tar.gz or a local checkout of the site "
        "(default: the site's main branch on GitHub).",
    )
    sync.add_argument("--ref", help="branch, tag or commit of the site's repository (default: main)")
    sync.add_argument(
        "--every", type=_period, metavar="PERIOD", help="keep syncing, e.g. every 6h, 30m or 90s (a scheduler process)"
    )

    search = commands.add_parser("search", parents=[common], help="show the moments that best match a query")
    search.add_argument("query", nargs="*", help="what to search for (quotes are optional)")
    search.add_argument("--k", type=_at_least_one, default=None, help="how many moments (default 5)")
    _add_filters(search)
    search.add_argument("--episodes", action="store_true", help="rank episodes instead of moments")
    search.add_argument("--json", action="store_true", help=JSON_HELP)

    evaluation = commands.add_parser("eval", parents=[common], help="measure retrieval quality on question files")
    evaluation.add_argument("questions", type=Path, nargs="+", help="question files (YAML), reported each and together")
    evaluation.add_argument("--episodes", type=Path, required=True, metavar="DIR", help="folder of episode files")
    evaluation.add_argument(
        "--k", type=_at_least_one, default=5, help="moments per question a hit may be among (default 5)"
    )
    evaluation.add_argument("--json", action="store_true", help=JSON_HELP)
    evaluation.add_argument(
        "--answers", action="store_true", help="also check the offline answers' quotes (near the answer, not questions)"
    )
    _add_people(evaluation)

    ask = commands.add_parser("ask", parents=[common], help="answer a question with cited moments")
    ask.add_argument("question", nargs="*", help="the question (quotes are optional)")
    _add_filters(ask)
    ask.add_argument("--json", action="store_true", help=JSON_HELP)

    commands.add_parser("repl", parents=[common], help="ask questions interactively, with follow-ups")

    serve = commands.add_parser("serve", parents=[common], help="run the Slack app")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--socket", action="store_true", help="Socket Mode (needs SLACK_APP_TOKEN)")
    mode.add_argument("--http", action="store_true", help="HTTP mode on --port (default)")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP mode: address to bind (0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP mode: port to listen on (default 3000)")
    serve.add_argument(
        "--workers", type=int, help="HTTP mode: worker processes, each ~400 MB (default $WEB_CONCURRENCY or 1)"
    )

    feedback = commands.add_parser(
        "feedback", parents=[common], help="👍/👎 counts, and every 👎 answer with its question and sources"
    )
    feedback.add_argument(
        "--since", default="7d", help="a period (7d, 12h, 2w), a date (2026-11-01) or 'all' (default: 7d)"
    )
    feedback.add_argument("--json", action="store_true", help=JSON_HELP)

    commands.add_parser("doctor", parents=[common], help="show the configuration in effect and check connections")
    return parser, dict(commands.choices)


def _at_least_one(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _add_people(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--people",
        type=Path,
        metavar="DIR",
        help="guest pages (full names, bios); default $PODCAST_BOT_PEOPLE, or people/ or _people/ beside the episodes",
    )


def _period(text: str) -> float:
    try:
        seconds = parse_every(text, "--every")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if seconds is None:
        raise argparse.ArgumentTypeError("--every needs a period such as 6h; leave it out to sync once")
    return seconds


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--season", type=int, help="only this season, e.g. 7")
    parser.add_argument("--episode", help="episode id, s07e01, or episode number")
    parser.add_argument("--guest", help="guest name, e.g. 'Eugene Yan'")
    parser.add_argument("--speaker", help="speaker first name as in the transcript, e.g. Alexey")


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
    from retrieval.evaluation import evaluate
    from retrieval.questions import load_question_files, named_episode_files

    questions = load_question_files(args.questions)
    if not args.episodes.is_dir():
        raise EpisodeError(args.episodes, "not a folder of episode files")
    settings = runtime.settings
    if args.index is None and not settings.store.is_server:
        settings = settings.with_index(eval_index_dir(settings, args.episodes))
    eval_runtime = Runtime(replace(settings, episodes=args.episodes))
    report = eval_runtime.ingest([args.episodes, *named_episode_files(questions, args.episodes)])
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
        serve_http(runtime.settings, args.host, args.port, workers=args.workers or runtime.settings.web_concurrency)
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


def _required_secrets(args: argparse.Namespace) -> tuple[str, ...]:
    """The Slack tokens and secrets a command needs: `serve` checks them with every other setting, before it starts."""
    if args.command != "serve":
        return ()
    return SLACK_SOCKET if args.socket else SLACK_HTTP


def configure_logging(level: str, verbose: bool) -> None:
    """Results go to stdout; logs to stderr: progress and problems by default, every detail with -v."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level.upper(), logging.INFO),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser, command_parsers = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # A mistyped option gets the usage of the command it was given to, not the list of commands.
        command_parsers.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not args.command:
        parser.print_help()
        return 2
    try:
        settings = load_settings(require=_required_secrets(args)).with_index(args.index)
        if getattr(args, "people", None):
            settings = replace(settings, people=args.people)
        if args.links:
            settings = replace(settings, terminal=replace(settings.terminal, links=args.links))
        configure_logging(settings.log_level, args.verbose)
        return COMMANDS[args.command](Runtime(settings), args)
    except PodcastBotError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

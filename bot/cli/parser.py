"""The `podcast-bot` argument parser: every command, its options and their help."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.config import LINK_STYLES
from bot.env_values import parse_every

JSON_HELP = "machine-readable output (JSON)"


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
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
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if seconds is None:
        raise argparse.ArgumentTypeError("--every needs a period such as 6h; leave it out to sync once")
    return seconds


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--season", type=int, help="only this season, e.g. 7")
    parser.add_argument("--episode", help="episode id, s07e01, or episode number")
    parser.add_argument("--guest", help="guest name, e.g. 'Eugene Yan'")
    parser.add_argument("--speaker", help="speaker first name as in the transcript, e.g. Alexey")

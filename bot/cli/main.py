"""The `podcast-bot` entry point: parse, read the settings once, run the command, and turn the
errors written for users into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace

from bot.cli.commands import COMMANDS
from bot.cli.parser import build_parser
from bot.cli.progress import terminal_progress
from bot.config import SLACK_HTTP, SLACK_SOCKET, load_settings
from bot.exit_codes import INTERRUPTED, exit_code
from bot.runtime import Runtime
from retrieval import PodcastBotError

# Loggers of libraries whose INFO lines (one per HTTP request, per collection…) are not results.
# The OpenAI client's HTTP library installs as `httpx2`/`httpcore2` next to the usual names.
NOISY_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "chromadb", "openai", "urllib3", "langchain")


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
    parser, command_parsers = build_parser()
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
        return COMMANDS[args.command](Runtime(settings, progress=terminal_progress()), args)
    except PodcastBotError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_code(error)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

"""The exit code of each error `podcast-bot` reports in one line: 2 when it cannot start as asked, else 1."""

from __future__ import annotations

from bot.state.store import StateUnavailableError
from retrieval import PodcastBotError, UsageError

# Asked wrongly (arguments, settings), or what start-up needs is away (the state database): 2, as
# argparse gives a bad argument; a platform tells such an error from a failure of the work itself.
CANNOT_START = (UsageError, StateUnavailableError)
INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C


def exit_code(error: PodcastBotError) -> int:
    return 2 if isinstance(error, CANNOT_START) else 1

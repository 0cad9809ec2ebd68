"""gunicorn hooks for the Slack app, used by `podcast-bot serve --http` and the Procfile
(`gunicorn -c python:bot.slack.gunicorn_hooks …`).

`on_starting` runs in gunicorn's master before any worker: it checks every setting (one message
naming each missing or malformed variable) and opens the state store once (which migrates its
schema), so a bad setting or an unreachable database stops start-up with exit code 2 rather than
with a traceback from every worker. `worker_exit` lets a stopping worker finish the
answers it has started. Loading this module caps the allocator's arenas for the master and so for
every worker it forks.
"""

from __future__ import annotations

import sys
from typing import Any

from bot.config import SLACK_HTTP, load_settings
from bot.exit_codes import exit_code
from bot.state import open_state
from retrieval import PodcastBotError, limit_arenas

# A worker's 8 request threads and the model's and Chroma's pools would each get an arena of their
# own, each keeping its freed pages: 2 kept a worker ~14 MB smaller after 100 answers.
limit_arenas(2)


def on_starting(server: Any) -> None:
    try:
        open_state(load_settings(require=SLACK_HTTP).slack.state).close()
    except PodcastBotError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(exit_code(error))


def worker_exit(server: Any, worker: Any) -> None:
    # Imported here: the master process never loads the app (or what it imports), only workers.
    from bot.slack.wsgi import SlackWSGIApp

    app = getattr(worker, "wsgi", None)
    if isinstance(app, SlackWSGIApp):
        app.close()

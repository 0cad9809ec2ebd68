"""The Bolt app: its listeners by surface (`bot.slack.listeners`), wired to one conversation service.

Listeners run in the request thread (`process_before_response`) and only ack and hand on, so Slack
gets its ack within milliseconds, without waiting on the state store or on Bolt's executor; the work
after the ack runs in the service's one pool (`bot.slack.in_flight`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App

from bot.config import SLACK_HTTP, SLACK_SOCKET, Settings
from bot.runtime import Runtime
from bot.slack.conversation import Conversations
from bot.slack.delivery import web_client
from bot.slack.listeners import actions, assistant, commands, events, home
from bot.state import ResilientState, StateStore, open_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackApp:
    """The Bolt app and the conversation service its listeners hand questions to."""

    bolt: App
    bot: Conversations


def create_app(
    *, settings: Settings, runtime: Runtime, state: StateStore | None = None, socket_mode: bool = False
) -> SlackApp:
    """The Bolt app. HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET;
    Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN. The state store (`state`, else the
    configured one) must be reachable now (StateUnavailableError otherwise); later outages are
    ridden out (ResilientState)."""
    slack = settings.slack
    slack.require(SLACK_SOCKET if socket_mode else SLACK_HTTP)
    conversations = Conversations(settings, runtime, ResilientState(state or open_state(slack.state)))
    app = App(
        client=web_client(slack.bot_token, slack.api_url),
        signing_secret=slack.signing_secret,
        request_verification_enabled=not socket_mode,
        process_before_response=True,
    )
    assistant.register(app, conversations)  # first: Bolt's Assistant takes DM-thread messages before `events`
    events.register(app, conversations)
    home.register(app, conversations)
    commands.register(app, conversations)
    actions.register(app, conversations)
    app.error(_log_error)
    return SlackApp(app, conversations)


def _log_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("unhandled error for a %s request: %s", body.get("type", "?"), error, exc_info=error)

"""`/ask question`: acked at once with "looking it up" (or the usage), answered through its response_url."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App

from bot.slack.blocks import USAGE, notice
from bot.slack.conversation import Conversations, History
from bot.slack.delivery import respond
from bot.slack.replies import CommandReply
from bot.slack.text import escape
from bot.slack.threads import strip_mentions


@dataclass(frozen=True)
class CommandOrigin:
    """An `Origin`: a slash command, answered through its response_url, visible as configured."""

    user: str
    channel: str
    response_url: str
    visibility: str

    def usage(self) -> None:
        respond(self.response_url, notice(USAGE))

    def notice(self, text: str) -> None:
        respond(self.response_url, notice(text))

    def open_reply(self) -> CommandReply:
        return CommandReply(self.response_url, self.user, self.visibility)

    def history(self) -> History:
        return []


def register(app: App, conversations: Conversations) -> None:
    @app.command("/ask")
    def on_ask(ack: Ack, command: dict[str, Any]) -> None:
        """Acknowledge at once, in the request thread: the usage, or "looking it up" and the answer later."""
        received_at = time.monotonic()
        question = strip_mentions(command.get("text", ""))
        if question.lower() in ("", "help", "?"):
            ack(text=USAGE, response_type="ephemeral")
            return
        ack(text=f"Looking it up: _{escape(question)}_ :mag:", response_type="ephemeral")
        origin = CommandOrigin(
            user=command.get("user_id", ""),
            channel=command.get("channel_id", ""),
            response_url=command["response_url"],
            visibility=conversations.settings.slack.ask_visibility,
        )
        trigger_id = command.get("trigger_id")
        conversations.ask_by_command(origin=origin, question=question, trigger_id=trigger_id, received_at=received_at)

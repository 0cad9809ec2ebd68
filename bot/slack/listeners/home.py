"""The App Home tab, published for whoever opens it (`bot.slack.home` makes the view)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.conversation import Conversations
from bot.slack.home import publish_home


def register(app: App, conversations: Conversations) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home":
            conversations.after_ack(lambda: publish_home(client, conversations.runtime, event["user"]))

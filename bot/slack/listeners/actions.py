"""Feedback buttons under an answer: the 👍/👎 is stored, and the clicker told whether it was."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.blocks import FEEDBACK, LEGACY_FEEDBACK, notice, parse_vote
from bot.slack.conversation import Conversations
from bot.slack.delivery import respond


def register(app: App, conversations: Conversations) -> None:
    def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        vote = parse_vote(action.get("action_id", ""), action.get("value", ""))
        if vote is None:
            return
        user, response_url = body.get("user", {}).get("id", ""), body.get("response_url")

        def store() -> None:
            thanks = conversations.store_vote(vote[1], user, vote[0])
            if response_url:
                respond(response_url, notice(thanks))

        conversations.after_ack(store)

    for action_id in (FEEDBACK, *LEGACY_FEEDBACK):
        app.action(action_id)(on_feedback)

"""Mentions (with thread follow-ups) and direct messages: questions answered in their thread or DM."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.conversation import Conversations
from bot.slack.replies import Conversation, ThreadTools
from bot.slack.threads import SlackThread, strip_mentions


def question_in_thread(
    *,
    conversations: Conversations,
    body: dict[str, Any],
    event: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    thread_ts: str | None,
    tools: ThreadTools | None = None,
) -> None:
    """Hand a message's question on, for an answer in `thread_ts` (None: at the top of a DM). Messages
    in an assistant thread come with Bolt's `tools`; those of any other thread get the Web API's."""
    received_at = time.monotonic()
    where = Conversation(
        channel=event["channel"],
        message_ts=event["ts"],
        thread_ts=thread_ts,
        user=event.get("user", ""),
        team=body.get("team_id") or context.team_id or "",
    )
    origin = SlackThread(
        client=client,
        where=where,
        tools=tools or ThreadTools.for_thread(client, where),
        state=conversations.state,
        model_streams=conversations.model_streams,
        bot_user_id=context.bot_user_id,
        in_thread=bool(event.get("thread_ts")),  # its earlier messages are the conversation so far
        maybe_panel=tools is not None,
    )
    question = strip_mentions(event.get("text", ""))
    conversations.ask_in_thread(
        origin=origin, question=question, event_id=body.get("event_id"), received_at=received_at
    )


def register(app: App, conversations: Conversations) -> None:
    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id") or event.get("edited"):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        question_in_thread(
            conversations=conversations, body=body, event=event, client=client, context=context, thread_ts=thread_ts
        )

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # Only direct messages; edits, deletions and bot posts carry a subtype or a bot_id.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        thread_ts = event.get("thread_ts")
        question_in_thread(
            conversations=conversations, body=body, event=event, client=client, context=context, thread_ts=thread_ts
        )

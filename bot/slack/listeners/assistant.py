"""The assistant side panel, through Bolt's `Assistant`: a greeting with suggested questions when a thread
starts, and each question in the thread answered with the thread as its history.

Bolt routes here every user message in a DM thread, in workspaces without the assistant feature too
(a follow-up in a Messages-tab thread). The answer goes through what Bolt injects for the thread:
`set_status` ("is searching…"), `set_title` and `say_stream`. Only a thread whose first message is
the panel's gets the panel's ways (the status in place of a placeholder, the title); any other DM
thread is answered as in `events`. Where Slack refuses the status or the title, the answer still comes.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Assistant, BoltContext, Say
from slack_bolt.context.say_stream import SayStream
from slack_bolt.context.set_status import SetStatus
from slack_bolt.context.set_suggested_prompts import SetSuggestedPrompts
from slack_bolt.context.set_title import SetTitle
from slack_sdk import WebClient

from bot.slack.blocks import SlackMessage, notice
from bot.slack.conversation import Conversations
from bot.slack.delivery import SLACK_FAILURES, reason
from bot.slack.listeners.events import question_in_thread
from bot.slack.replies import ThreadTools
from bot.slack.suggestions import suggestions
from bot.slack.text import counted

log = logging.getLogger(__name__)

SUGGESTED = 4  # as many as the panel shows


def greeting(episodes: int) -> SlackMessage:
    known = f"the transcripts of {counted(episodes, 'episode')}" if episodes else "its episodes' transcripts"
    return notice(
        f"Hi! I answer questions about the DataTalks.Club podcast from {known}, and every answer links "
        "to the second of the episode where it was said. Ask me anything, or try one of the suggestions."
    )


def register(app: App, conversations: Conversations) -> None:
    assistant = Assistant()

    @assistant.thread_started
    def thread_started(body: dict[str, Any], say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        def greet() -> None:
            episodes = conversations.episodes()  # greet anyway without the index; questions get apologies
            message = greeting(len(episodes))
            say(text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False)
            prompts = suggestions(episodes.values(), SUGGESTED)
            if not prompts:
                return
            try:
                choices = [{"title": s.title, "message": s.question} for s in prompts]
                set_suggested_prompts(prompts=choices, title="Try asking")
            except SLACK_FAILURES as error:
                log.warning("suggesting questions failed: %s", reason(error))

        conversations.once(body.get("event_id"), greet)

    @assistant.user_message
    def user_message(
        body: dict[str, Any],
        event: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        set_status: SetStatus,
        set_title: SetTitle,
        say_stream: SayStream,
    ) -> None:
        tools = ThreadTools(set_status=set_status, set_title=set_title, say_stream=say_stream)
        thread_ts = event.get("thread_ts")
        question_in_thread(
            conversations=conversations,
            body=body,
            event=event,
            client=client,
            context=context,
            thread_ts=thread_ts,
            tools=tools,
        )

    # Middleware: takes thread starts and messages in DM threads before the `events` listeners.
    app.assistant(assistant)

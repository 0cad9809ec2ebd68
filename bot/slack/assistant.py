"""The assistant side panel, through Bolt's `Assistant` middleware: a greeting with suggested questions
when a thread starts, and each question in the thread answered with the thread as its history.

Bolt routes here every user message in a DM thread, in workspaces without the assistant feature too
(a follow-up in a Messages-tab thread). Only a thread whose first message is the panel's (Slack's
`assistant_app_thread`) gets the panel's ways: the "is searching…" status in place of a placeholder
and the thread's title; any other DM thread is answered exactly as before. Where Slack refuses the
status or the title, the answer still comes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Assistant, BoltContext
from slack_bolt.context.set_suggested_prompts import SetSuggestedPrompts
from slack_sdk import WebClient

from bot.slack.blocks import SlackMessage, notice
from bot.slack.delivery import SLACK_FAILURES, post, reason
from bot.slack.suggestions import suggestions
from bot.slack.text import counted
from retrieval import EpisodeRecord, PodcastBotError

if TYPE_CHECKING:
    from bot.slack.app import PodcastSlackBot

log = logging.getLogger(__name__)

SUGGESTED = 4  # as many as the panel shows


def greeting(episodes: int) -> SlackMessage:
    known = f"the transcripts of {counted(episodes, 'episode')}" if episodes else "its episodes' transcripts"
    return notice(
        f"Hi! I answer questions about the DataTalks.Club podcast from {known}, and every answer links "
        "to the second of the episode where it was said. Ask me anything, or try one of the suggestions."
    )


class AssistantPanel:
    def __init__(self, bot: PodcastSlackBot):
        self.bot = bot

    def middleware(self) -> Assistant:
        assistant = Assistant()
        assistant.thread_started(self.thread_started)
        assistant.user_message(self.bot.on_assistant_message)
        return assistant

    def thread_started(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        set_suggested_prompts: SetSuggestedPrompts,
    ) -> None:
        self.bot.after_ack(lambda: self.greet(body, event["assistant_thread"], client, set_suggested_prompts))

    def greet(
        self, body: dict[str, Any], thread: dict[str, Any], client: WebClient, set_prompts: SetSuggestedPrompts
    ) -> None:
        if not self.bot.first_delivery(body):
            return
        episodes: dict[str, EpisodeRecord] = {}
        try:
            episodes = self.bot.runtime.searcher.corpus.episodes
        except PodcastBotError as error:  # greet anyway; the questions will be apologised for
            log.warning("greeting without the index: %s", error)
        post(client, thread["channel_id"], greeting(len(episodes)), thread["thread_ts"])
        prompts = suggestions(episodes.values(), SUGGESTED)
        if not prompts:
            return
        try:
            set_prompts(prompts=[{"title": s.title, "message": s.question} for s in prompts], title="Try asking")
        except SLACK_FAILURES as error:
            log.warning("suggesting questions failed: %s", reason(error))

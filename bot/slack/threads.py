"""A question asked in a channel thread or a DM, as the conversation service sees it (an `Origin`):
who asked where, the thread so far, and the reply that shows progress there.

The thread's earlier messages are the conversation so far, so follow-up questions have context.
What the bot posted before anyone asked (a side-panel greeting) and Slack's own messages (subtypes)
are not part of it. A thread whose first message is the assistant panel's (`assistant_app_thread`)
gets the panel's ways: Slack's status in place of a placeholder, and a title.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient

from bot.slack.blocks import THINKING, USAGE, notice
from bot.slack.conversation import History
from bot.slack.delivery import SLACK_FAILURES, post, reason
from bot.slack.replies import Conversation, ThreadReply, ThreadTools
from bot.state import ResilientState

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
MAX_THREAD_HISTORY = 10
PANEL_THREAD = "assistant_app_thread"  # the subtype of a side-panel thread's first message


def strip_mentions(text: str) -> str:
    return " ".join(MENTION.sub(" ", text or "").split())


@dataclass(frozen=True)
class ThreadSoFar:
    history: History
    in_panel: bool = False  # the thread is one of the assistant side panel's


def read_thread(client: WebClient, where: Conversation, bot_user_id: str | None) -> ThreadSoFar:
    """The messages of `where`'s thread before its question."""
    assert where.thread_ts is not None
    try:
        replies = client.conversations_replies(channel=where.channel, ts=where.thread_ts, limit=50)
    except SLACK_FAILURES as error:
        log.warning("cannot read thread history: %s", reason(error))
        return ThreadSoFar([])
    history: History = []
    messages: list[dict[str, Any]] = replies.get("messages", [])
    for message in messages:
        if message.get("ts") == where.message_ts or message.get("subtype"):
            continue
        from_bot = bool(message.get("bot_id")) or (bot_user_id is not None and message.get("user") == bot_user_id)
        text = message.get("text", "") if from_bot else strip_mentions(message.get("text", ""))
        if text and text != THINKING and (history or not from_bot):
            history.append(("assistant" if from_bot else "user", text))
    in_panel = any(m.get("ts") == where.thread_ts and m.get("subtype") == PANEL_THREAD for m in messages)
    return ThreadSoFar(history[-MAX_THREAD_HISTORY:], in_panel)


@dataclass
class SlackThread:
    """An `Origin`: a mention or DM (`in_thread` when asked inside a thread, whose messages are then read
    for its history), or a message in a DM thread that may be the assistant panel's (`maybe_panel`)."""

    client: WebClient
    where: Conversation
    tools: ThreadTools
    state: ResilientState
    model_streams: bool
    bot_user_id: str | None
    in_thread: bool
    maybe_panel: bool = False
    _so_far: ThreadSoFar | None = None

    @property
    def user(self) -> str:
        return self.where.user

    @property
    def channel(self) -> str:
        return self.where.channel

    def usage(self) -> None:
        self.notice(USAGE)

    def notice(self, text: str) -> None:
        post(client=self.client, channel=self.where.channel, message=notice(text), thread_ts=self.where.thread_ts)

    def open_reply(self) -> ThreadReply:
        # Read now, before anything shows: only a thread whose root is the side panel's gets its status.
        in_panel = self.maybe_panel and self._read().in_panel
        reply = ThreadReply(
            client=self.client,
            where=replace(self.where, assistant=in_panel),
            tools=self.tools,
            state=self.state,
            model_streams=self.model_streams,
        )
        reply.begin()
        return reply

    def history(self) -> History:
        return self._read().history

    def _read(self) -> ThreadSoFar:
        if self._so_far is None:
            self._so_far = read_thread(self.client, self.where, self.bot_user_id) if self.in_thread else ThreadSoFar([])
        return self._so_far

"""The Slack Bolt app: mentions (with thread follow-ups), direct messages, the assistant side panel,
`/ask`, the Home tab and feedback buttons.

Handlers only acknowledge, delegate and format. Slack sees an ack within milliseconds, without
waiting on the state store; the work goes to thread pools and `InFlight` counts it. The answer
follows in the thread or DM (streamed, or a placeholder replaced: `bot.slack.replies`) or through
the slash command's `response_url`, and within a deadline, after which the asker gets an apology.
Each event and each command is answered once: its key is claimed in the state store before
answering, so Slack's retries and replayed requests are acked but not answered again, whichever
process they reach.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.config import SLACK_HTTP, SLACK_SOCKET, Settings
from bot.runtime import UPDATING, Runtime
from bot.slack.assistant import AssistantPanel
from bot.slack.blocks import FEEDBACK, LEGACY_FEEDBACK, THINKING, USAGE, notice, parse_vote
from bot.slack.deadlines import Deadlines
from bot.slack.delivery import SLACK_FAILURES, post, reason, respond, web_client
from bot.slack.home import publish_home
from bot.slack.replies import CommandReply, Conversation, Reply, ReplyClosed, ThreadReply
from bot.slack.state import ResilientState, StateStore, StateUnavailableError, open_state
from bot.slack.text import escape
from retrieval import Answer, IndexBusyError, StoreError

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
MAX_THREAD_HISTORY = 10
PANEL_THREAD = "assistant_app_thread"  # the subtype of a side-panel thread's first message


def strip_mentions(text: str) -> str:
    return " ".join(MENTION.sub(" ", text or "").split())


@dataclass(frozen=True)
class ThreadSoFar:
    history: list[tuple[str, str]]  # (role, text), oldest first
    in_panel: bool = False  # the thread is one of the assistant side panel's


class InFlight:
    """Counts work handed on after an ack, so shutdown (and a test) can wait until all of it is done."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def begin(self) -> None:
        with self._changed:
            self._count += 1

    def end(self) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """True once nothing is in flight; False if `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


class PodcastSlackBot:
    """What the handlers delegate to: answering a question and posting the result."""

    def __init__(self, settings: Settings, runtime: Runtime, state: ResilientState):
        self.settings = settings
        self.runtime = runtime
        self.state = state
        # Handlers run in the request thread and return at once; the work goes to two pools:
        # Slack calls (placeholders, replies) and answering, which is CPU work kept small so that
        # it cannot starve the threads that acknowledge Slack.
        self._posting = ThreadPoolExecutor(max_workers=8, thread_name_prefix="post")
        self._answering = ThreadPoolExecutor(
            max_workers=settings.slack.answer_threads, thread_name_prefix="answer", initializer=_lower_priority
        )
        self.in_flight = InFlight()
        self.deadlines = Deadlines()

    # Guards ---------------------------------------------------------------------------------

    def first_delivery(self, body: dict[str, Any]) -> bool:
        """False for a Slack retry of an event already taken (same event_id) by any process."""
        event_id = body.get("event_id")
        return not event_id or self.state.claim(f"event:{event_id}")

    def first_command(self, command: dict[str, Any]) -> bool:
        """False for a replay of a slash command already taken (same trigger_id) by any process."""
        trigger_id = command.get("trigger_id")
        return not trigger_id or self.state.claim(f"ask:{trigger_id}")

    def refusal(self, user: str, channel: str, is_dm: bool) -> str | None:
        """Why this question is not answered now, or None when it is."""
        allowed = self.settings.slack.allowed_channels
        if allowed and not is_dm and channel not in allowed:
            return "I only answer questions in a few channels here; send me a direct message instead."
        loading = self.runtime.loading_message()
        if loading:
            return loading  # before the rate limit: a question that could not be answered does not count
        limit = self.settings.slack.rate_limit_per_minute
        if not self.state.allow_question(user, limit):
            return (
                f"You're asking faster than I can look things up: up to {limit} questions a minute. "
                "Please try again shortly."
            )
        return None

    # Answering ------------------------------------------------------------------------------

    def expire_at(self, received_at: float, reply: Reply) -> None:
        """Apologise in place of the answer if it is not there by the deadline (counted from the ack)."""
        deadline = received_at + self.settings.slack.answer_deadline
        self.deadlines.at(deadline, lambda: self.in_background(reply.apologise, self._posting))

    def answer_into(self, reply: Reply, question: str, history: list[tuple[str, str]], user: str, channel: str) -> None:
        """On an answering thread: the answer (streamed when the reply streams), else an apology."""
        try:
            answer = self._answer(reply, question, history)
        except IndexBusyError:  # another process began writing the index after the question came
            reply.apologise(UPDATING)
            return
        if answer is None:
            reply.apologise()
            return
        if reply.settled:
            log.info("an answer came after its deadline and was dropped")
            return
        try:
            answer_id: str | None = self.state.record_answer(answer, user, channel)
        except StateUnavailableError:
            answer_id = None  # the store logs its outage; the answer goes out without feedback buttons
        reply.finish(answer, answer_id)

    def _answer(self, reply: Reply, question: str, history: list[tuple[str, str]]) -> Answer | None:
        """The answer, or None after logging the failure (or when the deadline passed while streaming)."""
        try:
            answerer = self.runtime.answerer
            if isinstance(reply, ThreadReply):
                reply.searching(len(self.runtime.searcher.corpus.episodes))
                if reply.streaming:
                    with contextlib.closing(answerer.stream(question, history, on_sources=reply.cite)) as stream:
                        for piece in stream:
                            reply.write(piece)
                    return stream.answer
            return answerer.answer(question, history=history)
        except ReplyClosed:
            log.info("the deadline passed while an answer was being streamed")
        except IndexBusyError:
            raise
        except StoreError:
            log.exception("the index is unavailable; will reconnect on the next question")
            self.runtime.reset_index()
        except Exception:
            log.exception("answering %r failed", question)
        return None

    def reply_in_conversation(
        self,
        client: WebClient,
        where: Conversation,
        question: str,
        history_from: str | None,
        bot_user_id: str | None,
        received_at: float,
        thread: ThreadSoFar | None = None,
    ) -> None:
        """Answer in a thread or DM: show progress at once, answer in the background, deliver it (or an
        apology at the deadline). `history_from` is the ts of the message asking, when in a thread; its
        earlier messages are read in the background unless `thread` has them already."""
        if not question:
            post(client, where.channel, notice(USAGE), where.thread_ts)
            return
        refusal = self.refusal(where.user, where.channel, where.is_dm)
        if refusal:
            post(client, where.channel, notice(refusal), where.thread_ts)
            return
        llm = self.settings.llm
        reply = ThreadReply(client, where, self.state, model_streams=llm.enabled and llm.streaming)
        self.expire_at(received_at, reply)
        reply.begin()

        def work() -> None:
            so_far = thread or (
                self.read_thread(client, where.channel, where.thread_ts, history_from, bot_user_id)
                if where.thread_ts and history_from
                else ThreadSoFar([])
            )
            if where.assistant and not any(role == "user" for role, _ in so_far.history):
                reply.title(question)
            self.answer_into(reply, question, so_far.history, where.user, where.channel)

        self.in_background(work, self._answering)

    def in_background(self, work: Callable[[], object], pool: ThreadPoolExecutor) -> None:
        """Run `work` on `pool` after the ack; failures are logged, never lost silently."""
        self.in_flight.begin()

        def guarded() -> None:
            try:
                work()
            except Exception:
                log.exception("background work failed")
            finally:
                self.in_flight.end()

        pool.submit(guarded)

    def after_ack(self, work: Callable[[], object]) -> None:
        """Slack calls and short reads, after the ack."""
        self.in_background(work, self._posting)

    def read_thread(
        self, client: WebClient, channel: str, thread_ts: str, current_ts: str, bot_user_id: str | None
    ) -> ThreadSoFar:
        """The thread's earlier messages, so follow-up questions have context. What the bot posted before
        anyone asked (a side-panel greeting) and Slack's own messages (subtypes) are not the conversation."""
        try:
            replies = client.conversations_replies(channel=channel, ts=thread_ts, limit=50)
        except SLACK_FAILURES as error:
            log.warning("cannot read thread history: %s", reason(error))
            return ThreadSoFar([])
        history: list[tuple[str, str]] = []
        messages: list[dict[str, Any]] = replies.get("messages", [])
        for message in messages:
            if message.get("ts") == current_ts or message.get("subtype"):
                continue
            from_bot = bool(message.get("bot_id")) or (bot_user_id is not None and message.get("user") == bot_user_id)
            text = message.get("text", "") if from_bot else strip_mentions(message.get("text", ""))
            if text and text != THINKING and (history or not from_bot):
                history.append(("assistant" if from_bot else "user", text))
        in_panel = any(m.get("ts") == thread_ts and m.get("subtype") == PANEL_THREAD for m in messages)
        return ThreadSoFar(history[-MAX_THREAD_HISTORY:], in_panel)

    # Handlers -------------------------------------------------------------------------------

    def on_mention(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id") or event.get("edited"):
            return
        self._on_question(body, event, client, context, thread_ts=event.get("thread_ts") or event["ts"])

    def on_message(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # Only direct messages; edits, deletions and bot posts carry a subtype or a bot_id.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        self._on_question(body, event, client, context, thread_ts=event.get("thread_ts"))

    def on_assistant_message(
        self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        """A message in a DM thread (Bolt's Assistant sends all of them): the side panel's, or a follow-up
        in the Messages tab, which is answered exactly as before."""
        self._on_question(body, event, client, context, thread_ts=event.get("thread_ts"), assistant=True)

    def _on_question(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        thread_ts: str | None,
        assistant: bool = False,
    ) -> None:
        received_at = time.monotonic()
        where = Conversation(
            channel=event["channel"],
            message_ts=event["ts"],
            thread_ts=thread_ts,
            user=event.get("user", ""),
            team=body.get("team_id") or context.team_id or "",
            assistant=assistant,
        )
        # In a thread, the messages before this one are the conversation so far.
        history_from = event["ts"] if event.get("thread_ts") else None
        question = strip_mentions(event.get("text", ""))

        def work() -> None:
            if not self.first_delivery(body):
                return
            thread = None
            if assistant and where.thread_ts:
                # Read now: only a thread whose root is the side panel's gets its status and title.
                thread = self.read_thread(client, where.channel, where.thread_ts, event["ts"], context.bot_user_id)
            asked = replace(where, assistant=thread is not None and thread.in_panel)
            self.reply_in_conversation(client, asked, question, history_from, context.bot_user_id, received_at, thread)

        self.after_ack(work)

    def ack_ask(self, ack: Ack, command: dict[str, Any]) -> None:
        """Acknowledge `/ask` at once, in the request thread: usage, or "looking it up"."""
        # Bolt runs `answer_ask` after every ack; it ends what begins here.
        self.in_flight.begin()
        question = strip_mentions(command.get("text", ""))
        if question.lower() in ("", "help", "?"):
            ack(text=USAGE, response_type="ephemeral")
        else:
            ack(text=f"Looking it up: _{escape(question)}_ :mag:", response_type="ephemeral")

    def answer_ask(self, command: dict[str, Any]) -> None:
        """After the ack: check limits, answer, and post through the command's response_url."""
        try:
            self._answer_ask(command, received_at=time.monotonic())
        finally:
            self.in_flight.end()

    def _answer_ask(self, command: dict[str, Any], received_at: float) -> None:
        question = strip_mentions(command.get("text", ""))
        if question.lower() in ("", "help", "?"):
            return
        if not self.first_command(command):
            log.info("a repeated /ask (trigger %s) was acknowledged, not answered again", command.get("trigger_id"))
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        refusal = self.refusal(user, channel, is_dm=channel.startswith("D"))
        if refusal:
            respond(command["response_url"], notice(refusal))
            return
        reply = CommandReply(command["response_url"], user, self.settings.slack.ask_visibility)
        self.expire_at(received_at, reply)
        self.in_background(lambda: self.answer_into(reply, question, [], user, channel), self._answering)

    def on_feedback(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        vote = parse_vote(action.get("action_id", ""), action.get("value", ""))
        if vote is None:
            return
        user, response_url = body.get("user", {}).get("id", ""), body.get("response_url")

        def work() -> None:
            thanks = self.store_vote(vote[1], user, vote[0])
            if response_url:
                respond(response_url, notice(thanks))

        self.after_ack(work)

    def store_vote(self, answer_id: str, user: str, vote: str) -> str:
        """Store a 👍/👎; what to tell the user about it."""
        try:
            stored = self.state.record_feedback(answer_id, user, vote)
        except StateUnavailableError:
            return "Sorry, I can't save feedback right now. Please try again in a few minutes."
        if stored:
            return "Thanks for the feedback!"
        return "Sorry, I no longer know that answer, so I couldn't save your feedback."

    def on_home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home":
            self.after_ack(lambda: publish_home(client, self.runtime, event["user"]))

    def close(self, timeout: float = 20.0) -> None:
        """Finish the work in flight (up to `timeout` seconds, within gunicorn's 30 s for a graceful
        stop), then release the pools and the state store."""
        self.deadlines.close()
        if not self.in_flight.wait_until_idle(timeout):
            log.warning("stopping with answers still in flight after %.0f s", timeout)
        self._posting.shutdown(wait=False, cancel_futures=True)
        self._answering.shutdown(wait=False, cancel_futures=True)
        self.state.close()


def _lower_priority() -> None:
    """Let the OS run request threads (acks) before answering threads when the CPU is busy (Linux)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


@dataclass(frozen=True)
class SlackApp:
    """The Bolt app and the bot its listeners delegate to."""

    bolt: App
    bot: PodcastSlackBot


def create_app(
    settings: Settings, runtime: Runtime, state: StateStore | None = None, socket_mode: bool = False
) -> SlackApp:
    """The Bolt app. HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET;
    Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN. The state store (`state`, else the
    configured one) must be reachable now (StateUnavailableError otherwise); later outages are
    ridden out (ResilientState)."""
    slack = settings.slack
    slack.require(SLACK_SOCKET if socket_mode else SLACK_HTTP)
    bot = PodcastSlackBot(settings, runtime, ResilientState(state or open_state(slack.state)))
    app = App(
        client=web_client(slack.bot_token, slack.api_url),
        signing_secret=slack.signing_secret,
        request_verification_enabled=not socket_mode,
        # Listeners run in the request thread and only hand work to our pools, so Slack gets its
        # ack without waiting on Bolt's executor (which polls for acks every 10 ms).
        process_before_response=True,
    )
    # Middleware: takes assistant thread starts and messages in DM threads before the listeners below.
    app.assistant(AssistantPanel(bot).middleware())
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    app.event("app_home_opened")(bot.on_home_opened)
    # A lazy listener: Slack gets the ack from the request thread, the answer follows via response_url.
    app.command("/ask")(ack=bot.ack_ask, lazy=[bot.answer_ask])
    for action_id in (FEEDBACK, *LEGACY_FEEDBACK):
        app.action(action_id)(bot.on_feedback)
    app.error(_log_error)
    return SlackApp(app, bot)


def _log_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("unhandled error for a %s request: %s", body.get("type", "?"), error, exc_info=error)

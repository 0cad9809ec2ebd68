"""One answer's way to the asker, with exactly one outcome: the answer, or an apology.

An answer races its deadline (`bot.slack.deadlines`) and may fail; whichever settles a `Reply`
first is what the asker sees, and whatever comes after is dropped.

In a thread or a DM (`ThreadReply`), progress shows at once: a "Looking that up…" placeholder that the
answer replaces, or, when the answer is streamed or asked in the assistant panel, Slack's "is
searching…" status in the thread. A streamed answer gets its sources and feedback buttons when the
stream stops; if the checked answer is not what was streamed (the model failed, or cited a moment it
was not given), it replaces the streamed text. Where the workspace cannot stream, the placeholder
takes over and the team is remembered as one that cannot. `/ask` (`CommandReply`) answers through
its response_url.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from slack_sdk import WebClient
from slack_sdk.web.chat_stream import ChatStream

from bot.slack.blocks import APOLOGY, THINKING, SlackMessage, answer_messages, answer_tail, notice
from bot.slack.conversation import ReplyClosed
from bot.slack.delivery import SLACK_FAILURES, post, reason, respond, update
from bot.slack.streaming import AnswerStream, StreamUnavailable
from bot.slack.text import counted
from bot.state import ResilientState
from retrieval import Answer, Source

log = logging.getLogger(__name__)


class Reply(ABC):
    """Settles once: the settling half of `bot.slack.conversation.Reply`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settled = False

    @property
    def settled(self) -> bool:
        return self._settled

    def finish(self, answer: Answer, answer_id: str | None) -> bool:
        """Deliver `answer` unless the reply was settled before; whether it was delivered."""
        with self._lock:
            if self._settled:
                return False
            self._settled = True
            self._deliver(answer, answer_id)
            return True

    def apologise(self, text: str | None = None) -> bool:
        """Deliver the apology (or another notice in place of the answer) unless the reply was settled
        before; whether it was delivered."""
        with self._lock:
            if self._settled:
                return False
            self._settled = True
            self._apologise(text or APOLOGY)
            return True

    @abstractmethod
    def _deliver(self, answer: Answer, answer_id: str | None) -> None: ...

    @abstractmethod
    def _apologise(self, text: str) -> None: ...


class CommandReply(Reply):
    """`/ask`: the answer posted through the command's response_url, visible as configured."""

    def __init__(self, response_url: str, asked_by: str, visibility: str):
        super().__init__()
        self.response_url = response_url
        self.asked_by = asked_by
        self.visibility = visibility

    # A response_url shows no progress and cannot stream: the answer comes whole.
    streaming = False

    def searching(self, episodes: int) -> None:
        pass

    def title(self, question: str) -> None:
        pass

    def cite(self, sources: Sequence[Source]) -> None:
        pass

    def write(self, piece: str) -> None:
        pass

    def _deliver(self, answer: Answer, answer_id: str | None) -> None:
        for message in answer_messages(answer, answer_id, asked_by=self.asked_by):
            respond(self.response_url, message, self.visibility)

    def _apologise(self, text: str) -> None:
        respond(self.response_url, notice(text))


@dataclass(frozen=True)
class Conversation:
    """Where a question was asked: a channel thread, a DM (its top level or a thread), an assistant thread."""

    channel: str
    message_ts: str  # the question's own message
    thread_ts: str | None  # its thread; None at the top level of a DM
    user: str
    team: str
    assistant: bool = False  # the assistant panel, where Slack's status shows progress


@dataclass(frozen=True)
class ThreadTools:
    """Slack's helpers for one thread, as Bolt injects them into Assistant listeners (`set_status`,
    `set_title`, `say_stream`), or made from the Web API client elsewhere (`for_thread`)."""

    set_status: Callable[..., object]  # set_status(status=…)
    say_stream: Callable[..., ChatStream]  # say_stream(buffer_size=…): a stream in the thread
    set_title: Callable[[str], object] | None = None  # only assistant threads have a title

    @classmethod
    def for_thread(cls, client: WebClient, where: Conversation) -> ThreadTools:
        """For a mention or a DM: the status and streams of the question's thread (its own, at the top)."""
        thread = where.thread_ts or where.message_ts
        return cls(
            set_status=partial(client.assistant_threads_setStatus, channel_id=where.channel, thread_ts=thread),
            say_stream=partial(
                client.chat_stream,
                channel=where.channel,
                thread_ts=thread,
                recipient_team_id=where.team or None,
                recipient_user_id=where.user or None,
            ),
        )


class ThreadReply(Reply):
    """An answer in a conversation: a placeholder replaced by the answer, or a status and then the answer,
    streamed (`streaming`) or whole."""

    def __init__(
        self, *, client: WebClient, where: Conversation, tools: ThreadTools, state: ResilientState, model_streams: bool
    ):
        super().__init__()
        self.client = client
        self.where = where
        self._tools = tools
        self._state = state
        # Known for this team once a stream started or failed to (None: not tried yet).
        self._team_streams = state.streaming_supported(where.team) if model_streams else False
        self.streaming = model_streams and self._team_streams is not False
        # A stream is always a thread reply: for a question at the top of a DM, in its own thread.
        uses_status = self.streaming or where.assistant
        self._thread = (where.thread_ts or where.message_ts) if uses_status else where.thread_ts
        self._placeholder: str | None = None
        self._stream: AnswerStream | None = None
        self._stream_broken = False

    def begin(self) -> None:
        """Show at once that an answer is coming: the placeholder, unless Slack's status will show it."""
        if not (self.streaming or self.where.assistant):
            self._post_placeholder()

    def _post_placeholder(self) -> None:
        self._placeholder = self._post(notice(THINKING), self._thread)

    def searching(self, episodes: int) -> None:
        """Slack's "is searching N episodes…" status in the thread, where no placeholder shows progress.
        The status goes when the answer (or the first streamed text) is posted."""
        if self._placeholder is not None:
            return
        self._nicety("status", partial(self._tools.set_status, status=f"is searching {counted(episodes, 'episode')}…"))

    def title(self, question: str) -> None:
        """Name an assistant panel's thread after its first question."""
        if self.where.assistant and self._tools.set_title is not None:
            self._nicety("title", partial(self._tools.set_title, question[:100]))

    def _nicety(self, what: str, call: Callable[[], object]) -> None:
        try:
            call()
        except SLACK_FAILURES as error:  # progress and titles are niceties: the answer comes anyway
            log.debug("setting the thread's %s failed in %s: %s", what, self.where.channel, reason(error))

    def cite(self, sources: Sequence[Source]) -> None:
        """The numbered moments the model will cite, so the stream links each `[n]` as it arrives."""
        if self.streaming:
            self._stream = AnswerStream(self._tools.say_stream, {source.number: source.url for source in sources})

    def write(self, piece: str) -> None:
        """The model's next piece of text; ReplyClosed once the reply was settled."""
        with self._lock:
            if self._settled:
                raise ReplyClosed
            if not self.streaming or self._stream is None or self._stream_broken:
                return
            started = self._stream.ts is not None
            try:
                self._stream.write(piece)
            except StreamUnavailable as unavailable:
                self._cannot_stream(unavailable)
                return
            except SLACK_FAILURES as error:
                log.warning("a streamed answer broke off (%s); the whole answer will replace it", reason(error))
                self._stream_broken = True
                return
            if not started and self._stream.ts is not None and self._team_streams is None:
                self._team_streams = True
                self._state.remember_streaming(self.where.team, True)

    def _cannot_stream(self, unavailable: StreamUnavailable) -> None:
        log.info("cannot stream in team %s (%s); answering with a placeholder", self.where.team, unavailable.reason)
        if unavailable.for_team:
            self._team_streams = False
            self._state.remember_streaming(self.where.team, False)
        self.streaming = False
        self._stream = None
        if not self.where.assistant:
            self._post_placeholder()

    def _deliver(self, answer: Answer, answer_id: str | None) -> None:
        messages = answer_messages(answer, answer_id)
        try:
            if self._stream is not None and self._stream.ts is not None:
                streamed = self._stream.markdown.shown.strip()
                if not self._stream_broken and answer.mode == "llm" and answer.text == streamed:
                    self._stream.stop(blocks=answer_tail(answer, answer_id))
                    return
                self._replace(self._stream.ts, messages)
            elif self._placeholder is not None:
                self._replace(self._placeholder, messages)
            else:
                first = self._post(messages[0], self._thread)
                for message in messages[1:]:
                    self._post(message, self._thread or first)
        except SLACK_FAILURES as error:
            log.error("posting the answer failed: %s", reason(error))
            self._apologise(APOLOGY)

    def _replace(self, ts: str, messages: list[SlackMessage]) -> None:
        """Put the first message in place of `ts` (a placeholder or a streamed message), the rest after it."""
        self._end_stream()
        self._update(ts, messages[0])
        for message in messages[1:]:
            self._post(message, self._thread or ts)

    def _post(self, message: SlackMessage, thread_ts: str | None) -> str:
        return post(client=self.client, channel=self.where.channel, message=message, thread_ts=thread_ts)

    def _update(self, ts: str, message: SlackMessage) -> None:
        update(client=self.client, channel=self.where.channel, ts=ts, message=message)

    def _end_stream(self) -> None:
        if self._stream is None or self._stream.ts is None or self._stream_broken:
            return
        try:
            self._stream.stop()
        except SLACK_FAILURES as error:  # the message is replaced next, stopped or not
            log.debug("stopping the stream failed: %s", reason(error))
        self._stream_broken = True  # stopped: nothing more goes into it

    def _apologise(self, text: str) -> None:
        apology = notice(text)
        try:
            if self._stream is not None and self._stream.ts is not None:
                self._replace(self._stream.ts, [apology])
            elif self._placeholder is not None:
                self._update(self._placeholder, apology)
            else:
                self._post(apology, self._thread)
        except SLACK_FAILURES as error:
            log.error("posting the apology failed: %s", reason(error))

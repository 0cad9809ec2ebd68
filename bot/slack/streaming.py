"""An answer streamed into its thread as the model writes it, through a `ChatStream` (chat.startStream,
appendStream, stopStream: Bolt's `say_stream`, or `WebClient.chat_stream`), each `[n]` citation a link to
its moment as it arrives.

The first text goes out at once; later text is gathered for half a second (or 200 characters), so a
long answer takes a few calls rather than one per token (Slack allows ~100 appendStream a minute).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.chat_stream import ChatStream

from bot.slack.text import StreamedMarkdown

# What Slack answers a workspace or token that cannot stream at all: remembered per team.
CANNOT_STREAM = frozenset({"unknown_method", "not_allowed_token_type", "missing_scope", "no_permission"})
FLUSH_SECONDS = 0.5
FLUSH_CHARS = 200


class StreamUnavailable(Exception):
    """Starting the stream failed; `for_team` when the reason holds for every answer in the workspace."""

    def __init__(self, reason: str, for_team: bool):
        super().__init__(reason)
        self.reason = reason
        self.for_team = for_team


class AnswerStream:
    """One streamed message in a thread; it starts with the first text written to it."""

    def __init__(self, start: Callable[..., ChatStream], urls: Mapping[int, str]):
        self._start = start  # start(buffer_size=…): a new stream in the answer's thread
        self.markdown = StreamedMarkdown(urls)
        self._stream: ChatStream | None = None
        self._unsent = ""
        self._sent_at = 0.0

    @property
    def ts(self) -> str | None:
        """The streamed message's ts, once it started."""
        return self._stream.ts if self._stream else None

    def write(self, piece: str) -> None:
        """Add the model's next piece; StreamUnavailable when the stream could not start."""
        self._unsent += self.markdown.feed(piece)
        due = self._stream is None or len(self._unsent) >= FLUSH_CHARS
        if self._unsent and (due or time.monotonic() - self._sent_at >= FLUSH_SECONDS):
            self._send()

    def _send(self) -> None:
        starting = self._stream is None
        stream = self._stream or self._start(buffer_size=1)
        try:
            stream.append(markdown_text=self._unsent)
        except (SlackApiError, OSError) as error:
            if not starting:
                raise
            reason = error.response.get("error", "") if isinstance(error, SlackApiError) else type(error).__name__
            raise StreamUnavailable(reason, reason in CANNOT_STREAM) from error
        self._stream = stream
        self._unsent = ""
        self._sent_at = time.monotonic()

    def stop(self, blocks: Sequence[Block] | None = None) -> None:
        """Send what is left and end the stream; `blocks` go at the bottom of the message."""
        assert self._stream is not None, "stop() after the stream started"
        rest = self._unsent + self.markdown.rest()
        self._unsent = ""
        self._stream.stop(markdown_text=rest or None, blocks=blocks)

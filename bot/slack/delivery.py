"""How messages reach Slack: every post without link previews, every call with a timeout.

The Web API client made here times out every call it makes (chat.*, assistant.threads.*, views.*,
conversations.*, also for Bolt, which copies its timeout into each request's client); posts to a
slash command's or a button's `response_url` use a webhook client with the same timeout.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.slack.blocks import SlackMessage

log = logging.getLogger(__name__)

# Seconds any one Slack call may take. Slack answers in well under one; a stuck call must end long
# before an answer's deadline, so that the apology can still be delivered.
SLACK_TIMEOUT = 5
SLACK_FAILURES = (SlackApiError, OSError)  # an error answer, or none within the timeout


def reason(error: Exception) -> str:
    """Slack's error code, or the kind of failure (a timeout); never a token or a message's text."""
    return str(error.response.get("error")) if isinstance(error, SlackApiError) else type(error).__name__


def web_client(token: str | None, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=SLACK_TIMEOUT)


def post(*, client: WebClient, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
    """Post `message` (in a thread when `thread_ts` is given); its ts."""
    response = client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=message.text,
        blocks=message.blocks,
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(response["ts"])


def update(*, client: WebClient, channel: str, ts: str, message: SlackMessage) -> None:
    client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)


def respond(response_url: str, message: SlackMessage, response_type: str = "ephemeral") -> None:
    """Post `message` through a `response_url`, as a new message (the original stays)."""
    response = WebhookClient(response_url, timeout=SLACK_TIMEOUT).send(
        text=message.text,
        blocks=message.blocks,
        response_type=response_type,
        replace_original=False,
        unfurl_links=False,
        unfurl_media=False,
    )
    if response.status_code != 200:
        log.warning("posting to a response_url failed: HTTP %d", response.status_code)

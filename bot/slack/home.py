"""The App Home tab: what the bot knows (how many episodes, the newest one, the last sync), how to
ask it, and three example questions made from the index."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.views import View

from bot.runtime import Runtime
from bot.slack.blocks import mrkdwn
from bot.slack.delivery import SLACK_FAILURES, reason
from bot.slack.suggestions import suggestions
from bot.slack.text import counted, escape
from retrieval import EpisodeRecord, PodcastBotError, newest

log = logging.getLogger(__name__)

EXAMPLES = 3
HOW_TO_ASK = (
    "*How to ask*\n"
    "• Mention me in a channel: `@podcast-bot how did DataTalks.Club start?` I answer in the thread, "
    "and follow-up mentions there continue the conversation.\n"
    "• Type `/ask` and your question anywhere.\n"
    "• Send me a direct message (the *Messages* tab).\n"
    "• Open me in the side panel (the AI assistant button at the top of Slack, where your workspace has "
    "AI apps): I suggest questions, and follow-ups in a thread keep its context.\n"
    "Every answer links to the second of the episode where it was said."
)
UNAVAILABLE = "I can't read the episode index right now; questions get an apology until it is back."


def _knowledge(episodes: Mapping[str, EpisodeRecord], info: Mapping[str, str]) -> str:
    lines = [f"I know *{counted(len(episodes), 'episode')}* of the DataTalks.Club podcast, from their transcripts."]
    latest = newest(episodes.values())
    if latest is not None:
        when = latest.date or (f"season {latest.season}, episode {latest.number}" if latest.season else "")
        lines.append(f"The newest: *{escape(latest.title)}*" + (f" ({escape(when)})" if when else ""))
    synced = info.get("synced_at")
    commit = info.get("synced_commit")
    lines.append(
        f"Last sync: {escape(synced)}" + (f" (site version `{escape(commit[:7])}`)" if commit else "")
        if synced
        else "Last sync: never"
    )
    return "\n".join(lines)


def home_view(episodes: Mapping[str, EpisodeRecord] | None, info: Mapping[str, str]) -> View:
    """The Home tab; `episodes` None when the index cannot be read now."""
    blocks: list[Block] = [
        HeaderBlock(text="Ask the DataTalks.Club podcast"),
        SectionBlock(text=mrkdwn(UNAVAILABLE if episodes is None else _knowledge(episodes, info))),
        DividerBlock(),
        SectionBlock(text=mrkdwn(HOW_TO_ASK)),
    ]
    examples = suggestions(episodes.values(), EXAMPLES) if episodes else []
    if examples:
        lines = "\n".join(f"• {escape(s.question)}" for s in examples)
        blocks += [DividerBlock(), SectionBlock(text=mrkdwn(f"*Try asking*\n{lines}"))]
    return View(type="home", blocks=blocks)


def publish_home(client: WebClient, runtime: Runtime, user: str) -> None:
    """Publish the Home tab for `user`, from what the index holds now (it never builds the index)."""
    episodes: dict[str, EpisodeRecord] | None = None
    info: dict[str, str] = {}
    try:
        index = runtime.index(build_if_empty=False)
        episodes, info = index.episodes(), index.info()
    except PodcastBotError as error:
        log.warning("the Home tab shows no episodes: %s", error)
    try:
        client.views_publish(user_id=user, view=home_view(episodes, info))
    except SLACK_FAILURES as error:
        log.warning("publishing the Home tab failed: %s", reason(error))

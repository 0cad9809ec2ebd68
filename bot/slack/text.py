"""Text that is safe to show in Slack: content made inert, the only markup ours.

Slack reads two syntaxes: *mrkdwn* in blocks and fallback text, and standard *markdown* in streamed
messages (`chat.startStream` / `appendStream`). Everything from a transcript, a model or a user goes
through `escape` (mrkdwn) or `escape_markdown`, so no content can become `<!channel>`, `<!here>`,
`<@U…>` or a link, and a URL in an answer survives only when it is one of its moments' links
(`retrieval.answering.citations.keep_source_links`). The only markup in our messages is what this module and
`blocks` add: links to moments (`[n]` citations, sources) and episode pages, and the asker's name on
`/ask` answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from retrieval import CITATION, keep_source_links

# "@channel" typed as plain text is not a mention, but a zero-width joiner keeps it that way
# even if a client or a future API option turns on name linking.
BROADCAST_WORDS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
MARKDOWN_LINK_SYNTAX = re.compile(r"([\\\[\]])")
WHITESPACE = re.compile(r"\s")


def _defuse_broadcasts(text: str) -> str:
    return BROADCAST_WORDS.sub(lambda m: "@\u2060" + m.group(1), text)


def _entities(text: str) -> str:
    # Slack reads `<…>` as a mention or link in both syntaxes; entities are plain characters in both.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Make any text inert in Slack mrkdwn: no mentions, no links, no broadcast."""
    return _defuse_broadcasts(_entities(text))


def escape_markdown(text: str) -> str:
    """Make any text inert in Slack markdown: as `escape`, and `[`, `]` and `\\` backslash-escaped so
    that no content forms a `[label](url)` link. Other formatting (bold, lists) is left to render."""
    return _defuse_broadcasts(MARKDOWN_LINK_SYNTAX.sub(r"\\\1", _entities(text)))


def mrkdwn_link(url: str, label: str) -> str:
    return f"<{url.replace('&', '&amp;').replace('<', '').replace('>', '').replace('|', '%7C')}|{escape(label)}>"


def markdown_link(url: str, label: str) -> str:
    safe_url = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "").replace(">", "")
    return f"[{escape_markdown(label)}]({safe_url})"


def counted(n: int, noun: str) -> str:
    """ "1 episode", "186 episodes"."""
    return f"{n} {noun}{'s' * (n != 1)}"


def plain(text: str, limit: int = 150) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _with_citations(
    *, text: str, urls: Mapping[int, str], inert: Callable[[str], str], link: Callable[[str, str], str]
) -> str:
    """`text` made inert, each `[n]` with a known URL a link to it (others stay text)."""
    parts: list[str] = []
    position = 0
    for citation in CITATION.finditer(text):
        parts.append(inert(text[position : citation.start()]))
        number = int(citation.group(1))
        parts.append(link(urls[number], citation.group(0)) if number in urls else inert(citation.group(0)))
        position = citation.end()
    parts.append(inert(text[position:]))
    return "".join(parts)


def cited_mrkdwn(text: str, urls: Mapping[int, str]) -> str:
    """An answer as mrkdwn: escaped, `**bold**` as Slack's `*bold*`, each `[n]` linked to its moment."""
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", _with_citations(text=text, urls=urls, inert=escape, link=mrkdwn_link))


def cited_markdown(text: str, urls: Mapping[int, str]) -> str:
    """An answer as markdown: escaped, each `[n]` linked to its moment."""
    return _with_citations(text=text, urls=urls, inert=escape_markdown, link=markdown_link)


class StreamedMarkdown:
    """A model's text as it arrives, turned into safe markdown with each `[n]` linked and no link to
    anywhere but the moments (`keep_source_links`).

    A citation, a URL or a broadcast word may be split across pieces ("[" then "2]"), so the text
    after the last whitespace waits for the next piece (or `rest`) before it is converted. (A link's
    label can hold spaces: one split so is shown as inert text, its URL removed all the same.)"""

    def __init__(self, urls: Mapping[int, str]):
        self.urls = dict(urls)
        self._sources = set(self.urls.values())
        self._shown = ""  # the text converted so far, without the removed links
        self._pending = ""

    def feed(self, piece: str) -> str:
        """The markdown that is ready now (may be empty)."""
        self._pending += piece
        last_space = max((m.end() for m in WHITESPACE.finditer(self._pending)), default=0)
        ready, self._pending = self._pending[:last_space], self._pending[last_space:]
        return self._convert(ready)

    def rest(self) -> str:
        """What is still held back, converted: at the end of the stream."""
        ready, self._pending = self._pending, ""
        return self._convert(ready)

    @property
    def shown(self) -> str:
        """The model's text as the stream shows it (its tail once `rest` sends it): outside links removed."""
        return self._shown + keep_source_links(self._pending, self._sources)

    def _convert(self, ready: str) -> str:
        text = keep_source_links(ready, self._sources)
        self._shown += text
        return cited_markdown(text, self.urls) if text else ""

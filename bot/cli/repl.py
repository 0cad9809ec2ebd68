"""`podcast-bot repl`: ask questions in a loop with follow-ups — the local stand-in for Slack."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.terminal import format_answer, format_sources

if TYPE_CHECKING:  # only named in annotations: importing the CLI loads no LangChain
    from retrieval import Answer, Answerer

HELP = """Ask anything about the DataTalks.Club podcast. A question that refers back ("what else did she say?")
follows the conversation so far; any other question starts afresh.
Commands: /sources (links of the last answer), /reset (forget the conversation), /help, /quit"""
MAX_HISTORY_TURNS = 6


@dataclass
class Conversation:
    """One REPL session: the running history and the last answer."""

    answerer: Answerer
    history: list[tuple[str, str]] = field(default_factory=list)
    last: Answer | None = None
    osc8: bool = False  # clickable links, or plain URLs (bot/cli/terminal.py decides)

    def handle(self, line: str) -> str | None:
        """The reply to one input line, or None to quit."""
        line = line.strip()
        if not line:
            return ""
        if line.startswith("/"):
            command = line.split()[0].lower()
            if command in ("/quit", "/exit", "/q"):
                return None
            if command == "/reset":
                self.history.clear()
                self.last = None
                return "Conversation cleared."
            if command == "/sources":
                if self.last is None:
                    return "No sources yet: ask a question first."
                if not self.last.sources:
                    return "The last answer has no sources: nothing in the episodes matched that question."
                return format_sources(self.last.sources, self.osc8)
            return HELP if command == "/help" else f"unknown command {command}\n{HELP}"
        answer = self.answerer.answer(line, history=self.history[-2 * MAX_HISTORY_TURNS :])
        self.last = answer
        self.history += [("user", line), ("assistant", answer.text)]
        return format_answer(answer, self.osc8)


def _interactive_lines(history_file: Path) -> Iterable[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, History, InMemoryHistory

    history: History
    try:
        history_file.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(history_file))
    except OSError:
        history = InMemoryHistory()
    session: PromptSession[str] = PromptSession(history=history)
    while True:
        try:
            yield session.prompt("ask> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            return


def run_repl(
    answerer: Answerer,
    lines: Iterable[str] | None = None,
    out: TextIO = sys.stdout,
    *,
    history_file: Path | None = None,
    osc8: bool = False,
) -> int:
    """Read questions from `lines` (default: an interactive prompt with arrow-key history)."""
    if lines is None:
        history_file = history_file or Path.home() / ".podcast_bot_history"
        lines = _interactive_lines(history_file) if sys.stdin.isatty() else sys.stdin
        print(HELP, file=out)
    conversation = Conversation(answerer, osc8=osc8)
    for line in lines:
        reply = conversation.handle(line)
        if reply is None:
            break
        if reply:
            print(reply + "\n", file=out, flush=True)
    return 0

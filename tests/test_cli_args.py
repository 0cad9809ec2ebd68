"""The command line's edges: bad numbers, mistyped options, unquoted questions, help for every option."""

from __future__ import annotations

import argparse
import json

import pytest

from bot.cli.main import main
from bot.cli.parser import build_parser
from bot.cli.repl import HELP, Conversation


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    return int(stopped.value.code or 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "ELT", "--k", "0"], "argument --k: must be at least 1, not 0"),
        (["search", "ELT", "--k", "-3"], "argument --k: must be at least 1, not -3"),
        (["search", "ELT", "--k", "five"], "argument --k: must be a whole number, not 'five'"),
        (["eval", "questions.yaml", "--episodes", "x", "--k", "0"], "argument --k: must be at least 1, not 0"),
    ],
)
def test_k_must_be_a_whole_number_of_at_least_one(argv, message, capsys):
    assert _exit_code(argv) == 2
    assert message in capsys.readouterr().err


def test_a_mistyped_option_prints_the_usage_of_its_command(capsys):
    assert _exit_code(["search", "ELT", "--kk", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: podcast-bot search")
    assert "error: unrecognized arguments: --kk 3" in err
    assert _exit_code(["--kk"]) == 2
    assert capsys.readouterr().err.startswith("usage: podcast-bot [-h] COMMAND")


def test_an_unquoted_question_is_asked_whole(bundled_index_dir, capsys):
    assert main(["ask", "How", "did", "DataTalks.Club", "start?", "--index", str(bundled_index_dir), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["question"] == "How did DataTalks.Club start?"
    assert answer["sources"]


def test_every_option_of_every_command_says_what_it_does():
    _, commands = build_parser()
    missing = [
        f"{name} {action.dest}"
        for name, command in commands.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []
    assert {"ingest", "sync", "search", "eval", "ask", "repl", "serve", "feedback", "doctor"} <= set(commands)


def test_sync_help_names_the_source_setting(capsys):
    assert _exit_code(["sync", "--help"]) == 0
    assert "$PODCAST_BOT_SOURCE" in capsys.readouterr().out


def test_an_unknown_repl_command_says_so_before_the_help():
    conversation = Conversation(answerer=None)  # type: ignore[arg-type]  # commands never reach it
    assert conversation.handle("/foo") == f"unknown command /foo\n{HELP}"
    assert conversation.handle("/help") == HELP

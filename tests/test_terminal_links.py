"""Links to the second in terminal output: clickable only where the terminal is known to show OSC 8
links, the URL in plain text everywhere else (pipes, tmux, screen, dumb or unknown terminals)."""

from __future__ import annotations

import io

import pytest

from bot.cli.main import main
from bot.cli.terminal import osc8_links
from bot.config import ConfigError, TerminalConfig, load_settings

OSC8 = "\033]8;;https://www.youtube.com/watch?v=IxTyq96juVE&t="
URL = "  https://www.youtube.com/watch?v=IxTyq96juVE&t="


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ITERM = {"TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"}


@pytest.mark.parametrize(
    ("stream", "environment", "links", "clickable"),
    [
        (Terminal(), ITERM, "auto", True),
        (Terminal(), {"TERM": "xterm-kitty"}, "auto", True),
        (Terminal(), {"TERM": "xterm-256color", "VTE_VERSION": "7600"}, "auto", True),
        (io.StringIO(), ITERM, "auto", False),  # a pipe or file
        (Terminal(), ITERM | {"TMUX": "/tmp/tmux-1000/default,1,0"}, "auto", False),
        (Terminal(), {"TERM": "screen-256color"}, "auto", False),
        (Terminal(), {"TERM": "dumb"}, "auto", False),
        (Terminal(), {"TERM": "xterm-256color", "TERM_PROGRAM": "SomethingNew"}, "auto", False),
        (Terminal(), ITERM, "plain", False),
        (io.StringIO(), {}, "osc8", True),
    ],
)
def test_links_are_clickable_only_where_known_to_work(stream, environment, links, clickable):
    assert osc8_links(TerminalConfig(links, environment), stream) is clickable


def test_the_setting_is_read_from_the_environment_and_checked():
    settings = load_settings({"PODCAST_BOT_LINKS": "plain", "TERM_PROGRAM": "iTerm.app", "HOME": "/x"})
    assert settings.terminal == TerminalConfig("plain", {"TERM_PROGRAM": "iTerm.app"})
    with pytest.raises(ConfigError, match="PODCAST_BOT_LINKS must be auto or osc8 or plain"):
        load_settings({"PODCAST_BOT_LINKS": "blue"})


def test_search_output_shows_the_url_in_plain_text_unless_links_are_asked_for(bundled_index_dir, capsys):
    index = ["--index", str(bundled_index_dir)]
    assert main(["search", "book of the week", *index, "--k", "1"]) == 0
    piped = capsys.readouterr().out
    assert URL in piped
    assert "\033]8" not in piped
    assert main(["ask", "How did DataTalks.Club start?", *index, "--links", "osc8"]) == 0
    clickable = capsys.readouterr().out
    assert OSC8 in clickable
    assert URL not in clickable

"""Configuration from the environment: defaults, parsing, and clear errors naming the variable."""

from __future__ import annotations

import pytest

from bot.cli.main import main
from bot.config import DATA_DIR, SLACK_HTTP, ConfigError, load_settings, masked_url
from bot.env_values import parse_every
from retrieval.errors import UsageError
from retrieval.sources.site_source import github_archive_url
from tests.support.cli import cli, run


def test_defaults_work_offline_with_an_embedded_index():
    settings = load_settings({})
    assert settings.store.index_dir == DATA_DIR / "index"
    assert not settings.store.is_server
    assert settings.episodes_dir == DATA_DIR / "episodes"
    assert (settings.episodes_dir / "s07e01-datatalksclub-behind-the-scenes.md").exists()
    assert settings.embedding_model == "all-MiniLM-L6-v2-int8"
    assert not settings.llm.enabled
    assert settings.llm.model == "openai:gpt-4o-mini"
    assert settings.slack.ask_visibility == "in_channel"
    assert settings.slack.rate_limit_per_minute == 5
    assert settings.slack.state.path == DATA_DIR / "bot-state.sqlite3"
    assert settings.slack.state.database_url is None


def test_environment_switches_server_mode_llm_and_slack_options():
    settings = load_settings(
        {
            "CHROMA_HOST": "chroma.internal",
            "CHROMA_PORT": "9000",
            "CHROMA_SSL": "true",
            "CHROMA_AUTH_TOKEN": "t0k",
            "OPENAI_API_KEY": "sk-x",
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "PODCAST_BOT_LLM_TIMEOUT": "7.5",
            "PODCAST_BOT_CHANNELS": "C1, C2",
            "PODCAST_BOT_ASK_VISIBILITY": "ephemeral",
            "PODCAST_BOT_PER_EPISODE": "0",
        }
    )
    assert settings.store.location == "https://chroma.internal:9000"
    assert settings.store.chroma_headers == {"Authorization": "Bearer t0k"}
    assert settings.llm.enabled
    assert settings.llm.timeout == 7.5
    assert settings.llm.base_url == "http://127.0.0.1:8080/v1"
    assert settings.slack.allowed_channels == {"C1", "C2"}
    assert settings.slack.ask_visibility == "ephemeral"
    assert settings.search.per_episode == 0


@pytest.mark.parametrize(
    ("env", "path", "url"),
    [
        ({"PODCAST_BOT_STATE": "/srv/bot/state.db"}, "/srv/bot/state.db", None),
        ({"DATABASE_URL": "postgres://u:pw@db.internal:5433/bot"}, None, "postgres://u:pw@db.internal:5433/bot"),
        (
            {"PODCAST_BOT_STATE": "postgresql://u@db/bot", "DATABASE_URL": "postgres://x@y/z"},
            None,
            "postgresql://u@db/bot",
        ),
        ({"PODCAST_BOT_STATE": "/srv/state.db", "DATABASE_URL": "mysql://x@y/z"}, "/srv/state.db", None),
    ],
)
def test_the_state_store_is_a_sqlite_file_or_a_postgres_url(env, path, url):
    state = load_settings(env).slack.state
    assert state.database_url == url
    assert path is None or str(state.path) == path


def test_state_urls_are_shown_and_logged_without_their_password():
    url = "postgresql://bot:s3cr%40t@db.internal:5432/podcast?sslmode=require&password=other"
    state = load_settings({"DATABASE_URL": url}).slack.state
    assert (
        state.location
        == masked_url(url)
        == "postgresql://bot:***@db.internal:5432/podcast?sslmode=require&password=***"
    )
    assert "s3cr" not in repr(load_settings({"DATABASE_URL": url}))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://u:p@h/d"}, "DATABASE_URL must be a postgresql:// URL; set PODCAST_BOT_STATE"),
        ({"PODCAST_BOT_STATE": "redis://h"}, "PODCAST_BOT_STATE must be a postgresql:// URL or a SQLite file path"),
        ({"PODCAST_BOT_STATE": "postgresql://u:pw@h:port/d"}, "PODCAST_BOT_STATE must be a valid postgresql://"),
        ({"CHROMA_PORT": "eighty"}, "CHROMA_PORT must be a whole number from 1 to 65535"),
        ({"CHROMA_PORT": "70000"}, "CHROMA_PORT must be a whole number from 1 to 65535"),
        ({"PODCAST_BOT_RELEVANCE": "high"}, "PODCAST_BOT_RELEVANCE must be a number"),
        ({"PODCAST_BOT_ASK_VISIBILITY": "public"}, "PODCAST_BOT_ASK_VISIBILITY must be in_channel or ephemeral"),
        ({"PODCAST_BOT_LLM_STREAMING": "maybe"}, "PODCAST_BOT_LLM_STREAMING must be true or false"),
        ({"SLACK_API_URL": "slack.example/api"}, "SLACK_API_URL must be an http:// or https:// URL"),
        ({"PODCAST_BOT_LOG_LEVEL": "chatty"}, "PODCAST_BOT_LOG_LEVEL must be DEBUG or INFO or"),
        ({"PODCAST_BOT_CHANNELS": "general"}, "PODCAST_BOT_CHANNELS must be comma-separated channel ids"),
        ({"PODCAST_BOT_ANSWER_DEADLINE": "-5"}, "PODCAST_BOT_ANSWER_DEADLINE must be a number from 1 to 3600"),
    ],
)
def test_malformed_values_name_the_variable_but_never_its_value(env, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(env)
    (value,) = env.values()
    assert value not in str(raised.value)


def test_every_problem_is_reported_at_once():
    env = {
        "PODCAST_BOT_K": "many",
        "CHROMA_SSL": "sometimes",
        "SLACK_BOT_TOKEN": "xoxp-user-token-secret",
        "PODCAST_BOT_LOG_LEVEL": "loud",
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(env, require=SLACK_HTTP)
    message = str(raised.value)
    assert message.startswith("5 settings need fixing:\n")
    for name in ("PODCAST_BOT_K", "CHROMA_SSL", "SLACK_BOT_TOKEN is malformed", "SLACK_SIGNING_SECRET is not set"):
        assert name in message
    assert "PODCAST_BOT_LOG_LEVEL must be" in message
    assert not any(value in message for value in ("many", "sometimes", "user-token-secret", "loud"))


def test_serve_checks_every_setting_before_it_starts(monkeypatch, capsys):
    monkeypatch.setenv("PODCAST_BOT_RATE_LIMIT", "lots")
    assert main(["serve", "--http"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 3 settings need fixing:\n")
    assert err.count("error:") == 1
    assert "PODCAST_BOT_RATE_LIMIT" in err
    assert "SLACK_BOT_TOKEN is not set" in err
    assert "SLACK_SIGNING_SECRET" in err
    assert main(["serve", "--socket"]) == 2
    assert "SLACK_APP_TOKEN is not set" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_http_with_no_settings_prints_one_message_and_exits_2(tmp_path):
    # Without any app settings (see the hermetic_environment fixture).
    done = run(cli("serve", "--http", "--port", "0"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: 2 settings need fixing:",
        "  - SLACK_BOT_TOKEN is not set; it must be a bot token starting with xoxb- (see README, 'Slack app setup')",
        "  - SLACK_SIGNING_SECRET is not set; it must be the app's hex signing secret (see README, 'Slack app setup')",
    ]


def test_cli_reports_configuration_errors_without_traceback(monkeypatch, capsys):
    monkeypatch.setenv("PODCAST_BOT_K", "many")
    assert main(["search", "anything"]) == 2
    err = capsys.readouterr().err
    assert "PODCAST_BOT_K must be a whole number" in err
    assert "Traceback" not in err


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "ingest" in capsys.readouterr().out


def test_sync_settings_default_to_the_sites_main_branch_and_no_schedule():
    settings = load_settings({})
    assert (
        settings.sync.source
        == "https://codeload.github.com/DataTalksClub/datatalksclub.github.io/tar.gz/refs/heads/main"
    )
    assert settings.sync.every is None
    assert settings.sync.timeout == 30
    assert settings.sync.deadline == 1800
    assert settings.sync_people_dir == settings.site_dir / "people"
    custom = load_settings(
        {
            "PODCAST_BOT_SOURCE": "/srv/site",
            "PODCAST_BOT_SYNC_EVERY": "6h",
            "PODCAST_BOT_SYNC_TIMEOUT": "10",
            "PODCAST_BOT_SYNC_DEADLINE": "600",
        }
    )
    assert (custom.sync.source, custom.sync.every, custom.sync.timeout, custom.sync.deadline) == (
        "/srv/site",
        6 * 3600,
        10,
        600,
    )
    with pytest.raises(ConfigError, match="PODCAST_BOT_SYNC_DEADLINE must be a number of at least 1"):
        load_settings({"PODCAST_BOT_SYNC_DEADLINE": "soon"})


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("90s", 90), ("1.5h", 5400), ("1d", 86400), ("off", None)]
)
def test_sync_periods(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["6", "six hours", "-1h", "0h"])
def test_a_malformed_sync_period_names_the_variable(text):
    with pytest.raises(ConfigError, match="PODCAST_BOT_SYNC_EVERY must be a period such as 6h, 30m or 90s"):
        load_settings({"PODCAST_BOT_SYNC_EVERY": text})


def test_sync_ref_and_period_on_the_command_line(monkeypatch, capsys):
    assert (
        github_archive_url("a1b2c3")
        == "https://codeload.github.com/DataTalksClub/datatalksclub.github.io/tar.gz/a1b2c3"
    )
    with pytest.raises(UsageError, match="not a branch, tag or commit name"):
        github_archive_url("../../elsewhere")
    monkeypatch.setenv("PODCAST_BOT_SOURCE", "/srv/site")
    assert main(["sync", "--ref", "main"]) == 2
    assert "--ref names a branch or commit on GitHub, but PODCAST_BOT_SOURCE is /srv/site" in capsys.readouterr().err
    for period in ("soon", "off"):
        with pytest.raises(SystemExit):
            main(["sync", "--every", period])
        assert "argument --every:" in capsys.readouterr().err

"""`podcast-bot doctor`: configuration with secrets masked, and real connection checks."""

from __future__ import annotations

import pytest

from bot.cli.main import main
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.fakes.slack_server import FakeSlack
from tests.support.http import free_port

BOT_TOKEN = "xoxb-1234567890-secretpart"
API_KEY = "sk-test-verysecretkey"
SIGNING = "0123456789abcdef0123456789abcdef"


def test_doctor_masks_secrets_and_checks_every_connection(bundled_index_dir, monkeypatch, capsys):
    with FakeSlack() as slack, FakeOpenAI() as openai:
        for key, value in {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING,
            "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": openai.base_url,
        }.items():
            monkeypatch.setenv(key, value)
        assert main(["doctor", "--index", str(bundled_index_dir)]) == 0
        assert slack.calls_to("auth.test")
        assert any(r["path"] == "/v1/models" for r in openai.requests)
    out = capsys.readouterr().out
    for secret in (BOT_TOKEN, API_KEY, SIGNING, "secretpart", "verysecret"):
        assert secret not in out
    assert "xoxb-…26 chars" in out
    assert "sk-…21 chars" in out
    assert f"[  ok] index: read the episode list from the embedded Chroma folder {bundled_index_dir}: 1 episodes" in out
    assert f"[  ok] slack: POST {slack.api_url}auth.test: ok, bot podcast-bot in team T1" in out
    assert f"[  ok] llm: GET {openai.base_url}/models: 1 models listed" in out
    assert "[  ok] state: SQLite file " in out
    assert out.count("schema version 2") == 1


def test_doctor_fails_when_a_service_is_down(bundled_index_dir, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("PODCAST_BOT_LLM_TIMEOUT", "2")
    assert main(["doctor", "--index", str(bundled_index_dir)]) == 1
    out = capsys.readouterr().out
    assert "[fail] llm: GET http://127.0.0.1:9/v1/models: Connection error." in out
    assert "[  ok] index" in out
    assert "[skip] slack" in out


def test_an_llm_server_without_a_model_list_is_healthy_when_it_chats(bundled_index_dir, monkeypatch, capsys):
    with FakeOpenAI() as openai:
        openai.lists_models = False
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url)
        monkeypatch.setenv("PODCAST_BOT_LLM_MODEL", "openai:local-model")
        assert main(["doctor", "--index", str(bundled_index_dir)]) == 0
        chat = openai.requests[-1]
    out = capsys.readouterr().out
    assert (
        f"[  ok] llm: GET {openai.base_url}/models answered 404, so POST {openai.base_url}/chat/completions "
        "(model local-model): answered" in out
    )
    assert chat["path"] == "/v1/chat/completions"
    assert chat["body"]["model"] == "local-model"


@pytest.mark.slow
def test_doctor_checks_a_postgres_state_store_and_masks_its_password(
    bundled_index_dir, postgres_url, monkeypatch, capsys
):
    password = postgres_url.split(":")[2].split("@")[0]
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert main(["doctor", "--index", str(bundled_index_dir)]) == 0
    out = capsys.readouterr().out
    assert password not in out
    assert f"  PostgreSQL {postgres_url.replace(password, '***')}\n" in out
    assert "[  ok] state: PostgreSQL at 127.0.0.1:" in out
    assert ", schema version 2" in out


def test_doctor_fails_when_the_state_database_is_unreachable(bundled_index_dir, monkeypatch, capsys):
    port = free_port()
    monkeypatch.setenv("PODCAST_BOT_STATE", f"postgresql://bot:hunter2-secret@127.0.0.1:{port}/podcast")
    assert main(["doctor", "--index", str(bundled_index_dir)]) == 1
    out = capsys.readouterr().out
    assert f"[fail] state: PostgreSQL at 127.0.0.1:{port}, database podcast: " in out
    assert "[  ok] index" in out
    assert "hunter2" not in out
    assert "postgresql://bot:***@127.0.0.1" in out

"""The Slack app over real HTTP: signed requests to the WSGI app, answers posted to a fake Slack Web API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from bot.config import ConfigError, LLMConfig, SlackConfig, StateConfig, load_settings
from bot.runtime import Runtime
from bot.slack.app import create_app
from retrieval.index.ingest import ingest
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.corpus import small_episode
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.serve import serve_all
from tests.support.slack import QUESTION, SlackHarness, make_harness, settings_for


@pytest.fixture
def harness(fake, bundled_index_dir, tmp_path, embedder) -> Iterator[SlackHarness]:
    h = make_harness(fake, bundled_index_dir, tmp_path, embedder, rate_limit_per_minute=100)
    yield h
    h.close()


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_url_verification_answers_the_challenge(harness):
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode()
    status, response, _ = harness.post(body, "application/json")
    assert status == 200
    assert json.loads(response)["challenge"] == "abc123"


def test_mention_gets_a_placeholder_then_the_answer_in_its_thread(harness, fake):
    status, _, seconds = harness.mention(QUESTION, "Ev1")
    assert status == 200
    assert seconds < 2.5
    placeholder = fake.wait_for("chat.postMessage")[0]["args"]
    assert placeholder["thread_ts"] == "1700000001.000100"
    assert "Looking that up" in placeholder["text"]
    assert placeholder["unfurl_links"] is False
    assert placeholder["unfurl_media"] is False
    update = fake.wait_for("chat.update")[0]["args"]
    blocks = update["blocks"]
    assert update["channel"] == "C1"
    assert update["text"]
    assert blocks[0]["type"] == "section"
    assert "DataTalks.Club Behind the Scenes" in all_text(blocks)
    sources = next(b for b in blocks if b["type"] == "context" and b["elements"][0]["text"] == "*Sources*")
    assert 2 <= len(sources["elements"]) <= 6
    assert "<https://www.youtube.com/watch?v=IxTyq96juVE&amp;t=" in sources["elements"][1]["text"]
    assert "|▶ " in sources["elements"][1]["text"]
    assert " · DataTalks.Club Behind the Scenes — " in sources["elements"][1]["text"]
    (feedback,) = [b for b in blocks if b["type"] == "context_actions"]
    (buttons,) = feedback["elements"]
    assert buttons["type"] == "feedback_buttons"
    assert buttons["action_id"] == "feedback"
    assert buttons["positive_button"]["value"].startswith("up:")
    assert buttons["negative_button"]["value"].startswith("down:")


def test_a_retried_event_is_answered_once(harness, fake):
    harness.mention(QUESTION, "EvRetry")
    fake.wait_for("chat.update")
    status, _, _ = harness.mention(
        QUESTION, "EvRetry", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert status == 200
    harness.idle()
    assert len(fake.calls_to("chat.update")) == 1
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_thread_follow_up_uses_the_earlier_messages_as_history(fake, bundled_index_dir, tmp_path, embedder):
    fake.thread_messages = [
        {"type": "message", "user": "U1", "text": f"<@UBOT> {QUESTION}", "ts": "1700000001.000100"},
        {
            "type": "message",
            "bot_id": "BBOT",
            "user": "UBOT",
            "text": "Sponsors pay for workshops [1].",
            "ts": "1700000002.000100",
        },
        {"type": "message", "user": "U1", "text": "<@UBOT> and who were they?", "ts": "1700000003.000100"},
    ]

    def reply(body):
        if "standalone" in body["messages"][0]["content"]:
            return "Which companies sponsored DataTalks.Club?"
        return "Toloka sponsored a workshop [1]."

    with FakeOpenAI(reply=reply) as openai:
        llm = LLMConfig(api_key="sk-test", base_url=openai.base_url, max_retries=0, timeout=5)
        harness = make_harness(fake, bundled_index_dir, tmp_path, embedder, llm=llm)
        harness.mention("and who were they?", "EvThread", ts="1700000003.000100", thread_ts="1700000001.000100")
        update = fake.wait_for("chat.update")[0]["args"]
        condense = openai.requests[0]["body"]["messages"]
        harness.close()
    replies = fake.calls_to("conversations.replies")[0]["args"]
    assert replies["channel"] == "C1"
    assert replies["ts"] == "1700000001.000100"
    assert [m["content"] for m in condense[1:3]] == [QUESTION, "Sponsors pay for workshops [1]."]
    assert fake.calls_to("chat.postMessage")[0]["args"]["thread_ts"] == "1700000001.000100"
    assert "Toloka sponsored a workshop" in all_text(update["blocks"])


def test_direct_messages_are_answered_in_the_dm_and_bot_posts_and_edits_ignored(harness, fake):
    dm = {
        "type": "message",
        "channel_type": "im",
        "channel": "D1",
        "user": "U1",
        "text": QUESTION,
        "ts": "1700000005.000100",
    }
    harness.event(dm, "EvDM")
    assert fake.wait_for("chat.postMessage")[0]["args"]["channel"] == "D1"
    assert "thread_ts" not in fake.calls_to("chat.postMessage")[0]["args"]
    fake.wait_for("chat.update")
    harness.event({**dm, "bot_id": "BOTHER", "ts": "1700000006.000100"}, "EvBot")
    harness.event({**dm, "subtype": "message_changed", "ts": "1700000007.000100"}, "EvEdit")
    harness.event({**dm, "channel_type": "channel", "ts": "1700000008.000100"}, "EvChannelMessage")
    harness.idle()
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_ask_acks_at_once_then_posts_through_response_url(harness, fake):
    status, body, seconds = harness.command(QUESTION)
    assert status == 200
    assert seconds < 2.5
    ack = json.loads(body)
    assert "Looking it up" in ack["text"]
    assert ack.get("response_type", "ephemeral") == "ephemeral"
    posted = fake.wait_for("response_url")[0]["args"]
    assert posted["response_type"] == "in_channel"
    assert posted["replace_original"] is False
    assert posted["blocks"][0]["elements"][0]["text"].startswith("<@U1> asked: How does DataTalks.Club make money")
    assert "youtube.com/watch?v=IxTyq96juVE" in all_text(posted["blocks"])


@pytest.mark.parametrize("text", ["", "help"])
def test_ask_without_a_question_shows_usage(harness, fake, text):
    status, body, _ = harness.command(text)
    assert status == 200
    assert "/ask How did DataTalks.Club start?" in json.loads(body)["text"]
    harness.idle()
    assert fake.calls_to("response_url") == []


def feedback_values(blocks: list[dict[str, Any]]) -> tuple[str, str]:
    (buttons,) = next(b for b in blocks if b["type"] == "context_actions")["elements"]
    return buttons["positive_button"]["value"], buttons["negative_button"]["value"]


def test_feedback_clicks_are_stored_with_question_answer_and_sources(harness, fake):
    harness.mention(QUESTION, "EvFeedback")
    _, down = feedback_values(fake.wait_for("chat.update")[0]["args"]["blocks"])
    answer_id = down.removeprefix("down:")
    status, _, _ = harness.click("feedback", down)
    assert status == 200
    thanks = fake.wait_for("response_url")[0]["args"]
    assert "Thanks for the feedback" in thanks["text"]
    assert thanks["response_type"] == "ephemeral"
    (vote,) = harness.state.feedback()
    assert vote.vote == "down"
    assert vote.user_id == "U2"
    assert vote.question == QUESTION
    assert vote.answer_id == answer_id
    assert vote.sources
    assert vote.sources[0]["url"].startswith("https://www.youtube.com/watch?v=IxTyq96juVE")
    # A click on an answer posted before the feedback buttons (two plain buttons) still counts.
    harness.click("feedback_up", answer_id, kind="button")
    fake.wait_for("response_url", 2)
    (vote,) = harness.state.feedback()
    assert vote.vote == "up"


def test_forged_or_stale_signatures_are_rejected(harness, fake):
    body = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    assert harness.post(body, "application/json", signature="v0=" + "0" * 64)[0] == 401
    assert harness.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)[0] == 401
    assert fake.calls_to("chat.postMessage") == []


def test_mentions_in_transcripts_never_become_slack_mentions(fake, tmp_path, embedder):
    folder = tmp_path / "episodes"
    path = small_episode(folder, "s01e01-mentions.md")
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "Something between that.",
            "Attention <!channel> <!here> <!subteam^S123> <@U999> @everyone, the community announcement is here.",
        ),
        encoding="utf-8",
    )
    index_dir = tmp_path / "index"
    report = ingest([folder], SectionIndex(StoreConfig(index_dir=index_dir), embedder.model_id), embedder)
    assert report.ingested == ["s01e01-mentions"]
    harness = make_harness(fake, index_dir, tmp_path, embedder)
    harness.mention("What was the community announcement?", "EvMentions")
    blocks = all_text(fake.wait_for("chat.update")[0]["args"]["blocks"])
    harness.close()
    assert "the community announcement is here" in blocks
    for forbidden in ("<!channel>", "<!here>", "<!subteam", "<@U999>", "@everyone"):
        assert forbidden not in blocks
    assert "&lt;!channel&gt;" in blocks


def test_a_failure_while_answering_becomes_an_apology(fake, tmp_path, embedder):
    settings = settings_for(fake, tmp_path / "unused", tmp_path / "state.sqlite3")
    settings = replace(settings, store=StoreConfig(chroma_host="127.0.0.1", chroma_port=9))  # nothing listens there
    harness = SlackHarness(fake, Runtime(settings, embedder=embedder))
    harness.mention(QUESTION, "EvFail")
    update = fake.wait_for("chat.update")[0]["args"]
    harness.command(QUESTION)
    posted = fake.wait_for("response_url")[0]["args"]
    harness.close()
    assert "Sorry, something went wrong" in update["text"]
    assert "Traceback" not in json.dumps(update)
    assert "Sorry, something went wrong" in posted["text"]
    assert posted["response_type"] == "ephemeral"


def test_rate_limit_answers_politely(fake, bundled_index_dir, tmp_path, embedder):
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder, rate_limit_per_minute=2)
    for n in range(3):
        harness.mention(QUESTION, f"EvRate{n}", ts=f"17000000{n}.000100")
        fake.wait_for("chat.postMessage", count=n + 1)
    harness.command(QUESTION)
    refused = fake.wait_for("response_url")[0]["args"]
    harness.close()
    assert "up to 2 questions a minute" in fake.calls_to("chat.postMessage")[2]["args"]["text"]
    assert "up to 2 questions a minute" in refused["text"]
    assert refused["response_type"] == "ephemeral"


def test_channel_allow_list(fake, bundled_index_dir, tmp_path, embedder):
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder, allowed_channels=frozenset({"CALLOWED"}))
    harness.mention(QUESTION, "EvNotAllowed")
    text = fake.wait_for("chat.postMessage")[0]["args"]["text"]
    harness.close()
    assert "only answer questions in a few channels" in text
    assert fake.calls_to("chat.update") == []


@pytest.mark.parametrize(
    ("slack", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"bot_token": "not-a-token"}, "SLACK_BOT_TOKEN is malformed"),
        ({"bot_token": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"bot_token": "xoxb-1", "signing_secret": "zz"}, "SLACK_SIGNING_SECRET is malformed"),
    ],
)
def test_missing_or_malformed_secrets_stop_start_up(tmp_path, slack, message):
    settings = replace(load_settings({}), slack=SlackConfig(state=StateConfig(path=tmp_path / "s.sqlite3"), **slack))
    with pytest.raises(ConfigError, match=message):
        create_app(settings=settings, runtime=Runtime(settings))


def test_socket_mode_needs_the_app_token(tmp_path):
    settings = replace(
        load_settings({}), slack=SlackConfig(bot_token="xoxb-1", state=StateConfig(path=tmp_path / "s.sqlite3"))
    )
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        create_app(settings=settings, runtime=Runtime(settings), socket_mode=True)


@pytest.mark.slow
def test_serve_http_runs_the_app_under_gunicorn(fake, bundled_index_dir, tmp_path):
    env = {"PODCAST_BOT_INDEX": str(bundled_index_dir), "PODCAST_BOT_STATE": str(tmp_path / "state.sqlite3")}
    (app,) = serve_all(fake, tmp_path, [env])
    try:
        # /healthz answers at once, and says "starting" until the index is open.
        health = app.wait_until()
        assert health["episodes"] == 1
        assert health["state"] == "ok"
        body = json.dumps({"type": "url_verification", "challenge": "from-gunicorn"}).encode()
        status, response, _ = app.client.post(body, "application/json")
        assert status == 200
        assert json.loads(response)["challenge"] == "from-gunicorn"
    finally:
        log = app.stop()
    assert "Booting worker" in log or "Listening at" in log

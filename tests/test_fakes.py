"""The HTTP fakes work with the real clients: openai, langchain-openai, slack_sdk and Bolt."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from slack_bolt import App, BoltRequest, Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.support.fakes.openai_server import FakeOpenAI, fake_embedding
from tests.support.fakes.slack_server import FakeSlack

QUESTION = [{"role": "user", "content": "Which episode covers MLOps?"}]


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply="Episode 12 covers MLOps at 03:15.") as server:
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def make_client(server: FakeOpenAI, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, **kwargs)


def test_chat_completion_json(llm_server: FakeOpenAI) -> None:
    client = make_client(llm_server)

    completion = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    again = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    assert completion.choices[0].message.content == "Episode 12 covers MLOps at 03:15."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 6
    assert again.id != completion.id
    first = llm_server.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["authorization"] == "Bearer test"
    assert first["body"]["messages"] == QUESTION
    assert len(llm_server.requests) == 2


def test_chat_completion_stream_with_callable_reply(llm_server: FakeOpenAI) -> None:
    llm_server.reply = lambda body: "You asked: " + body["messages"][-1]["content"]

    stream = make_client(llm_server).chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    pieces = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    assert "".join(pieces) == "You asked: Which episode covers MLOps?"
    assert len(pieces) > 2
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6
    assert llm_server.requests[0]["body"]["stream"] is True


def test_rate_limit_raises_rate_limit_error(llm_server: FakeOpenAI) -> None:
    llm_server.status = 429

    with pytest.raises(openai.RateLimitError) as raised:
        make_client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    assert raised.value.status_code == 429
    assert raised.value.code == "rate_limit_exceeded"
    assert len(llm_server.requests) == 1


def test_server_error_is_retried_then_recovers(llm_server: FakeOpenAI) -> None:
    llm_server.status = 500

    with pytest.raises(openai.InternalServerError):
        make_client(llm_server).with_options(max_retries=2).chat.completions.create(
            model="gpt-4o-mini", messages=QUESTION
        )
    assert len(llm_server.requests) == 3

    llm_server.status = 200
    completion = make_client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert completion.choices[0].message.content == "Episode 12 covers MLOps at 03:15."


def test_slow_server_triggers_client_timeout(llm_server: FakeOpenAI) -> None:
    llm_server.delay = 10.0
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        make_client(llm_server, timeout=0.2).chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    assert time.monotonic() - started < 5.0  # the 0.2 s timeout, far below the 10 s the server takes


def test_malformed_body_fails_to_parse(llm_server: FakeOpenAI) -> None:
    llm_server.malformed = True

    with pytest.raises(json.JSONDecodeError):
        make_client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=QUESTION)


def test_langchain_chat_openai_invoke(llm_server: FakeOpenAI) -> None:
    llm = ChatOpenAI(base_url=llm_server.base_url, api_key="test", model="gpt-4o-mini", max_retries=0)

    message = llm.invoke("hi")

    assert message.content == "Episode 12 covers MLOps at 03:15."
    assert llm_server.requests[-1]["body"]["messages"] == [{"role": "user", "content": "hi"}]


def test_langchain_embeddings_are_deterministic(llm_server: FakeOpenAI) -> None:
    embeddings = OpenAIEmbeddings(
        base_url=llm_server.base_url, api_key="test", model="text-embedding-3-small", check_embedding_ctx_length=False
    )

    vectors = embeddings.embed_documents(["data engineering", "mlops"])

    assert vectors == [fake_embedding("data engineering"), fake_embedding("mlops")]
    assert len(vectors[0]) == 8
    assert vectors[0] != vectors[1]
    assert sum(value * value for value in vectors[0]) == pytest.approx(1.0, abs=1e-6)
    assert llm_server.requests[0]["path"] == "/v1/embeddings"


def test_web_client_calls_are_recorded(slack: FakeSlack) -> None:
    client = WebClient(base_url=slack.api_url, token="xoxb-test")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Episode 12* at 03:15"}}]

    identity = client.auth_test()
    first = client.chat_postMessage(channel="C1", text="Episode 12", blocks=blocks, thread_ts="1.0")
    second = client.chat_postMessage(channel="C1", text="again")

    assert identity["user_id"] == "UBOT"
    assert identity["bot_id"] == "BBOT"
    assert first["channel"] == "C1"
    assert first["message"]["blocks"] == blocks
    assert float(second["ts"]) > float(first["ts"])
    [post, _] = slack.calls_to("chat.postMessage")
    assert post["args"]["blocks"] == blocks
    assert post["args"]["thread_ts"] == "1.0"
    assert post["headers"]["authorization"] == "Bearer xoxb-test"
    assert [call["method"] for call in slack.calls] == ["auth.test", "chat.postMessage", "chat.postMessage"]


def test_form_bodies_query_strings_and_failures(slack: FakeSlack) -> None:
    client = WebClient(base_url=slack.api_url, token="xoxb-test")
    blocks = [{"type": "divider"}]
    slack.thread_messages = [{"ts": "1.0", "user": "U1", "text": "question"}]
    slack.fail_methods = {"reactions.add": "ratelimited"}

    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(blocks)})
    replies = client.conversations_replies(channel="C1", ts="1.0")
    with pytest.raises(SlackApiError) as raised:
        client.reactions_add(channel="C1", timestamp="1.0", name="eyes")

    assert slack.calls_to("chat.postMessage")[0]["args"] == {"channel": "C1", "blocks": blocks}
    assert replies["messages"] == slack.thread_messages
    assert slack.calls_to("conversations.replies")[0]["args"] == {"channel": "C1", "ts": "1.0"}
    assert raised.value.response["error"] == "ratelimited"
    assert slack.calls_to("reactions.add")[0]["args"]["name"] == "eyes"


def test_chat_streams_views_and_assistant_threads(slack: FakeSlack) -> None:
    client = WebClient(base_url=slack.api_url, token="xoxb-test")

    stream = client.chat_stream(channel="C1", thread_ts="1.0", recipient_team_id="T1", buffer_size=1)
    stream.append(markdown_text="**Episode 12** ")
    stream.append(markdown_text="at 03:15")
    stream.stop(blocks=[{"type": "divider"}])
    with pytest.raises(SlackApiError) as refused:
        client.chat_appendStream(channel="C1", ts=str(stream.ts), markdown_text="too late")
    client.assistant_threads_setStatus(channel_id="D1", thread_ts="2.0", status="is searching…")
    published = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})

    (ts,) = slack.streams
    assert ts == stream.ts
    assert slack.streams[ts]["thread_ts"] == "1.0"
    assert slack.streams[ts]["stopped"]
    methods = [c["method"] for c in slack.stream_calls(ts)]
    assert methods == ["chat.startStream", "chat.appendStream", "chat.stopStream", "chat.appendStream"]
    assert slack.streamed_text(ts) == "**Episode 12** at 03:15too late"  # every call's text, refused or not
    assert slack.calls_to("chat.stopStream")[0]["args"]["blocks"] == [{"type": "divider"}]
    assert refused.value.response["error"] == "message_not_in_streaming_state"
    assert slack.calls_to("assistant.threads.setStatus")[0]["args"]["status"] == "is searching…"
    assert published["view"]["id"] == "VHOME"
    assert published["view"]["type"] == "home"


def test_a_workspace_that_cannot_stream(slack: FakeSlack) -> None:
    slack.fail_methods = {"chat.startStream": "unknown_method"}
    stream = WebClient(base_url=slack.api_url, token="xoxb-test").chat_stream(channel="C1", thread_ts="1.0")
    with pytest.raises(SlackApiError) as refused:
        stream.stop(markdown_text="hello")
    assert refused.value.response["error"] == "unknown_method"
    assert slack.streams == {}


def test_response_url_posts_are_recorded(slack: FakeSlack) -> None:
    response = WebhookClient(slack.response_url).send(text="Searching episodes...", response_type="ephemeral")

    assert response.status_code == 200
    assert response.body == "ok"
    [call] = slack.wait_for("response_url")
    assert call["args"] == {"text": "Searching episodes...", "response_type": "ephemeral"}


def test_bolt_app_replies_through_fake(slack: FakeSlack) -> None:
    app = App(client=WebClient(base_url=slack.api_url, token="xoxb-test"), signing_secret="secret")

    @app.event("app_mention")
    def answer(event: dict[str, Any], say: Say) -> None:
        say(text="Episode 12", thread_ts=event["ts"])

    body = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": "Ev1",
        "event_time": 1700000000,
        "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> mlops?", "ts": "1.5", "channel": "C1"},
    }
    # Socket-mode requests skip signature verification; the listener runs on a Bolt worker thread.
    request = BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]}, mode="socket_mode")
    ack = app.dispatch(request)

    assert ack.status == 200
    [post] = slack.wait_for("chat.postMessage")
    assert post["args"]["channel"] == "C1"
    assert post["args"]["thread_ts"] == "1.5"
    assert slack.calls[0]["method"] == "auth.test"

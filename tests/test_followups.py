"""Follow-ups are decided, not assumed: a new question is answered as if asked alone, a question that
refers back is answered about the earlier subject, and one with nothing to refer to gets a question back
— in the REPL, with a language model, in Slack threads and in the side panel."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
import yaml

from bot.cli.repl import Conversation, run_repl
from bot.config import LLMConfig, load_settings
from bot.runtime import Runtime
from retrieval.answering.answers import Answer
from retrieval.answering.followups import reference
from tests.support.corpus import ROOT, SHARED, needs_shared
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.slack import make_harness

SPONSORS = "How does DataTalks.Club make money from sponsors?"
BOOK = "What is Alexey's book about?"
NOTES = "How does Alexey take notes when learning technical subjects?"
ADVICE = "What advice is there for people starting in data science?"
PACE = "How did Alexey keep up the pace of weekly events?"
POPULAR = "Which talks were the most popular?"
NEW_TOOLS = "Does Alexey try to keep up to date with every new tool?"
PRINCIPAL = "What does a principal data scientist do?"
IDEAS = "Where do ideas for new DataTalks.Club activities come from?"
PRODUCTIVE = "How does Alexey stay productive?"
# The example: a question the bundled episode has no answer to.
CONFERENCES = "What are the top conferences for publishing data management research?"

UNRELATED = [
    (SPONSORS, BOOK),
    (BOOK, NOTES),
    (NOTES, SPONSORS),
    (ADVICE, PACE),
    (PACE, POPULAR),
    (POPULAR, NEW_TOOLS),
    (NEW_TOOLS, ADVICE),
    (PRINCIPAL, IDEAS),
    (PRODUCTIVE, POPULAR),
    (SPONSORS, CONFERENCES),
]
# (first question, a follow-up that needs it, a word of the first question's subject)
FOLLOW_UPS = [
    (SPONSORS, "What else did he say about them?", "sponsors"),
    (PRINCIPAL, "and what did he do before that?", "principal"),
    (PACE, "Was that hard for him?", "pace"),
    (POPULAR, "Why were they so popular?", "popular"),
    (BOOK, "Who is it for?", "book"),
    (ADVICE, "And how do they stay motivated?", "advice"),
    (PRODUCTIVE, "Tell me more", "productive"),
    (NOTES, "Where does he keep them?", "notes"),
    (IDEAS, "What about the podcast?", "ideas"),
    (NEW_TOOLS, "Why not?", "tool"),
]


@pytest.fixture(scope="module")
def runtime(bundled_index_dir, embedder) -> Runtime:
    return Runtime(load_settings({}).with_index(bundled_index_dir), embedder=embedder)


def llm_runtime(runtime: Runtime, server: FakeOpenAI) -> Runtime:
    llm = LLMConfig(api_key="sk-test", base_url=server.base_url, timeout=2.0, max_retries=0)
    return Runtime(replace(runtime.settings, llm=llm), embedder=runtime.embedder)


def top_header(answer: Answer) -> str | None:
    return answer.sources[0].header if answer.sources else None


@pytest.mark.parametrize(
    "question",
    [
        "What is it like to work at a startup?",
        "Is it worth learning Rust?",
        "Is there a course on MLOps?",
        "Did anyone say that SQL is dead?",
        "Tell me more about Spark",
        "What did Eugene Yan say about his career?",
        "What did the guest say about his career?",
        "How long does it take to become a data engineer?",
        "Advice for those who want to switch careers?",
        "Kubernetes?",
        "So what is FinOps exactly - is it just general cost cutting in a company?",
        "But how do I get started with Kubernetes for ML workloads?",
        CONFERENCES,
    ],
)
def test_a_question_that_names_what_it_asks_about_stands_alone(question):
    assert reference(question) is None


@pytest.mark.parametrize(
    ("question", "cue"),
    [
        ("what else did she say about that?", "she"),
        ("Is that true?", "that"),
        ("Can you explain it?", "it"),
        ("What did the host say about those?", "those"),
        ("and for beginners?", "and for beginners?"),
        ("So what?", "So what?"),
        ("But why did he leave?", "he"),
        ("What about Spark?", "What about Spark?"),
        ("Anything else?", "Anything else?"),
        ("Why?", "Why?"),
    ],
)
def test_pronouns_ellipsis_and_fragments_refer_back(question, cue):
    assert reference(question) == cue


@needs_shared
def test_no_dev_question_is_taken_for_a_follow_up():
    files = [SHARED / "dev_questions.yaml", ROOT / "benchmarks" / "questions" / "more_questions.yaml"]
    questions = [entry["question"] for path in files for entry in yaml.safe_load(path.read_text())]
    assert len(questions) > 100
    assert [q for q in questions if reference(q) is not None] == []


@pytest.mark.parametrize(("first", "second"), UNRELATED)
def test_an_unrelated_question_in_the_repl_gets_the_answer_it_gets_alone(runtime, first, second):
    conversation = Conversation(runtime.answerer)
    conversation.handle(first)
    earlier = conversation.last
    assert earlier is not None
    assert earlier.sources
    reply = conversation.handle(second)
    answer = conversation.last
    assert answer is not None
    assert answer.query == second
    assert reply == Conversation(runtime.answerer).handle(second)
    assert top_header(answer) != top_header(earlier)


def test_piped_questions_carry_nothing_over(runtime):
    """Questions piped into `podcast-bot repl` one after another: each answered as if asked alone."""
    from io import StringIO

    asked = [SPONSORS, CONFERENCES, BOOK]
    piped, alone = StringIO(), StringIO()
    run_repl(runtime.answerer, asked, piped)
    for question in asked:
        run_repl(runtime.answerer, [question], alone)
    assert piped.getvalue() == alone.getvalue()
    assert piped.getvalue().count("Sources:") == len(asked)


@pytest.mark.parametrize(("first", "follow_up", "subject"), FOLLOW_UPS)
def test_a_follow_up_in_the_repl_is_answered_about_the_earlier_subject(runtime, first, follow_up, subject):
    conversation = Conversation(runtime.answerer)
    conversation.handle(first)
    earlier = conversation.last
    assert earlier is not None
    conversation.handle(follow_up)
    answer = conversation.last
    assert answer is not None
    assert answer.mode == "offline"
    # Its own words and the earlier question's subject, not the earlier answer's text.
    assert answer.query.startswith(follow_up)
    assert subject in answer.query.lower()
    assert earlier.text.split("\n")[1][:40] not in answer.query
    assert top_header(answer) in {source.header for source in earlier.sources}


def test_a_follow_up_after_reset_asks_what_it_refers_to(runtime):
    conversation = Conversation(runtime.answerer)
    conversation.handle(SPONSORS)
    assert conversation.handle("/reset") == "Conversation cleared."
    reply = conversation.handle("what else did she say about that?")
    assert reply.startswith("I'm not sure what “she” refers to")
    assert "youtube.com" not in reply
    assert "Sources:" not in reply
    assert "no sources" in conversation.handle("/sources")
    # Once named, the question is answered.
    assert "Sources:" in conversation.handle("What did Alexey say about sponsors?")


def test_with_a_model_only_follow_ups_are_condensed_and_a_lone_one_calls_nothing(runtime):
    history = [("user", SPONSORS), ("assistant", "Sponsors pay for workshops [1].")]

    def reply(body):
        if "standalone" in body["messages"][0]["content"]:
            return "Which companies sponsor DataTalks.Club?"
        return "Alexey wrote a book [1]."

    with FakeOpenAI(reply=reply) as server:
        answerer = llm_runtime(runtime, server).answerer
        new = answerer.answer(BOOK, history=history)
        standalone_requests = list(server.requests)
        follow_up = answerer.answer("and who were they?", history=history)
        follow_up_requests = server.requests[len(standalone_requests) :]
        lone = answerer.answer("and who were they?")
        streamed = answerer.stream("what else did she say about that?")
        pieces = list(streamed)
        assert len(server.requests) == len(standalone_requests) + len(follow_up_requests)
    # A new question: one call, for the answer, with no earlier conversation in it.
    assert len(standalone_requests) == 1
    assert new.query == BOOK
    assert new.mode == "llm"
    assert SPONSORS not in json.dumps(standalone_requests[0]["body"])
    # A follow-up: rewritten with the conversation first, then answered.
    assert len(follow_up_requests) == 2
    assert follow_up.query == "Which companies sponsor DataTalks.Club?"
    assert lone.mode == "clarify"
    assert lone.sources == []
    assert "“and who were they?”" in lone.text
    assert pieces == []
    assert streamed.answer.mode == "clarify"


SLACK_ROOT = "1700000300.000100"


def seconds_linked(blocks: list[dict]) -> set[int]:
    return {int(sec) for sec in re.findall(r"youtube\.com/watch\?v=[\w-]+&(?:amp;)?t=(\d+)s", json.dumps(blocks))}


def thread_so_far(first: str, answer: str) -> list[dict]:
    return [
        {"type": "message", "user": "U1", "text": f"<@UBOT> {first}", "ts": SLACK_ROOT},
        {"type": "message", "bot_id": "BBOT", "user": "UBOT", "text": answer, "ts": "1700000300.000200"},
    ]


@pytest.mark.parametrize(("second", "follows"), [(BOOK, False), ("What else did he say about them?", True)])
def test_a_slack_thread_follows_only_a_question_that_refers_back(
    fake, bundled_index_dir, tmp_path, embedder, runtime, second, follows
):
    first = runtime.answerer.answer(SPONSORS)
    history = [("user", SPONSORS), ("assistant", first.text)]
    expected = runtime.answerer.answer(second, history=history if follows else ())
    assert expected.sources
    assert (top_header(expected) == top_header(first)) is follows
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder)
    fake.thread_messages = thread_so_far(SPONSORS, first.text)
    harness.mention(second, "EvThreadSecond", ts="1700000300.000300", thread_ts=SLACK_ROOT)
    update = fake.wait_for("chat.update")[0]["args"]
    harness.close()
    assert seconds_linked(update["blocks"]) == {source.start_sec for source in expected.sources}


def test_a_follow_up_that_starts_a_slack_thread_asks_what_it_refers_to(fake, bundled_index_dir, tmp_path, embedder):
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder)
    harness.mention("what else did she say about that?", "EvLoneFollowUp", ts="1700000400.000100")
    update = fake.wait_for("chat.update")[0]["args"]
    harness.close()
    assert "not sure what “she” refers to" in update["text"]
    assert seconds_linked(update["blocks"]) == set()
    assert "feedback" not in json.dumps(update["blocks"])


@pytest.mark.parametrize(
    ("first_question", "second", "follows"), [(PRODUCTIVE, NOTES, False), (NOTES, "Where does he keep them?", True)]
)
def test_the_side_panel_follows_only_a_question_that_refers_back(
    fake, bundled_index_dir, tmp_path, embedder, runtime, first_question, second, follows
):
    first = runtime.answerer.answer(first_question)
    history = [("user", first.question), ("assistant", first.text)]
    expected = runtime.answerer.answer(second, history=history if follows else ())
    assert expected.sources
    assert (top_header(expected) == top_header(first)) is follows
    panel = "1700000500.000100"
    fake.thread_messages = [
        {"type": "message", "subtype": "assistant_app_thread", "user": "U1", "text": "Chat", "ts": panel},
        {"type": "message", "user": "U1", "text": first.question, "ts": "1700000501.000100", "thread_ts": panel},
        {"type": "message", "bot_id": "BBOT", "text": first.text, "ts": "1700000501.000200", "thread_ts": panel},
    ]
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder)
    harness.dm(second, "EvPanelSecond", ts="1700000502.000100", thread_ts=panel)
    posted = fake.wait_for("chat.postMessage")[0]["args"]
    harness.close()
    assert posted["thread_ts"] == panel
    assert seconds_linked(posted["blocks"]) == {source.start_sec for source in expected.sources}
    # The title is the thread's first question's, set when it was asked, not this one's.
    assert fake.calls_to("assistant.threads.setTitle") == []


def test_a_follow_up_that_opens_a_side_panel_thread_asks_what_it_refers_to(fake, bundled_index_dir, tmp_path, embedder):
    panel = "1700000600.000100"
    fake.thread_messages = [
        {"type": "message", "subtype": "assistant_app_thread", "user": "U1", "text": "Chat", "ts": panel},
    ]
    harness = make_harness(fake, bundled_index_dir, tmp_path, embedder)
    harness.dm("Why were they so popular?", "EvPanelLone", ts="1700000601.000100", thread_ts=panel)
    posted = fake.wait_for("chat.postMessage")[0]["args"]
    harness.close()
    assert "not sure what “they” refers to" in posted["text"]
    assert seconds_linked(posted["blocks"]) == set()

"""Finding the moment inside the right episode: the localisation step, questions that ask what
something is, and offline quotes that answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.answering.answerer import Answerer
from retrieval.answering.prompts import load_prompts
from retrieval.index.store import SectionIndex
from retrieval.search.definitions import defined_term, defines
from retrieval.search.searcher import Searcher
from retrieval.settings import SearchConfig, StoreConfig
from tests.support.corpus import ROOT, episode_file, index_of

USAGE = (
    "We run Quillstream every night. Quillstream jobs load the warehouse, and when a Quillstream job fails "
    "the Quillstream dashboard shows which Quillstream step broke. Most of our Quillstream setup is in YAML."
)
TESTING = (
    "We keep small fixtures of every table and run the jobs on them in CI before anything is deployed. "
    "Each fixture is a few hundred rows that we wrote by hand, with the odd cases we have seen break things "
    "in the past, so a change that breaks a join or a filter fails in review and not at night."
)
HIRING = (
    "An engineer who can build the Quillstream jobs and also talk to the business, because the first person "
    "has to find out which numbers people need before building anything. Analysts come after that, once there "
    "is data worth analysing and somebody keeps it correct."
)
DEFINITION = (
    "Quillstream is a scheduler for nightly data jobs: you describe the steps, and it runs them in order and "
    "retries the ones that fail."
)


def _episode(folder: Path) -> Path:
    """An episode where the term is mentioned most in a section about using it, and defined in another."""
    transcript: list[dict[str, object]] = [
        {"header": "Background"},
        {"line": "Welcome! Today we talk about data pipelines with Dana.", "sec": 0, "time": "0:00", "who": "Alexey"},
        {"line": "Thanks. I build data platforms at a logistics company.", "sec": 10, "time": "0:10", "who": "Dana"},
        {"header": "Quillstream at work"},
        {"line": "How do you use Quillstream in your team?", "sec": 60, "time": "1:00", "who": "Alexey"},
        {"line": USAGE, "sec": 70, "time": "1:10", "who": "Dana"},
        {"line": USAGE.replace("night", "morning"), "sec": 100, "time": "1:40", "who": "Dana"},
        {"header": "Testing pipelines"},
        {"line": "How do you test the pipelines before they run?", "sec": 300, "time": "5:00", "who": "Alexey"},
        {"line": TESTING, "sec": 310, "time": "5:10", "who": "Dana"},
        {"header": "Tools we use"},
        {
            "line": "For those who have never used it, what does it actually do?",
            "sec": 600,
            "time": "10:00",
            "who": "Alexey",
        },
        {"line": DEFINITION, "sec": 610, "time": "10:10", "who": "Dana"},
        {"header": "Hiring"},
        {"line": "Who do you hire first for a data team?", "sec": 900, "time": "15:00", "who": "Alexey"},
        {"line": HIRING, "sec": 910, "time": "15:10", "who": "Dana"},
    ]
    return episode_file(folder, "s01e01-data-pipelines.md", "Data pipelines in practice", "danaexample", transcript)


@pytest.fixture(scope="module")
def pipeline_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    folder = tmp_path_factory.mktemp("localise")
    return index_of([_episode(folder / "episodes")], folder / "index", embedder)


def _searcher(index_dir: Path, embedder, **config: float) -> Searcher:
    settings = replace(SearchConfig(), refresh_seconds=0, **config)
    return Searcher(SectionIndex(StoreConfig(index_dir=index_dir), embedder.model_id), embedder, settings)


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("What is Quillstream?", ("quillstream",)),
        ("So what is FinOps exactly - is it just cost cutting?", ("finops",)),
        ("How would you define ML system design?", ("ml", "system", "design")),
        ("In data mesh, what does 'data as a product' mean?", ("data", "as", "product")),
        ("What does ARR mean, and why should I care?", ("arr",)),
        ("Every job ad asks for dbt. What is dbt, in plain words?", ("dbt",)),
        ("How was MLOps defined in the pragmatic MLOps episode?", ("mlops",)),
        ("Can someone explain what data-centric AI actually is?", ("data", "centric", "ai")),
        ("What is meant by data contracts?", ("data", "contracts")),
        ("What does ETL stand for?", ("etl",)),
        ("Reverse ETL — what is that exactly?", ("reverse", "etl")),
    ],
)
def test_a_question_asking_what_something_is_names_the_term(question, term):
    found = defined_term(question)
    assert found is not None
    assert found.words == term


@pytest.mark.parametrize(
    "question",
    [
        "What is the best way to learn SQL?",
        "What is it like to work at a startup?",
        "What are the top conferences for data management research?",
        "What did Vin mean by that?",
        'How should I answer "what\'s your favorite model?" in an interview?',
        "Which books did the guest read?",
        "So, a question - what is it like to work at a startup?",
        "I wonder what the best first project is?",
        "Can you explain what his background is?",
    ],
)
def test_other_questions_ask_for_no_definition(question):
    assert defined_term(question) is None


def test_where_a_term_is_defined_or_asked():
    term = defined_term("What is a sampler?")
    assert term is not None
    assert defines(term, "", [("So a sampler is the algorithm that draws from the posterior.", False)])
    assert defines(term, "What is a sampler?", [])
    assert defines(term, "", [("What exactly is a sampler, for people new to this?", True)])
    # Mentioning the term is not defining it, and a host's statement is not the answer.
    assert not defines(term, "Choosing samplers", [("We tried three samplers and one of them was slow.", False)])
    assert not defines(term, "", [("A sampler is what I wanted to ask about.", True)])
    assert not defines(term, "What motivated you to write about samplers", [])


def test_a_definition_question_finds_where_the_term_is_defined(pipeline_index, embedder):
    top = _searcher(pipeline_index, embedder).search("What is Quillstream?").moments[0]
    assert top.start_sec in (600, 610)
    assert top.span_start <= 610 <= top.span_end


def test_every_section_of_a_found_episode_is_ranked_not_only_archive_wide_candidates(pipeline_index, embedder):
    # With a single candidate from each of the archive-wide rankings, the episode's other moments are
    # still found by localisation inside it, so asking for more moments gives more.
    narrow = _searcher(pipeline_index, embedder, candidates=1)
    moments = narrow.search("How do you test data pipelines?", k=4, per_episode=4).moments
    assert len(moments) >= 3  # the two rankings gave at most two sections
    assert moments[0].span_start <= 310 <= moments[0].span_end + 30


def test_the_first_offline_quote_says_what_the_term_is(pipeline_index, embedder):
    answerer = Answerer(_searcher(pipeline_index, embedder), load_prompts(ROOT / "prompts"))
    answer = answerer.answer("What is Quillstream?")
    assert answer.mode == "offline"
    assert answer.sources
    first = answer.sources[0]
    assert first.quote.startswith("Quillstream is a scheduler")
    assert first.speaker == "Dana"
    assert first.start_sec == 610
    assert first.url.endswith("t=610s")

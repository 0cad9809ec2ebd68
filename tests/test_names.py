"""A name in a question counts only where it is written as a name: "Formula 1 race strategy" is not
answered from the "formula" of a statistics episode, and is answered where Formula 1 is talked about."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROMPTS_DIR
from retrieval.answering.answerer import Answerer
from retrieval.answering.preparation import NOT_FOUND
from retrieval.answering.prompts import load_prompts
from retrieval.index.ingest import ingest
from retrieval.index.store import SectionIndex
from retrieval.search.relevance import names
from retrieval.search.searcher import Searcher
from retrieval.settings import StoreConfig
from tests.support.corpus import episode_file

F1 = "Formula 1 race strategy"
# A statistics episode: "formula" and "strategy" only in their everyday, lower-case senses.
LINES = [
    ("Host", "Welcome to the show. Today we talk about statistics for analysts with our guest Maria."),
    ("Maria", "Thanks for having me. I work as an analyst and teach statistics on the side."),
    ("Host", "What is the first formula every analyst should know?"),
    (
        "Maria",
        "The formula for the variance. Once you understand that formula, the standard deviation and "
        "confidence intervals follow. I always derive the formula on a whiteboard.",
    ),
    ("Host", "How do you pick a strategy for an experiment?"),
    (
        "Maria",
        "My strategy is simple: decide the metric first, then the sample size. It is hard, because "
        "stakeholders want results quickly, so the strategy has to be agreed before the experiment starts.",
    ),
    ("Host", "Any advice for people starting out?"),
    ("Maria", "Learn SQL and the basic formulas, and do not be afraid to ask questions."),
]


def answerer_for(tmp_path: Path, embedder, lines: list[tuple[str, str]]) -> Answerer:
    folder = tmp_path / "episodes"
    transcript: list[dict[str, object]] = [
        {"line": line, "sec": 10 + 40 * n, "time": f"{(10 + 40 * n) // 60}:{(10 + 40 * n) % 60:02d}", "who": who}
        for n, (who, line) in enumerate(lines)
    ]
    episode_file(folder, "s01e01-statistics.md", "Statistics for analysts", "maria", transcript)
    index = SectionIndex(StoreConfig(index_dir=tmp_path / "index"), embedder.model_id)
    ingest([folder], index, embedder)
    return Answerer(Searcher(index, embedder), load_prompts(PROMPTS_DIR))


def test_a_name_that_only_matches_a_lower_case_word_is_refused(tmp_path, embedder):
    answerer = answerer_for(tmp_path, embedder, LINES)
    refused = answerer.answer(F1)
    assert refused.mode == "not_found"
    assert refused.text == NOT_FOUND
    assert refused.sources == []
    # The everyday sense is still found for a question that asks about it.
    assert answerer.answer("What is the formula for the variance?").mode == "offline"


def test_the_same_name_is_answered_where_it_is_written(tmp_path, embedder):
    lines = [
        (who, line.replace("It is hard, because", "It is like Formula 1 race strategy, because")) for who, line in LINES
    ]
    answer = answerer_for(tmp_path, embedder, lines).answer(F1)
    assert answer.mode == "offline"
    assert any("Formula 1 race strategy" in source.quote for source in answer.sources)


@pytest.mark.parametrize(
    ("question", "written"),
    [
        (F1, ["Formula 1"]),
        ("Did any guest compare PyMC with NumPyro or GPT-4?", ["PyMC", "NumPyro", "GPT-4"]),
        ("What is Alexey's book about?", ["Alexey"]),
        ("How is the Singapore Grand Prix planned?", ["Singapore Grand Prix"]),
        # Only a space continues a name; a possessive or a lower-case suffix ends it.
        ("Why not use Elasticsearch/Lucene search?", ["Elasticsearch", "Lucene"]),
        ("Did anyone compare dbt with Google's Dataform?", ["Google", "Dataform"]),
        ("How did Tatiana prepare for LeetCode-style rounds?", ["Tatiana", "LeetCode"]),
        # A capitalised first word alone starts a sentence; title case says nothing about names.
        ("Kaggle or competitions: which helps more?", []),
        ("What Is The Best Way To Learn Python?", []),
    ],
)
def test_names_are_the_words_a_question_writes_as_names(question, written):
    assert [name.text for name in names(question)] == written


def test_a_name_is_found_however_its_parts_are_joined_but_not_in_lower_case():
    (club,) = names("How did DataTalks.Club start?")
    assert all(club.pattern.search(text) for text in ["the DataTalks.Club Slack", "Data Talks Club", "Datatalks.club"])
    assert not any(club.pattern.search(text) for text in ["data talks club", "DataTalks.Clubs"])
    (f1,) = names(F1)
    assert f1.pattern.search("like Formula-1 teams")
    assert not f1.pattern.search("a formula 1 minus p")


def test_a_short_first_name_finds_the_full_one_but_a_name_keeps_its_last_word():
    (chris,) = names("What did Chris Bergh say about the survey?")
    assert chris.pattern.search("Christopher Bergh is the CEO of DataKitchen")
    assert not chris.pattern.search("Chris Berghman")
    (prix,) = names("Did anyone analyse the Singapore Grand Prix?")
    assert not prix.pattern.search("the Singapore Grand Prixes")


def test_an_acronym_is_a_name_of_its_own():
    # The transcript says "this SQL course on Udemy": the question's "Udemy SQL course" names two things.
    assert [name.text for name in names("How much did the Udemy SQL course cost?")] == ["Udemy", "SQL"]
    assert [name.text for name in names("Did anyone analyse Formula 1 races?")] == ["Formula 1"]


def test_an_ordinary_word_the_podcast_never_says_does_not_refuse_a_question_it_answers(tmp_path, embedder, monkeypatch):
    """The word "newcomer" is in no transcript: that says how the question is worded, not that its
    topic is missing, as a name missing from the whole archive ("Formula 1") does."""
    import retrieval.search.relevance

    # Judged as in an archive of full size, where a missing word counts fully.
    monkeypatch.setattr(retrieval.search.relevance, "FULL_CORPUS_SECTIONS", 1)
    answerer = answerer_for(tmp_path, embedder, LINES)
    answer = answerer.answer("Which formula would a newcomer derive on a whiteboard?")
    assert answer.mode == "offline"
    assert any("whiteboard" in source.quote for source in answer.sources)
    assert answerer.answer(F1).mode == "not_found"


def test_a_plural_the_transcript_writes_in_the_singular_is_not_unknown(tmp_path, embedder):
    # The stemmer keeps the "s" of "Pis" (and "GPUs", "KPIs"): a vowel comes before it.
    lines = [*LINES, ("Host", "Where do you run them?"), ("Maria", "On a Raspberry Pi at home, it is enough.")]
    answer = answerer_for(tmp_path, embedder, lines).answer("Can I run experiments on Raspberry Pis?")
    assert answer.mode == "offline"
    assert any("Raspberry Pi" in source.quote for source in answer.sources)

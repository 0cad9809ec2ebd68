"""Choosing the sentence an offline answer quotes first: the pure rules, on a hand-made section."""

from __future__ import annotations

from dataclasses import replace

from retrieval.answering.quotes import Candidate, QuoteQuery, asks_amount, choose_quotes
from retrieval.corpus.sections import Section

# The guest talks at length about the applications, then says how many there were, on its own line.
LONG = (
    "Oof, it was painful, because I was mailing applications to every company that had a data job "
    "open, writing cover letters for each of the applications, keeping every job description in a "
    "folder and then at the end of the year I had to count the applications one by one."
)


def gloria(section_id: str, start_sec: int, end_sec: int, text: str, line_secs: tuple[int, ...]) -> Section:
    """A section of Gloria's episode, with Alexey as the host."""
    return Section(
        section_id,
        "s08e09",
        speakers=("Alexey", "Gloria"),
        hosts=("Alexey",),
        start_sec=start_sec,
        end_sec=end_sec,
        text=text,
        line_secs=line_secs,
    )


SECTION = gloria(
    "s1",
    1377,
    1429,
    f"Alexey: Do you remember how many applications you sent?\nGloria: {LONG}\nI think it was around 130.",
    (1377, 1380, 1386),
)


def weights(text: str) -> dict[str, float]:
    """Stand-in keyword weights: each of a few words the question may share with the transcript."""
    return {word: 1.0 for word in ("applications", "gloria", "send") if word in text.lower()}


def first_quote(question: str) -> tuple[int, str]:
    query = QuoteQuery(weights, weights(question), asks_amount=asks_amount(question))
    _, excerpt = choose_quotes([Candidate(SECTION, 0)], query, limit=1)[0]
    return excerpt.sec, excerpt.text


def test_a_question_asking_how_many_is_quoted_where_the_number_is_said():
    assert first_quote("How many applications did Gloria send?") == (1386, "I think it was around 130.")


def test_other_questions_are_quoted_on_their_words():
    sec, text = first_quote("Did Gloria send applications to every company?")
    assert sec == 1380
    assert text.startswith("Oof, it was painful")


def test_amounts_are_asked_in_several_ways():
    for question in ("How long did it take?", "How much did the course cost?", "What share came from Kaggle?"):
        assert asks_amount(question)
    assert not asks_amount("How did you find the job?")


def test_the_first_quote_says_what_was_asked_when_the_best_moment_does_not():
    """The best moment talks about the applications without a number; the second says it: the
    answer leads with the number, then the best moment."""
    talk = gloria(
        "s0", 1001, 1085, "Gloria: I had to send out a ton of applications and get feedback on them.", (1001,)
    )
    query = QuoteQuery(weights, weights("How many applications did Gloria send?"), asks_amount=True)
    quotes = choose_quotes([Candidate(talk, 0), Candidate(SECTION, 1)], query, limit=2)
    assert [excerpt.sec for _, excerpt in quotes] == [1386, 1001]
    # A number said in another episode answers something else: it does not lead.
    other = replace(
        gloria("s9", 4356, 4400, "Danny: Some send applications to 500 companies after a bootcamp.", (4356,)),
        episode_id="s02e07",
        speakers=("Alexey", "Danny"),
    )
    quotes = choose_quotes([Candidate(talk, 0), Candidate(other, 1), Candidate(SECTION, 2)], query, limit=3)
    assert quotes[0][1].sec == 1386
    # A question that asks no amount keeps the best moment first.
    plain = QuoteQuery(weights, weights("Did Gloria send applications?"))
    assert choose_quotes([Candidate(talk, 0), Candidate(SECTION, 1)], plain, limit=1)[0][1].sec == 1001

"""A finished answer as the state stores record it, for tests of the stores and of `podcast-bot feedback`."""

from __future__ import annotations

from retrieval.answering.answers import Answer, Source

SOURCE = Source(
    number=1,
    episode_id="s07e01-datatalksclub-behind-the-scenes",
    episode_title="DataTalks.Club Behind the Scenes",
    speaker="Alexey",
    start_sec=613,
    url="https://www.youtube.com/watch?v=IxTyq96juVE&t=613s",
    header="How it started",
    quote="We started with a Slack community.",
)


def answer(question: str = "How did DataTalks.Club start?", text: str = "It started as a Slack [1].") -> Answer:
    """A grounded model answer to `question` citing SOURCE."""
    return Answer(question=question, text=text, sources=[SOURCE], mode="llm", grounded=True)

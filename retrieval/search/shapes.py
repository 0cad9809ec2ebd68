"""The shape of a question, read from its words: does it ask across episodes, or about one?

"Several guests…", "which episodes…", "did anyone…", "how do guests differ…" want the best moment of
each of several episodes; "which episode…" / "was there an episode…" want episodes, one moment
each; a question about one episode (or naming one guest) may take several moments from it.
These are rules about the wording of a kind of question, not about particular questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Spread = Literal["episodes", "default"]

# Asking about several guests or episodes at once: they are named in the plural ("what did guests
# say", "several guests", "the PM guests", "which episodes"), or as anyone at all ("did anyone…").
ACROSS = re.compile(
    r"\b(guests|episodes|podcasts|speakers|interviewees)\b"
    r"|\b(several|many|different|various|both|other|most|all the|any of the|the)\s+"
    r"(?:[\w-]+\s+){0,2}(people|engineers|scientists|analysts|managers|founders|experts)\s+on\s+the\s+(podcast|show)\b"
    r"|\bany(one|body|\s+guest)\b",
    re.IGNORECASE,
)
# Asking which episode (singular) covers something: episodes are the answer, one moment each.
WHICH_EPISODE = re.compile(
    r"\b(which|what)\s+(episode|podcast)\b|\b(was|is)\s+there\s+an?\s+(episode|podcast)\b"
    r"|\bin\s+which\s+(episode|podcast)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QuestionShape:
    spread: Spread
    which_episode: bool

    @property
    def one_per_episode(self) -> bool:
        return self.spread == "episodes" or self.which_episode


def question_shape(question: str) -> QuestionShape:
    across = bool(ACROSS.search(question))
    return QuestionShape("episodes" if across else "default", bool(WHICH_EPISODE.search(question)))

"""Is anything found actually about the question? A decision calibrated on the dev questions.

Three kinds of evidence, each measured the same way for any question:
- `similarity`: the best cosine between the question and a found moment (meaning, in other words);
- `coverage`: how much of the question's content (its keyword terms, weighted by rarity) one of the
  best moments covers, together with its neighbours and its episode's metadata — an answer covers
  the question's specific terms in one place; a near miss covers the topic but not the named tool;
- `unknown`: how much of the question's content no transcript or metadata contains at all
  ("Clojure", "Tokyo", "NumPyro"): content the podcast never mentions cannot be answered from it.
  Absence from a handful of episodes is weak evidence, so it counts in proportion to the index size.

The decision is a weighted sum of the three against a threshold. The constants were chosen on the
odd-numbered dev questions and checked on the even-numbered ones (see the README, "Evaluation").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from retrieval.keyword import tokenize
from retrieval.settings import RelevanceConfig

# Words that ask rather than say what is asked about: question words, and words about the podcast
# itself. They are not content a moment has to cover ("did any guest talk about X" asks about X).
ASKING_WORDS = """
    a an the did do does doing done has have had is are was were be been can could would should will
    shall may might must any anyone anybody anything someone somebody something everyone every each
    which what who whom whose how why where when whether if or and but so than then that this these
    those there here it its they them their he she him her his hers we us our you your i me my mine
    according actually really just only also ever about really kind sort lot lots thing things way
    episode episodes podcast podcasts show guest guests host hosts interview interviews speaker
    talk talked talks talking say said says tell told mention mentioned discuss discussed explain
    explained recommend recommended suggest suggested think thought mean meant describe described
    compare compared give gave get got make made go went come came know knew want
"""


@cache
def asking_terms() -> frozenset[str]:
    """The keyword terms of ASKING_WORDS."""
    return frozenset(term for terms in tokenize(ASKING_WORDS.split()) for term in terms)


# Words written as names: capitalised inside a sentence, acronyms, CamelCase ("Tokyo", "FDA", "NumPyro").
NAME_LIKE = re.compile(r"(?<![.?!]\s)(?<!^)\b(?:[A-Z][a-z]+[A-Za-z]*|[A-Z]{2,}[a-z]*)\b")


def name_terms(question: str) -> frozenset[str]:
    """The keyword terms of the words the question writes as names (not its first word)."""
    words = NAME_LIKE.findall(question.strip())
    return frozenset(term for terms in tokenize(words) for term in terms) if words else frozenset()


def content_terms(terms: Sequence[str]) -> list[str]:
    """The keyword terms of a question that say what it is about (not how it asks)."""
    asking = asking_terms()
    return [term for term in dict.fromkeys(terms) if term not in asking and len(term) > 2]


@dataclass(frozen=True)
class Evidence:
    similarity: float
    coverage: float
    unknown: float

    def score(self, config: RelevanceConfig) -> float:
        return (
            config.similarity_weight * self.similarity
            + config.coverage_weight * self.coverage
            - config.unknown_weight * self.unknown
        )


def relevant(evidence: Evidence, config: RelevanceConfig) -> bool:
    return evidence.score(config) >= config.threshold

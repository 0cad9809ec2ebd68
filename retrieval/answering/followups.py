"""Is a question a follow-up to the conversation, or does it stand on its own? Decided from its words.

A question stands alone unless something in it refers back to what was said before:
- a third-person pronoun or "that/this/those/it/there" with nothing before it in the question it
  could refer to ("what did she say?" refers back; "did Eugene say his team…" does not, and neither
  do "is it worth…", "is there an episode…" or "tools that…");
- "else", "also", "earlier", "previous" with nothing named before them ("what else?"), or "more"
  in a question that names nothing at all ("tell me more");
- ellipsis: "what about…", "how about…", or a short question starting with "and", "but" or "so"
  ("and for beginners?"; "So what is FinOps exactly?" names what it asks about and stands alone);
- a short fragment that starts with a preposition or names nothing ("for beginners?", "why?").

A follow-up's offline search adds the subject of the question it follows: that question's content
words (walking further back while those were follow-ups too), never the previous answer's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.search.relevance import asking_words

# Words, with the parts of a contraction apart ("it's" -> "it", "s") and names such as
# "DataTalks.Club" or "C++" whole.
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#-]*[A-Za-z0-9+#]|[A-Za-z0-9]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PERSONAL = _words("he she him her his hers himself herself")
PRONOUNS = PERSONAL | _words("they them their theirs themselves it its this that these those there")
# Who "he" or "she" can stand for inside the question itself, besides a capitalised name.
PEOPLE = _words("""
    guest guests host hosts someone somebody anyone anybody everyone everybody person people guy man
    woman author founder cofounder engineer scientist analyst developer manager mentor student
    candidate expert researcher consultant recruiter teacher lecturer professor speaker interviewer
    interviewee ceo cto cfo leader lead colleague friend boss freelancer instructor creator
    maintainer contributor writer blogger
    """)
# Adverbs that point at what came before, unless something is named before them ("or something else").
BACK_ADVERBS = _words("else also earlier previous previously above")
# Words that do not name anything: what asks, links or points, and verbs of asking and telling.
FUNCTION_WORDS = (
    PRONOUNS
    | BACK_ADVERBS
    | _words("""
    a an the any some all both each every no not more most much many few other another same such own
    what which who whom whose how why where when whether if or and but so then than too very just
    really again still even only ever now here yes ok okay please thanks thank
    i me my mine myself we us our ours you your yours yourself one ones others
    anything something everything nothing anyone someone everyone anybody somebody everybody
    is are was were be been being am do does did done doing have has had having can could will would
    shall should may might must s t re ve d ll m don doesn didn isn aren wasn weren haven hasn won
    about above across after against along among around at before behind below beneath beside besides
    between beyond by down during except for from in inside into like near of off on onto out outside
    over past since through throughout to toward towards under until up upon with within without
    say says said saying tell tells told talk talks talked talking mention mentioned think thought
    explain explained mean means meant know knew get got go went make made give gave want need
    happen happens happened long often far soon
    recommend recommended suggest suggested describe described elaborate expand
    """)
)
# "it" that stands for a clause still to come ("is it worth…", "how long does it take to…").
AFTER_DUMMY_IT = _words(
    "like worth possible impossible hard harder easy easier important necessary better best true "
    "ok okay good bad difficult useful common normal realistic feasible enough too take takes took"
)
# "that" after these introduces a clause ("did anyone say that SQL…"), when something follows it.
SAYING = _words("say says said think thinks thought believe believes mean means claim claimed argue argued")
BE = _words("is are was were be been s")
ELLIPSIS_START = (("what", "about"), ("how", "about"), ("what", "if"))
# A question opening with one of these goes on from the last one when little follows ("and for
# beginners?"); people also open whole questions with them ("So what is FinOps exactly?").
CONTINUING = _words("and but so")
CONTINUING_WORDS = 4
PREPOSITIONS = _words("about at by for from in into of on to with without versus vs")
FRAGMENT_WORDS = 3
QUOTED_CHARS = 80  # a question quoted back longer than this is cut


def words(text: str) -> list[str]:
    return WORD.findall(text)


def _is_content(word: str) -> bool:
    return word.lower() not in FUNCTION_WORDS


def _names_something(word: str, person: bool) -> bool:
    """Whether `word`, earlier in the question, can be what a later pronoun stands for: for "he" or
    "she" a capitalised name or a person ("the guest"); for "it" or "that" a word about the topic
    ("the episode" or "the host" are how questions ask, not what they ask about)."""
    lower = word.lower()
    if person and lower in PEOPLE:
        return True
    if lower in FUNCTION_WORDS:
        return False
    if person:
        return word[:1].isupper() or lower.endswith(("ist", "ists", "ian", "ians"))
    return lower not in asking_words()


def _pronoun_refers_back(tokens: list[str], i: int) -> bool:
    """Whether the pronoun at `i` points at something, rather than being a dummy "it", an existential
    "there" or a "that" that starts a clause; whether that something is in the question is decided apart."""
    word = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    before = tokens[i - 1] if i else ""
    if word == "it" and (after in AFTER_DUMMY_IT or (after in ("mean", "means") and "to" in tokens[i + 2 : i + 3])):
        return False
    if word == "there" and (before in BE or after in BE or after == "any"):
        return False  # "is there an episode…"
    if word == "that" and before and before not in FUNCTION_WORDS:
        return False  # "an episode that discussed…"
    if word == "that" and before in SAYING and any(_is_content(w) for w in tokens[i + 1 :]):
        return False
    if word in ("those", "these") and after in ("who", "which", "that", "whose"):
        return False
    return not (word in ("this", "that") and after in ("year", "week", "month"))


def reference(question: str) -> str | None:
    """What in `question` refers back to the conversation: the pronoun ("she"), or the whole question
    for ellipsis, fragments and "what else?"; None when it stands alone."""
    original = words(question)
    tokens = [w.lower() for w in original]
    if not tokens:
        return None
    whole = question.strip()
    whole = whole if len(whole) <= QUOTED_CHARS else whole[:QUOTED_CHARS].rstrip() + "…"
    content = [_is_content(w) for w in original]
    elliptic = any(tuple(tokens[: len(start)]) == start for start in ELLIPSIS_START) or (
        tokens[0] in CONTINUING and (len(tokens) <= CONTINUING_WORDS or not any(content[1:]))
    )
    if elliptic or (len(tokens) <= FRAGMENT_WORDS and (not any(content) or tokens[0] in PREPOSITIONS)):
        return whole
    for i, token in enumerate(tokens):
        if (
            token in PRONOUNS
            and _pronoun_refers_back(tokens, i)
            and not any(_names_something(w, token in PERSONAL) for w in original[:i])
        ):
            return original[i]
    pointing = any(token in BACK_ADVERBS and not any(content[:i]) for i, token in enumerate(tokens))
    return whole if pointing or ("more" in tokens and not any(content)) else None


def subject(history: Sequence[tuple[str, str]]) -> str:
    """The content words of the user's last question, and of the ones before it while those were
    follow-ups themselves; empty when the conversation has no question."""
    found: list[str] = []
    for role, text in reversed(history):
        if role != "user":
            continue
        found = [w for w in words(text) if _is_content(w)] + found
        if reference(text) is None:
            break
    return " ".join(dict.fromkeys(found))


@dataclass(frozen=True)
class Placement:
    """Where a question stands in its conversation."""

    cue: str  # what refers back, or "" for a question that stands alone
    subject: str  # what the earlier questions were about ("" when there is no earlier question)

    @property
    def follows(self) -> bool:
        return bool(self.cue and self.subject)

    @property
    def unclear(self) -> bool:
        """A follow-up with nothing to follow: after a reset, or the first message of a thread."""
        return bool(self.cue) and not self.subject


def place(question: str, history: Sequence[tuple[str, str]]) -> Placement:
    return Placement(reference(question) or "", subject(history))

"""What answering reads from the corpus, as one narrow interface: the search, a moment's neighbouring
sections, what quotes are matched against, and the catalogue. `retrieval.search.searcher.Searcher` is one."""

from __future__ import annotations

from typing import Protocol

from retrieval.answering.catalogue import CatalogueAnswer
from retrieval.answering.quotes import QuoteQuery
from retrieval.corpus.sections import Section
from retrieval.search.filters import NO_FILTERS, SearchFilters
from retrieval.search.moments import Moment, SearchResult

# Sections before a moment searched for the question it answers (a long answer spans several).
CONTEXT_BEFORE = 3


class AnswerCorpus(Protocol):
    def search(self, query: str, *, k: int | None = None, filters: SearchFilters = NO_FILTERS) -> SearchResult:
        """The moments that answer `query`, best first, and whether they are about it at all."""
        ...

    def neighbours(self, moment: Moment, *, before: int = 1, after: int = 1) -> list[Section]:
        """The moment's section with up to `before` sections before it and `after` after it."""
        ...

    def quote_query(self, question: str) -> QuoteQuery:
        """What the quotes of an offline answer to `question` are matched against."""
        ...

    def catalogue(self, question: str) -> CatalogueAnswer | None:
        """The answer to a question about the episodes themselves, if it is one."""
        ...


def context_sections(corpus: AnswerCorpus, moment: Moment) -> list[Section]:
    """The sections a moment's context window is cut from (`retrieval.answering.prompt_context.window`): its own,
    `CONTEXT_BEFORE` before it for the question it answers, and the one after."""
    return corpus.neighbours(moment, before=CONTEXT_BEFORE)

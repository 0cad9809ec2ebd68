"""The hybrid searcher as a LangChain retriever, so chains and other LangChain code can use it."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retrieval.search import Moment, SearchFilters, Searcher


def moment_document(moment: Moment) -> Document:
    """A LangChain Document whose metadata carries everything needed to cite the moment."""
    metadata = {key: value for key, value in moment.to_dict().items() if key != "text"}
    return Document(page_content=moment.section.text, id=moment.section.id, metadata=metadata)


class PodcastRetriever(BaseRetriever):
    """Relevant podcast moments for a query; an empty list when nothing relevant is indexed."""

    searcher: Searcher
    k: int = 5
    filters: SearchFilters = SearchFilters()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **_: Any) -> list[Document]:
        result = self.searcher.search(query, k=self.k, filters=self.filters)
        return [moment_document(moment) for moment in result.moments] if result.relevant else []

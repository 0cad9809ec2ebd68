"""The long-lived objects of one process (embedder, index, searcher, answerer), built once from Settings.

The CLI, the REPL and the Slack app all share this wiring, so they answer the same way. An empty
index is built from the bundled episodes on first use.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import Iterable

from langchain_core.language_models import BaseChatModel

from bot.config import Settings
from retrieval.answering import Answerer, load_prompts
from retrieval.embedding import Embedder, make_embedder
from retrieval.index import SectionIndex
from retrieval.ingest import IngestReport, ingest
from retrieval.search import Searcher

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._index: SectionIndex | None = None

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings.embedding_model, self.settings.llm.api_key, self.settings.llm.base_url)

    def index(self, build_if_empty: bool = True) -> SectionIndex:
        """The index; opened lazily and, when empty, built from the bundled episodes."""
        with self._lock:
            if self._index is None:
                index = SectionIndex(self.settings.store, self.embedder.model_id)
                if build_if_empty and not index.episodes():
                    log.info("the index at %s is empty; building it from %s", self.settings.store.location, self.settings.episodes_dir)
                    report = ingest([self.settings.episodes_dir], index, self.embedder)
                    for error in report.failed:
                        log.warning("not ingested: %s", error)
                    log.info("%s", report.summary())
                self._index = index
            return self._index

    def reset_index(self) -> None:
        """Forget the open index so the next use reconnects (after a Chroma server outage)."""
        with self._lock:
            self._index = None
            self.__dict__.pop("searcher", None)
            self.__dict__.pop("answerer", None)

    def ingest(self, paths: Iterable[Path], rebuild: bool = False) -> IngestReport:
        with self._lock:
            if rebuild:
                self._index = SectionIndex.rebuild(self.settings.store, self.embedder.model_id)
            elif self._index is None:
                self._index = SectionIndex(self.settings.store, self.embedder.model_id)
            index = self._index
        report = ingest(paths, index, self.embedder)
        if "searcher" in self.__dict__:
            self.searcher.refresh(force=True)
        return report

    def warm_up(self) -> None:
        """Open the index, build the keyword index and load the model now, not on the first question."""
        try:
            self.searcher.refresh()
            self.embedder.embed_query("warm-up")
        except Exception as error:  # the first question will report it properly
            log.warning("warm-up failed: %s", error)

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.index(), self.embedder, self.settings.search)

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The configured chat model, or None for the offline mode (no OPENAI_API_KEY)."""
        llm = self.settings.llm
        if not llm.enabled:
            return None
        from langchain.chat_models import init_chat_model

        return init_chat_model(
            llm.model, api_key=llm.api_key, base_url=llm.base_url, timeout=llm.timeout,
            max_retries=llm.max_retries, temperature=llm.temperature, streaming=llm.streaming,
        )

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(self.searcher, load_prompts(self.settings.prompts_dir), self.chat_model, k=self.settings.search.k)

"""The search side of an index, kept in step with it: loaded from disk when it was saved for the
index's current episodes, else built from the index and saved, so only the first process after a
change pays for building it.

An ingest saves it as it finishes. A process notices another one's writes by the index's stamp
(embedded: at once, see `retrieval.index.stamp`; it then reopens the index) or by the episode
manifest (checked every few seconds; with a Chroma server the only way). Each swap is one
assignment, so searches on other threads always see one consistent snapshot.
"""

from __future__ import annotations

import logging
import threading
import time

from retrieval.index.stamp import WRITING, IndexStamp
from retrieval.index.store import SectionIndex
from retrieval.release_memory import release_freed_memory
from retrieval.search.corpus_files import corpus_key, load_corpus, save_corpus
from retrieval.search.corpus_tables import Corpus, build_corpus

log = logging.getLogger(__name__)


def persist_corpus(index: SectionIndex) -> Corpus:
    """The index's search side, loaded if saved for its current episodes, else built and saved."""
    episodes = index.episodes()
    key = corpus_key(episodes)
    folder = index.config.search_dir
    corpus = load_corpus(folder, key)
    if corpus is not None:
        release_freed_memory()  # the parsed file, now copied into the corpus
        log.debug("search side %s loaded from %s", key, folder)
        return corpus
    started = time.perf_counter()
    corpus = build_corpus(key, index.all_sections(), episodes)
    try:
        save_corpus(corpus, folder)
    except OSError as error:  # a read-only or full disk: search works, the next process builds it again
        log.warning("could not save the search side in %s (%s)", folder, error)
    release_freed_memory()
    log.debug("search side built over %d sections in %.1f s", len(corpus.sections), time.perf_counter() - started)
    return corpus


class CorpusSource:
    """The current search side of one index. Thread-safe."""

    def __init__(self, index: SectionIndex, refresh_seconds: float):
        self.index = index
        self.refresh_seconds = refresh_seconds
        self._stamp = None if index.config.is_server else IndexStamp(index.config.index_dir)
        self._seen = self._stamp.read() if self._stamp else ""
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._corpus = Corpus()

    def current(self) -> Corpus:
        self.refresh()
        return self._corpus

    def refresh(self, force: bool = False) -> None:
        """Follow the index if it changed; `force` checks now rather than after `refresh_seconds`.
        Raises IndexBusyError while another process writes the embedded index."""
        if self._stamp is not None and self._stamp.read() != self._seen:
            self._follow_stamp()
            return
        now = time.monotonic()
        if not force and self._corpus.version is not None and now - self._checked_at < self.refresh_seconds:
            return
        with self._lock:
            key = corpus_key(self.index.episodes())
            self._checked_at = now
            if key != self._corpus.version:
                self._corpus = persist_corpus(self.index)

    def _follow_stamp(self) -> None:
        assert self._stamp is not None
        with self._lock:
            token = self._stamp.read()
            if token == self._seen:
                return  # another thread followed it
            if self._stamp.written_here(token):
                # This process's own write: its Chroma client sees it, and once it has finished
                # (not while it runs) the search side is renewed.
                self._seen = token
                if not token.startswith(WRITING):
                    self._corpus = persist_corpus(self.index)
                return
            with self._stamp.reading():  # keeps writers out meanwhile; IndexBusyError while one writes
                self._seen = self._stamp.read()
                self.index.reopen()
                self._corpus = persist_corpus(self.index)
                self._checked_at = time.monotonic()

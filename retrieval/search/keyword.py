"""Keyword (BM25) scoring with bm25s: English stop words and third-person pronouns removed, words
stemmed (Snowball).

Used twice by the searcher: over transcript sections, and over episode cards (title, guests'
names and bios, description, topics, headers), so that words found only in an episode's metadata
still count as evidence.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# bm25s sets its own logger to DEBUG on import; its index-building chatter is not ours to show.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_local = threading.local()

# Questions speak of a guest in the third person ("what did he work on"); transcripts speak in the
# first and second person, so there "he" and "his" are always about somebody else and only add noise.
STOP_WORDS = (*STOPWORDS_EN, "he", "she", "him", "her", "his", "hers", "them")


# A word with a capital inside it (DataTalks, PyData, GitHub): transcripts often spell it apart.
CAMEL_CASE = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b")
CAMEL_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _with_parts(text: str) -> str:
    """`text` with each CamelCase word followed by its parts, so "DataTalks.Club" also matches
    "Data Talks Club" while the whole word keeps matching itself."""
    return CAMEL_CASE.sub(lambda m: f"{m.group(0)} {' '.join(CAMEL_PARTS.findall(m.group(0)))}", text)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Stemmed, stop-word-free terms of each text."""
    # PyStemmer objects cache internally and are not thread-safe: one per thread.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    tokens: list[list[str]] = bm25s.tokenize(
        [_with_parts(text) for text in texts],
        stopwords=list(STOP_WORDS),
        stemmer=stemmer.stemWords,
        return_ids=False,
        show_progress=False,
    )
    return tokens


class KeywordIndex:
    """BM25 over a fixed list of documents, with each term's inverse document frequency."""

    def __init__(self, documents: Sequence[str]):
        self.size = len(documents)
        tokens = tokenize(documents) if documents else []
        frequency = Counter(term for doc in tokens for term in set(doc))
        self.idf = {term: math.log(1 + self.size / n) for term, n in frequency.items()}
        self.vocabulary = frozenset(self.idf)
        self._bm25: bm25s.BM25 | None = None
        if any(tokens):
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    def save(self, folder: Path) -> None:
        """Write the index to `folder` (created), for `load`."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "terms.json").write_text(json.dumps({"size": self.size, "idf": self.idf}), encoding="utf-8")
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """The index `save` wrote to `folder`, its BM25 scores memory-mapped: processes share their pages."""
        terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        loaded = cls.__new__(cls)
        loaded.size = int(terms["size"])
        loaded.idf = terms["idf"]
        loaded.vocabulary = frozenset(loaded.idf)
        loaded._bm25 = None
        if (folder / "params.index.json").exists():
            loaded._bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return loaded

    def weight(self, term: str) -> float:
        """The term's inverse document frequency; a term no document has weighs the most."""
        return self.idf.get(term, math.log(1 + max(self.size, 1)))

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for the query `terms` (zeros when nothing matches)."""
        known = [term for term in terms if term in self.idf]
        if self._bm25 is None or not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

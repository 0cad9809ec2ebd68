"""Embedders for tests: a small deterministic one for tests of everything but the model (each word
adds to one of 64 dimensions by a stable hash, so texts sharing words are near and the same text
always gets the same vector, in microseconds), a wrapper through which a test watches or holds
up another, and one that remembers the real model's vectors across tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from retrieval.index.embedding import Embedder

WORD = re.compile(r"\w+")


class HashEmbedder:
    model_id = "test-hash-64"
    dimensions = 64

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                vectors[row, int(hashlib.blake2b(word.encode(), digest_size=2).hexdigest(), 16) % self.dimensions] += 1
            vectors[row, 0] += 1e-3  # an empty text still gets a direction
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class WrappedEmbedder:
    """Another embedder (the real model, say) seen through a test's hook: a subclass overrides
    `embed_documents` and calls this one; queries and the model id pass through unchanged."""

    def __init__(self, embedder: Embedder):
        self.model_id = embedder.model_id
        self.wrapped = embedder

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.wrapped.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.wrapped.embed_query(text)


class RememberingEmbedder(WrappedEmbedder):
    """The real model, embedding each distinct text once per test run: offline answers embed the
    same candidate quotes of the bundled episode in test after test, ~0.5 s of model time each.
    The model gives a text the same vector alone or in any batch (test_embedding checks it)."""

    def __init__(self, embedder: Embedder):
        super().__init__(embedder)
        self._documents: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        new = [text for text in dict.fromkeys(texts) if text not in self._documents]
        if new:
            self._documents.update(zip(new, super().embed_documents(new), strict=True))
        if not texts:
            return super().embed_documents(texts)
        return np.stack([self._documents[text] for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = super().embed_query(text)
        return self._queries[text]

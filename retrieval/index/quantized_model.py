"""The offline model as this CPU runs it fastest: 8-bit integer matrix products, made once and cached.

The packaged file stores int8 weights that onnxruntime expands to float32 as it loads them, so
every process held ~90 MB of float weights and multiplied in float. Quantized dynamically instead
(onnxruntime's `quantize_dynamic`: weights per output channel, each run's activations as they
come), the same texts embed ~2x faster per CPU-second, a query takes ~2.5 ms instead of ~6, and a
process holds ~65 MB less. Weights keep 7 bits (`reduce_range`) so that CPUs without VNNI
instructions cannot saturate their 8-bit products. The vectors agree with the packaged model's at
cosine >= 0.977 (mean 0.991) on 600 transcript sections and with fp32 at >= 0.987 (mean 0.991) on
`benchmarks/embedding_agreement.py`'s texts; `podcast-bot eval` finds the dev MRR the same within
its interval.

The file is derived from the verified package file and named by its digest and the versions of the
tools that made it; it is written under a temporary name and renamed, so processes starting
together never read half a file, and a cache folder that cannot be written is one clear error.
"""

from __future__ import annotations

import logging
import tempfile
from importlib.metadata import version
from pathlib import Path

from retrieval.errors import EmbeddingModelError

log = logging.getLogger(__name__)


def quantized_model(source: Path, digest: str, cache_dir: Path) -> Path:
    """The dynamically quantized copy of the ONNX model `source` (whose sha256 is `digest`, already
    verified), made in `cache_dir` on first use."""
    tools = f"ort{version('onnxruntime')}-onnx{version('onnx')}"
    target = cache_dir / f"{source.stem}-dynamic-int8-{digest[:16]}-{tools}.onnx"
    if target.is_file():
        return target
    log.info("quantizing the embedding model for this CPU into %s (once, a few seconds)", cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".quantizing-") as scratch:
            made = _quantize(source, Path(scratch))
            made.replace(target)
    except OSError as exc:
        raise EmbeddingModelError(
            f"cannot write the quantized embedding model to {cache_dir}: {exc.strerror or exc}; "
            f"set PODCAST_BOT_MODEL_CACHE to a writable folder with ~25 MB free"
        ) from exc
    return target


class _QuantizerChatter(logging.Filter):
    """onnxruntime's quantizer logs every node it leaves alone on the root logger, at INFO: ~100 lines
    of a newcomer's first command. Only records logged on the root logger itself pass through here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


def _quantize(source: Path, scratch: Path) -> Path:
    chatter = _QuantizerChatter()
    logging.getLogger().addFilter(chatter)
    try:
        return _quantize_quietly(source, scratch)
    finally:
        logging.getLogger().removeFilter(chatter)


def _quantize_quietly(source: Path, scratch: Path) -> Path:
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The packaged graph casts int8 weights to float at run time; folding those casts first gives
    # the float weights that quantization reads.
    folded = scratch / "folded.onnx"
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    onnxruntime.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
    quantized = scratch / "quantized.onnx"
    quantize_dynamic(
        folded,
        quantized,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        # Only products with a weight matrix; attention's products of two activations stay float.
        extra_options={"MatMulConstBOnly": True},
    )
    return quantized

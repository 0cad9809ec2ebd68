"""The offline embedding model: verified weights, quantized once, normalised vectors that do not depend on the
texts embedded beside them."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.index import embedding
from retrieval.index.embedding import EmbeddingModelError, MiniLMEmbedder, ModelFile, make_embedder, verified_path
from retrieval.index.quantized_model import quantized_model


@pytest.fixture(scope="module")
def model(model_cache) -> MiniLMEmbedder:
    """The model itself, not the session's `embedder`, which remembers vectors between calls."""
    model = MiniLMEmbedder(model_cache)
    model.load()
    return model


def test_vectors_are_normalised_and_similar_texts_are_close(model):
    vectors = model.embed_documents(
        [
            "How do I find my first freelance client?",
            "Getting the first customers as a freelancer",
            "Kubernetes pod autoscaling",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_a_text_gets_the_same_vector_alone_or_beside_others(model):
    short = "data community"
    batch = model.embed_documents([short, "a much longer text " * 30])
    assert float(batch[0] @ model.embed_query(short)) > 0.99999


def test_a_tampered_model_file_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    monkeypatch.setattr(ModelFile, "locate", lambda self: fake)
    with pytest.raises(EmbeddingModelError, match="sha256"):
        verified_path(embedding.MINILM_ONNX)


def test_a_missing_model_package_says_what_to_install():
    with pytest.raises(EmbeddingModelError, match="pip install"):
        ModelFile("no_such_model_package", "model.onnx", "0" * 64).locate()


def test_model_choice_by_name(tmp_path):
    quantized = make_embedder("all-MiniLM-L6-v2-int8", model_cache=tmp_path)
    packaged = make_embedder("all-MiniLM-L6-v2", model_cache=tmp_path)
    assert isinstance(quantized, MiniLMEmbedder)
    assert isinstance(packaged, MiniLMEmbedder)
    assert (quantized.quantized, packaged.quantized) == (True, False)
    assert (quantized.model_id, packaged.model_id) == ("all-MiniLM-L6-v2-int8", "all-MiniLM-L6-v2")
    with pytest.raises(EmbeddingModelError, match="OPENAI_API_KEY"):
        make_embedder("openai:text-embedding-3-small", model_cache=tmp_path)
    with pytest.raises(EmbeddingModelError, match="unknown embedding model"):
        make_embedder("word2vec", model_cache=tmp_path)


def test_openai_embeddings_through_a_local_compatible_server(tmp_path):
    from retrieval.errors import ModelMismatchError
    from retrieval.index.ingest import ingest
    from retrieval.index.store import SectionIndex
    from retrieval.settings import StoreConfig
    from tests.support.corpus import small_episode
    from tests.support.fakes.openai_server import FakeOpenAI

    with FakeOpenAI(embedding_dim=16) as server:
        embedder = make_embedder(
            "openai:text-embedding-3-small", model_cache=tmp_path, api_key="sk-test", base_url=server.base_url
        )
        store = StoreConfig(index_dir=tmp_path / "index")
        index = SectionIndex(store, embedder.model_id)
        report = ingest([small_episode(tmp_path / "episodes", "s07e01-small.md")], index, embedder)
        vector = embedder.embed_query("community")
        paths = {request["path"] for request in server.requests}
    assert report.ingested == ["s07e01-small"]
    assert index.section_count() == report.sections
    assert vector.shape == (16,)
    assert paths == {"/v1/embeddings"}
    with pytest.raises(ModelMismatchError, match="openai:text-embedding-3-small"):
        SectionIndex(store, "all-MiniLM-L6-v2")


def test_the_quantized_model_is_made_once_and_then_reused(model, model_cache):
    source = verified_path(embedding.MINILM_ONNX)
    made = quantized_model(source, embedding.MINILM_ONNX.sha256, model_cache)  # made when `model` loaded
    written = made.stat().st_mtime_ns
    assert quantized_model(source, embedding.MINILM_ONNX.sha256, model_cache) == made
    assert made.stat().st_mtime_ns == written
    assert not [path for path in model_cache.iterdir() if path.name.startswith(".")]  # no scratch left


def test_quantized_vectors_keep_the_packaged_models_meaning(model, model_cache):
    packaged = MiniLMEmbedder(model_cache, quantized=False)
    texts = [
        "What is DataOps?",
        "At its core, DataOps is about agility and system thinking across the whole data team.",
        "I sent around 130 applications before I got my first data job after the bootcamp.",
    ]
    cosines = np.sum(model.embed_documents(texts) * packaged.embed_documents(texts), axis=1)
    assert cosines.min() > 0.97


def test_a_model_cache_that_cannot_be_written_is_one_clear_error(tmp_path):
    blocked = tmp_path / "models"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    with pytest.raises(EmbeddingModelError, match="PODCAST_BOT_MODEL_CACHE"):
        MiniLMEmbedder(blocked).load()


def test_an_index_of_the_packaged_model_is_refused_by_default_and_served_when_named(
    tmp_path, model_cache, capsys, monkeypatch
):
    from bot.cli.main import main
    from retrieval.index.ingest import ingest
    from retrieval.index.store import SectionIndex
    from retrieval.settings import StoreConfig
    from tests.support.corpus import small_episode

    packaged = MiniLMEmbedder(model_cache, quantized=False)
    folder = tmp_path / "index"
    ingest(
        [small_episode(tmp_path / "episodes", "s07e01-small.md")],
        SectionIndex(StoreConfig(folder), packaged.model_id),
        packaged,
    )
    assert main(["search", "community", "--index", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "set the model back to 'all-MiniLM-L6-v2'" in err
    assert "Traceback" not in err
    monkeypatch.setenv("PODCAST_BOT_EMBEDDING_MODEL", "all-MiniLM-L6-v2")
    assert main(["search", "community", "--index", str(folder)]) == 0
    assert "https://www.youtube.com/watch?v=IxTyq96juVE&t=" in capsys.readouterr().out

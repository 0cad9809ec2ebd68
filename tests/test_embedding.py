"""The offline embedding model: verified weights, normalised vectors, padding that does not change them."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.index import embedding
from retrieval.index.embedding import EmbeddingModelError, MiniLMEmbedder, ModelFile, make_embedder, verified_path


@pytest.fixture(scope="module")
def model() -> MiniLMEmbedder:
    """The model itself, not the session's `embedder`, which remembers vectors between calls."""
    model = MiniLMEmbedder(batch_size=8)
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


def test_dynamic_padding_gives_the_same_vector_alone_or_in_a_batch(model):
    short = "data community"
    batch = model.embed_documents([short, "a much longer text " * 30])
    assert float(batch[0] @ model.embed_query(short)) > 0.999


def test_a_tampered_model_file_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    monkeypatch.setattr(ModelFile, "locate", lambda self: fake)
    with pytest.raises(EmbeddingModelError, match="sha256"):
        verified_path(embedding.MINILM_ONNX)


def test_a_missing_model_package_says_what_to_install():
    with pytest.raises(EmbeddingModelError, match="pip install"):
        ModelFile("no_such_model_package", "model.onnx", "0" * 64).locate()


def test_model_choice_by_name():
    assert isinstance(make_embedder("all-MiniLM-L6-v2"), MiniLMEmbedder)
    with pytest.raises(EmbeddingModelError, match="OPENAI_API_KEY"):
        make_embedder("openai:text-embedding-3-small")
    with pytest.raises(EmbeddingModelError, match="unknown embedding model"):
        make_embedder("word2vec")


def test_openai_embeddings_through_a_local_compatible_server(tmp_path):
    from retrieval.errors import ModelMismatchError
    from retrieval.index.ingest import ingest
    from retrieval.index.store import SectionIndex
    from retrieval.settings import StoreConfig
    from tests.support.corpus import small_episode
    from tests.support.fakes.openai_server import FakeOpenAI

    with FakeOpenAI(embedding_dim=16) as server:
        embedder = make_embedder("openai:text-embedding-3-small", api_key="sk-test", base_url=server.base_url)
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

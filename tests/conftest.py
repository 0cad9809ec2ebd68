"""Shared fixtures: a hermetic environment, a loaded embedder, indexes of the bundled episode, a fake
Slack Web API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.config
from retrieval.index.embedding import MiniLMEmbedder
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig
from tests.support.corpus import BUNDLED, index_of
from tests.support.embedder import RememberingEmbedder
from tests.support.fakes.slack_server import FakeSlack

pytest_plugins = ["tests.support.postgres"]


@pytest.fixture(scope="session")
def unsynced_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder standing in for data/site: the tests never see what a user synced."""
    return tmp_path_factory.mktemp("unsynced-site")


@pytest.fixture(scope="session")
def model_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the offline model is quantized, shared by every process the tests start. In pytest's
    cache folder: the file is named by what it is made from, so a later run reuses it (~3 s)."""
    cache = getattr(pytestconfig, "cache", None)  # absent when run with -p no:cacheprovider
    if cache is None:
        return tmp_path_factory.mktemp("models")
    return cache.mkdir("quantized-model")


@pytest.fixture(autouse=True)
def hermetic_environment(
    monkeypatch: pytest.MonkeyPatch, unsynced_site: Path, model_cache: Path, tmp_path: Path
) -> None:
    """Tests start from defaults: no keys, tokens or servers from the machine's environment, no
    synced site, a cache of a Chroma server's search side of their own, and the session's
    quantized model."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "SLACK_", "CHROMA_", "PODCAST_BOT_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(bot.config, "SITE_DIR", unsynced_site)
    monkeypatch.setenv("PODCAST_BOT_CACHE", str(tmp_path / "search-cache"))
    monkeypatch.setenv("PODCAST_BOT_MODEL_CACHE", str(model_cache))


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> RememberingEmbedder:
    """The real model, loaded once; each text embedded once (test_embedding tests the model itself)."""
    model = MiniLMEmbedder(model_cache)
    model.load()
    return RememberingEmbedder(model)


@pytest.fixture
def store(tmp_path: Path) -> StoreConfig:
    return StoreConfig(index_dir=tmp_path / "index")


@pytest.fixture
def index(store: StoreConfig, embedder: RememberingEmbedder) -> SectionIndex:
    return SectionIndex(store, embedder.model_id)


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: RememberingEmbedder) -> Path:
    """An index of the bundled episode, built once per test run (read-only for tests)."""
    return index_of([BUNDLED], tmp_path_factory.mktemp("bundled-index"), embedder)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1, recording every call."""
    with FakeSlack() as server:
        yield server

"""Shared fixtures: the bundled episode, the shared corpus (skipped when absent), a loaded embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.embedding import MiniLMEmbedder
from retrieval.index import SectionIndex, StoreConfig

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "data" / "episodes" / "s07e01-datatalksclub-behind-the-scenes.md"
SHARED = ROOT.parent / "shared" / "corpus"
EPISODES = SHARED / "episodes"
NEWER = SHARED / "newer_format"

needs_shared = pytest.mark.skipif(
    not EPISODES.is_dir(), reason="needs the shared test corpus in ../shared/corpus (not part of a user's clone)"
)


def shared_episode(name: str) -> Path:
    return EPISODES / name


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from defaults: no keys, tokens or servers from the machine's environment."""
    import os

    for name in list(os.environ):
        if name.startswith(("OPENAI_", "SLACK_", "CHROMA_", "PODCAST_BOT_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    model = MiniLMEmbedder(batch_size=8)
    model.load()
    return model


@pytest.fixture
def store(tmp_path: Path) -> StoreConfig:
    return StoreConfig(index_dir=tmp_path / "index")


@pytest.fixture
def index(store: StoreConfig, embedder: MiniLMEmbedder) -> SectionIndex:
    return SectionIndex(store, embedder.model_id)


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Path:
    """An index of the bundled episode, built once per test run (read-only for tests)."""
    from retrieval.ingest import ingest

    folder = tmp_path_factory.mktemp("bundled-index")
    ingest([BUNDLED.parent], SectionIndex(StoreConfig(index_dir=folder), embedder.model_id), embedder, progress=False)
    return folder


def copy_episode(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or source.name)
    shutil.copyfile(source, target)
    return target


def small_episode(folder: Path, name: str, items: int = 14) -> Path:
    """The bundled episode cut to its first `items` transcript items: quick to embed in tests."""
    import yaml

    text = BUNDLED.read_text(encoding="utf-8")
    front = text.split("\n---\n", 1)[0].removeprefix("---\n")
    meta = yaml.safe_load(front)
    meta["transcript"] = meta["transcript"][:items]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n", encoding="utf-8")
    return path

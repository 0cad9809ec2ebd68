"""Where test data lives (the bundled episode, the shared corpus) and small episode files made from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from retrieval.index.embedding import Embedder
from retrieval.index.ingest import ingest
from retrieval.index.store import SectionIndex
from retrieval.settings import StoreConfig

ROOT = Path(__file__).resolve().parent.parent.parent
BUNDLED = ROOT / "data" / "episodes" / "s07e01-datatalksclub-behind-the-scenes.md"
SHARED = ROOT.parent / "shared" / "corpus"
EPISODES = SHARED / "episodes"
NEWER = SHARED / "newer_format"
PEOPLE = SHARED / "people"

needs_shared = pytest.mark.skipif(
    not EPISODES.is_dir(), reason="needs the shared test corpus in ../shared/corpus (not part of a user's clone)"
)


def shared_episode(name: str) -> Path:
    return EPISODES / name


def copy_episode(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or source.name)
    shutil.copyfile(source, target)
    return target


def distinct_copy(source: Path, folder: Path, name: str, marker: str) -> Path:
    """A copy of `source` whose transcript words differ (so no section can reuse a stored vector)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_text(source.read_text(encoding="utf-8").replace(" and ", f" and {marker} "), encoding="utf-8")
    return target


def cut_episode(source: Path, items: int = 14) -> str:
    """An episode file (either format) cut to its first `items` transcript items, other keys kept."""
    lines = source.read_text(encoding="utf-8").splitlines()
    end = lines.index("---", 1)
    meta = yaml.safe_load("\n".join(lines[1:end]))
    meta["transcript"] = meta["transcript"][:items]
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n"


def episode_file(folder: Path, name: str, title: str, guest: str, transcript: list[dict[str, object]]) -> Path:
    """An episode file written from a transcript made up in a test (season 1, episode 1)."""
    meta = {
        "title": title,
        "guests": [guest],
        "season": 1,
        "episode": 1,
        "ids": {"youtube": "AbCdEfGhIjK"},
        "transcript": transcript,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n", encoding="utf-8")
    return path


def small_episode(folder: Path, name: str, items: int = 14, source: Path = BUNDLED) -> Path:
    """The bundled episode (or `source`) cut to its first `items` transcript items: quick to embed in tests."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(cut_episode(source, items), encoding="utf-8")
    return path


def index_of(files: list[Path], folder: Path, embedder: Embedder) -> Path:
    """An index in `folder` of exactly these episode files: never a whole data folder, whose other
    files (a user's sync) would change what the tests see."""
    ingest(files, SectionIndex(StoreConfig(index_dir=folder), embedder.model_id), embedder)
    return folder

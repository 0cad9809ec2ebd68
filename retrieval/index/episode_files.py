"""Which files an ingest takes: the episode files named, or inside the folders named, and the
paths that are no readable file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from retrieval.corpus.drafts import published
from retrieval.errors import EpisodeError


def episode_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[EpisodeError]]:
    """The `.md` files named or inside the folders named (drafts only when named); also the folders,
    and the paths that cannot be read as files (missing, a broken or looping symbolic link, a folder
    named `*.md`)."""
    files: list[Path] = []
    folders: list[Path] = []
    bad: list[EpisodeError] = []
    for path in paths:
        if path.is_dir():
            folders.append(path.resolve())
            for entry in published(path):
                if entry.is_file():
                    files.append(entry)
                else:
                    bad.append(EpisodeError(entry, _not_a_file(entry)))
        elif path.is_file():
            files.append(path)
        else:
            bad.append(EpisodeError(path, _not_a_file(path)))
    # A file named and also inside a named folder is one file, ingested once.
    return list({file.resolve(): file for file in files}.values()), folders, bad


def _not_a_file(path: Path) -> str:
    if path.is_symlink():
        return "a symbolic link that leads nowhere (broken, or a loop)"
    return "a folder, not an episode file" if path.is_dir() else "no such file or folder"

"""Opening the index: a Chroma client for an embedded folder (refusing folders that are not an
index, reopening one another process wrote) or for a server; and the folder's writer lock and removal."""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from retrieval.errors import IndexUnavailableError, StoreError
from retrieval.index.failures import embedded_error, short_reason
from retrieval.index.stamp import SIDE_DIR, IndexStamp
from retrieval.settings import StoreConfig

log = logging.getLogger(__name__)


def open_client(config: StoreConfig):  # type: ignore[no-untyped-def]
    """A chromadb client for `config`, with telemetry off; connection problems become clear errors."""
    import chromadb
    from chromadb.config import Settings

    if config.is_server:
        from retrieval.index.chroma_http import http_client

        try:
            client = http_client(
                config.chroma_host or "localhost",
                config.chroma_port,
                ssl=config.chroma_ssl,
                headers=config.chroma_headers,
                seconds=config.chroma_timeout,
            )
        except Exception as exc:
            raise IndexUnavailableError(
                f"cannot reach the Chroma server at {config.chroma_host}:{config.chroma_port} ({short_reason(exc)}); "
                f"is `chroma run` up, and are CHROMA_HOST/CHROMA_PORT right?"
            ) from exc
        return client
    folder = config.index_dir
    if _foreign_files(folder):
        raise StoreError(f"{folder} holds other files and is not a Chroma index folder; choose another --index")
    _forget_if_stale(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(config.index_dir), settings=Settings(anonymized_telemetry=False))
    except Exception as exc:
        raise embedded_error(config.index_dir, "be opened", exc) from exc


def _foreign_files(folder: Path) -> bool:
    """True when `folder` holds files but is no Chroma index (its search side alone does not count)."""
    if not folder.is_dir() or (folder / "chroma.sqlite3").exists():
        return False
    return any(entry.name != SIDE_DIR for entry in folder.iterdir())


# The stamp each embedded index folder had when this process's Chroma client for it was opened.
_opened_at: dict[str, str] = {}


def _forget_if_stale(folder: Path) -> None:
    """Drop this process's cached Chroma client of `folder` when another process has written the
    folder since it was opened: Chroma shares one client per folder in a process, and keeps parts of
    the index in its memory, so a new client would otherwise still read the old index."""
    from chromadb.api.shared_system_client import SharedSystemClient

    stamp = IndexStamp(folder)
    token = stamp.read()
    key = str(folder)
    if _opened_at.get(key, token) != token and not stamp.written_here(token):
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        system = SharedSystemClient._identifier_to_system.pop(key, None)
        if system is not None:
            system.stop()
        log.info("the index at %s was written by another process; reopening it", folder)
    _opened_at[key] = token


def writing(config: StoreConfig) -> contextlib.AbstractContextManager[None]:
    """Hold the block's writes to an embedded index as this process's, refusing a second writer (see
    `retrieval.index.stamp`); a Chroma server takes care of its writers itself."""
    if config.is_server:
        return contextlib.nullcontext()
    return IndexStamp(config.index_dir).writing()


def remove_embedded_index(config: StoreConfig) -> None:
    """Delete an embedded index folder, refusing folders that hold anything but a Chroma index."""
    folder = config.index_dir
    if not folder.exists():
        return
    if _foreign_files(folder):
        raise StoreError(f"{folder} is not a Chroma index folder; refusing to delete it, choose another --index")
    shutil.rmtree(folder)

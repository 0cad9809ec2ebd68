"""Room on the disk of an embedded index: a write starts only when it fits, so it cannot hang.

Why: on a full disk Chroma's embedded store fails a write with SQLite's "database or disk is full",
and every such failure leaks one of its pooled SQLite connections; after about seven the next write
waits for a connection forever, holding the GIL (so no thread of the process runs again, and
freeing space does not wake it). A deadline in another thread cannot end that; not starting the
write can. So each write to the index first checks the folder's free space against what it will
cost, and the first write that fails for lack of space or permission ends the whole batch.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from retrieval.errors import IndexNotWritableError

MB = 1 << 20
# Below this, an index counts as full whatever the write: SQLite needs room for its journal, and
# Chroma for compacting its log and for its vector files.
RESERVE_BYTES = 16 * MB
# What a write costs on disk as a multiple of the documents and vectors it carries (measured about
# 3.6 times: Chroma's log, its full-text index and the vector files), with room to spare.
GROWTH = 8
FULL = (errno.ENOSPC, errno.EDQUOT)


def _existing(folder: Path) -> Path:
    """`folder`, or its nearest parent that exists: on the same file system as it will be."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def free_bytes(folder: Path) -> int:
    """Bytes this user may still write on the file system of `folder`."""
    stat = os.statvfs(_existing(folder))
    return stat.f_bavail * stat.f_frsize


def disk_is_full(folder: Path) -> bool:
    """Whether the disk of `folder` has less room than any write to an index needs."""
    return free_bytes(folder) < RESERVE_BYTES


def ensure_room(folder: Path, what: str, payload: int = 0) -> None:
    """Refuse, with "the disk is full", to write `what` (`payload` bytes of documents and vectors) to
    the index in `folder` when its disk has less free space than the write would need."""
    need = RESERVE_BYTES + GROWTH * payload
    free = free_bytes(folder)
    if free < need:
        raise IndexNotWritableError(
            f"the index at {folder} cannot store {what}: the disk is full ({free / MB:.1f} MB free, about "
            f"{need / MB:.0f} MB needed); free some space and run this again; what was stored before is intact"
        )


def disk_trouble(folder: Path) -> str | None:
    """ "the disk is read-only" or "the disk is full" when the file system of `folder` is, else None:
    what SQLite's own words ("unable to open database file") leave out."""
    if os.statvfs(_existing(folder)).f_flag & os.ST_RDONLY:
        return "the disk is read-only"
    return "the disk is full" if free_bytes(folder) < MB else None


def os_error_reason(error: OSError) -> str:
    """Why a file could not be written, in the words the user needs: "the disk is full" first."""
    if error.errno in FULL:
        return "the disk is full"
    if error.errno == errno.EROFS:
        return "the disk is read-only"
    return error.strerror or str(error)

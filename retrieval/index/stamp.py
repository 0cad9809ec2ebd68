"""The version stamp of an embedded index folder, and the lock its writers hold.

Embedded Chroma keeps parts of an index in the memory of each process that opened it, so a process
that keeps answering while another one writes the folder reads ids that no longer exist. Every
writer (ingest, sync, `--rebuild`) therefore holds an exclusive lock on `search/writer.lock` while
it writes, and replaces the token in `search/stamp` when it starts and when it ends. A reading
process compares the token with the one it opened the index with: while another process holds the
lock it stops reading (the index is being updated), and afterwards it reopens the index. Two
writers at once are refused: the second one is told to wait, or to use a Chroma server.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.errors import IndexBusyError, StoreError
from retrieval.index.failures import embedded_error

# The folder inside an embedded index that holds the stamp, the writer's lock and the persisted search side.
SIDE_DIR = "search"
STAMP = "stamp"
LOCK = "writer.lock"
# The token's prefix while a write is under way.
WRITING = "writing-"
# A reader holds the lock shared only while it reopens the index (well under a second); a writer
# waits that long for it, but not for another writer.
WRITER_WAIT = 30.0

_held = threading.Lock()
# Writer locks this process holds: folder -> (file descriptor, depth), so nested writes share one lock.
_writing: dict[Path, tuple[int, int]] = {}
# Tokens this process wrote: its own writes need no reopening.
_written: set[str] = set()


class IndexStamp:
    """The stamp and writer lock of one embedded index folder."""

    def __init__(self, index_dir: Path):
        self.index_dir = index_dir
        self.folder = index_dir / SIDE_DIR

    def read(self) -> str:
        """The current token ("" before any writer stamped the folder)."""
        try:
            return (self.folder / STAMP).read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    @staticmethod
    def written_here(token: str) -> bool:
        return token in _written

    def busy(self) -> bool:
        """True while another process writes the index."""
        if self._held_here():
            return False
        try:
            fd = self._open()
        except StoreError:  # a folder this user cannot write: reading it needs no lock of ours
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Keep writers out while the block reopens the index; IndexBusyError if one is writing."""
        if self._held_here():
            yield
            return
        try:
            fd = self._open()
        except StoreError:  # a folder this user cannot write: reading it needs no lock of ours
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._busy_error() from None
            yield
        finally:
            os.close(fd)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock for the block, stamping the folder before and after it."""
        folder = self.folder.resolve()
        with _held:
            fd, depth = _writing.get(folder, (-1, 0))
            if not depth:
                fd = self._acquire_exclusive()
            _writing[folder] = (fd, depth + 1)
        try:
            if not depth:
                self._stamp(WRITING)
            yield
        finally:
            with _held:
                fd, depth = _writing[folder]
                if depth == 1:
                    del _writing[folder]
                    # Stamped even after a failed write: whatever was written, readers must reopen.
                    self._stamp("")
                    os.close(fd)  # releases the lock
                else:
                    _writing[folder] = (fd, depth - 1)

    def _held_here(self) -> bool:
        with _held:
            return self.folder.resolve() in _writing

    def _acquire_exclusive(self) -> int:
        fd = self._open()
        deadline = time.monotonic() + WRITER_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreError(
                        f"another process is writing to the index at {self.index_dir} (an ingest or sync); "
                        f"wait for it to finish and run this again. Several writers need a Chroma server "
                        f"(README: Deploying)"
                    ) from None
                time.sleep(0.1)

    def _open(self) -> int:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise embedded_error(self.index_dir, "take the writer's lock", exc) from exc

    def _stamp(self, prefix: str) -> None:
        token = f"{prefix}{uuid.uuid4().hex}"
        temporary = self.folder / f"{STAMP}.{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)  # `--rebuild` may have removed it
            temporary.write_text(token, encoding="utf-8")
            temporary.replace(self.folder / STAMP)
        except OSError as exc:
            raise embedded_error(self.index_dir, "record this write", exc) from exc
        _written.add(token)

    def _busy_error(self) -> IndexBusyError:
        return IndexBusyError(
            f"the index at {self.index_dir} is being updated by another process (an ingest or sync); "
            f"answers resume as soon as it finishes"
        )

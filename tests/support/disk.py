"""A small file system of its own for a test (tmpfs), to fill up or make read-only for real.

Mounting needs root and a sandbox that allows it; where it cannot be done the test is skipped,
saying why. The file system is always unmounted afterwards."""

from __future__ import annotations

import errno
import gc
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from retrieval.disk_space import free_bytes


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted on `folder` for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = _mount("-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755", "tmpfs", str(folder))
    except FileNotFoundError:
        pytest.skip("needs `mount` to make a small file system (util-linux)")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and a sandbox that allows it): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        gc.collect()  # a failed test's traceback may still hold a file on it open
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
            # Still busy: detach it now (the kernel frees it when the last file closes), never leave it.
            subprocess.run(["umount", "--lazy", str(folder)], capture_output=True, timeout=30, check=True)


def fill(disk: Path, leave: int = 0) -> None:
    """Write one file to `disk` until the file system has only `leave` bytes free (0: to its last block)."""
    handle = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12):
            try:
                while free_bytes(disk) - size >= leave:
                    os.write(handle, b"\0" * size)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(handle)


def remount(disk: Path, read_only: bool) -> None:
    """Make the file system at `disk` read-only, or writable again."""
    done = _mount("-o", f"remount,{'ro' if read_only else 'rw'}", str(disk))
    assert done.returncode == 0, done.stderr

"""Keep glibc's allocator from holding on to memory: give freed pages back, and cap its arenas.

Reading every section from Chroma and building the keyword index allocates several times what the
result keeps; glibc's allocator holds on to the freed pages, so a serving process would keep the
peak as its resident size. `malloc_trim` returns them. Each thread that allocates may also get an
arena of its own (up to 8 per core), each keeping its own free pages: a serving worker with a
thread per request and the model's and Chroma's pools fragments across many. Elsewhere (not glibc)
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

# mallopt's parameter for the most arenas glibc creates (M_ARENA_MAX in malloc.h).
_M_ARENA_MAX = -8


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def limit_arenas(count: int) -> None:
    """Let at most `count` arenas serve this process's threads (and those of processes it forks
    later), as MALLOC_ARENA_MAX would if it were set before the process started."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, count)

"""Give memory back to the operating system after a large temporary allocation.

Reading every section from Chroma and building the keyword index allocates several times what the
result keeps; glibc's allocator holds on to the freed pages, so a serving process would keep the
peak as its resident size. `malloc_trim` returns them. Elsewhere (not glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


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

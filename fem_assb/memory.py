"""Resident memory: hand freed heap pages back to the operating system.

Building the mesh and the Jacobian's sparsity pattern allocates and frees millions of small
blocks (one vector per matrix row in DOLFINx's SparsityPattern, Python integers for the mesh
input). glibc keeps the freed blocks inside its heap, interleaved with live ones, so they stay
resident while the next stage (the Jacobian, the preconditioner) allocates fresh memory: at
64^3 on 2 ranks 140 MB per rank after the set-up. ``malloc_trim`` returns those pages, which
lowers the peak of everything that follows (docs/discharge.md, "Memory").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name)
        lib.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError, TypeError):
        return None
    return lib


def release_free_heap() -> bool:
    """Return the free pages of the C heap to the system (glibc ``malloc_trim``); False where
    the C library has no such call (then nothing happens)."""
    lib = _libc()
    return bool(lib is not None and lib.malloc_trim(0))


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
    ]


def heap_in_use() -> int | None:
    """Bytes of the C heap in use, small blocks and large mappings (glibc ``mallinfo2``); None
    where the C library has no such call."""
    lib = _libc()
    if lib is None or not hasattr(lib, "mallinfo2"):
        return None
    lib.mallinfo2.restype = _MallInfo2
    info = lib.mallinfo2()
    return info.uordblks + info.hblkhd

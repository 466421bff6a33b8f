"""Memory: what is available, what an LU factorization will need, and handing freed heap pages
back to the operating system.

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


#: The estimated bytes of a sparse LU factorization (MUMPS) of a voxel-cell system:
#: LU_BYTES_PER_CELL x (unknowns per cell / 4) x cells^(4/3) (3D nested-dissection fill-in;
#: calibrated for the impedance's real 2 x 2 block system, 4 unknowns per cell, docs/impedance.md).
LU_BYTES_PER_CELL = 1.0e3


def available_memory() -> float | None:
    """Bytes of memory available now on this node (MemAvailable of /proc/meminfo), None when
    unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return None


def available_memory_of(comm) -> float:
    """:func:`available_memory` of rank 0 on every rank of ``comm`` (the ranks of one node share
    it; collective), inf where unknown."""
    avail = available_memory() if comm.rank == 0 else None
    return comm.bcast(float("inf") if avail is None else avail, root=0)


def lu_memory_estimate(cells: int, unknowns_per_cell: int) -> float:
    """Estimated bytes of the LU factorization of a system of ``cells`` cells with
    ``unknowns_per_cell`` unknowns each (:data:`LU_BYTES_PER_CELL`)."""
    return LU_BYTES_PER_CELL * unknowns_per_cell / 4.0 * float(cells) ** (4.0 / 3.0)

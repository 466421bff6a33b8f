"""Jacobian storage cut to the entries that can be nonzero.

DOLFINx preallocates a blocked (block size 2) DG0 Jacobian with full 2 x 2 blocks for every pair
of cells that share an integral, although most couplings are structurally zero: the x rows of
an electrolyte cell hold only their diagonal, and phi couples to x only in and around the CAM.
A 32^3 cathode: 13.6 allocated entries per row, 6.8 nonzero (docs/discharge.md, "Memory").
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc


def compact_matrix(A) -> PETSc.Mat:
    """A new matrix with the layout, block size and local-to-global map of the assembled ``A``
    whose storage holds only ``A``'s nonzero entries and the diagonal. ``A`` is destroyed
    first (its pattern is read out, then freed) to keep the peak memory low.

    The new matrix drops zero values on insertion (``MAT_IGNORE_ZERO_ENTRIES``), so assembling
    the same form into it gives exactly the matrix DOLFINx would give; an entry that was zero in
    ``A`` but is not in a later assembly is still inserted (PETSc allocates it, more slowly), so
    the pattern only decides speed and memory, never the result.
    """
    B = PETSc.Mat().create(A.getComm())  # before A is destroyed: it may own the communicator
    B.setSizes(A.getSizes(), bsize=A.getBlockSize())
    B.setType(A.getType())
    rmap, cmap = A.getLGMap()
    if rmap.handle:  # DOLFINx assembles through the local-to-global map
        B.setLGMap(rmap, cmap)
    diag = A.getDiagonal()
    diag.array[:] = 1.0
    A.setDiagonal(diag)  # every diagonal entry nonzero, hence kept
    diag.destroy()
    ai, aj, av = A.getValuesCSR()
    A.destroy()
    keep = av != 0
    del av
    bi = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])[ai].astype(PETSc.IntType)  # row offsets
    del ai
    bj = np.ascontiguousarray(aj[keep], dtype=PETSc.IntType)
    del aj, keep
    B.setPreallocationCSR((bi, bj))
    B.setOption(PETSc.Mat.Option.IGNORE_ZERO_ENTRIES, True)
    B.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, False)
    return B


def allocations(A) -> int:
    """Entries PETSc had to allocate during assembly (0 when the preallocation was complete)."""
    return int(A.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["mallocs"])

"""Jacobian storage cut to the entries that can be nonzero.

DOLFINx preallocates a blocked (block size 2) DG0 Jacobian with full 2 x 2 blocks for every pair
of cells that share an integral, although most couplings are structurally zero: the x rows of
an electrolyte cell hold only their diagonal, and phi couples to x only in and around the CAM.
A 32^3 cathode: 13.6 allocated entries per row, 6.8 nonzero (docs/discharge.md, "Memory").
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from fem_assb.memory import release_free_heap


def compact_matrix(A, batch: int = 1 << 16) -> PETSc.Mat:
    """A new matrix with the layout, block size and local-to-global map of the assembled ``A``
    whose storage holds only ``A``'s nonzero entries and the diagonal; ``A`` is destroyed.

    The pattern is read row by row (``MatGetRow``, ``batch`` rows at a time): a copy of the
    whole matrix (``getValuesCSR``) or of row slices (``createSubMatrix``) had cost 130 and 290 MB
    per rank at 100^3. The new matrix drops zero values on insertion
    (``MAT_IGNORE_ZERO_ENTRIES``), so assembling the same form into it gives exactly the matrix
    DOLFINx would give; an entry that was zero in ``A`` but is not in a later assembly is still
    inserted (PETSc allocates it, more slowly), so the pattern only decides speed and memory,
    never the result.
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
    r0, r1 = A.getOwnershipRange()
    lengths, columns = [np.zeros(1, dtype=np.int64)], []
    for start in range(r0, r1, batch):
        rows = [A.getRow(i) for i in range(start, min(start + batch, r1))]  # (global columns, values)
        offsets = np.concatenate([[0], np.cumsum([len(c) for c, _ in rows])])
        cols = np.concatenate([c for c, _ in rows])
        keep = np.concatenate([v for _, v in rows]) != 0
        kept = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
        lengths.append(np.diff(kept[offsets]))
        columns.append(cols[keep])
        del rows, cols, keep, kept
    A.destroy()
    release_free_heap()
    bi = np.cumsum(np.concatenate(lengths)).astype(PETSc.IntType)
    bj = np.concatenate(columns).astype(PETSc.IntType) if columns else np.zeros(0, PETSc.IntType)
    del lengths, columns
    B.setPreallocationCSR((bi, bj))
    B.setOption(PETSc.Mat.Option.IGNORE_ZERO_ENTRIES, True)
    B.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, False)
    return B


def allocations(A) -> int:
    """Entries PETSc had to allocate during assembly (0 when the preallocation was complete)."""
    return int(A.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["mallocs"])

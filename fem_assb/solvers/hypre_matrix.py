"""A block of a PETSc matrix handed to hypre in hypre's own format, without PETSc's COO copy.

PETSc 3.25 converts an AIJ matrix to MATHYPRE (``MatConvert``, also inside PCHYPRE) through a
delegate AIJ matrix with COO maps that lives as long as the hypre matrix: 34 B per nonzero
where hypre's ParCSR needs 12-16. For the phi block of the discharge Jacobian at 100^3 on 2
ranks, filling hypre directly took the steady size from 910-920 to 856-870 MB per rank
(docs/discharge.md, "Memory"). :func:`hypre_submatrix` fills
a MATHYPRE matrix row by row instead, preallocated exactly (``MatHYPRESetPreallocation``, which
petsc4py does not wrap; called through ctypes on the PETSc library petsc4py loaded).
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np
from petsc4py import PETSc

from fem_assb.solvers.petsc_c import petsc_library

PETSC_INT = ctypes.c_int64 if np.dtype(PETSc.IntType).itemsize == 8 else ctypes.c_int32


@functools.cache
def _petsc_library():
    """The PETSc shared library this process uses (the one petsc4py loaded), built with hypre;
    None if unknown."""
    lib = petsc_library("MatHYPRESetPreallocation")
    if lib is not None:
        ptr = ctypes.c_void_p
        lib.MatHYPRESetPreallocation.argtypes = [ptr, PETSC_INT, ptr, PETSC_INT, ptr]
    return lib


def hypre_submatrix(P: PETSc.Mat, rows: PETSc.IS, plus=None) -> PETSc.Mat:
    """``P[rows, rows]`` as a MATHYPRE matrix (hypre ParCSR, exactly preallocated).

    plus: None, or ``(cols, d)`` with an IS ``cols`` laid out like ``rows`` and a Vec ``d`` of
    that layout: the matrix is then ``P[rows, rows] + P[rows, cols] diag(d)`` (the second-field
    block of a right-transformed Jacobian, :class:`~fem_assb.solvers.block_pc.PhiAMGThenJacobi`).

    Falls back to PETSc's conversion (same matrix, more memory) where the PETSc library cannot
    be reached through ctypes.
    """
    S = P.createSubMatrix(rows, rows)
    if plus is not None:
        cols, d = plus
        C = P.createSubMatrix(rows, cols)
        C.diagonalScale(R=d)
        S.axpy(1.0, C, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
        C.destroy()
    if _petsc_library() is None:
        S.convert("hypre")  # in place
        return S
    ai, aj, av = S.getValuesCSR()  # local rows, global columns, sorted within each row
    sizes = S.getSizes()
    c0, c1 = S.getOwnershipRangeColumn()
    S.destroy()
    counts = np.diff(ai)
    row = np.repeat(np.arange(len(counts)), counts)
    dnnz = np.bincount(row[(aj >= c0) & (aj < c1)], minlength=len(counts)).astype(PETSc.IntType)
    onnz = (counts - dnnz).astype(PETSc.IntType)
    del row
    H = empty_hypre_matrix(P.getComm(), sizes, dnnz, onnz)
    H.setValuesCSR(ai, aj, av)
    H.assemble()
    return H


def empty_hypre_matrix(comm, sizes, d_nnz, o_nnz) -> PETSc.Mat | None:
    """A MATHYPRE matrix of ``sizes`` ((local rows, global), (local cols, global)) preallocated
    with ``d_nnz`` / ``o_nnz`` entries per local row in / outside the diagonal block, to be
    filled with whole rows, columns sorted (``MAT_SORTED_FULL``: hypre then stores the rows
    directly, no auxiliary copy) and owned rows only, then assembled. None where the PETSc
    library cannot be reached through ctypes (use an AIJ matrix then)."""
    lib = _petsc_library()
    if lib is None:
        return None
    d_nnz = np.ascontiguousarray(d_nnz, dtype=PETSc.IntType)
    o_nnz = np.ascontiguousarray(o_nnz, dtype=PETSc.IntType)
    H = PETSc.Mat().create(comm)
    H.setType("hypre")
    H.setSizes(sizes)
    H.setOption(PETSc.Mat.Option.SORTED_FULL, True)  # whole sorted rows: no hypre aux storage
    H.setOption(PETSc.Mat.Option.NO_OFF_PROC_ENTRIES, True)
    err = lib.MatHYPRESetPreallocation(H.handle, 0, d_nnz.ctypes.data, 0, o_nnz.ctypes.data)
    if err != 0:
        raise PETSc.Error(err)
    return H

"""PreconditionerReuse (solvers/block_pc.py): a kept preconditioner is used while it works, and a
solve with a kept one that needs far more iterations than the fresh one did is cut short so that
its owner redoes it with a fresh preconditioner (BlockNewton.solve)."""

import numpy as np
from petsc4py import PETSc

from fem_assb.solvers.block_pc import PreconditionerReuse


def _laplacian(n: int, scale: np.ndarray) -> PETSc.Mat:
    """A diagonally dominant 1D operator (3 on the diagonal, -1 beside it; a few GMRES iterations
    with Jacobi) with row i scaled by scale[i] (Jacobi undoes the scaling; a Jacobi
    preconditioner of another scaling does not)."""
    A = PETSc.Mat().createAIJ([n, n], nnz=3, comm=PETSc.COMM_SELF)
    for i in range(n):
        cols = [j for j in (i - 1, i, i + 1) if 0 <= j < n]
        A.setValues(i, cols, [scale[i] * (3.0 if j == i else -1.0) for j in cols])
    A.assemble()
    return A


def _ksp(stale_limit):
    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    ksp.setType("gmres")
    ksp.getPC().setType("jacobi")
    ksp.setTolerances(rtol=1e-8, max_it=1000)
    return ksp, PreconditionerReuse(ksp, stale_limit=stale_limit)


def _solve(ksp, A):
    b, x = A.createVecs()
    b.set(1.0)
    ksp.setOperators(A)
    ksp.solve(b, x)
    return ksp.getIterationNumber(), ksp.getConvergedReason()


def test_a_stale_preconditioner_is_cut_short_and_set_up_again():
    n = 200
    A1 = _laplacian(n, np.ones(n))
    A2 = _laplacian(n, np.logspace(0, 6, n))  # Jacobi of A1 is a poor preconditioner of A2
    ksp, reuse = _ksp(stale_limit=3.0)
    reuse.prepare(A1)
    base, reason = _solve(ksp, A1)
    assert reason > 0
    its, reason = _solve(ksp, A2)  # the kept Jacobi of A1
    assert reason == PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT
    assert its == int(max(3.0 * base, base + 20))
    assert reuse.failed_with_old and reuse.due
    reuse.prepare(A2)  # fresh: the KSP's own limit again
    its, reason = _solve(ksp, A2)
    assert reason > 0 and its <= 1000


def test_without_a_limit_the_stale_solve_runs_to_the_ksp_limit():
    n = 200
    A1 = _laplacian(n, np.ones(n))
    A2 = _laplacian(n, np.logspace(0, 6, n))
    ksp, reuse = _ksp(stale_limit=None)
    reuse.prepare(A1)
    base, _ = _solve(ksp, A1)
    its, reason = _solve(ksp, A2)
    assert its > int(max(3.0 * base, base + 20))

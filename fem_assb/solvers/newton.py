"""Newton's method for the blocked (phi, x) DG0 system with per-block convergence (DESIGN §3, §3a).

Convergence is judged per block on the residual scaled by the Jacobian diagonal (every row
O(1), an entry is a Jacobi-like correction in the unknown's own unit): the Newton update and the
scaled residual must be below ``tol_phi`` (V) on the phi rows and ``tol_x`` (stoichiometry) on
the x rows. The linear systems themselves are solved unscaled: the phi block of the Jacobian is
then symmetric, which BoomerAMG needs (row-scaled, it took 32 GMRES iterations instead of 5 at
the end of a discharge, docs/discharge.md); the Krylov solver, left-preconditioned, measures the
preconditioned residual, which is in the unknowns' units as well. Updates of phi are limited to
``max_dphi`` (V) per iteration and x is kept inside (0, 1) (:func:`keep_inside`).

Linear solvers (``linear_solver``): "direct" (LU, MUMPS when available) or "iterative"
(BiCGStab preconditioned by BoomerAMG on phi then Jacobi on x, :mod:`fem_assb.solvers.block_pc`;
the preconditioner is kept across Newton iterations and time steps while it works,
:meth:`BlockNewton.rebuild_preconditioner`). Memory (docs/discharge.md, "Memory"): the Jacobian
keeps only its nonzero pattern (:meth:`BlockNewton.compact_sparsity`) and the forms are
assembled in parts (:mod:`fem_assb.solvers.chunked`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from dolfinx.fem import petsc as fpetsc
from mpi4py import MPI
from petsc4py import PETSc

from fem_assb.memory import release_free_heap
from fem_assb.solvers.block_pc import PhiAMGThenJacobi
from fem_assb.solvers.chunked import ChunkedForm
from fem_assb.solvers.sparsity import compact_matrix


@dataclass
class NewtonResult:
    converged: bool
    iterations: int
    linear_iterations: int
    reason: str = ""


class BlockNewton:
    """Newton solver for ``F(u) = 0`` with a block-size-2 DG0 unknown ``u``.

    F, J: UFL forms; tol_phi (V), tol_x (-): per-block tolerances; max_it: iteration limit.
    """

    def __init__(
        self,
        F,
        J,
        u,
        *,
        linear_solver: str = "direct",
        tol_phi: float = 1e-9,
        tol_x: float = 1e-10,
        max_it: int = 15,
        max_dphi: float = 0.3,
        max_backtracks: int = 4,
        prefix: str = "fem_assb_newton_",
    ):
        self.u = u
        self.comm = u.function_space.mesh.comm
        # assembled in parts: DOLFINx's coefficient packing is held for one part at a time
        self.F_form = ChunkedForm(F)
        self.F_form.release()
        self.J_form = ChunkedForm(J)
        self.A = fpetsc.create_matrix(self.J_form.whole)
        self.J_form.release()
        release_free_heap()  # the sparsity pattern's row vectors
        self.b = fpetsc.create_vector(u.function_space)
        self.du = self.A.createVecRight()
        self.scale = self.A.createVecRight()  # 1 / the Jacobian diagonal (1 where it is 0)
        self.tol_phi, self.tol_x, self.max_it, self.max_dphi = tol_phi, tol_x, max_it, max_dphi
        self.max_backtracks = max_backtracks
        self.nown = u.function_space.dofmap.index_map.size_local
        self.ksp = PETSc.KSP().create(self.comm)
        self.ksp.setOperators(self.A)
        self.ksp.setOptionsPrefix(prefix)
        opt = PETSc.Options()
        if linear_solver == "direct":
            opt[prefix + "ksp_type"] = "preonly"
            opt[prefix + "pc_type"] = "lu"
            if "mumps" in _solver_packages():
                opt[prefix + "pc_factor_mat_solver_type"] = "mumps"
        elif linear_solver == "iterative":
            # BiCGStab preconditioned by BoomerAMG on the phi rows, then Jacobi on the x rows
            # (:mod:`fem_assb.solvers.block_pc`). Inexact Newton: rtol 1e-6 in every iteration;
            # the convergence test is on the nonlinear residual and update, so the answer keeps
            # tol_phi / tol_x (fewer iterations than rtol 1e-9, docs/discharge.md). BiCGStab
            # keeps 9 vectors (16 B per cell each) where GMRES(10) kept 15: 70 MB per rank less
            # at 100^3 for ~25 % more linear-solver time (docs/discharge.md, "Memory").
            for key, value in {
                "ksp_type": "bcgs",
                "ksp_rtol": 1e-6,
                "ksp_atol": 1e-30,
                "ksp_max_it": 400,
            }.items():
                opt[prefix + key] = value
            pc = self.ksp.getPC()
            pc.setType("python")
            pc.setPythonContext(PhiAMGThenJacobi(self.scale, prefix + "phi_"))
        else:
            from fem_assb.errors import InputError

            raise InputError(f"linear_solver must be 'direct' or 'iterative', got {linear_solver!r}.")
        self.ksp.setFromOptions()
        self.linear_solver = linear_solver
        #: iterative solver: the preconditioner is kept across Newton iterations and time steps and
        #: set up again when a solve needed more than ``rebuild_factor`` times the iterations of the
        #: first solve after its last set-up (and ``rebuild_margin`` more), or failed
        #: (docs/discharge.md: the BoomerAMG set-up cost as much as ~8 GMRES iterations)
        self.rebuild_factor, self.rebuild_margin = 2.0, 5
        self._rebuild, self._base_iterations = True, 0

    def compact_sparsity(self, probes):
        """Keep only the Jacobian entries that are nonzero at any of the states ``probes`` (local
        arrays of ``u``; generic states: no two neighbours equal, no stoichiometry at a bound),
        about half of DOLFINx's block pattern (:mod:`fem_assb.solvers.sparsity`). ``u`` is left
        as it was. An entry outside the pattern is still assembled (exactly, only more slowly)."""
        saved = self.u.x.array.copy()
        self.A.zeroEntries()
        for probe in probes:  # the sum of the Jacobians: nonzero where any of them is
            self.u.x.array[:] = probe
            self.u.x.scatter_forward()
            self.J_form.assemble_matrix(self.A)
        self.A.assemble()
        self.ksp.reset()  # the solver's reference would keep the full matrix alive
        self.A = compact_matrix(self.A)
        release_free_heap()
        self.ksp.setOperators(self.A)
        self.u.x.array[:] = saved
        self.u.x.scatter_forward()
        self._rebuild = True

    def _assemble_residual(self):
        """b = F(u)."""
        with self.b.localForm() as bl:
            bl.set(0.0)
        self.F_form.assemble_vector(self.b)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)

    def _assemble_jacobian(self):
        """A = J(u) and the residual scaling 1 / diag(J)."""
        self.A.zeroEntries()
        self.J_form.assemble_matrix(self.A)
        self.A.assemble()
        self.A.getDiagonal(self.scale)
        d = self.scale.array
        d[d == 0] = 1.0
        self.scale.reciprocal()

    def _scaled_residual_norms(self):
        """Max norms per block (phi in V, x in stoichiometry) of the residual scaled by the last
        Jacobian diagonal."""
        n = 2 * self.nown
        return self._block_max(self.b.array_r[:n] * self.scale.array_r[:n])

    def _block_max(self, arr):
        a = np.abs(arr[: 2 * self.nown].reshape(-1, 2))
        loc = np.ascontiguousarray(a.max(axis=0) if a.size else np.zeros(2), dtype=np.float64)
        out = np.empty(2)
        self.comm.Allreduce(loc, out, op=MPI.MAX)
        return out

    def solve(self) -> NewtonResult:
        """Newton with a backtracking line search on the scaled residual.

        Each iteration evaluates the residual at the new iterate first. If its merit (the larger
        of the two block max-norms over their tolerances, scaled by the same Jacobian diagonal)
        did not fall, the step is halved, up to ``max_backtracks`` times (residuals only); the
        Jacobian is assembled at the accepted iterate only. Without it Newton wandered at the
        end of discharge, where saturating cells make the problem strongly nonlinear (15
        iterations, then a cut step, docs/discharge.md).
        """
        tol = np.array([self.tol_phi, self.tol_x])
        lin, small, prev, d_prev = 0, False, None, None
        for it in range(1, self.max_it + 1):
            if it == 1:
                self._assemble_jacobian()
            self._assemble_residual()
            r = self._scaled_residual_norms()
            if prev is not None:
                r, small = self._backtrack(prev, r, tol, small)
            if not np.all(np.isfinite(r)):
                return NewtonResult(False, it, lin, "residual not finite")
            if it > 1 and r[0] < self.tol_phi and r[1] < self.tol_x and small:
                return NewtonResult(True, it - 1, lin)
            if it > 1:  # the Newton step needs the Jacobian at the accepted iterate
                self._assemble_jacobian()
            its, reason = self._linear_solve()
            lin += its
            if reason < 0:
                self._reset_ksp()  # a failed factorization would otherwise stick to the next solves
                return NewtonResult(False, it, lin, f"linear solver diverged ({reason})")
            d = self._block_max(self.du.array)
            if not np.all(np.isfinite(d)):
                self._reset_ksp()
                return NewtonResult(False, it, lin, "update not finite")
            step = min(1.0, self.max_dphi / d[0]) if d[0] > 0 else 1.0
            prev = (self.u.x.array.copy(), float(np.max(r / tol)), step)
            self._update(prev[0], step)
            # Accepted only at the next residual check: the inexact (rtol 1e-6) solves leave a
            # residual that an update-only test would miss (charge conservation needs it small).
            small = step == 1.0 and np.all(np.minimum(d, error_estimate(d, d_prev)) < tol)
            d_prev = d
        return NewtonResult(False, self.max_it, lin, "no convergence within max_it")

    def _linear_solve(self):
        """du = A^-1 b; returns (iterations, converged reason). An iterative solve that failed with a
        preconditioner set up on an earlier matrix is retried once with a fresh set-up."""
        if self.linear_solver == "direct":
            self.ksp.solve(self.b, self.du)
            return self.ksp.getIterationNumber(), self.ksp.getConvergedReason()
        total = 0
        while True:
            rebuild = self._rebuild
            if rebuild:
                self._set_up_preconditioner()
            else:
                self.ksp.getPC().setReusePreconditioner(True)
            self.ksp.solve(self.b, self.du)
            its, reason = self.ksp.getIterationNumber(), self.ksp.getConvergedReason()
            total += its
            if rebuild:
                self._base_iterations = its
            base = self._base_iterations
            limit = max(self.rebuild_factor * base, base + self.rebuild_margin)
            self._rebuild = reason < 0 or its > limit
            if reason >= 0 or rebuild:
                return total, reason

    def _set_up_preconditioner(self):
        """Set the iterative solver's preconditioner up at the current Jacobian while BiCGStab's
        work vectors are released (the solve allocates them again): the BoomerAMG set-up's
        temporaries then come on top of less. At 100^3 on 2 ranks the rebuilds set the peak
        memory, ~50 MB per rank above the steady size (docs/discharge.md, "Memory")."""
        self.ksp.reset()
        self.ksp.setOperators(self.A)
        pc = self.ksp.getPC()
        pc.setReusePreconditioner(False)
        pc.setUp()

    def rebuild_preconditioner(self):
        """Set the iterative solver's preconditioner up again at the next solve (call when the
        problem changed, e.g. the time step by orders of magnitude)."""
        self._rebuild = True

    def _update(self, u_before, step):
        """u = u_before - step du, stoichiometries kept inside (0, 1)."""
        self.u.x.array[:] = u_before
        self.u.x.petsc_vec.axpy(-step, self.du)
        self.u.x.scatter_forward()
        xs = self.u.x.array.reshape(-1, 2)
        xs[:, 1] = keep_inside(xs[:, 1], u_before.reshape(-1, 2)[:, 1])

    def _backtrack(self, prev, r, tol, small):
        """Halve the last step while the merit did not fall; returns (norms, small)."""
        u_before, merit0, step = prev
        for _ in range(self.max_backtracks):
            merit = float(np.max(r / tol)) if np.all(np.isfinite(r)) else np.inf
            if merit < merit0 or merit0 <= 1.0:
                break
            step *= 0.5
            small = False
            self._update(u_before, step)
            self._assemble_residual()
            r = self._scaled_residual_norms()
        return r, small

    def _reset_ksp(self):
        """Forget a failed LU factorization; the iterative solver's preconditioner is set up afresh."""
        if self.linear_solver != "direct":
            self.rebuild_preconditioner()
            return
        self.ksp.reset()
        self.ksp.setOperators(self.A)
        self.ksp.setFromOptions()

    def destroy(self):
        for obj in (self.ksp, self.A, self.b, self.du, self.scale):
            obj.destroy()


def error_estimate(d, d_prev):
    """Error left after a Newton update of size d (per block), from the contraction of the
    updates theta = d / d_prev: theta / (1 - theta) d (Deuflhard, Newton Methods for Nonlinear
    Problems, 2004, §2.1); inf without a previous update or when they do not contract.

    With quadratic convergence it is far below d, so the iterate after an update of 5e-9 V that
    followed one of 3e-5 V is accepted (error ~1e-12 V) instead of being updated once more only
    for the update itself to pass the tolerance (one Newton iteration in four or five).
    """
    if d_prev is None:
        return np.full_like(d, np.inf)
    theta = np.divide(d, d_prev, out=np.full_like(d, np.inf), where=d_prev > 0)
    contracting = theta < 1.0
    return np.where(contracting, theta / np.where(contracting, 1.0 - theta, 1.0) * d, np.inf)


def keep_inside(x_new, x_old, fraction: float = 0.9):
    """Stoichiometries of a Newton (or predictor) update kept inside (0, 1) per cell: where x_new
    leaves the interval the cell moves ``fraction`` of the way from x_old to the bound instead.

    Clipping to the bound itself put saturating surface cells where i0 ~ sqrt(c_max - c) has an
    infinite derivative, and Newton cycled between the bound and 0.99 (a 32^3 cathode at the
    end of discharge, docs/discharge.md); this fraction-to-the-boundary rule approaches it.
    """
    x_old = np.clip(x_old, 0.0, 1.0)
    out = np.where(x_new >= 1.0, x_old + fraction * (1.0 - x_old), x_new)
    return np.where(out <= 0.0, (1.0 - fraction) * x_old, out)


def _solver_packages() -> set:
    try:
        from petsc4py import PETSc as P

        return {p for p in ("mumps", "superlu_dist") if P.Sys.hasExternalPackage(p)}
    except Exception:  # pragma: no cover
        return set()

"""Newton's method (PETSc SNES) for the blocked (phi, x) DG0 system with per-block convergence
(DESIGN §3, §3a).

The cell's nonlinear solve is a PETSc ``SNESNEWTONLS`` (petsc4py) whose parts are set to what was
measured to work on this problem (docs/discharge.md, "Solver"):

- **convergence test** (``SNESSetConvergenceTest``): per block on the residual scaled by the
  Jacobian diagonal (every row O(1), an entry is a Jacobi-like correction in the unknown's own
  unit): the scaled residual below ``tol_phi`` (V) on the phi rows and ``tol_x``
  (stoichiometry) on the x rows, and the Newton update, or the error left after it as
  estimated from the contraction of the updates (:func:`error_estimate`), below the same
  tolerances. The linear systems themselves are solved unscaled: the phi block of the Jacobian
  is then symmetric, which BoomerAMG needs (row-scaled, it took 32 GMRES iterations instead of
  5 at the end of a discharge);
- **line-search pre-check** (``SNESLineSearchSetPreCheck``): the phi update limited to
  ``max_dphi`` (V), and stoichiometries kept inside (0, 1) by a fraction-to-the-boundary rule
  (:func:`keep_inside`; the liquid's c_e / c_e0 kept positive by the same rule, ``x_upper``);
- **line search**: backtracking on the merit "largest block max-norm of the scaled residual
  over its tolerance": the step is halved while the merit did not fall, up to
  ``max_backtracks`` times (a Python ``SNESLINESEARCHSHELL``, :mod:`fem_assb.solvers.linesearch`);
- **linear solver** (``linear_solver``, the SNES's KSP): "direct" (LU, MUMPS when available;
  from :data:`KEEP_FACTORIZATION_CELLS` cells on as the preconditioner of Richardson iterations,
  the factorization kept across the Newton iterations of a time step while it works, afresh
  after every accepted step) or "iterative" (BiCGStab, rtol 1e-6 in every Newton
  iteration, preconditioned by BoomerAMG on phi then Jacobi on x (BoomerAMG on x too with
  ``second_amg``, for a liquid's c_e), :mod:`fem_assb.solvers.block_pc`; the preconditioner is
  kept across Newton iterations and time steps while it works,
  :class:`~fem_assb.solvers.block_pc.PreconditionerReuse`).

PETSc options: the SNES, its line search, KSP and PC read the options database under the prefix
``fem_assb_newton_`` (:data:`OPTIONS_PREFIX`; the inner BoomerAMG of the block preconditioner
under ``fem_assb_newton_phi_``), so ``-fem_assb_newton_snes_monitor``,
``-fem_assb_newton_ksp_monitor``, ``-fem_assb_newton_snes_linesearch_type bt`` etc. work from the
command line, and ``petsc_options`` (case key ``numerics.petsc_options``) sets them per solver,
without the prefix. What the user sets wins over the settings above. Options PETSc never read
are reported once, after the first solve (:attr:`BlockNewton.unused_options`).

Memory (docs/discharge.md, "Memory"): the Jacobian keeps only its nonzero pattern
(:meth:`BlockNewton.compact_sparsity`) and the forms are assembled in parts
(:mod:`fem_assb.solvers.chunked`). The vectors are the solution (``u``'s own), the residual, the
inverse Jacobian diagonal and SNES's update, line-search trial and line-search residual vectors.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from dolfinx.fem import petsc as fpetsc
from mpi4py import MPI
from petsc4py import PETSc

from fem_assb.errors import InputError
from fem_assb.memory import release_free_heap
from fem_assb.solvers import linesearch
from fem_assb.solvers.block_pc import PhiAMGThenJacobi, PreconditionerReuse
from fem_assb.solvers.chunked import ChunkedForm
from fem_assb.solvers.linear import BOOMERAMG_3D
from fem_assb.solvers.options import SolverOptions, normalize
from fem_assb.solvers.sparsity import compact_matrix
from fem_assb.solvers.timers import StageTimes

#: Options prefix of the cell's SNES (and its KSP, PC and line search).
OPTIONS_PREFIX = "fem_assb_newton_"
#: Relative tolerance (preconditioned residual) of the direct solver's Richardson iterations with
#: a kept LU factorization: that of the iterative solver's inexact Newton. Not the 1e-10 of the
#: reverted GMRES version: iterative refinement in double precision stalls at ~eps cond(J)
#: (3e-9 on the tests' 6 x 4 x 4 composite), which GMRES's recurrence residual hid.
DIRECT_RTOL = 1e-6
#: The direct solver keeps its LU factorization across the Newton iterations of a time step
#: from this many cells on (below, one factorization per Newton iteration, preonly LU).
#: Measured (benchmarks/small_cases.py, serial CPU on the loaded 2-core machine, runs side by
#: side, docs/discharge.md "Performance"): LCO | LLZO 24 x 16 x 16 (9 813 cells) 159 -> 53
#: factorizations, 17.3 -> 12.5 s; lib_le_small (9 885) 332 -> 155, 52.4 -> 48.1 s (65.6 ->
#: 51.6 s in another pair); 18 x 12 x 12 (4 717) 7.01 / 6.12 -> 5.80 / 5.98 s; at 1 718 and
#: 1 739 cells a tie (3.30 / 3.20 -> 2.54 / 3.22 s, 5.37 / 4.32 -> 5.03 / 4.65 s): a
#: factorization there costs little more than the refinement's products and triangular solves.
#: Below it a run also agrees on 1 and 2 ranks as before (step times to ~1e-14 s; with the
#: refinement's residual b - A x, summed in another order on 2 ranks, ~2e-13 s).
KEEP_FACTORIZATION_CELLS = 2000
#: Richardson iterations at most with a kept factorization: more means it no longer fits the
#: Jacobian; the solve is then resumed with a fresh one (BlockNewton.solve).
DIRECT_MAX_IT = 15

_SNES_REASONS = {
    v: k for k, v in vars(PETSc.SNES.ConvergedReason).items() if k.startswith(("CONVERGED_", "DIVERGED_"))
}
_KSP_REASONS = {
    v: k for k, v in vars(PETSc.KSP.ConvergedReason).items() if k.startswith(("CONVERGED_", "DIVERGED_"))
}


@dataclass
class NewtonResult:
    """converged; iterations: Newton iterations (updates); linear_iterations: Krylov iterations
    of all of them; reason: why a solve failed ("" when it converged), starting with SNES's
    converged-reason name (e.g. "DIVERGED_MAX_IT: ...")."""

    converged: bool
    iterations: int
    linear_iterations: int
    reason: str = ""


class BlockNewton:
    """Newton solver (PETSc SNES) for ``F(u) = 0`` with a block-size-2 DG0 unknown ``u``.

    F, J: UFL forms of the residual and its Jacobian; tol_phi (V), tol_x (-): per-block
    tolerances; max_it: Newton iteration limit (SNES ``max_it``: updates, each tested; 14 is what
    the hand-written loop before SNES allowed with its limit of 15, as it solved a 15th time
    without testing the result); max_dphi (V): largest phi update per iteration;
    max_backtracks: step halvings of the line search; prefix: PETSc options prefix;
    petsc_options: mapping of PETSc option names (without the prefix, leading dash optional) to
    values, applied after the settings above; report: callable taking a message for the user
    (default: printed on rank 0 to stderr).
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
        max_it: int = 14,
        max_dphi: float = 0.3,
        max_backtracks: int = 4,
        prefix: str = OPTIONS_PREFIX,
        petsc_options=None,
        report=None,
        x_upper=None,
        second_amg: bool = False,
        potential_shift=None,
    ):
        if linear_solver not in ("direct", "iterative"):
            raise InputError(f"linear_solver must be 'direct' or 'iterative', got {linear_solver!r}.")
        self.u = u
        self.comm = u.function_space.mesh.comm
        self.options = SolverOptions(prefix, normalize(petsc_options))
        self._report = report or (lambda text: _print_on_rank0(self.comm, text))
        self.unused_options: list[str] | None = None  # known after the first solve
        # assembled in parts: DOLFINx's coefficient packing is held for one part at a time
        self.F_form = ChunkedForm(F)
        self.F_form.release()
        self.J_form = ChunkedForm(J)
        self.A = fpetsc.create_matrix(self.J_form.whole)
        self.J_form.release()
        release_free_heap()  # the sparsity pattern's row vectors
        self.b = fpetsc.create_vector(u.function_space)
        self.scale = self.A.createVecRight()  # 1 / the Jacobian diagonal (1 where it is 0)
        self.tol = np.array([tol_phi, tol_x])
        self.tol_phi, self.tol_x, self.max_dphi = tol_phi, tol_x, max_dphi
        self.max_backtracks = max_backtracks
        self.nown = u.function_space.dofmap.index_map.size_local
        #: upper bound of the second unknown per owned cell: 1 (a stoichiometry), or inf where it
        #: is c_e / c_e0 (liquid cells: positivity only); None: 1 everywhere
        self.x_upper = 1.0 if x_upper is None else np.asarray(x_upper, dtype=float)[: self.nown]
        self.linear_solver = linear_solver
        self.second_amg = second_amg
        #: wall seconds per solver stage on this rank (:mod:`fem_assb.solvers.timers`)
        self.times = StageTimes()

        snes = self.snes = PETSc.SNES().create(self.comm)
        snes.setOptionsPrefix(prefix)
        snes.setType(PETSc.SNES.Type.NEWTONLS)
        snes.setFunction(self._residual_callback, self.b)
        # stol 0: no "converged: the step is small relative to x" (x holds potentials of 4 V)
        snes.setTolerances(rtol=0.0, atol=0.0, stol=0.0, max_it=max_it)
        snes.setConvergenceTest(self._converged)
        snes.setLineSearchPreCheck(self._precheck)
        # A pre-check rather than SNESVI bounds: a variational-inequality Newton projects the
        # stoichiometries onto [0, 1], i.e. clips them to the bound, where i0 ~ sqrt(c_max - c)
        # has an infinite slope; Newton then cycled between the bound and 0.99 (a 32^3 cathode
        # at the end of discharge, docs/discharge.md). The fraction-to-the-boundary rule of the
        # pre-check approaches the bound instead.
        # (basic, i.e. full steps, only where the PETSc library cannot be reached through ctypes)
        snes.getLineSearch().setType(
            PETSc.SNESLineSearch.Type.SHELL if linesearch.available() else PETSc.SNESLineSearch.Type.BASIC
        )
        self.ksp = snes.getKSP()
        self._reuse = None
        n_cells = u.function_space.mesh.topology.index_map(u.function_space.mesh.topology.dim).size_global
        #: whether the direct solver keeps its LU factorization across Newton iterations
        self.keeps_factorization = linear_solver == "direct" and n_cells >= KEEP_FACTORIZATION_CELLS
        if linear_solver == "direct" and not self.keeps_factorization:
            self.ksp.setType(PETSc.KSP.Type.PREONLY)
            pc = self.ksp.getPC()
            pc.setType(PETSc.PC.Type.LU)
            if "mumps" in _solver_packages():
                pc.setFactorSolverType("mumps")
            # the KSP solves' time (the factorization inside them) without a PreconditionerReuse
            self.ksp.setPreSolve(lambda ksp, b, x: self.times.start("krylov"))
            self.ksp.setPostSolve(lambda ksp, b, x: self.times.stop("krylov"))
        elif linear_solver == "direct":
            # LU (MUMPS) as the preconditioner of Richardson iterations (iterative refinement),
            # the factorization kept across the Newton iterations of a time step while a few
            # iterations suffice with it (PreconditionerReuse) and factorized afresh at the
            # first solve after every accepted time step (new_time_level). Measured on a
            # 24 x 16 x 16 LCO | LLZO composite (9 813 cells, 51 steps, 159 Newton
            # iterations): MUMPS's numeric factorization was ~70 % of the CPU of the run with
            # one per Newton iteration (~90 ms each, against ~7 ms per triangular solve);
            # kept, 53 factorizations (docs/discharge.md, "Performance").
            # Why Richardson and not GMRES, and why afresh at every accepted step: a run must
            # give the same numbers bit for bit whatever ran before it in the process (a
            # sweep's points, test_sweep) and whether or not it was resumed from a checkpoint
            # (test_checkpoint). GMRES's iterate is a combination with coefficients from dot
            # products, whose last bits depended on the heap state (the same case run after
            # another one in the process: a capacity apart in its last two digits);
            # Richardson's iterate is built from matrix products, triangular solves and
            # additions only (the norms decide only when to stop), and with a fresh
            # factorization its first iterate is the LU solve itself (the answer of preonly
            # LU, accepted as such: _direct_converged). A factorization kept across time steps
            # would tie a step to the state of an earlier step, which a resumed run does not
            # have; a checkpoint can be written after any accepted step (every N steps, by wall
            # time, on SIGINT), so the factorization goes with each of them (the reverted
            # version kept it across steps: 26 factorizations here, but resumed runs and sweep
            # points differed).
            self.ksp.setType(PETSc.KSP.Type.RICHARDSON)
            self.ksp.setTolerances(rtol=DIRECT_RTOL, atol=1e-30, max_it=DIRECT_MAX_IT)
            pc = self.ksp.getPC()
            pc.setType(PETSc.PC.Type.LU)
            if "mumps" in _solver_packages():
                pc.setFactorSolverType("mumps")
            # no KSPReset at a new factorization: it would redo MUMPS's analysis (ordering,
            # symbolic factorization) that the fixed nonzero pattern lets it keep
            self._reuse = PreconditionerReuse(self.ksp, reset=False, times=self.times)
            self._r0 = 0.0
            self.ksp.setConvergenceTest(self._direct_converged)
        else:
            # Inexact Newton: rtol 1e-6 in every iteration; the convergence test is on the
            # nonlinear residual and update, so the answer keeps tol_phi / tol_x (fewer
            # iterations than rtol 1e-9, docs/discharge.md). BiCGStab keeps 9 vectors (16 B per
            # cell each) where GMRES(10) kept 15: 70 MB per rank less at 100^3 for ~25 % more
            # linear-solver time (docs/discharge.md, "Memory").
            self.ksp.setType(PETSc.KSP.Type.BCGS)
            self.ksp.setTolerances(rtol=1e-6, atol=1e-30, max_it=400)
            pc = self.ksp.getPC()
            pc.setType(PETSc.PC.Type.PYTHON)
            pc.setPythonContext(
                PhiAMGThenJacobi(
                    self.scale, prefix + "phi_", prefix + "c_" if second_amg else None, potential_shift,
                    times=self.times,
                )
            )
            self._reuse = PreconditionerReuse(self.ksp, stale_limit=3.0, times=self.times)
        try:
            with self._options_active():
                snes.setFromOptions()
        except PETSc.Error as exc:
            raise self._options_error(exc) from None
        self._user_max_it = self.options.given("snes_max_it")
        self._shell = None
        self._x_before = None
        if snes.getLineSearch().getType() == PETSc.SNESLineSearch.Type.SHELL:
            # the iterate before the step, which the halvings start from: the line search's
            # solution work vector (SNES would otherwise allocate it at its set-up)
            self._x_before = u.x.petsc_vec.duplicate()
            self._shell = linesearch.ShellLineSearch(snes, self._line_search, self._x_before)
        self._jacobian_set = False
        self._du = None  # see du
        self._solved_once = False  # the unused options are reported after the first solve
        self._clipped = (np.zeros(0, dtype=np.intp), np.zeros(0))  # see _precheck
        self._merit = np.inf
        self._small, self._d_prev, self._failure = False, None, ""

    # -- options ---------------------------------------------------------------------------
    def _options_active(self):
        """The user's options, and the BoomerAMG defaults of the block preconditioner for those
        the user did not set, in PETSc's database while PETSc may read them (set-up and solves;
        removed afterwards so that they neither leak into other solvers nor end as "unused
        database options" at exit)."""
        defaults = None
        if self.linear_solver == "iterative":
            pre = self.options.prefix + "phi_"
            defaults = {pre + k: v for k, v in BOOMERAMG_3D.items()}
            if self.second_amg:
                pre = self.options.prefix + "c_"
                defaults.update({pre + k: v for k, v in BOOMERAMG_3D.items()})
        return self.options.active(defaults)

    @property
    def max_it(self) -> int:
        """The Newton iteration limit (a ``snes_max_it`` the user set in ``petsc_options`` wins
        over any value assigned here)."""
        return self.snes.getTolerances()[3]

    @max_it.setter
    def max_it(self, value: int):
        if not self._user_max_it:
            self.snes.setTolerances(max_it=int(value))

    # -- set-up -----------------------------------------------------------------------------
    def compact_sparsity(self, probes):
        """Keep only the Jacobian entries that are nonzero at any of the states ``probes`` (local
        arrays of ``u``; generic states: no two neighbours equal, no stoichiometry at a bound),
        about half of DOLFINx's block pattern (:mod:`fem_assb.solvers.sparsity`). ``u`` is left
        as it was. An entry outside the pattern is still assembled (exactly, only more slowly).
        Call before the first solve (the full matrix is not yet referenced by the SNES then)."""
        if self._jacobian_set:
            raise RuntimeError("compact_sparsity must be called before the first solve")
        saved = self.u.x.array.copy()
        self.A.zeroEntries()
        for probe in probes:  # the sum of the Jacobians: nonzero where any of them is
            self.u.x.array[:] = probe
            self.u.x.scatter_forward()
            self.J_form.assemble_matrix(self.A)
        self.A.assemble()
        self.ksp.reset()  # a reference of the solver's would keep the full matrix alive
        self.A = compact_matrix(self.A)
        release_free_heap()
        self.u.x.array[:] = saved
        self.u.x.scatter_forward()
        if self._reuse is not None:
            self._reuse.request()

    def _set_jacobian(self):
        """Hand the (final) Jacobian matrix to the SNES, once."""
        if not self._jacobian_set:
            self.snes.setJacobian(self._jacobian_callback, self.A, self.A)
            self.ksp.setOperators(self.A)
            self._jacobian_set = True

    @property
    def du(self) -> PETSc.Vec:
        """The Newton update vector: SNES's own once it has solved (a Vec wrapping NULL before;
        outside SNES, e.g. for :meth:`_linear_solve` in tests, a vector of the solver's)."""
        y = self.snes.getSolutionUpdate()
        if y.handle:
            return y
        if self._du is None:
            self._du = self.A.createVecRight()
        return self._du

    # -- assembly ---------------------------------------------------------------------------
    def _assemble_residual(self):
        """b = F(u)."""
        with self.times("residual"):
            with self.b.localForm() as bl:
                bl.set(0.0)
            self.F_form.assemble_vector(self.b)
            self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)

    def _assemble_jacobian(self):
        """A = J(u) and the residual scaling 1 / diag(J)."""
        with self.times("jacobian"):
            self.A.zeroEntries()
            self.J_form.assemble_matrix(self.A)
            self.A.assemble()
            self.A.getDiagonal(self.scale)
            d = self.scale.array
            d[d == 0] = 1.0
            self.scale.reciprocal()

    def _load(self, x):
        """u = x (SNES may evaluate at a vector of its own, e.g. the trial point of a built-in
        line search), ghosts included."""
        if x.handle != self.u.x.petsc_vec.handle:
            x.copy(self.u.x.petsc_vec)
        self.u.x.scatter_forward()

    def _residual_callback(self, snes, x, f):
        self._load(x)
        self._assemble_residual()

    def _jacobian_callback(self, snes, x, J, P):
        self._load(x)
        self._assemble_jacobian()
        if snes.getIterationNumber() == 0:
            # the merit of the starting point, scaled by its own Jacobian diagonal
            self._merit = self._merit_of(self._scaled_residual_norms())
        self._prepare_linear_solver()

    def _prepare_linear_solver(self):
        if self._reuse is not None:
            self._reuse.prepare(self.A)

    def _linear_solve(self):
        """du = A^-1 b outside SNES (tests); returns (iterations, KSP converged reason)."""
        self._set_jacobian()
        du = self.du
        with self._options_active():
            self._prepare_linear_solver()
            self.ksp.solve(self.b, du)
        return self.ksp.getIterationNumber(), self.ksp.getConvergedReason()

    # -- norms ------------------------------------------------------------------------------
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

    def _merit_of(self, r) -> float:
        return float(np.max(r / self.tol)) if np.all(np.isfinite(r)) else np.inf

    # -- SNES callbacks -----------------------------------------------------------------------
    def _precheck(self, x, y):
        """Line-search pre-check of the Newton update ``y`` (SNES steps to x - y): phi updates
        limited to ``max_dphi``, stoichiometries kept inside (0, 1) (:func:`keep_inside`). Also
        records the update's size for the convergence test."""
        d = self._block_max(y.array_r)
        if not np.all(np.isfinite(d)):
            self._failure = "the Newton update is not finite"
            self.snes.setConvergedReason(PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE)
            return False
        step = min(1.0, self.max_dphi / d[0]) if d[0] > 0 else 1.0
        # Accepted only at the next residual check: the inexact (rtol 1e-6) solves leave a
        # residual that an update-only test would miss (charge conservation needs it small).
        self._small = step == 1.0 and bool(np.all(np.minimum(d, error_estimate(d, self._d_prev)) < self.tol))
        self._d_prev = d
        if step < 1.0:
            y.scale(step)
        # Stoichiometries that would leave (0, 1): the update moves them to keep_inside's point.
        # Their full updates are kept (a few cells) so that a halved step applies the rule
        # again to the halved update, not to half of the already limited one.
        xo = x.array_r[1 : 2 * self.nown : 2]
        yx = y.array[1 : 2 * self.nown : 2]
        target = xo - yx
        inside = keep_inside(target, xo, upper=self.x_upper)
        idx = np.flatnonzero(inside != target)
        self._clipped = (idx, yx[idx].copy())
        yx[idx] = xo[idx] - inside[idx]
        return True

    def _line_search(self):
        """Backtracking on the merit (largest scaled-residual block norm over its tolerance,
        scaled by the Jacobian diagonal of the current iterate): the step is halved while the
        merit did not fall below that of the current iterate, up to ``max_backtracks`` times;
        every trial point is made by the pre-check's rules. Returns (||x||, ||F||, ||step||,
        succeeded). Without it Newton wandered at the end of discharge, where saturating cells
        make the problem strongly nonlinear (15 iterations, then a cut step, docs/discharge.md).
        """
        snes = self.snes
        x, y, x0 = snes.getSolution(), self.du, self._x_before  # x: u's own vector
        changed = self._shell.precheck(x, y)  # as PETSc's own line searches do
        if snes.getConvergedReason() < 0:  # the pre-check found the update unusable
            return 0.0, np.inf, 0.0, False
        x.copy(x0)
        merit0, lam = self._merit, 1.0
        r = None
        for k in range(self.max_backtracks + 1):
            if k > 0:
                lam *= 0.5
                self._small = False
            self._trial(x0, y, lam, changed)
            snes.computeFunction(x, self.b)
            r = self._scaled_residual_norms()
            merit = self._merit_of(r)
            if merit < merit0 or merit0 <= 1.0:
                break
        self._merit = merit
        fnorm = self.b.norm()
        ok = bool(np.isfinite(fnorm))
        return x.norm(), fnorm, lam * y.norm(), ok

    def _trial(self, x0, y, lam, changed):
        """u = x0 - lam y; the cells whose update the pre-check moved to keep_inside's point get
        keep_inside applied to lam times their own update instead (as before the halving)."""
        x = self.u.x.petsc_vec
        x.waxpy(-lam, y, x0)
        if changed:
            idx, full = self._clipped
            if idx.size:
                xa = x.array[1 : 2 * self.nown : 2]
                xo = x0.array_r[1 : 2 * self.nown : 2][idx]
                up = self.x_upper if np.isscalar(self.x_upper) else self.x_upper[idx]
                xa[idx] = keep_inside(xo - lam * full, xo, upper=up)
        self.u.x.scatter_forward()

    def _converged(self, snes, it, norms):
        """Convergence test: scaled residual per block below its tolerance and the last update
        (or its contraction error estimate) too; not at the starting point."""
        if it == 0:
            return PETSc.SNES.ConvergedReason.ITERATING
        r = self._scaled_residual_norms()
        if not np.all(np.isfinite(r)):
            return PETSc.SNES.ConvergedReason.DIVERGED_FUNCTION_NANORINF
        if self._small and np.all(r < self.tol):
            return PETSc.SNES.ConvergedReason.CONVERGED_FNORM_ABS
        if it >= snes.getTolerances()[3]:
            return PETSc.SNES.ConvergedReason.DIVERGED_MAX_IT
        return PETSc.SNES.ConvergedReason.ITERATING

    # -- solve ------------------------------------------------------------------------------
    def solve(self) -> NewtonResult:
        """Solve from the current ``u`` (updated in place). A failure (reason < 0) leaves ``u``
        at the last iterate; the caller restores its state (a failed step is never accepted).

        A Krylov solve that failed with a preconditioner set up for an earlier Jacobian stops
        SNES (``DIVERGED_LINEAR_SOLVE``); the solve is then resumed once from the same iterate
        with a preconditioner set up afresh, within the iterations left."""
        self._set_jacobian()
        self._merit, self._small, self._d_prev, self._failure = np.inf, False, None, ""
        max_it = self.max_it
        its = lin = 0
        try:
            while True:
                self._snes_solve()
                its += self.snes.getIterationNumber()
                lin += self.snes.getLinearSolveIterations()
                reason = self.snes.getConvergedReason()
                retry = (
                    reason == PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE
                    and self._reuse is not None
                    and self._reuse.failed_with_old
                    and its < max_it
                    and not self._failure
                )
                if not retry:
                    break
                self._reuse.request()
                self.snes.setTolerances(max_it=max_it - its)
                self._merit = np.inf
        finally:
            self.snes.setTolerances(max_it=max_it)
        self.u.x.scatter_forward()
        if reason > 0:
            return NewtonResult(True, its, lin)
        if reason == PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE:
            self._reset_ksp()  # a failed factorization would otherwise stick to the next solves
        return NewtonResult(False, its, lin, self._explain(reason))

    def _snes_solve(self):
        first = not self._solved_once
        self._solved_once = True
        try:
            with self._options_active(), self.times("newton"):
                self.snes.solve(None, self.u.x.petsc_vec)
        except PETSc.Error as exc:
            if self._shell is not None and self._shell.error is not None:
                err, self._shell.error = self._shell.error, None
                raise err from None
            if self.options.options:  # e.g. a solver type read only at the set-up
                raise self._options_error(exc) from None
            raise
        finally:
            if first:
                self._report_unused()

    def _explain(self, reason) -> str:
        name = _SNES_REASONS.get(reason, f"SNES reason {reason}")
        R = PETSc.SNES.ConvergedReason
        if reason == R.DIVERGED_MAX_IT:
            words = f"no convergence within {self.max_it} Newton iterations"
        elif reason == R.DIVERGED_LINEAR_SOLVE:
            k = self.ksp.getConvergedReason()
            words = self._failure or (
                f"the linear solver failed ({_KSP_REASONS.get(k, k)} after "
                f"{self.ksp.getIterationNumber()} iterations)"
            )
        elif reason == R.DIVERGED_FUNCTION_NANORINF:
            words = "the residual is not finite (NaN or Inf)"
        elif reason == R.DIVERGED_LINE_SEARCH:
            words = "the line search failed"
        elif reason == R.DIVERGED_FUNCTION_COUNT:
            words = "too many residual evaluations"
        else:
            words = "the Newton solve failed"
        return f"{name}: {words}"

    def _options_error(self, exc: PETSc.Error) -> InputError:
        """A PETSc error raised while the user's options were in force, in plain words."""
        lines = [ln.split("]", 1)[-1].strip() for ln in str(exc).splitlines() if ln.strip()]
        given = ", ".join(f"{k}: {'true' if v is None else v}" for k, v in self.options.options.items())
        return InputError(
            f"petsc_options: PETSc stopped with error {exc.ierr} ({lines[-1] if lines else 'no message'}) "
            f"with the options {{{given}}}; check their names and values (PETSc's manual pages list "
            "them; a viewer option such as snes_monitor takes true or a viewer, not false)."
        )

    def _report_unused(self):
        self.unused_options = self.options.unused()
        if self.unused_options:
            names = ", ".join("-" + self.options.prefix + n for n in self.unused_options)
            self._report(
                f"PETSc did not use the option(s) {names} (given in petsc_options): misspelt, or not "
                "read by this solver configuration; they have no effect."
            )

    def _direct_converged(self, ksp, its, rnorm):
        """The direct solver's Richardson convergence test: with a fresh factorization the first
        iterate (the LU solve) is the answer; with a kept one, rtol / atol of the KSP, diverged
        when the residual did not fall below the first one or after max_it iterations."""
        R = PETSc.KSP.ConvergedReason
        if not np.isfinite(rnorm):
            return R.DIVERGED_NANORINF
        if its == 0:
            self._r0 = rnorm
            return R.CONVERGED_ATOL if rnorm == 0.0 else R.ITERATING
        if self._reuse.fresh:
            return R.CONVERGED_ITS
        rtol, atol, _, max_it = ksp.getTolerances()
        if rnorm <= max(rtol * self._r0, atol):
            return R.CONVERGED_RTOL
        if its >= 2 and rnorm >= self._r0:
            return R.DIVERGED_DTOL
        if its >= max_it:
            return R.DIVERGED_MAX_IT
        return R.ITERATING

    def new_time_level(self):
        """Call after every accepted time step: the direct solver factorizes afresh at its next
        solve, so that what a step computes depends only on the state it starts from (a
        checkpoint's), not on a factorization of an earlier step. (The iterative solver keeps
        its preconditioner: a resumed run agrees with it to round-off, test_checkpoint.)"""
        if self.linear_solver == "direct" and self._reuse is not None:
            self._reuse.request()

    def rebuild_preconditioner(self):
        """Set the iterative solver's preconditioner up again at the next solve (call when the
        problem changed, e.g. the time step by orders of magnitude)."""
        if self._reuse is not None:
            self._reuse.request()

    def _reset_ksp(self):
        """Forget a failed LU factorization (its analysis too); the preconditioner is set up
        afresh at the next solve."""
        if self.linear_solver == "direct":
            self.ksp.reset()
            self.ksp.setOperators(self.A)
        if self._reuse is not None:
            self._reuse.request()

    def destroy(self):
        """Free the PETSc objects (SNES, KSP, preconditioner, matrix, vectors); again: nothing."""
        for obj in (self.snes, self.A, self.b, self.scale, self._x_before, self._du):
            if obj is not None:
                obj.destroy()
        self.snes = self.A = self.b = self.scale = self._x_before = self._du = None


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
    estimate = np.full_like(d, np.inf)  # not contracting (theta >= 1, or no previous update)
    estimate[contracting] = theta[contracting] / (1.0 - theta[contracting]) * d[contracting]
    return estimate


def keep_inside(x_new, x_old, fraction: float = 0.9, upper=1.0):
    """Stoichiometries of a Newton (or predictor) update kept inside (0, 1) per cell: where x_new
    leaves the interval the cell moves ``fraction`` of the way from x_old to the bound instead.
    ``upper``: the upper bound (a number or one per cell; inf: positivity only, the liquid's
    c_e / c_e0, docs/liquid.md).

    Clipping to the bound itself put saturating surface cells where i0 ~ sqrt(c_max - c) has an
    infinite derivative, and Newton cycled between the bound and 0.99 (a 32^3 cathode at the
    end of discharge, docs/discharge.md); this fraction-to-the-boundary rule approaches it.
    """
    x_old = np.clip(x_old, 0.0, upper)
    with np.errstate(invalid="ignore"):  # inf - inf where x_old is inf: never selected
        out = np.where(x_new >= upper, x_old + fraction * (upper - x_old), x_new)
    return np.where(out <= 0.0, (1.0 - fraction) * x_old, out)


def _print_on_rank0(comm, message: str):
    if comm.rank == 0:
        print(f"fem-assb: {message}", file=sys.stderr, flush=True)


def _solver_packages() -> set:
    try:
        from petsc4py import PETSc as P

        return {p for p in ("mumps", "superlu_dist") if P.Sys.hasExternalPackage(p)}
    except Exception:  # pragma: no cover
        return set()

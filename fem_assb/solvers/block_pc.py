"""Block preconditioner of the (phi, x) Newton system: BoomerAMG on phi, then Jacobi on x
(or, where the second field holds a liquid's c_e, a second BoomerAMG on the x block).

The same operator as PETSc's multiplicative PCFIELDSPLIT with BoomerAMG on field 0 and Jacobi
on field 1,

    y_phi = AMG(A_phi,phi) r_phi,    y_x = D_x^-1 (r_x - A_x,phi y_phi),

without the copies PCFIELDSPLIT makes (both diagonal blocks and the coupling block, and the
phi block again inside hypre): the phi block is extracted once and handed to hypre in its own
format, the coupling product is a product with the whole Jacobian, and D_x^-1 is the inverse
Jacobian diagonal the Newton solver keeps anyway. On a 48^3 cathode this is 250 B per cell
less than the field split (docs/discharge.md, "Memory").

Unknowns are interleaved per cell (block size 2: phi, x), so the phi entries of a local array
are ``a[0::2]`` and the x entries ``a[1::2]``.
"""

from __future__ import annotations

from petsc4py import PETSc

from fem_assb.memory import release_free_heap
from fem_assb.solvers.hypre_matrix import hypre_submatrix
from fem_assb.solvers.timers import StageTimes


class PhiAMGThenJacobi:
    """petsc4py Python-PC context. inverse_diagonal: PETSc Vec of 1 / diag(J) (kept current by
    the caller); prefix: options prefix of the inner BoomerAMG PC, which reads the options
    database at every set-up (the caller puts its options there, e.g.
    :data:`fem_assb.solvers.linear.BOOMERAMG_3D`).

    ``second_amg_prefix``: None (Jacobi on the second field) or the options prefix of a second
    BoomerAMG on the whole second-field block, used where that block holds the electrolyte
    concentration of a liquid (docs/liquid.md, "Solver"): a diffusion operator over the pore
    network, which Jacobi leaves to the Krylov method (measured on cases/lib_le_small.yaml:
    140 BiCGStab iterations per Newton iteration with Jacobi)."""

    def __init__(
        self, inverse_diagonal, prefix: str, second_amg_prefix: str | None = None, shift=None, times=None
    ):
        self.dinv = inverse_diagonal
        self.shift = shift
        self.d = None  # the shift's values at the last set-up (a Vec laid out like the phi block)
        self.times = times if times is not None else StageTimes()  # "pc_apply", "pc_amg"
        self.prefix = prefix
        self.second_prefix = second_amg_prefix
        self.amg = None
        self.H = None  # the phi block in hypre's format
        self.is_phi = None
        self.r_phi = self.y_phi = self.w = None
        self.amg_c = self.H_c = self.is_c = None  # the second block's AMG (second_amg_prefix)
        self.r_c = self.y_c = None

    def setUp(self, pc):
        A, P = pc.getOperators()
        comm = P.getComm()
        if self.is_phi is None:
            r0, r1 = P.getOwnershipRange()
            self.is_phi = PETSc.IS().createStride((r1 - r0) // 2, first=r0, step=2, comm=comm)
            if self.second_prefix is not None:
                self.is_c = PETSc.IS().createStride((r1 - r0) // 2, first=r0 + 1, step=2, comm=comm)
            self.w = A.createVecLeft()
        else:  # the old hierarchies and blocks go before the new ones are built (peak memory)
            for obj in (self.amg, self.H, self.amg_c, self.H_c):
                if obj is not None:
                    obj.destroy()
            release_free_heap()
        self.amg, self.H = self._amg(P, self.is_phi, self.prefix)
        if self.r_phi is None:
            self.r_phi, self.y_phi = self.H.createVecs()
        if self.is_c is not None:
            plus = None
            if self.shift is not None:
                if self.d is None:
                    self.d = self.r_phi.duplicate()
                self.d.array[:] = self.shift()
                plus = (self.is_phi, self.d)
            self.amg_c, self.H_c = self._amg(P, self.is_c, self.second_prefix, plus)
            if self.r_c is None:
                self.r_c, self.y_c = self.H_c.createVecs()

    @staticmethod
    def _amg(P, rows, prefix: str, plus=None):
        """BoomerAMG (options under ``prefix``) set up on the diagonal block ``rows`` of P (plus
        ``plus``, see :func:`hypre_submatrix`), extracted in hypre's format (no COO delegate)."""
        amg = PETSc.PC().create(P.getComm())
        amg.setOptionsPrefix(prefix)
        amg.setFromOptions()
        H = hypre_submatrix(P, rows, plus)
        amg.setOperators(H)
        amg.setUp()
        release_free_heap()  # the set-up's temporaries, before the next assembly allocates
        return amg, H

    def apply(self, pc, r, y):
        with self.times("pc_apply"):
            return self._apply(pc, r, y)

    def _apply(self, pc, r, y):
        A, _ = pc.getOperators()
        ra = r.getArray(readonly=True)
        self.r_phi.array[:] = ra[0::2]
        self._vcycle(self.amg, self.r_phi, self.y_phi)
        ya = y.getArray()
        ya[0::2] = self.y_phi.array
        ya[1::2] = 0.0
        A.mult(y, self.w)  # (A y)_x = A_x,phi y_phi
        ya = y.getArray()
        if self.amg_c is None:
            ya[1::2] = self.dinv.array[1::2] * (ra[1::2] - self.w.array[1::2])
            return
        self.r_c.array[:] = ra[1::2] - self.w.array[1::2]
        self._vcycle(self.amg_c, self.r_c, self.y_c)
        ya[1::2] = self.y_c.array
        if self.d is not None:  # y = T z
            ya[0::2] += self.d.array * self.y_c.array

    def _vcycle(self, amg, r, y):
        """One BoomerAMG cycle, timed as "pc_amg" (the V-cycles alone; the rest of pc_apply is
        copies, A y and Jacobi)."""
        with self.times("pc_amg"):
            amg.apply(r, y)

    def view(self, pc, viewer):
        second = "Jacobi" if self.second_prefix is None else "BoomerAMG"
        viewer.printfASCII(f"BoomerAMG on phi (hypre matrix), then {second} on the second field\n")

    def destroy(self, pc):
        for obj in (self.amg, self.H, self.is_phi, self.r_phi, self.y_phi, self.w, self.amg_c, self.H_c,
                    self.is_c, self.r_c, self.y_c, self.d):
            if obj is not None:
                obj.destroy()


class PreconditionerReuse:
    """Keeps a KSP's preconditioner across solves while it works.

    The preconditioner is set up again only when the last solve needed more than ``factor``
    times the iterations of the first solve after the last set-up (and ``margin`` more), when a
    solve failed, or on :meth:`request`. The BoomerAMG set-up cost as much as ~8 Krylov
    iterations; setting it up in every Newton iteration was 40 % of a solve at 48^3
    (docs/discharge.md, "Solver").

    The rule is attached to the KSP's pre- and post-solve hooks (``KSPSetPreSolve``, run after
    SNES set its operators, which also resets the reuse flag after every Jacobian; and
    ``KSPSetPostSolve``). The owner calls :meth:`prepare` once the next operator is assembled:
    a due set-up is done there, before the solve, with the Krylov work vectors released
    (``KSPReset``; the solve allocates them again), so that BoomerAMG's set-up temporaries do
    not come on top of them (at 100^3 on 2 ranks the rebuilds had set the peak memory, ~50 MB
    per rank above the steady size, docs/discharge.md, "Memory"). ``reset=False`` skips that
    ``KSPReset`` (the direct solver's LU: a reset would make MUMPS redo its analysis too).

    ``stale_limit``: with a kept preconditioner a solve may take at most
    ``max(stale_limit * base, base + 4 * margin)`` iterations (``base``: those of the first solve
    after the set-up); then it fails and the owner redoes it with a fresh one
    (:meth:`BlockNewton.solve`). Measured on the seed 001 LIB at 8 mA/cm^2 (6 061 cells) as its
    electrolyte depletes: 51 solves with a kept AMG ran to the 400-iteration limit, 17 489 of
    the run's 23 429 BiCGStab iterations, while every solve with a fresh one converged
    (docs/liquid.md, "Solver"). None: no limit but the KSP's own (the direct solver's
    Richardson iterations).

    After such a failure the next ``FRESH_AFTER_STALE`` solves get a fresh preconditioner each:
    on that LIB, at depletion, a fresh one converged in 9-12 iterations while a kept one went
    stale within one or two Newton iterations (76 cut solves, each also costing the retry's
    assembly, before this rule).

    ``times``: a :class:`fem_assb.solvers.timers.StageTimes` that gets the set-ups ("pc_setup")
    and the solves ("krylov", from the pre- to the post-solve hook).
    """

    #: solves set up afresh after a solve with a kept preconditioner failed (stale_limit only)
    FRESH_AFTER_STALE = 10

    def __init__(
        self, ksp: PETSc.KSP, factor: float = 2.0, margin: int = 5, reset: bool = True,
        stale_limit: float | None = None, times=None,
    ):
        self.ksp, self.factor, self.margin, self.reset = ksp, factor, margin, reset
        self.stale_limit = stale_limit
        self.times = times if times is not None else StageTimes()
        self.fresh_left = 0  # solves still to get a fresh preconditioner after a stale one failed
        self.max_it = None  # the KSP's own iteration limit (read at the first solve)
        self.due, self.fresh, self.base = True, False, 0
        #: whether the last solve failed with a preconditioner set up for an earlier operator
        self.failed_with_old = False
        ksp.setPreSolve(self._pre_solve)
        ksp.setPostSolve(self._post_solve)

    def request(self):
        """Set the preconditioner up again before the next solve."""
        self.due = True

    def prepare(self, A: PETSc.Mat):
        """Called with the operator of the next solve, once assembled: a due set-up now."""
        if not self.due:
            return
        if self.reset:
            self.ksp.reset()
        self.ksp.setOperators(A)
        pc = self.ksp.getPC()
        pc.setReusePreconditioner(False)
        with self.times("pc_setup"):
            pc.setUp()
        self.due, self.fresh = False, True

    def _pre_solve(self, ksp, b, x):
        # kept unless just set up (then unchanged anyway: its operator state is current)
        ksp.getPC().setReusePreconditioner(not self.fresh)
        if self.stale_limit is not None:
            if self.max_it is None:
                self.max_it = ksp.getTolerances()[3]
            limit = self.max_it
            if not self.fresh:
                limit = min(limit, int(max(self.stale_limit * self.base, self.base + 4 * self.margin)))
            ksp.setTolerances(max_it=limit)
        self.times.start("krylov")

    def _post_solve(self, ksp, b, x):
        self.times.stop("krylov")
        its, reason = ksp.getIterationNumber(), ksp.getConvergedReason()
        if self.fresh:
            self.base = its
        limit = max(self.factor * self.base, self.base + self.margin)
        self.failed_with_old = reason < 0 and not self.fresh
        if self.failed_with_old and self.stale_limit is not None:
            self.fresh_left = self.FRESH_AFTER_STALE
        elif self.fresh_left > 0:
            self.fresh_left -= 1
        self.due = self.due or reason < 0 or its > limit or self.fresh_left > 0
        self.fresh = False

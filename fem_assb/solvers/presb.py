"""PRESB: an iterative solver of the complex-as-real block system of the impedance spectrum.

Each frequency of the small-signal response (docs/impedance.md, MODEL.md §5) solves

    [[A, -B],     [x]   [f]
     [B,  A]]  .  [y] = [g],        A = J (steady Jacobian),  B = w M (storage mass x w),

the real form of (J + i w M)(x + i y) = f + i g. The PRESB preconditioner ("preconditioned square
block"; Axelsson, Neytcheva and Ahmad, Numer. Algorithms 66 (2014) 811; Axelsson, Boyanova,
Kronbichler, Neytcheva and Wu, Numer. Linear Algebra Appl. 20 (2013) 123) is

    P = [[A, -B], [B, A + 2B]] = [[I, -I], [0, I]] [[H, 0], [B, H]] [[I, I], [0, I]],  H = A + B,

so P^-1 [f; g] costs two solves with H = J + w M and one product with B:

    w1 = H^-1 (f + g),   w2 = H^-1 (g - B w1),   x = w1 - w2,   y = w2.

For A, B symmetric positive semidefinite with A + B regular, the eigenvalues of P^-1 [[A, -B],
[B, A]] lie in [1/2, 1] whatever w is: the Krylov iteration count does not grow over the
frequency range. Here J is a Jacobian at open circuit (symmetric up to the BV couplings) and M
is positive semidefinite (the CAM Li storage on the x rows, the double layers on the phi rows),
and J + w M is regular for w > 0 (J alone is singular: the CAM Li content is free without its
storage term).

H is J + w M, a Jacobian of the cell with a larger mass term, so each H^-1 is one application
of the cell's own block preconditioner (:class:`~fem_assb.solvers.block_pc.PhiAMGThenJacobi`:
BoomerAMG on the phi block of H, then Jacobi on x), set up for the frequency. The outer solve is
GMRES, right-preconditioned (the residual it tests is the true one), on a matrix-free operator
built from J and M (no 2n x 2n matrix is formed).

Unknowns: on each rank the owned rows of the real part, then of the imaginary part (the layout
of :class:`fem_assb.studies.impedance.SmallSignal`'s direct path); J and M keep DOLFINx's
interleaved (phi, x) layout inside each half.
"""

from __future__ import annotations

import time

import numpy as np
from petsc4py import PETSc

from fem_assb.memory import release_free_heap
from fem_assb.solvers.block_pc import PhiAMGThenJacobi
from fem_assb.solvers.linear import BOOMERAMG_3D
from fem_assb.solvers.options import SolverOptions


def without_zeros(A: PETSc.Mat) -> PETSc.Mat:
    """A copy of the assembled AIJ matrix ``A`` without its stored zeros (diagonal entries kept),
    as a plain AIJ matrix (block size 1) of the same layout.

    DOLFINx assembles the cell's Jacobian on the blocked (phi, x) pattern of every integral, so
    most stored entries are zeros (the x-x couplings outside the CAM, the phi-x couplings of
    facets without a reaction): on the 16^3 seed 004 composite 61 % of J's 142 188 stored
    entries and 78 % of M's 42 340. The impedance solves multiply by J and M at every Krylov
    iteration (and BoomerAMG and the LU factorization read them), so dropping the zeros once
    cuts that memory traffic (32^3, 12 frequencies: MatMult 4.4 -> 2.5 s, the spectrum's CPU
    time -19 %, the iterations unchanged); the products change by rounding only (the summation
    order of the blocked kernel)."""
    indptr, cols, vals = A.getValuesCSR()
    r0 = A.getOwnershipRange()[0]
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    keep = (vals != 0.0) | (cols == rows + r0)
    counts = np.bincount(rows[keep], minlength=len(indptr) - 1)
    ip = np.concatenate([[0], np.cumsum(counts)]).astype(PETSc.IntType)
    B = PETSc.Mat().createAIJ(
        A.getSizes(), csr=(ip, cols[keep].astype(PETSc.IntType), vals[keep]), comm=A.getComm()
    )
    B.assemble()
    return B


class _BlockOperator:
    """Matrix-free [[J, -w M], [w M, J]] (petsc4py Python Mat context)."""

    def __init__(self, owner):
        self.o = owner

    def mult(self, mat, X, Y):
        o = self.o
        n, s = o.n, o.s.array
        xa = X.getArray(readonly=True)
        o.vr.array[:] = s * xa[:n]
        o.vi.array[:] = s * xa[n:]
        ya = Y.getArray()
        o.J.mult(o.vr, o.t1)
        o.M.mult(o.vi, o.t2)
        ya[:n] = s * (o.t1.array - o.omega * o.t2.array)
        o.J.mult(o.vi, o.t1)
        o.M.mult(o.vr, o.t2)
        ya[n:] = s * (o.t1.array + o.omega * o.t2.array)


class _PRESBShell:
    """The PRESB preconditioner (petsc4py Python PC context), two H^-1 and one product with M."""

    def __init__(self, owner):
        self.o = owner

    def apply(self, pc, R, Y):
        o = self.o
        n, s = o.n, o.s.array
        ra = R.getArray(readonly=True)
        f, g = ra[:n] / s, ra[n:] / s  # the unscaled residual S^-1 r
        o.vr.array[:] = f + g
        o.inner.apply(o.vr, o.t1)  # w1 = H^-1 (f + g)
        o.M.mult(o.t1, o.t2)
        o.vi.array[:] = g - o.omega * o.t2.array
        o.inner.apply(o.vi, o.vr)  # w2 = H^-1 (g - w M w1)
        ya = Y.getArray()
        ya[:n] = (o.t1.array - o.vr.array) / s  # S^-1 P^-1 S^-1 r
        ya[n:] = o.vr.array / s


class PRESBSolver:
    """GMRES + PRESB for (J + i w M) u = b, one frequency after another.

    J, M: assembled PETSc AIJ matrices (n x n, the cell's layout, block size 2); they are kept
    (not copied) and must live as long as the solver. rtol: relative tolerance of the true
    residual; prefix: options prefix of the outer KSP (``-{prefix}ksp_monitor`` etc.), the inner
    BoomerAMG reads ``{prefix}phi_`` (default :data:`~fem_assb.solvers.linear.BOOMERAMG_3D`).
    """

    def __init__(
        self,
        J: PETSc.Mat,
        M: PETSc.Mat,
        *,
        rtol: float = 1e-10,
        max_it: int = 300,
        restart: int = 60,
        prefix: str = "fem_assb_impedance_",
    ):
        comm = J.getComm()
        self.J, self.M = J, M
        self.n = J.getLocalSize()[0]
        N = J.getSize()[0]
        self.omega = 0.0
        # H = J + w M on the union of the two patterns (M's is J's on these forms; DIFFERENT is
        # the safe first sum), values reset per frequency
        self.H = J.copy()
        self.H.axpy(1.0, M, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
        self.dinv = self.H.createVecRight()
        self.s = self.H.createVecRight()  # the scaling, see set_frequency
        self.vr, self.vi = J.createVecRight(), J.createVecRight()
        self.t1, self.t2 = J.createVecRight(), J.createVecRight()
        self.options = SolverOptions(prefix, {})
        # the Newton solver's BoomerAMG options; measured alternatives on the 32^3 seed 004
        # composite (12 frequencies 1 Hz .. 7 MHz, rtol 1e-8: 436 iterations, 8.4 s CPU) were all
        # slower: strong_threshold 0.6 457 it / 9.4 s (0.5 and 0.7 over 60 frequencies: +3 % and
        # +7 % iterations, +10 % CPU), P_max 2 464 / 8.5, agg_nl 2 578 / 10.0, PMIS 478 / 8.7,
        # l1scaled-Jacobi smoothing 839 / 13.0 (docs/impedance.md, "Performance")
        self.phi_defaults = {prefix + "phi_" + k: v for k, v in BOOMERAMG_3D.items()}
        inner = PETSc.PC().create(comm)
        inner.setType(PETSc.PC.Type.PYTHON)
        inner.setPythonContext(PhiAMGThenJacobi(self.dinv, prefix + "phi_"))
        inner.setOperators(self.H, self.H)
        self.inner = inner
        op = PETSc.Mat().createPython(
            ((2 * self.n, 2 * N), (2 * self.n, 2 * N)), _BlockOperator(self), comm=comm
        )
        op.setUp()
        self.op = op
        ksp = PETSc.KSP().create(comm)
        ksp.setOptionsPrefix(prefix)
        ksp.setType(PETSc.KSP.Type.GMRES)
        ksp.setGMRESRestart(restart)
        ksp.setPCSide(PETSc.PC.Side.RIGHT)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setTolerances(rtol=rtol, atol=0.0, max_it=max_it)
        # zero initial guess: the previous frequency's solution saved 1-2 of 20-40 iterations
        # (16^3) and can start far off after a jump in frequency (KSP DIVERGED_DTOL measured)
        ksp.setInitialGuessNonzero(False)
        pc = ksp.getPC()
        pc.setType(PETSc.PC.Type.PYTHON)
        pc.setPythonContext(_PRESBShell(self))
        ksp.setOperators(op)
        with self.options.active():
            ksp.setFromOptions()
        self.ksp = ksp
        self.iterations: list[int] = []  # per solve
        self._bs = None
        self.setups = 0
        self.setup_time = self.solve_time = 0.0  # s, summed over the solves

    def set_frequency(self, omega: float) -> None:
        """H = J + w M and its block preconditioner (BoomerAMG on phi set up anew).

        The block system is solved scaled symmetrically by S = |diag(J + w M)|^-1/2 (in both
        halves): the rows of J span ~10 orders of magnitude (metal conductances ~0.5 S against
        the CAM's Li storage ~1e-13), so that unscaled the true relative residual is rounding
        noise at ~5e-5 (||A|| ||x|| eps / ||b||, measured on an 8^3 composite) while GMRES's
        recursive residual reports 1e-13; scaled, the residual tested is that of O(1) rows."""
        self.omega = float(omega)
        H = self.H
        H.zeroEntries()
        H.axpy(1.0, self.J, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
        H.axpy(self.omega, self.M, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
        H.getDiagonal(self.dinv)
        d = np.abs(self.dinv.array)
        self.s.array[:] = 1.0 / np.sqrt(np.where(d > 0, d, 1.0))
        self.dinv.reciprocal()
        # set up for every frequency (measured on the 32^3 seed 004 composite, 60 frequencies
        # 1 Hz .. 7 MHz: the set-ups are 11-14 % of the spectrum; keeping a hierarchy until the
        # iterations grew by 1.5x (+5) made 11 set-ups instead of 60 but 2681 GMRES iterations
        # instead of 2194 and 34 % more CPU time: a stale hierarchy of J + w' M costs 3x the
        # iterations (74-109 against 23-33) once w C_DL is comparable with the conductances)
        with self.options.active(self.phi_defaults):
            self.inner.setOperators(H, H)
            self.inner.setUp()
        self.setups += 1
        release_free_heap()

    def solve(self, omega: float, b: PETSc.Vec, x: PETSc.Vec) -> int:
        """Solve the block system at ``omega`` (rad/s) for the 2n-vector ``b`` into ``x``;
        returns the KSP reason (< 0: not converged). Iterations are appended to
        :attr:`iterations`."""
        t0 = time.perf_counter()
        self.set_frequency(omega)
        t1 = time.perf_counter()
        self.setup_time += t1 - t0
        self.op.assemble()  # a new state: KSP sees a changed operator
        n, s = self.n, self.s.array
        if self._bs is None:
            self._bs = b.duplicate()
        self._bs.array[:n] = s * b.array_r[:n]
        self._bs.array[n:] = s * b.array_r[n:]
        with self.options.active(self.phi_defaults):
            self.ksp.setOperators(self.op)
            self.ksp.solve(self._bs, x)
        xa = x.getArray()
        xa[:n] *= s
        xa[n:] *= s
        self.iterations.append(self.ksp.getIterationNumber())
        self.solve_time += time.perf_counter() - t1
        return self.ksp.getConvergedReason()

    def create_vecs(self):
        """(x, b): 2n-vectors of the block layout."""
        return self.op.createVecs()

    def destroy(self) -> None:
        for obj in (
            self.ksp,
            self.op,
            self.inner,
            self.H,
            self.dinv,
            self.vr,
            self.vi,
            self.t1,
            self.t2,
            self.s,
            self._bs,
        ):
            if obj is not None:
                obj.destroy()

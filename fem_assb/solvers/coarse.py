"""Two-level preconditioner: an inner preconditioner plus a coarse correction on a few modes.

The cell's Jacobian has near-null modes that an algebraic multigrid on the potential rows does
not see: the potential level of a conductor network that is tied to the others only through
Butler-Volmer interfaces (the cathode's electronic network floats on the electrolyte through the
CAM | SE conductance, which is small per facet). Measured on a 24^3 voxel cathode: after a GMRES
solve to rtol 1e-6 with the field split alone, the error was a constant -3.3 mV on every
electronic cell (spread 3 uV), 30 % of the Newton update, so Newton converged linearly
(docs/discharge.md). A coarse space with one vector per network removes that mode:

    z  = M r                                   (inner preconditioner)
    z += W E^-1 R (r - A z),  E = R A W        (coarse correction, multiplicative)

W: the coarse vectors (indicator of a network's potential unknowns); R: the restriction, here
W^T times the row scaling undone (``row_weights``), so that R r is the network's Kirchhoff
balance in the unscaled equations (the conduction fluxes cancel in it exactly).
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc


class CoarseCorrection:
    """petsc4py Python-PC context: ``inner`` PC followed by a Galerkin correction on ``modes``.

    modes: list of numpy arrays over the owned entries of the unknown vector (the coarse vectors
    W); row_weights: callable returning a PETSc Vec w with R = (w * W)^T (the inverse of the
    row scaling applied to the matrix), or None for R = W^T; inner: a PETSc PC that is set up
    with the same operators.
    """

    def __init__(self, modes, inner: PETSc.PC, row_weights=None):
        self.modes_np = [np.asarray(m, dtype=PETSc.ScalarType) for m in modes]
        self.inner = inner
        self.row_weights = row_weights
        self.W = self.R = self.AW = self._res = None
        self.E_inv = None

    def setUp(self, pc):
        A, P = pc.getOperators()
        self.inner.setOperators(A, P)
        self.inner.setUp()
        if self.W is None:
            self.W = []
            for m in self.modes_np:
                v = A.createVecRight()
                v.array[:] = m
                self.W.append(v)
            self.R = [w.duplicate() for w in self.W]
            self.AW = [w.duplicate() for w in self.W]
            self._res = A.createVecLeft()
        weights = self.row_weights() if self.row_weights else None
        for w, r, aw in zip(self.W, self.R, self.AW, strict=True):
            if weights is None:
                w.copy(r)
            else:
                r.pointwiseMult(w, weights)
            A.mult(w, aw)
        k = len(self.W)
        E = np.array([[self.R[i].dot(self.AW[j]) for j in range(k)] for i in range(k)])
        # A mode absent on every rank (e.g. no separator) gives a zero row: leave it out.
        keep = np.abs(np.diag(E)) > 0
        self.keep = np.flatnonzero(keep)
        self.E_inv = np.linalg.inv(E[np.ix_(keep, keep)]) if keep.any() else None

    def apply(self, pc, r, z):
        self.inner.apply(r, z)
        if self.E_inv is None:
            return
        A, _ = pc.getOperators()
        A.mult(z, self._res)
        self._res.aypx(-1.0, r)  # res = r - A z
        rc = np.array([self.R[i].dot(self._res) for i in self.keep])
        c = self.E_inv @ rc
        for ci, i in zip(c, self.keep, strict=True):
            z.axpy(ci, self.W[i])

    def destroy(self, pc=None):
        for v in (self.W or []) + (self.R or []) + (self.AW or []) + ([self._res] if self._res else []):
            v.destroy()
        self.inner.destroy()

"""A SNES line search written in Python (PETSc's SNESLINESEARCHSHELL).

petsc4py wraps the line-search pre-check (``SNES.setLineSearchPreCheck``) but not the apply
routine of a shell line search, nor the calls such a routine makes (``SNESLineSearchSetNorms``,
``SNESLineSearchSetReason``); they are called here through ctypes on the PETSc library
petsc4py loaded (:mod:`fem_assb.solvers.petsc_c`).
"""

from __future__ import annotations

import ctypes

import numpy as np
from petsc4py import PETSc

from fem_assb.solvers.petsc_c import petsc_library

_APPLY = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_PETSC_ERR_USER = 83  # petscerror.h: "user-defined error"
_FAILED_NANORINF = 1  # SNES_LINESEARCH_FAILED_NANORINF


def _library():
    if np.dtype(PETSc.RealType) != np.float64:
        return None  # the norms are passed as C doubles
    lib = petsc_library("SNESLineSearchShellSetApply")
    if lib is None:
        return None
    ptr = ctypes.c_void_p
    lib.SNESLineSearchShellSetApply.argtypes = [ptr, _APPLY, ptr]
    lib.SNESLineSearchSetNorms.argtypes = [ptr, ctypes.c_double, ctypes.c_double, ctypes.c_double]
    lib.SNESLineSearchSetReason.argtypes = [ptr, ctypes.c_int]
    lib.SNESLineSearchSetVecs.argtypes = [ptr] * 6
    lib.PetscObjectReference.argtypes = [ptr]
    lib.SNESLineSearchPreCheck.argtypes = [ptr, ptr, ptr, ptr]
    return lib


def available() -> bool:
    """Whether a Python shell line search can be installed in this process."""
    return _library() is not None


class ShellLineSearch:
    """Installs ``apply`` as the apply routine of ``snes``'s line search (which must be of type
    ``shell``). ``apply()`` moves the SNES solution vector from the current iterate along the
    (pre-checked) update and evaluates the residual there, as any line search does, and
    returns ``(xnorm, fnorm, ynorm, succeeded)``: the 2-norms of the new iterate, of its
    residual and of the step taken, which SNES prints and tests. ``work``: the line search's
    solution work vector (a duplicate of the solution), handed to it so that it does not
    allocate another one.

    An exception raised in ``apply`` stops ``SNESSolve`` with PETSc error 83; it is kept as
    :attr:`error` for the caller to re-raise.
    """

    def __init__(self, snes: PETSc.SNES, apply, work: PETSc.Vec):
        lib = _library()
        if lib is None:
            raise RuntimeError("the PETSc library cannot be reached through ctypes")
        ls = snes.getLineSearch()
        if ls.getType() != PETSc.SNESLineSearch.Type.SHELL:
            raise ValueError(f"the line search is of type {ls.getType()!r}, not 'shell'")
        self._lib, self._apply, self.error = lib, apply, None
        self._ls = ls.handle
        self._func = _APPLY(self._call)  # referenced for as long as PETSc may call it
        _check(lib.SNESLineSearchShellSetApply(ls.handle, self._func, None))
        _check(lib.PetscObjectReference(work.handle))  # the line search's own reference
        _check(lib.SNESLineSearchSetVecs(ls.handle, None, None, None, work.handle, None))

    def precheck(self, x: PETSc.Vec, y: PETSc.Vec) -> bool:
        """Run the pre-check set on the line search (``SNESLineSearchPreCheck``, which PETSc's
        built-in line searches call at their start) on the iterate ``x`` and update ``y``;
        returns whether it changed ``y``."""
        changed = ctypes.c_int(0)  # PetscBool
        _check(self._lib.SNESLineSearchPreCheck(self._ls, x.handle, y.handle, ctypes.byref(changed)))
        return bool(changed.value)

    def _call(self, linesearch, _ctx) -> int:
        try:
            xnorm, fnorm, ynorm, ok = self._apply()
            _check(self._lib.SNESLineSearchSetNorms(linesearch, xnorm, fnorm, ynorm))
            if not ok:
                _check(self._lib.SNESLineSearchSetReason(linesearch, _FAILED_NANORINF))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller of SNESSolve
            self.error = exc
            return _PETSC_ERR_USER
        return 0


def _check(err: int):
    if err != 0:
        raise PETSc.Error(err)

"""PETSc C functions that petsc4py does not wrap, called through ctypes on the PETSc library
petsc4py itself loaded (so the same build, the same objects: a petsc4py object's ``handle`` is
its C pointer)."""

from __future__ import annotations

import ctypes
import functools


@functools.cache
def petsc_library(symbol: str):
    """The PETSc shared library of this process if it exports ``symbol``; None otherwise (then
    the caller falls back to what petsc4py offers)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "/libpetsc" in line and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            getattr(lib, symbol)
        except (OSError, AttributeError):
            continue
        return lib
    return None

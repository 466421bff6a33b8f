"""MPI helpers: rank-0 printing and the communicator used by default.

mpi4py is imported lazily so that the pure-numpy layers (structure, materials) work
without MPI.
"""

from __future__ import annotations

import os
import sys


def comm_world():
    """MPI.COMM_WORLD, or None when mpi4py is not installed."""
    try:
        from mpi4py import MPI
    except ImportError:  # pragma: no cover - the environment always has mpi4py
        return None
    return MPI.COMM_WORLD


def rank() -> int:
    comm = comm_world()
    return 0 if comm is None else comm.rank


def size() -> int:
    comm = comm_world()
    return 1 if comm is None else comm.size


def quiet() -> bool:
    """True when progress output is switched off (``-q`` or FEM_ASSB_QUIET=1)."""
    return os.environ.get("FEM_ASSB_QUIET", "0") not in ("", "0")


def print0(*args, file=None, **kwargs) -> None:
    """print() on rank 0 only."""
    if rank() == 0:
        print(*args, file=file or sys.stdout, flush=True, **kwargs)


def on_rank0(func, *args, comm=None, **kwargs):
    """Call ``func(*args, **kwargs)`` on rank 0 only and return its result on rank 0 (None elsewhere).

    Any exception raised by ``func`` is re-raised on *every* rank (the original, with its
    traceback, on rank 0; a copy elsewhere), so that a failure of rank-0-only work (reading an
    image, writing a file) is a collective error that every rank sees at the same place, not a
    hang of the ranks waiting in the next collective.
    """
    comm = comm or comm_world()
    if comm is None or comm.size == 1:
        return func(*args, **kwargs)
    result, error = None, None
    if comm.rank == 0:
        try:
            result = func(*args, **kwargs)
        except Exception as exc:  # re-raised on every rank below
            error = exc
    try:
        shared = comm.bcast(error, root=0)
    except Exception:  # an exception that cannot be pickled: send its text
        shared = comm.bcast(RuntimeError(f"{type(error).__name__}: {error}"), root=0)
    if shared is not None:
        raise error if comm.rank == 0 else shared
    return result

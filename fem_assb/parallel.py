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

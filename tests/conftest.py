"""Shared pytest fixtures. Tests marked `mpi` are also run under `mpirun -n 2` (make test-mpi)."""

from __future__ import annotations

import pytest


@pytest.fixture
def comm():
    from mpi4py import MPI

    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp_path(tmp_path_factory, comm):
    """A temporary folder that is the same path on every MPI rank (rank 0 creates it)."""
    path = tmp_path_factory.mktemp("shared") if comm.rank == 0 else None
    return comm.bcast(path, root=0)

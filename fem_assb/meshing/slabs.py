"""An x-slab of a voxel image per MPI rank, for the mesh-free structured assembly.

Unknowns are the active voxels of a mask in C order (x slowest). Cutting the image between x
planes gives every rank a contiguous range of unknown numbers, and a rank's rows couple only
to its own planes and the plane on either side, so each rank receives its planes plus those
two (padded with an inactive plane at the image's ends). The same slab order as the voxel
mesh's partitioner (``meshing.voxel_mesh._partition_starts``), cut at whole planes so that
periodic lateral couplings (within a plane) stay on one rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Slab:
    """One rank's planes of the phase: ``mask`` and ``grains`` (or None) hold the planes
    [x0 - 1, x1 + 1) of the image, padded with an inactive plane at the image's ends;
    ``first`` is the global number of the first active voxel of the padded slab; ``shape`` is
    the whole image's; ``periodic``: lateral axes (1, 2) that wrap."""

    mask: np.ndarray
    grains: np.ndarray | None
    x0: int
    x1: int
    first: int
    shape: tuple
    periodic: tuple = ()

    def numbers(self, dtype) -> np.ndarray:
        """Global unknown number of every voxel of the slab (-1 where inactive)."""
        ids = np.full(self.mask.shape, -1, dtype=dtype)
        ids[self.mask] = np.arange(self.first, self.first + int(self.mask.sum()), dtype=dtype)
        return ids

    @property
    def owned(self) -> int:
        """Active voxels in the rank's own planes (its rows)."""
        return int(self.mask[1:-1].sum())


def slab_starts(plane_counts: np.ndarray, nparts: int) -> np.ndarray:
    """First x plane of each of ``nparts`` slabs, and the number of planes at the end: cuts at
    the plane boundaries nearest to equal shares of the active cells (``plane_counts``: active
    cells per x plane). A rank gets no plane when there are fewer planes than ranks."""
    first = np.concatenate([[0], np.cumsum(plane_counts, dtype=np.int64)])
    targets = [-(-r * int(first[-1]) // nparts) for r in range(nparts + 1)]
    starts = np.searchsorted(first, targets, side="left")
    # nearer of the two plane boundaries around each target
    lower = np.maximum(starts - 1, 0)
    pick_lower = np.abs(first[lower] - targets) < np.abs(first[np.minimum(starts, first.size - 1)] - targets)
    starts = np.where(pick_lower, lower, starts)
    starts[0], starts[-1] = 0, plane_counts.size
    return np.maximum.accumulate(starts).astype(np.int64)


def distribute(comm, mask, grains=None, periodic: tuple = ()) -> Slab:
    """Each rank's :class:`Slab` of ``mask`` (bool, 3D; and ``grains``, int32 or None), given on
    rank 0 (None elsewhere). Rank 0 sends every other rank its padded planes (point-to-point,
    one message per array), so no rank but 0 ever holds the whole image."""
    root = comm.rank == 0
    head = None
    if root:
        counts = mask.reshape(mask.shape[0], -1).sum(axis=1).astype(np.int64)
        head = (mask.shape, counts, grains is not None)
    shape, counts, with_grains = comm.bcast(head, root=0)
    starts = slab_starts(counts, comm.size)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    x0, x1 = int(starts[comm.rank]), int(starts[comm.rank + 1])
    first = int(offsets[max(x0 - 1, 0)])
    if root:
        for r in range(comm.size - 1, -1, -1):  # rank 0's own slab last: it keeps it
            parts = [_padded(mask, starts[r], starts[r + 1], False)]
            if with_grains:
                parts.append(_padded(grains, starts[r], starts[r + 1], 0))
            if r == 0:
                mine = parts
            else:
                for arr in parts:
                    comm.Send(np.ascontiguousarray(arr), dest=r, tag=71)
    else:
        n = x1 - x0 + 2
        mine = [np.empty((n,) + tuple(shape[1:]), dtype=bool)]
        if with_grains:
            mine.append(np.empty((n,) + tuple(shape[1:]), dtype=np.int32))
        for arr in mine:
            comm.Recv(arr, source=0, tag=71)
    return Slab(mine[0], mine[1] if with_grains else None, x0, x1, first, tuple(shape), tuple(periodic))


def _padded(arr: np.ndarray, x0: int, x1: int, fill) -> np.ndarray:
    """Planes [x0 - 1, x1 + 1) of ``arr``, with a ``fill`` plane where they leave the image."""
    lo, hi = max(x0 - 1, 0), min(x1 + 1, arr.shape[0])
    out = np.full((x1 - x0 + 2,) + arr.shape[1:], fill, dtype=arr.dtype)
    out[lo - (x0 - 1) : lo - (x0 - 1) + (hi - lo)] = arr[lo:hi]
    return out

"""The two-point flux matrix of one phase on a uniform voxel grid, assembled in numpy (no mesh).

The same discrete law as the DG0 forms of :mod:`fem_assb.forms.transport` (DESIGN.md §2): the
flux between two face neighbours is T (u+ - u-) times the facet area, with

    T = 1 / (h/(2k+) + R_i + h/(2k-))                 (transport, Eq. 1; R_i: grain boundary)

and a Dirichlet value on a box face enters through the half cell, 2k/h (transport,
``boundary_transmissibility``). Both are evaluated here by the functions of
``forms.transport`` on numpy arrays (their arguments are the cell extents H = (h, h, h) and the
facet's unit normal), so the law is written once for UFL and numpy. What this module adds is
the assembly: on a uniform grid the facets are the pairs of neighbouring active voxels, found
by shifting the voxel-index array, and each row of the matrix (one voxel) has at most seven
entries. It needs no mesh, no dofmap and no facet tags: about 75 bytes of matrix per unknown
(12 per nonzero) instead of the ~1 kB per cell of a DOLFINx hexahedral mesh with its facet
connectivity and tags, which is what lets keff solve 500^3 voxels on one machine (docs/keff.md,
"Large images": 97 B per voxel in all at 500^3 on 2 ranks).

Distribution (``meshing.slabs``): unknowns are the active voxels in C order (x slowest), so
an x-slab of planes is a contiguous range of global numbers; each rank holds its planes and one
plane on either side and assembles its own rows. Periodic lateral axes (1 and/or 2) couple the
first and last voxel of a row within a plane, so they never cross ranks.
"""

from __future__ import annotations

import numpy as np

from fem_assb.forms.transport import boundary_transmissibility, half_cell_resistance
from fem_assb.meshing.cell_tags import is_grain_boundary
from fem_assb.meshing.slabs import Slab

#: Unit normals of the three axes (the facet normals of the grid).
_NORMALS = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
#: The six face neighbours of a voxel: (axis, step).
_STEPS = tuple((axis, step) for axis in range(3) for step in (-1, 1))
#: Cells per chunk of the row assembly: bounds its temporaries (about 300 B per cell, i.e.
#: 75 MB, against 5.6 GB for the 18.6 M cells per rank of a 500^3 image on 2 ranks).
CHUNK_CELLS = 250_000


def face_transmissibility(k_a, k_b, h: float, axis: int, interface_resistance=0.0):
    """T [S/m^2] of the facet normal to ``axis`` between two cubic voxels of edge h [m] with
    conductivities k_a, k_b [S/m] and the facet's own area resistance [Ohm m^2] (numpy arrays
    or floats): transport Eq. (1) with H = (h, h, h)."""
    H, n = (h, h, h), _NORMALS[axis]
    return 1.0 / (half_cell_resistance(k_a, H, n) + interface_resistance + half_cell_resistance(k_b, H, n))


def face_boundary_transmissibility(k, h: float, axis: int):
    """2 k / h [S/m^2]: a cell against a Dirichlet value on its box face normal to ``axis``."""
    return boundary_transmissibility(k, (h, h, h), _NORMALS[axis])


def _shifted(arr: np.ndarray, lo: int, hi: int, axis: int, step: int, periodic: tuple, fill):
    """The neighbour values of planes [lo, hi) of ``arr`` one voxel along ``axis`` in direction
    ``step`` (axis 0: the slab's own neighbour planes; lateral axes: ``fill`` past the image's
    face, or the opposite face when periodic)."""
    if axis == 0:
        return arr[lo + step : hi + step]
    block = arr[lo:hi]
    if axis in periodic:
        return np.roll(block, -step, axis=axis)
    out = np.full_like(block, fill)
    src = [slice(None)] * 3
    dst = [slice(None)] * 3
    src[axis], dst[axis] = (slice(1, None), slice(0, -1)) if step > 0 else (slice(0, -1), slice(1, None))
    out[tuple(dst)] = block[tuple(src)]
    return out


def stencil_rows(slab: Slab, ids: np.ndarray, lo: int, hi: int, h: float, kappa: float, r_gb=None):
    """Rows of the two-point matrix (facet-area weighted, S) for the active voxels of the slab's
    planes [lo, hi) (indices into the padded slab): (rows, indptr, cols, values) in CSR with
    global row and column numbers, the columns of each row sorted; R_GB [Ohm m^2]
    in series on grain-boundary facets (``cell_tags.is_grain_boundary``) when given."""
    own = ids[lo:hi]
    active = own >= 0
    rows = own[active]
    cols = np.full((rows.size, 7), -1, dtype=ids.dtype)
    vals = np.zeros((rows.size, 7))
    cols[:, 0] = rows
    area = h * h
    grains = slab.grains if r_gb is not None else None
    g_own = grains[lo:hi][active] if grains is not None else None
    for j, (axis, step) in enumerate(_STEPS, start=1):
        nb = _shifted(ids, lo, hi, axis, step, slab.periodic, -1)[active]
        r_face = 0.0
        if grains is not None:
            g_nb = _shifted(grains, lo, hi, axis, step, slab.periodic, 0)[active]
            r_face = np.where(is_grain_boundary(g_own, g_nb), r_gb, 0.0)
        t = np.where(nb >= 0, area * face_transmissibility(kappa, kappa, h, axis, r_face), 0.0)
        cols[:, j], vals[:, j] = nb, -t
        vals[:, 0] += t
    # Columns sorted within each row (missing ones last), as hypre's whole-row insertion wants.
    order = np.argsort(np.where(cols >= 0, cols, np.iinfo(cols.dtype).max), axis=1, kind="stable")
    cols, vals = np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)
    del order
    keep = cols >= 0
    indptr = np.zeros(rows.size + 1, dtype=ids.dtype)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    return rows, indptr, cols[keep], vals[keep]


def row_chunks(slab: Slab):
    """Plane ranges [lo, hi) of the padded slab holding about CHUNK_CELLS active cells each."""
    counts = slab.mask[1:-1].sum(axis=(1, 2))
    lo, acc = 1, 0
    for p, c in enumerate(counts, start=1):
        acc += int(c)
        if acc >= CHUNK_CELLS:
            yield lo, p + 1
            lo, acc = p + 1, 0
    if lo < slab.mask.shape[0] - 1:
        yield lo, slab.mask.shape[0] - 1


def face_cells(slab: Slab, ids: np.ndarray, axis: int, side: int) -> np.ndarray:
    """Global numbers of this rank's active voxels on the box face normal to ``axis`` (side 0:
    index 0, side 1: the last index)."""
    own = ids[1:-1]
    if axis == 0:
        index = 0 if side == 0 else slab.shape[0] - 1
        if not slab.x0 <= index < slab.x1:
            return np.zeros(0, dtype=ids.dtype)
        plane = own[index - slab.x0]
    else:
        plane = np.take(own, 0 if side == 0 else own.shape[axis] - 1, axis=axis)
    return plane[plane >= 0]


def stencil_counts(slab: Slab, ids: np.ndarray, lo: int, hi: int, rstart: int, rend: int):
    """Entries per row of ``stencil_rows(slab, ids, lo, hi, ...)`` inside the diagonal block
    (columns in [rstart, rend): this rank's rows) and outside it: PETSc's MPIAIJ preallocation,
    counted before the rows are built so that each chunk is inserted as soon as it exists."""
    active = ids[lo:hi] >= 0
    d = np.ones(int(active.sum()), dtype=ids.dtype)  # the diagonal
    o = np.zeros_like(d)
    for axis, step in _STEPS:
        nb = _shifted(ids, lo, hi, axis, step, slab.periodic, -1)[active]
        inside = (nb >= rstart) & (nb < rend)
        d += inside
        o += (nb >= 0) & ~inside
    return d, o

"""The checks a cell must pass before it is meshed and solved, in one place (numpy only, no MPI).

`fem-assb run` (studies) and `fem-assb check` (commands) both call :func:`validate_cell`, so
that `check` says OK exactly for the cells that `run` accepts. It builds the cell's grid
(:func:`fem_assb.meshing.virtual_cell_grid.virtual_cell_grid`: all-solid-state cathode, CAM
present and connected to the collector, an ionic path from the separator, isolated clusters
removed) and then checks that current can flow: some CAM | electrolyte face is left between
the CAM connected to the collector and the electrolyte connected to the separator (delaminated
faces excluded), which is the interface area the cell forms integrate over.
"""

from __future__ import annotations

import numpy as np

from fem_assb.errors import InputError
from fem_assb.meshing import cell_tags as tags
from fem_assb.meshing.virtual_cell_grid import CellGridInfo, virtual_cell_grid

NO_INTERFACE = (
    "no CAM | electrolyte interface is left between the CAM connected to the collector "
    "and the electrolyte connected to the separator: no current can flow. Check the "
    "structure's CAM and SE fractions and connectivity (fem-assb analyze)."
)


#: The CAM | electrolyte facet tags of the cell forms: solid (CAM_SE) and liquid (CAM_LE).
INTERFACE_TAGS = (tags.CAM_SE, tags.CAM_LE)


def active_faces(grid, info: CellGridInfo, inactive_faces=None) -> int:
    """Number of CAM | electrolyte faces of ``grid`` (the ``CAM_SE`` and ``CAM_LE`` facets of the cell forms),
    without the faces that ``inactive_faces`` (the cathode image's, see VoxelImage) switches off,
    with the faces across periodic sides (``grid.periodic``; never inactive)."""
    mat = grid.material
    grain = grid.grain if grid.grain is not None else np.zeros_like(mat)
    i0, i1 = info.cathode_slice
    total = 0
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        a, b = mat[tuple(lo)], mat[tuple(hi)]
        live = (a >= 0) & (b >= 0)
        face = live & np.isin(tags.facet_tagger(a, b, grain[tuple(lo)], grain[tuple(hi)]), INTERFACE_TAGS)
        if inactive_faces is not None and face.any():
            off = np.asarray(inactive_faces[axis], dtype=bool)
            # grid faces of the cathode block: x faces i (between i, i+1) for i0 <= i < i1 - 1
            sel = [slice(None)] * 3
            sel[0] = slice(i0, i0 + off.shape[0])
            face[tuple(sel)] &= ~off
        total += int(np.count_nonzero(face))
    for axis in grid.periodic:
        if mat.shape[axis] < 2:
            continue
        a, b = np.take(mat, 0, axis=axis), np.take(mat, -1, axis=axis)
        ga, gb = np.take(grain, 0, axis=axis), np.take(grain, -1, axis=axis)
        live = (a >= 0) & (b >= 0)
        total += int(np.count_nonzero(live & np.isin(tags.facet_tagger(a, b, ga, gb), INTERFACE_TAGS)))
    return total


def validate_cell(vcell, isolated: str = "remove"):
    """(Grid, CellGridInfo) of a VirtualCell after every check `run` makes before solving.

    Raises InputError / PercolationError with the reason when the cell cannot be cycled. Call it
    on one rank (numpy only); ``info.active_faces`` holds the CAM | electrolyte face count.
    """
    grid, info = virtual_cell_grid(vcell, isolated)
    n = active_faces(grid, info, vcell.cathode.inactive_faces)
    if n == 0:
        raise InputError(NO_INTERFACE)
    info.active_faces = n
    return grid, info


def validate_case(case):
    """(image, VirtualCell, Grid, CellGridInfo) of a loaded case: the structure built (image read
    or generated), the virtual cell assembled and :func:`validate_cell` passed."""
    image = case.structure.build()
    vcell = case.cell.virtual_cell(image, getattr(case.materials, "cams", {}))
    grid, info = validate_cell(vcell)
    return image, vcell, grid, info

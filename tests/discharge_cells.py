"""Small cells for the discharge tests: a planar Li | SE | dense CAM slab | collector grid."""

from __future__ import annotations

import numpy as np

from fem_assb.meshing import cell_tags as tags
from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh

PLANAR = {"L_li": 5e-6, "L_sep": 20e-6, "L_cam": 2e-6, "L_cc": 1e-6, "n_sep": 5}


def planar_grid(n_cam: int = 32, width: float = 1e-6, ny: int = 1, L_cam=None) -> Grid:
    """Li (1 cell) | separator (n_sep cells) | CAM slab (n_cam cells) | collector (1 cell)."""
    p = dict(PLANAR)
    if L_cam is not None:
        p["L_cam"] = L_cam
    h = p["L_cam"] / n_cam
    sep = np.linspace(0.0, p["L_sep"], p["n_sep"] + 1)
    x0 = p["L_li"] + p["L_sep"]
    xe = np.concatenate(
        [
            [0.0, p["L_li"]],
            p["L_li"] + sep[1:],
            x0 + h * np.arange(1, n_cam + 1),
            [x0 + p["L_cam"] + p["L_cc"]],
        ]
    )
    codes = [tags.LI] + [tags.SEPARATOR] * p["n_sep"] + [tags.CAM] * n_cam + [tags.CATHODE_CC]
    mat = np.repeat(np.repeat(np.array(codes, dtype=np.int32)[:, None, None], ny, 1), ny, 2)
    lat = np.linspace(0.0, width, ny + 1)
    return Grid(xe, lat, lat, mat)


def planar_mesh(comm, **kw):
    return build_voxel_mesh(comm, planar_grid(**kw) if comm.rank == 0 else None, tags.facet_tagger)

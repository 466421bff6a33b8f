"""Planar liquid cells for the liquid-electrolyte tests: Li | porous LE separator | LE layer |
dense CAM slab | collector (docs/liquid.md), and the systems with constant parameters."""

from __future__ import annotations

import numpy as np

from fem_assb.materials import get_system
from fem_assb.meshing import cell_tags as tags
from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh

#: Layers (m) and cell counts of the planar liquid cell.
LIQUID_PLANAR = {
    "L_li": 5e-6,
    "L_sep": 20e-6,
    "L_le": 10e-6,
    "L_cam": 2e-6,
    "L_cc": 1e-6,
    "n_sep": 20,
    "n_le": 10,
    "n_cam": 16,
    "L_cbd": 0.0,  # an optional carbon-binder layer between the LE layer and the CAM
    "n_cbd": 0,
}
SEPARATOR = {"porosity": 0.5, "kappa_factor": 0.5, "D_factor": 0.5}


def liquid_planar_grid(width: float = 1e-6, ny: int = 1, **kw) -> Grid:
    """Li (1 cell) | LE separator (n_sep) | LE pore layer (n_le) | CBD layer (n_cbd, often 0) |
    CAM (n_cam) | collector (1)."""
    p = {**LIQUID_PLANAR, **kw}
    sizes = (
        [p["L_li"]]
        + [p["L_sep"] / p["n_sep"]] * p["n_sep"]
        + [p["L_le"] / p["n_le"]] * p["n_le"]
        + ([p["L_cbd"] / p["n_cbd"]] * p["n_cbd"] if p["n_cbd"] else [])
        + [p["L_cam"] / p["n_cam"]] * p["n_cam"]
        + [p["L_cc"]]
    )
    xe = np.concatenate([[0.0], np.cumsum(sizes)])
    codes = (
        [tags.LI]
        + [tags.SEPARATOR_LE] * p["n_sep"]
        + [tags.LE] * p["n_le"]
        + [tags.CBD] * p["n_cbd"]
        + [tags.CAM] * p["n_cam"]
        + [tags.CATHODE_CC]
    )
    mat = np.repeat(np.repeat(np.array(codes, dtype=np.int32)[:, None, None], ny, 1), ny, 2)
    lat = np.linspace(0.0, width, ny + 1)
    return Grid(xe, lat, lat, mat)


def liquid_planar_mesh(comm, **kw):
    return build_voxel_mesh(comm, liquid_planar_grid(**kw) if comm.rank == 0 else None, tags.facet_tagger)


#: The CBD of the CBD tests: seed 001's porosity and kappa factor, a D factor of its own (the
#: preset's equals kappa_factor) so that a swapped factor shows.
CBD = {"porosity": 0.5, "kappa_factor": 0.12, "D_factor": 0.2}


def constant_liquid_system(
    t_plus: float,
    D_e: str = "2e-7 cm^2/s",
    kappa: str = "9.4e-3 S/cm",
    tdf: float = 1.85,
    cbd=None,
    overrides=None,
):
    """NMC811 | LiPF6 with constant electrolyte parameters (and a constant CAM D, sigma) so the
    1D reference needs no fits; D_e lowered from the seed's 3.79e-6 cm^2/s so that the
    concentration polarization is tens of mV at 2 mA/cm^2 (the test sees it). ``overrides``:
    further materials overrides by section (merged into these)."""
    over = {
        "cam": {"D": "1e-9 cm^2/s"},
        "electrolyte": {"kappa": kappa, "D": D_e, "t_plus": str(t_plus), "tdf": str(tdf)},
        "separator": {k: str(v) for k, v in SEPARATOR.items()},
        **({"cbd": {k: str(v) for k, v in cbd.items()}} if cbd else {}),
    }
    for section, values in (overrides or {}).items():
        over[section] = {**over.get(section, {}), **values}
    return get_system("NMC811_LiPF6", overrides=over)

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


def tiny_case(name: str, *, shape=(6, 4, 4), steps=None, numerics=None, outputs=None) -> dict:
    """A fresh case dict of the tests' tiny composite cell (NMC811 / Li6PS5Cl, 0.5 um voxels of
    ``shape``, 5 um SE separator on 2 um Li, 25 degC, direct solver): by default one 20 s
    discharge at 5 mA/cm^2 to 3.0 V, no fields and no plots. ``steps``, ``numerics`` and
    ``outputs`` replace those sections (numerics: the defaults updated)."""
    return {
        "name": name,
        "structure": {
            "generator": {
                "kind": "composite",
                "shape": list(shape),
                "voxel_size": "0.5 um",
                "cam_fraction": 0.6,
                "se_fraction": 0.4,
                "d_cam": "1.5 um",
                "d_se": "1 um",
                "seed": 0,
            }
        },
        "cell": {"separator": {"material": "SE", "thickness": "5 um"}, "li_metal": "2 um"},
        "materials": {"preset": "NMC811_Li6PS5Cl"},
        "operation": {
            "temperature": "25 degC",
            "steps": steps
            or [
                {
                    "kind": "discharge",
                    "current_density": "5 mA/cm^2",
                    "cutoff_voltage": "3.0 V",
                    "duration": "20 s",
                }
            ],
        },
        "numerics": {"dt_initial": "5 s", "dt_max": "10 s", "linear_solver": "direct", **(numerics or {})},
        "outputs": outputs if outputs is not None else {"fields": [], "plots": False},
    }


def planar_reference(system, I: float, U_cut: float, T: float, film=None):
    """The independent 1D reference (tests/reference/planar_1d.py, 800 CAM cells) of the planar
    cell of :func:`planar_grid` for ``system`` at current density I (A/m^2) to U_cut (V), T (K);
    ``film``: None or the reference's film parameters (R in Ohm m^2, a_film = l_cam / (F D_cam)
    in mol/m^3 per A/m^2; see discharge_1d)."""
    from reference.planar_1d import discharge_1d

    return discharge_1d(
        system.cam,
        I=I,
        L_cam=PLANAR["L_cam"],
        L_sep=PLANAR["L_sep"],
        kappa=float(system.electrolyte.kappa(system.electrolyte.c0, T, np)),
        c_e=system.electrolyte.c0,
        T=T,
        i0_li=system.anode.i0,
        U_cut=U_cut,
        L_li=PLANAR["L_li"],
        sigma_li=system.anode.sigma,
        L_cc=PLANAR["L_cc"],
        sigma_cc=1e5,
        n=800,
        film=film,
    )


def assert_same_as_serial(serial: dict, parallel: dict, label: str) -> None:
    """A run on one rank (``serial``) and on COMM_WORLD (``parallel``), history tables with
    ``t`` and ``voltage``: the same accepted steps and the same voltages to 1e-6 V (the
    difference is printed on rank 0 for the closing notes)."""
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank == 0 and serial["t"].shape == parallel["t"].shape:
        dv = np.max(np.abs(serial["voltage"] - parallel["voltage"]))
        print(f"{label}, 1 vs {MPI.COMM_WORLD.size} ranks: {dv:.3g} V")
    assert serial["t"].shape == parallel["t"].shape
    assert np.allclose(serial["t"], parallel["t"], rtol=1e-9, atol=1e-9)
    assert np.max(np.abs(serial["voltage"] - parallel["voltage"])) < 1e-6

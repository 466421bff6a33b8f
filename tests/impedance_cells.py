"""The planar thin-film cell of the impedance tests and its analytic impedance (independent of the
code: written from MODEL.md §3 and §5 only).

Li metal | SE separator | dense CAM slab | cathode collector, lateral size one cell. The CAM and the
separator are graded towards every interface: the interface laws use cell-centre values, so the
discrete series resistance misses half a cell on each side of an interface, and the solid
diffusion layer at 1 kHz is sqrt(D / w) ~ 0.04 nm thin.
"""

from __future__ import annotations

import numpy as np

from fem_assb.constants import FARADAY, GAS_CONSTANT

T = 298.15
#: Layer thicknesses (m) of the thin-film cell.
FILM = {"L_li": 5e-6, "L_sep": 20e-6, "L_cam": 0.1e-6, "L_cc": 1e-6}
#: NMC622 | beta-LPS with the CAM made faster (i00 x 100), slower in the electron path (sigma
#: 1e-3 S/m) and with a constant, small D and a larger C_DL (x 10), the Li | SE slower (R_a = 100
#: Ohm cm^2) with a smaller C_DL: the Li arc (~50 kHz), the cathode arc (~60 Hz) with a diffusion
#: impedance comparable to R_ct under it, and the finite slab's capacitive rise (L^2 / D = 1000 s)
#: apart inside 1 mHz .. 1 MHz. Here the Randles element C_DL || (R_ct + Z_D) and the series form
#: (R_ct || C_DL) + Z_D differ by up to 14 % in |Z| and 2.7 degrees: the test tells them apart.
OVERRIDES = {
    "cam": {"i00": "4.98e-2 A*cm^2.5/mol^1.5", "sigma": "1e-5 S/cm", "D": "1e-13 cm^2/s"},
    "anode": {"i0": "2.57e-4 A/cm^2"},
    "double_layer": {"cathode": "8e-6 F/cm^2", "anode": "3e-8 F/cm^2"},
}
PRESET = "NMC622_bLPS"


def thin_film_system(overrides=None):
    from fem_assb.materials import get_system

    over = {k: dict(v) for k, v in OVERRIDES.items()}
    for k, v in (overrides or {}).items():
        over.setdefault(k, {}).update(v)
    return get_system(PRESET, overrides=over, temperature=T)


def graded(length: float, h_min: float, ratio: float, both: bool) -> np.ndarray:
    """Cell sizes (m) summing to ``length``: geometric from h_min at the start (and at the end
    too if ``both``) by ``ratio``, capped where the steps would exceed the remaining room."""
    sizes, h, rest = [], h_min, length / (2.0 if both else 1.0)
    while rest > 0:
        step = min(h, rest)
        if rest - step < 0.5 * h * ratio and rest - step > 0:
            step = rest
        sizes.append(step)
        rest -= step
        h *= ratio
    sizes = np.array(sizes)
    return np.concatenate([sizes, sizes[::-1]]) if both else sizes


#: A grain boundary in the separator (test_impedance's GB test): R_GB = RT / (F i_GB0) = 50 Ohm cm^2,
#: C_GB = 1e-8 F/cm^2 (~300 kHz), the Li arc moved to ~5 kHz (C_DL,a x 10) to keep the arcs apart.
GB_OVERRIDES = {
    "grain_boundary": {"i_GB0": "5.14e-4 A/cm^2", "C_GB": "1e-8 F/cm^2"},
    "double_layer": {"anode": "3e-7 F/cm^2"},
}


def thin_film_grid(h_min: float = 1e-12, ratio: float = 1.12, grain_boundary: bool = False):
    """The thin-film grid; ``grain_boundary``: the separator's first cell (1 nm, at the Li) is
    grain 1, the others grain 2: one GB facet between two 1 nm cells (their half cells, in series
    with the GB law, are 1e-7 of R_GB)."""
    from fem_assb.meshing import cell_tags as tags
    from fem_assb.meshing.voxel_mesh import Grid

    f = FILM
    sep = graded(f["L_sep"], 1e-9, ratio, both=True)
    cam = graded(f["L_cam"], h_min, ratio, both=False)
    sizes = np.concatenate([[f["L_li"]], sep, cam, [f["L_cc"]]])
    codes = [tags.LI] + [tags.SEPARATOR] * len(sep) + [tags.CAM] * len(cam) + [tags.CATHODE_CC]
    xe = np.concatenate([[0.0], np.cumsum(sizes)])
    mat = np.array(codes, dtype=np.int32)[:, None, None]
    grain = np.zeros_like(mat)
    if grain_boundary:
        grain[1] = 1
        grain[2 : 1 + len(sep)] = 2
    lat = np.array([0.0, 1e-6])
    return Grid(xe, lat, lat, mat, grain=grain)


def thin_film_simulation(comm=None, system=None, **grid):
    from mpi4py import MPI

    from fem_assb.meshing import cell_tags as tags
    from fem_assb.meshing.voxel_mesh import build_voxel_mesh
    from fem_assb.studies.discharge import CellSimulation

    comm = comm or MPI.COMM_SELF
    g = thin_film_grid(**grid) if comm.rank == 0 else None
    vm = build_voxel_mesh(comm, g, tags.facet_tagger)
    system = system or thin_film_system()
    return CellSimulation(vm, system, T, surface_iterations=0, tol_phi=1e-13, tol_x=1e-13), system


def analytic_impedance(f, system, randles: bool = True) -> np.ndarray:
    """Z(f) (complex, Ohm m^2, charge current, Z_imag < 0 capacitive) of the thin-film cell at
    open circuit, from the model's equations linearized by hand:

        Z = L_li / sigma_li + L_sep / kappa + L_cam / sigma_cam + L_cc / sigma_cc
            + R_a / (1 + i w R_a C_a)                        Li | SE: R_a = RT / (F i0_Li)
            + 1 / (i w C_c + 1 / (R_ct + Z_D))               CAM | SE (Randles)
        R_ct = RT / (F i0),  i0 = i00 c_e^a c_s^a (c_max - c_s)^(1 - a)   (a = 1/2, mol/cm^3)
        Z_D  = (-dU0/dc) coth(L sqrt(i w / D)) / (F sqrt(i w D))

    (the double layer is in parallel with the Faradaic branch only: its current C d(phi_s -
    phi_e)/dt does not see U0(c_s), so the diffusion impedance is in series with R_ct inside
    it). Per unit area of the planar interfaces = the collector area. ``randles=False``: the
    series form (R_ct || C_c) + Z_D instead, which is not the model's linearization (a control).
    """
    cam, ely, an = system.cam, system.electrolyte, system.anode
    w = 2 * np.pi * np.asarray(f, dtype=float)
    RT_F = GAS_CONSTANT * T / FARADAY
    c_s, c_max = float(cam.c0), float(cam.c_max)  # mol/m^3
    x0 = c_s / c_max
    i00 = 4.98e-2  # A cm^2.5 / mol^1.5 (OVERRIDES)
    i0 = i00 * np.sqrt(float(ely.c0) * 1e-6 * c_s * 1e-6) * np.sqrt((c_max - c_s) * 1e-6) * 1e4  # A/m^2
    R_ct = RT_F / i0
    R_a = RT_F / float(an.i0)
    C_c, C_a = float(system.double_layer.cathode), float(system.double_layer.anode)
    dx = 1e-6
    dU_dc = float((cam.U0(x0 + dx, T, np) - cam.U0(x0 - dx, T, np)) / (2 * dx)) / c_max  # V m^3/mol
    D = 1e-17  # m^2/s (OVERRIDES)
    L = FILM["L_cam"]
    s = np.sqrt(1j * w)
    Z_D = -dU_dc / (np.tanh(L * s / np.sqrt(D)) * FARADAY * s * np.sqrt(D))
    kappa = float(ely.kappa(ely.c0, T, np))
    R_s = (
        FILM["L_li"] / min(float(an.sigma), 1e5)
        + FILM["L_sep"] / kappa
        + FILM["L_cam"] / 1e-3
        + FILM["L_cc"] / 1e5
    )
    cathode = 1.0 / (1j * w * C_c + 1.0 / (R_ct + Z_D)) if randles else R_ct / (1 + 1j * w * R_ct * C_c) + Z_D
    gb = getattr(system, "grain_boundary", None)
    grain_boundary = 0.0
    if gb is not None:  # the GB (sinh law, linearized: R_GB = RT / (F i_GB0)) || C_GB
        R_gb = RT_F / float(gb.i_GB0)
        grain_boundary = R_gb / (1 + 1j * w * R_gb * float(gb.C_GB))
    return R_s + R_a / (1 + 1j * w * R_a * C_a) + cathode + grain_boundary

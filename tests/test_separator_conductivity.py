"""A dense separator's conductivity factor: kappa_separator = factor * kappa(SE) in the forms."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from fem_assb.errors import InputError
from fem_assb.materials import get_system
from fem_assb.meshing import cell_tags as tags
from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh
from fem_assb.structure.image import VoxelImage
from fem_assb.structure.virtual_cell import Separator, VirtualCell
from fem_assb.studies.discharge import CellSimulation, build_cell_mesh

T = 298.15
L_SEP, N_SEP = 20e-6, 40


def _planar(comm):
    """Li (5 um) | separator (N_SEP uniform cells over L_SEP) | 4 CAM cells (2 um) | collector."""
    grid = None
    if comm.rank == 0:
        xe = np.concatenate(
            [[0.0], 5e-6 + np.linspace(0.0, L_SEP, N_SEP + 1), 5e-6 + L_SEP + 0.5e-6 * np.arange(1, 5)]
        )
        xe = np.append(xe, xe[-1] + 1e-6)
        codes = [tags.LI] + [tags.SEPARATOR] * N_SEP + [tags.CAM] * 4 + [tags.CATHODE_CC]
        mat = np.array(codes, dtype=np.int32)[:, None, None]
        grid = Grid(xe, np.array([0.0, 1e-6]), np.array([0.0, 1e-6]), mat)
    return build_voxel_mesh(comm, grid, tags.facet_tagger)


def _voltage(system, i_app, factor=None):
    vm = _planar(MPI.COMM_WORLD)
    if factor is not None:
        vm.conductivity_factor[tags.SEPARATOR] = factor
    sim = CellSimulation(vm, system, T)
    assert sim.quasi_static(i_app).converged
    v, kappa = sim.voltage(), sim.forms.kappa
    sim.newton.destroy()
    return v, kappa


@pytest.mark.mpi
def test_separator_ohmic_drop_scales_with_the_inverse_factor():
    """V(f = 1) - V(f) = i L (1/f - 1) / kappa: the separator's ohmic drop i L / (f kappa).

    L is the length the scheme's conduction spans: the interface laws (Li | SE, CAM | SE) take
    cell-centre potentials, so the two separator half cells next to them carry no ohmic drop
    and L = L_sep - h_sep (h_sep = L_sep / N_SEP, 2.5 % of L_sep here)."""
    system = get_system("NMC811_Li6PS5Cl")
    i_app = 2.0  # A/m^2
    v1, kappa = _voltage(system, i_app)
    length = L_SEP * (1.0 - 1.0 / N_SEP)
    for f in (0.5, 0.2):
        vf, _ = _voltage(system, i_app, f)
        drop = i_app * length * (1.0 / f - 1.0) / kappa
        assert v1 - vf == pytest.approx(drop, rel=1e-7)
        analytic = i_app * L_SEP * (1.0 / f - 1.0) / kappa  # i L / (f kappa) - i L / kappa
        assert v1 - vf == pytest.approx(analytic, rel=1.01 / N_SEP)
    # the materials' separator.kappa_factor is the default when the cell gives none
    half = get_system("NMC811_Li6PS5Cl", overrides={"separator": {"kappa_factor": 0.5}})
    assert _voltage(half, i_app)[0] == pytest.approx(_voltage(system, i_app, 0.5)[0], abs=1e-12)


def test_virtual_cell_separator_factor_reaches_the_forms():
    lab = np.where(np.arange(4)[None, :, None] % 2 == 0, 1, 2) * np.ones((3, 4, 2), dtype=np.int32)
    img = VoxelImage(lab.astype(np.int32), 0.5e-6)
    system = get_system("NMC811_Li6PS5Cl")
    for f in (None, 0.25):
        vcell = VirtualCell(img, Separator("SE", 5e-6, conductivity_factor=f))
        vm, _ = build_cell_mesh(vcell, MPI.COMM_WORLD)
        sim = CellSimulation(vm, system, T)
        want = 1.0 if f is None else f
        assert sim.forms.kappa_separator == pytest.approx(want * sim.forms.kappa, rel=1e-15)
        sim.newton.destroy()


def test_separator_factor_validation():
    assert Separator("SE", 1e-5, conductivity_factor=0.3).conductivity_factor == 0.3
    with pytest.raises(InputError, match=r"conductivity_factor must lie in \(0, 1\]"):
        Separator("SE", 1e-5, conductivity_factor=1.5)
    with pytest.raises(InputError, match="porosity applies to an 'LE' separator only"):
        Separator("SE", 1e-5, porosity=0.3)

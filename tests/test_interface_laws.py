"""Interface laws (forms.interface, MODEL §3): one exchange current for the System and the forms,
the inverse Butler-Volmer law, and the Li metal | SE law with the anode's alpha and U0."""

from __future__ import annotations

import numpy as np
import pytest
from discharge_cells import planar_grid
from mpi4py import MPI
from reference.planar_1d import bv_overpotential

from fem_assb.constants import FARADAY, GAS_CONSTANT
from fem_assb.forms.interface import butler_volmer, butler_volmer_overpotential, intercalation_current
from fem_assb.materials import get_system
from fem_assb.meshing import cell_tags as tags
from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh
from fem_assb.studies.discharge import CellSimulation

T = 298.15
F_RT = FARADAY / (GAS_CONSTANT * T)


def _ufl_coefficients(n):
    import basix.ufl
    import ufl

    domain = ufl.Mesh(basix.ufl.element("Lagrange", "hexahedron", 1, shape=(3,)))
    V = ufl.FunctionSpace(domain, basix.ufl.element("DG", "hexahedron", 0))
    return [ufl.Coefficient(V) for _ in range(n)]


@pytest.mark.parametrize("x", [0.5, 0.999999, 1.0, 1.0 + 1e-7, 1.001])
def test_system_exchange_current_is_the_forms(x):
    """System.exchange_current_density(x) and the i0 inside the cell's intercalation law (UFL,
    cell-centre values) are one function: equal near and beyond saturation, where the former
    unregularized numpy version differed (it clipped c_s below c_max: i0 > 0 at x = 1)."""
    import ufl

    s = get_system("NMC811_Li6PS5Cl")
    cam = s.cam
    eta_c, c_cell = _ufl_coefficients(2)
    i_form = intercalation_current(eta_c, c_cell, s.electrolyte.c0, cam, T, ufl)
    eta = 0.02  # V over U0(min(x, 1)), the law's clipped surface stoichiometry
    u0 = float(cam.U0(min(x, 1.0), T, np))
    got = float(i_form((0, 0, 0), {eta_c: u0 + eta, c_cell: x * cam.c_max}))
    i0 = s.exchange_current_density(x)
    want = float(butler_volmer(eta, i0, cam.alpha, F_RT, np))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-14 * abs(s.exchange_current_density()))
    if x == 1.0:
        assert i0 == 0.0
    if x > 1.0:
        assert i0 < 0.0  # a cell pushed past saturation sheds Li
    if x < 1.0:
        assert i0 > 0.0


def test_exchange_current_at_initial_conditions_is_the_default():
    s = get_system("NMC811_Li6PS5Cl")
    assert s.exchange_current_density() == s.exchange_current_density(s.cam.x0)


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.7])
def test_inverse_butler_volmer(alpha):
    i0 = 3.0
    i = np.array([-300.0, -7.0, -0.01, 0.0, 1e-6, 2.0, 40.0, 900.0])
    eta = butler_volmer_overpotential(i, i0, alpha, F_RT)
    assert np.allclose(butler_volmer(eta, i0, alpha, F_RT, np), i, rtol=1e-12, atol=1e-12)
    ref = [bv_overpotential(v, i0, alpha, F_RT) for v in i]  # the 1D reference's brentq
    assert np.allclose(eta, ref, rtol=1e-9, atol=1e-12)


def _planar_mesh(comm, li_layer: bool):
    """The planar test cell (Li | 5 separator cells | 4 CAM cells | collector), with or without
    the Li metal cell (then the Li | SE law acts on the separator's x = 0 face)."""
    grid = None
    if comm.rank == 0:
        g = planar_grid(n_cam=4)
        if not li_layer:
            assert g.material[0, 0, 0] == tags.LI
            g = Grid(g.x_edges[1:] - g.x_edges[1], g.y_edges, g.z_edges, g.material[1:].copy())
        grid = g
    return build_voxel_mesh(comm, grid, tags.facet_tagger)


def _voltage(system, i_app, li_layer):
    sim = CellSimulation(_planar_mesh(MPI.COMM_WORLD, li_layer), system, T)
    res = sim.quasi_static(i_app)
    assert res.converged
    v = sim.voltage()
    sim.newton.destroy()
    return v, sim


@pytest.mark.mpi
@pytest.mark.parametrize("li_layer", [True, False])
def test_anode_u0_shifts_the_cell_voltage(li_layer):
    """U0 of the anode is the reference of every potential: the cell voltage shifts by exactly
    -dU0, at open circuit and under load (the law sees phi_s - phi_e - U0)."""
    base = get_system("NMC811_Li6PS5Cl")
    shifted = get_system("NMC811_Li6PS5Cl", overrides={"anode": {"U0": "0.1 V"}})
    for i_app in (0.0, 0.5):
        v0, sim0 = _voltage(base, i_app, li_layer)
        v1, sim1 = _voltage(shifted, i_app, li_layer)
        assert v1 - v0 == pytest.approx(-0.1, abs=1e-8)
    assert sim1.ocv() == pytest.approx(sim0.ocv() - 0.1, abs=1e-12)
    assert v0 != pytest.approx(sim0.ocv(), abs=1e-3)  # under load: the check is not trivial


@pytest.mark.mpi
@pytest.mark.parametrize("li_layer", [True, False])
def test_li_overpotential_follows_the_asymmetric_law(li_layer):
    """At a current of 3 i0 the Li | SE overpotential depends strongly on alpha; everything else
    in the cell is the same, so the voltage difference between alpha = 0.5 and 0.25 is the
    difference of the 0D overpotentials of Butler-Volmer (the 1D reference's brentq)."""
    i0, i_app = 1.0, 3.0  # A/m^2
    volts = {}
    for alpha in (0.5, 0.25):
        s = get_system("NMC811_Li6PS5Cl", overrides={"anode": {"i0": f"{i0} A/m^2", "alpha": alpha}})
        volts[alpha] = _voltage(s, i_app, li_layer)[0]
    eta = {a: bv_overpotential(i_app, i0, a, F_RT) for a in volts}
    assert eta[0.25] - eta[0.5] > 0.01  # the asymmetry is large here
    # V = ... - eta_Li: the Li side loses eta_Li of the voltage
    assert volts[0.25] - volts[0.5] == pytest.approx(-(eta[0.25] - eta[0.5]), abs=1e-8)

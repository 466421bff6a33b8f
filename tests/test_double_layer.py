"""Double layers (MODEL.md §3, seed 004 Table 1, seed 002 C_GB): C d(phi_s - phi_e)/dt at the
CAM | SE, Li | SE and grain-boundary facets, implicit Euler in the time steps, left out of the
quasi-static solves."""

import numpy as np
import pytest

pytest.importorskip("dolfinx")

from fem_assb.constants import FARADAY, GAS_CONSTANT  # noqa: E402

T = 298.15


def _planar_sim(double_layer, n_se=4, n_cam=3, h=1e-6, preset="LCO_LLZO_HT2", comm=None, lateral=(1, 1)):
    """A planar cell on a 1 x 1 cross-section: SE cells (the Li reaction on their x = 0 face),
    then CAM cells, the current drawn from the CAM's x = L face; one planar CAM | SE interface."""
    from mpi4py import MPI

    from fem_assb.materials import get_system
    from fem_assb.meshing import cell_tags
    from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh
    from fem_assb.studies.discharge import CellSimulation

    overrides = {} if double_layer is None else {"double_layer": double_layer}
    system = get_system(preset, overrides=overrides, temperature=T)
    column = np.array([cell_tags.SE] * n_se + [cell_tags.CAM] * n_cam, np.int32)
    material = np.broadcast_to(column[:, None, None], (len(column), *lateral)).copy()
    vm = build_voxel_mesh(comm or MPI.COMM_SELF, Grid.uniform(material, h), cell_tags.facet_tagger)
    sim = CellSimulation(vm, system, T, surface_iterations=0, tol_phi=1e-13, tol_x=1e-13)
    return sim, system


def _transient(sim, i_app, dt, n):
    """Voltages after n implicit Euler steps of dt (s) at i_app (A/m^2), from rest."""
    sim.forms.i_app.value = i_app
    v = []
    for _ in range(n):
        res = sim.step(dt)
        assert res.converged, res.reason
        v.append(sim.voltage())
    return np.array(v)


def test_current_step_charges_the_double_layer_with_r_ct_c_dl():
    """Linear regime (i_app = 1 % of i0): V(t) = V_steady + i R_ct exp(-t / tau), tau = R_ct C_DL,
    R_ct = R T / (F i0); C_DL of NMC622 (8e-7 F/cm^2, 004), none at the Li (instantaneous)."""
    c_dl = 8e-3  # F/m^2
    sim, system = _planar_sim({"cathode": f"{c_dl} F/m^2", "anode": "0 F/m^2"})
    i0 = system.exchange_current_density()
    r_ct = GAS_CONSTANT * T / (FARADAY * i0)
    tau = r_ct * c_dl
    i_app = 0.01 * i0
    dt, n = tau / 200, 800
    v = _transient(sim, i_app, dt, n)
    t = dt * np.arange(1, n + 1)
    res = sim.quasi_static(i_app)  # the steady state (double layer charged) at this current
    assert res.converged
    v_steady = sim.voltage()
    amp = i_app * r_ct
    analytic = v_steady + amp * np.exp(-t / tau)
    err = np.max(np.abs(v - analytic)) / amp
    # tau from a log-linear fit of the transient over 0.5 to 3 tau
    sel = (t > 0.5 * tau) & (t < 3 * tau)
    slope = np.polyfit(t[sel], np.log(v[sel] - v_steady), 1)[0]
    tau_fit = -1.0 / slope
    print(
        f"RC: tau = R_ct C_DL = {tau * 1e3:.5f} ms, fitted {tau_fit * 1e3:.5f} ms "
        f"({abs(tau_fit / tau - 1) * 100:.3f} %), max |V - V_analytic| = {err * 100:.3f} % of i R_ct "
        f"({amp * 1e6:.3f} uV)"
    )
    assert err < 0.01
    assert tau_fit == pytest.approx(tau, rel=0.01)


def test_zero_capacitance_changes_nothing():
    """double_layer {cathode: 0, anode: 0} gives the voltages of the cell without the section, to
    solver tolerance; a nonzero one gives other voltages."""
    runs = []
    zero, some = {"cathode": "0 F/m^2", "anode": "0 F/m^2"}, {"cathode": "8e-3 F/m^2", "anode": "2e-3 F/m^2"}
    for dl in (None, zero, some):
        sim, system = _planar_sim(dl)
        runs.append(_transient(sim, 0.05 * system.exchange_current_density(), 1e-3, 5))
    assert np.max(np.abs(runs[1] - runs[0])) < 1e-10
    assert np.max(np.abs(runs[2] - runs[0])) > 1e-6


def test_quasi_static_solve_is_the_steady_state_with_double_layers():
    """The quasi-static solve leaves the double layers out: with or without them it gives the same
    (steady) potentials, not the instantaneous response of charged-at-rest capacitors."""
    volts = []
    for dl in (None, {"cathode": "8e-3 F/m^2", "anode": "2e-3 F/m^2"}):
        sim, system = _planar_sim(dl)
        assert sim.quasi_static(0.05 * system.exchange_current_density()).converged
        volts.append(sim.voltage())
    assert volts[1] == pytest.approx(volts[0], abs=1e-10)


@pytest.mark.mpi
def test_double_layer_transient_serial_and_two_ranks_agree():
    from mpi4py import MPI

    volts = []
    for comm in (MPI.COMM_SELF, MPI.COMM_WORLD):
        sim, system = _planar_sim({"cathode": "8e-3 F/m^2", "anode": "2e-3 F/m^2"}, comm=comm, lateral=(2, 2))
        volts.append(_transient(sim, 0.05 * system.exchange_current_density(), 1e-5, 6))
    assert np.max(np.abs(volts[1] - volts[0])) < 1e-10

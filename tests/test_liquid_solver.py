"""The iterative solver of a liquid cell: BoomerAMG on the electrolyte-concentration block.

In a liquid cell the second field holds c_e / c_e0 in the pore network, a diffusion operator that
Jacobi leaves to the Krylov method (docs/liquid.md, "Solver"). These tests check that the
iterative run equals the direct one and that its Krylov iterations per Newton iteration stay
those of an AMG-preconditioned system, on a small 3D composite whose pores are liquid.
"""

import numpy as np
import pytest

import fem_assb


def _case(solver: str) -> dict:
    return {
        "name": f"lib_tiny_{solver}",
        "structure": {
            "generator": {
                "kind": "composite", "shape": [12, 8, 8], "voxel_size": "1 um",
                "cam_fraction": 0.65, "se_fraction": 0.0, "d_cam": "4 um", "pore": "LE", "seed": 0,
            }
        },
        "cell": {
            "separator": {"material": "LE", "thickness": "10 um", "porosity": 0.5,
                          "conductivity_factor": 0.5},
            "li_metal": "0 um",
        },
        "materials": {"preset": "NMC811_LiPF6"},
        "operation": {
            "temperature": "298.15 K",
            "steps": [{"kind": "discharge", "current_density": "4 mA/cm^2", "cutoff_voltage": "3.6 V"}],
        },
        "numerics": {"dt_initial": "1 s", "dt_max": "30 s", "linear_solver": solver},
        "outputs": {"fields": [], "plots": False},
    }


@pytest.fixture(scope="module")
def runs():
    return {s: fem_assb.Simulation(_case(s)).run() for s in ("direct", "iterative")}


def test_liquid_iterative_run_equals_direct(runs):
    it, lu = runs["iterative"], runs["direct"]
    assert it.summary["linear_solver"] == "iterative"
    assert it.summary["time_steps"] == lu.summary["time_steps"]
    assert np.max(np.abs(np.asarray(it.history.voltage) - np.asarray(lu.history.voltage))) < 1e-6
    assert it.summary["capacity_mAh_cm2"] == pytest.approx(lu.summary["capacity_mAh_cm2"], rel=1e-7)


def test_liquid_concentration_block_is_multigrid_preconditioned(runs):
    """Measured on this cell (1327 cells): 12.9 BiCGStab iterations per Newton iteration with AMG
    on the c_e block, 77.7 with Jacobi on it (cases/lib_le_small.yaml: 15.8 against 140)."""
    s = runs["iterative"].summary
    per_newton = s["linear_iterations"] / s["newton_iterations"]
    assert per_newton < 30, per_newton


def test_failed_krylov_solves_are_redone_by_lu(runs):
    """Where BiCGStab fails (here forced: ksp_max_it 2, so every Krylov solve fails) the step is
    redone from the same start with MUMPS and the next steps go to MUMPS first
    (CellSimulation.step): the run is the direct run, not a run of cut steps down to dt_min.
    (Measured where it matters: a 53 x 10 x 10 LIB cathode at 8 mA/cm^2 whose electrolyte
    depletes, docs/liquid.md "Solver".)"""
    case = _case("iterative")
    case["numerics"]["petsc_options"] = {"ksp_max_it": 2}
    r, lu = fem_assb.Simulation(case).run(), runs["direct"]
    s = r.summary
    assert s["direct_fallbacks"] >= 1
    assert lu.summary["direct_fallbacks"] == 0
    assert s["time_steps"] == lu.summary["time_steps"]
    assert s["rejected_steps"] == lu.summary["rejected_steps"]
    assert np.max(np.abs(np.asarray(r.history.voltage) - np.asarray(lu.history.voltage))) < 1e-9


def test_preconditioner_variables_remove_the_diffusion_potential_coupling():
    """The block preconditioner of a liquid cell works in the variables (phi - the diffusion
    potential, x): y = T z with T = [[I, diag(B)], [0, I]] and B = (1 - t+)(2RT/F) TDF / x
    (CellForms.diffusion_potential_shift). With constant electrolyte parameters the current
    between two liquid cells then depends on x no more, so the phi rows of J T of the liquid cells
    with only liquid neighbours have no x entries left, while those of J are of order T_kappa B;
    and J T's x block is the diffusion operator (an M-matrix, which BoomerAMG needs) where J's
    x block carries -t+ T_kappa B / F besides. A wrong sign or factor of B leaves the entries."""
    from liquid_cells import constant_liquid_system, liquid_planar_mesh
    from mpi4py import MPI

    from fem_assb.meshing import cell_tags as tags
    from fem_assb.studies.discharge import CellSimulation

    sim = CellSimulation(liquid_planar_mesh(MPI.COMM_SELF), constant_liquid_system(0.25), 298.15)
    f, newton = sim.forms, sim.newton
    liquid = np.isin(f.material.x.array, tags.LIQUID)
    u = f.u.x.array.reshape(-1, 2)
    u[liquid, 1] = np.random.default_rng(1).uniform(0.05, 1.5, liquid.sum())  # c_e / c_e0
    newton._assemble_jacobian()
    J = newton.A.convert("dense").getDenseArray().copy()
    B = f.diffusion_potential_shift()
    assert np.all(B[~liquid] == 0)
    d = (1 - 0.25) * 2 * 8.314462618 * 298.15 / 96485.33212 * 1.85
    assert np.allclose(B[liquid], d / u[liquid, 1], rtol=1e-6)
    JT = J.copy()
    JT[:, 1::2] += J[:, 0::2] * B  # column x_j += B_j column phi_j
    phi_cols = J[0::2, 0::2]
    inner = [i for i in np.flatnonzero(liquid) if liquid[np.flatnonzero(phi_cols[i])].all()]
    assert len(inner) > 10
    positive_in_J = 0
    for i in inner:
        before, after = np.abs(J[2 * i, 1::2]).max(), np.abs(JT[2 * i, 1::2]).max()
        assert before > 1e-3 * np.abs(J[2 * i, 0::2]).max()  # the coupling is there in J
        assert after < 1e-9 * before
        row = JT[2 * i + 1, 1::2]  # the x block: the diffusion operator plus storage
        off = np.delete(row, i)
        assert np.all(off <= 1e-12 * row[i]) and row[i] > 0 and row.sum() > -1e-9 * row[i]
        positive_in_J += np.delete(J[2 * i + 1, 1::2], i).max() > 1e-9 * J[2 * i + 1, 2 * i + 1]
    assert positive_in_J > 0  # J's own x block is no M-matrix at these c_e

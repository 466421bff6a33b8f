"""The cell's Newton solve on PETSc SNES: reasons in errors, PETSc options (prefix, monitors,
unused options reported once, nothing left in PETSc's database), same answer as the
hand-written Newton loop it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from discharge_cells import planar_mesh
from mpi4py import MPI
from petsc4py import PETSc

from fem_assb.errors import InputError, SolverError
from fem_assb.materials import get_system
from fem_assb.solvers.newton import OPTIONS_PREFIX
from fem_assb.solvers.options import normalize
from fem_assb.solvers.time_stepping import StepControl
from fem_assb.studies.discharge import CellSimulation, Operation

T = 298.15

#: Measured with the hand-written Newton loop this SNES solver replaced (main at ffdddae,
#: fem_assb/solvers/newton.py before issue 15, run from a detached checkout): the planar cell
#: below (32 CAM slabs, constant D) discharged at 0.3 A/m^2 to 3.0 V with dt_max 400 s and
#: dU_max 0.005 V: capacity (C/m^2), accepted steps, Newton iterations, rejected steps.
PRE_SNES_PLANAR = {"q": None, "steps": None, "newton": None, "rejected": None}


@pytest.fixture(scope="module")
def system():
    return get_system("NMC811_Li6PS5Cl", overrides={"cam": {"D": "8.71e-13 cm^2/s"}})


def _sim(system, comm=MPI.COMM_WORLD, **kw):
    control = kw.pop("control", StepControl(dt_max=400.0, dU_max=0.005))
    return CellSimulation(planar_mesh(comm, n_cam=8), system, T, control=control, **kw)


def _left_in_database():
    return [k for k in PETSc.Options().getAll() if k.startswith(OPTIONS_PREFIX)]


@pytest.mark.mpi
def test_snes_max_it_fails_with_the_snes_reason(system):
    """snes_max_it: 1 cannot converge the initial potentials (they need several iterations):
    the failure is an error naming SNES's reason, never an accepted state."""
    sim = _sim(system, petsc_options={"snes_max_it": 1})
    assert sim.newton.max_it == 1
    sim.newton.max_it = 60  # what the quasi-static solve asks for: the user's option wins
    assert sim.newton.max_it == 1
    with pytest.raises(SolverError, match="DIVERGED_MAX_IT"):
        sim.run([Operation("discharge", current_density=0.3, cutoff=3.0)])
    assert sim.history.steps == 0
    assert _left_in_database() == []


@pytest.mark.mpi
def test_failed_time_step_is_cut_and_retried_not_accepted(system):
    """A Newton solve that fails (here: at most 2 iterations, too few for the first time steps
    after the quasi-static start at dt = 400 s) is cut and retried; the run converges on the
    shorter steps and records the rejections."""
    sim = _sim(system, petsc_options={"-snes_max_it": 3}, control=StepControl(dt_initial=400.0, dt_max=400.0))
    res = sim.quasi_static(0.3)  # snes_max_it 3 holds for it as well
    assert not res.converged and res.reason.startswith("DIVERGED_MAX_IT")
    sim2 = _sim(system, petsc_options={"snes_max_it": 6}, control=StepControl(dt_initial=400.0, dt_max=400.0))
    hist = sim2.run([Operation("discharge", current_density=0.3, cutoff=3.0, duration=2000.0)])
    assert hist.rejected > 0
    assert hist.steps > 0 and sim2.t == pytest.approx(2000.0)


def test_monitors_print(system, capfd):
    """-snes_monitor and -ksp_monitor under the solver's prefix print PETSc's monitor lines."""
    sim = _sim(system, linear_solver="iterative", petsc_options={"snes_monitor": True, "ksp_monitor": True})
    capfd.readouterr()
    res = sim.step(10.0)
    assert res.converged
    out = capfd.readouterr().out
    assert "SNES Function norm" in out
    assert "KSP Residual norm" in out
    quiet = _sim(system, linear_solver="iterative")
    capfd.readouterr()
    quiet.step(10.0)
    assert "SNES Function norm" not in capfd.readouterr().out


@pytest.mark.mpi
def test_unused_option_is_reported_once(system):
    """A misspelt option (and one the direct solver never reads) is reported once, on the first
    solve; PETSc's database keeps none of the solver's options afterwards (no "unused database
    options" warning at exit)."""
    messages = []
    sim = _sim(
        system,
        petsc_options={"snes_monitr": True, "ksp_rtol": 1e-8, "snes_linesearch_max_it": 3},
        report=messages.append,
    )
    assert _left_in_database() == []
    for dt in (1.0, 2.0):
        assert sim.step(dt).converged
    assert len(messages) == 1
    assert "-fem_assb_newton_snes_monitr" in messages[0]
    assert "ksp_rtol" in messages[0]  # LU: preonly reads no tolerance
    assert "snes_linesearch" not in messages[0]
    assert sim.newton.unused_options == ["snes_monitr", "ksp_rtol"]
    assert _left_in_database() == []


@pytest.mark.mpi
def test_user_options_change_the_solver(system):
    """Options reach the SNES and its KSP, and replace the defaults: a built-in line search,
    a Krylov tolerance."""
    sim = _sim(system, linear_solver="iterative", petsc_options={"snes_linesearch_type": "bt", "ksp_rtol": 1e-9})
    assert sim.newton.snes.getLineSearch().getType() == "bt"
    assert sim.newton.ksp.getTolerances()[0] == pytest.approx(1e-9)
    assert sim.newton.ksp.getType() == "bcgs"
    assert sim.step(10.0).converged
    default = _sim(system, linear_solver="iterative")
    assert default.newton.snes.getLineSearch().getType() == "shell"
    assert default.newton.ksp.getTolerances()[0] == pytest.approx(1e-6)
    assert default.newton.ksp.getPC().getType() == "python"


@pytest.mark.mpi
def test_iterative_solver_after_a_direct_one_keeps_its_preconditioner(system):
    """The direct solver's settings do not leak into a later iterative solver (they did through
    PETSc's global database before the SNES move: the "iterative" solver then ran BiCGStab
    preconditioned by LU)."""
    _sim(system)
    it = _sim(system, linear_solver="iterative")
    assert it.newton.ksp.getPC().getType() == "python"
    assert it.newton.ksp.getType() == "bcgs"


def test_petsc_options_are_validated():
    assert normalize({"-snes_monitor": True, "ksp_rtol": 1e-8, "snes_type": "newtonls", "x": False}) == {
        "snes_monitor": None,
        "ksp_rtol": "1e-08",
        "snes_type": "newtonls",
        "x": "false",
    }
    with pytest.raises(InputError, match="mapping"):
        normalize(["snes_monitor"])
    with pytest.raises(InputError, match="not a PETSc option name"):
        normalize({"snes monitor": True})
    with pytest.raises(InputError, match="string, a number or true/false"):
        normalize({"ksp_rtol": [1e-8]})
    with pytest.raises(InputError, match="given twice"):
        normalize({"-ksp_rtol": 1, "ksp_rtol": 2})


@pytest.mark.mpi
def test_snes_solver_gives_the_pre_snes_answer(system):
    """Same capacity (1e-6 relative), steps, Newton iterations and rejections as the Newton loop
    it replaced (PRE_SNES_PLANAR)."""
    vm = planar_mesh(MPI.COMM_WORLD, n_cam=32)
    sim = CellSimulation(vm, system, T, control=StepControl(dt_max=400.0, dU_max=0.005))
    hist = sim.run([Operation("discharge", current_density=0.3, cutoff=3.0)])
    ref = PRE_SNES_PLANAR
    assert sim.q == pytest.approx(ref["q"], rel=1e-6)
    assert (hist.steps, hist.newton, hist.rejected) == (ref["steps"], ref["newton"], ref["rejected"])
    assert np.isfinite(hist.voltage).all()

"""Several CAM materials in one cell (materials.cams; docs/materials.md, "Several CAM materials").

The CAM | CAM law is continuity of the Li chemical potential, U0_a(x_a^s) = U0_b(x_b^s)
(forms.transport.cam_interface_li_flux; with a shared U0(x): continuity of x = c / c_max).
Tested against an independent 1D finite-volume solution (method of lines, written here; brentq
for the interface flux where the U0s differ), with the alternative laws (continuity of c, or of
x for different U0s) shown to differ from it by far more than the tolerance; the local solve
equals the shared-U0 law where the U0s agree; a cell whose two labels name the same
parameters equals the single-material cell; C_theo is the hand sum; Li is conserved; 1 and 2 ranks
agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from discharge_cells import PLANAR, assert_same_as_serial, planar_grid
from mpi4py import MPI

from fem_assb.constants import FARADAY, GAS_CONSTANT
from fem_assb.materials import get_system
from fem_assb.meshing import cell_tags as tags
from fem_assb.meshing.voxel_mesh import build_voxel_mesh
from fem_assb.solvers.time_stepping import StepControl
from fem_assb.studies.discharge import SURFACE_ITERATIONS, CellSimulation, Operation

#: CAM cells of the 2 um planar slab; the first quarter (0.5 um) at the SE is the shell. The end of
#: the discharge is the saturation of the slow shell's surface, resolved only by fine cells:
#: measured capacity / voltage errors 2.6 % / 69 mV with 32 cells, 0.59 % / 13 mV with 64,
#: 0.018 % / 0.87 mV with 128 (first order in h near the cut-off; 0.06 mV mid-curve with 32)
N_CAM, N_SHELL = 128, 32
#: a shell material of the test: c_max 75 % of LCO's (same x0), D 4x lower than LCO's 8.48e-12 cm^2/s
SHELL = {"c_max": "0.03866625 mol/cm^3", "c0": "0.0202935 mol/cm^3", "D": "2e-12 cm^2/s"}
I_APP = 0.3  # A/m^2 (0.03 mA/cm^2): the shell's diffusion limits the capacity to about 60 %
U_CUT = 3.4  # V


def _system(shell=SHELL):
    return get_system("LCO_LLZO_LT", overrides={"cams": {"SHELL": dict(shell)}})


def _mesh(comm, shell_code=tags.CAM_EXTRA[0], n_cam=N_CAM):
    """Li | separator | shell (the first quarter of n_cam cells) | core | collector, one cell across."""
    grid = None
    if comm.rank == 0:
        grid = planar_grid(n_cam=n_cam)
        first = int(np.flatnonzero(grid.material[:, 0, 0] == tags.CAM)[0])
        grid.material[first : first + n_cam * N_SHELL // N_CAM] = shell_code
    return build_voxel_mesh(comm, grid, tags.facet_tagger)


def _run(comm, system, I=I_APP, control=None, shell_code=tags.CAM_EXTRA[0], n_cam=N_CAM, duration=None):
    ops = [Operation("discharge", current_density=I, cutoff=U_CUT, duration=duration)]
    sim = CellSimulation(  # the half-cell surface correction: the 1D reference has face values
        _mesh(comm, shell_code, n_cam),
        system,
        control=control or StepControl(dt_max=200.0, dU_max=0.005),
        surface_iterations=SURFACE_ITERATIONS,
    )
    lithium = [sim.lithium()]
    hist = sim.run(ops, on_step=lambda s, rec: lithium.append(s.lithium()))
    return sim, hist.as_table(), np.array(lithium)


# --- the independent 1D reference ---------------------------------------------------------------


def reference_1d(system, I, law="potential", n=400, U_cut=U_CUT):
    """Galvanostatic discharge of the planar Li | SE | shell | core | collector cell of _mesh by
    the method of lines on n finite volumes of the CAM (numpy / scipy BDF).

    Unknown: c [mol/m^3] per volume. law "potential": at the shell | core interface the Li
    chemical potential is continuous, U0_shell(x_shell) = U0_core(x_core) at the interface
    (brentq for the interface flux; with a shared U0(x) that is x_shell = x_core, the flux in x
    of the two half cells in series); "stoichiometry": x continuous whatever the U0s (the law of
    a shared U0, wrong for different ones); "concentration": c continuous. Li enters the shell at
    the SE face at I / F; the surface concentration is the face value of the first volume;
    voltage = U0(x_s) + eta_CAM - eta_Li - ohmic drops (Butler-Volmer, alpha = 0.5).
    Returns t_end [s] (cut-off) and voltage(t) [V] of the dense solution."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import brentq
    from scipy.sparse import diags

    core, shell = system.cam, system.cams["SHELL"]
    T = system.temperature
    f = FARADAY / (GAS_CONSTANT * T)
    L = PLANAR["L_cam"]
    h = L / n
    centres = (np.arange(n) + 0.5) * h
    in_shell = centres < L * N_SHELL / N_CAM
    cmax = np.where(in_shell, shell.c_max, core.c_max)
    D = np.where(in_shell, float(shell.D.value_at(0.5, T)), float(core.D.value_at(0.5, T)))
    c_start = np.where(in_shell, shell.c0, core.c0)
    if law in ("potential", "stoichiometry"):  # flux in x = c / c_max, each half cell in its own material
        w = cmax
    else:  # flux in c
        w = np.ones(n)
    g = 1.0 / (h / (2 * D[:-1] * w[:-1]) + h / (2 * D[1:] * w[1:]))  # face transmissibility

    k = int(np.count_nonzero(in_shell))  # face k - 1 | k: the shell | core interface
    shared = np.allclose(
        np.asarray(shell.U0(np.linspace(0, 1, 101), T, np))
        - np.asarray(core.U0(np.linspace(0, 1, 101), T, np)),
        0.0,
    )
    g_s, g_c = 2.0 * D[k - 1] * cmax[k - 1] / h, 2.0 * D[k] * cmax[k] / h  # half cells [mol/(m^2 s)]

    def interface(x_s, x_c):
        """Li flux shell -> core [mol/(m^2 s)] with U0_shell(x_s^i) = U0_core(x_c^i) at the
        interface, x_s^i = x_s - N / g_s and x_c^i = x_c + N / g_c (brentq on N)."""

        def r(N):
            return float(shell.U0(x_s - N / g_s, T, np)) - float(core.U0(x_c + N / g_c, T, np))

        lo = max(g_s * (x_s - 1.0), -g_c * x_c) * (1 - 1e-12)
        hi = min(g_s * x_s, g_c * (1.0 - x_c)) * (1 - 1e-12)
        return brentq(r, lo, hi, xtol=1e-30, rtol=1e-15, maxiter=400)

    def rhs(t, c):
        u = c / w
        J = g * (u[:-1] - u[1:])  # mol/(m^2 s) towards the collector
        if law == "potential" and not shared:
            J[k - 1] = interface(u[k - 1], u[k])
        dc = np.zeros(n)
        dc[0] += I / FARADAY / h
        dc[:-1] -= J / h
        dc[1:] += J / h
        return dc

    c_e = system.electrolyte.c0
    kappa = float(system.electrolyte.kappa(c_e, T, np))
    an = system.anode
    ohmic = I * (PLANAR["L_li"] / min(an.sigma, 1e5) + PLANAR["L_sep"] / kappa + PLANAR["L_cc"] / 1e5)
    ohmic += I * L / float(core.sigma.value_at(0.5, T))
    eta_li = 2.0 / f * np.arcsinh(I / (2.0 * an.i0))

    def voltage(c):
        c_s = c[0] + I / FARADAY * (h / 2) / D[0]
        c_s = min(max(c_s, 1e-12 * cmax[0]), cmax[0] * (1 - 1e-15))
        i0 = shell.i00 * np.sqrt(c_e * c_s * (cmax[0] - c_s))
        eta_c = -2.0 / f * np.arcsinh(I / (2.0 * i0))
        return float(shell.U0(c_s / cmax[0], T, np)) + eta_c - eta_li - ohmic

    def cutoff(t, c):
        return voltage(c) - U_cut

    cutoff.terminal, cutoff.direction = True, -1
    q_theo = np.sum((cmax - c_start) * h) * FARADAY
    sol = solve_ivp(
        rhs,
        (0.0, 2.0 * q_theo / I),
        c_start,
        method="BDF",
        dense_output=True,
        events=cutoff,
        rtol=1e-9,
        atol=1e-9 * float(cmax.max()),
        jac_sparsity=diags([np.ones(n - 1)] * 2 + [np.ones(n)], [-1, 1, 0]),
    )
    assert sol.status == 1, sol.message  # ended at the cut-off
    return {"t_end": float(sol.t_events[0][0]), "voltage": lambda t: voltage(sol.sol(t)), "q_theo": q_theo}


# --- tests --------------------------------------------------------------------------------------


def _compare(tab, ref):
    """(capacity error, max |voltage error| [V] over the curve) against the reference, leaving
    out the first 2 % (an initial diffusion layer thinner than half a cell) and the final plunge
    below 3.45 V (nearly vertical: it is compared through the capacity)."""
    u_ref = np.array([ref["voltage"](t) for t in tab["t"][1:]])
    sel = (u_ref > U_CUT + 0.05) & (tab["t"][1:] > 0.02 * ref["t_end"])
    assert sel.sum() > 30
    return tab["t"][-1] / ref["t_end"] - 1.0, float(np.max(np.abs(tab["voltage"][1:][sel] - u_ref[sel])))


@pytest.mark.mpi
def test_two_material_slab_matches_1d_reference():
    s = _system()
    sim, tab, lithium = _run(MPI.COMM_WORLD, s)
    ref = reference_1d(s, I_APP)
    cap_err, v_err = _compare(tab, ref)
    alt = reference_1d(s, I_APP, law="concentration")
    if MPI.COMM_WORLD.rank == 0:
        print(
            f"\ntwo-material slab: voltage error {v_err * 1e3:.3f} mV, capacity {cap_err:.3%} "
            f"(t_end {tab['t'][-1]:.1f} s, reference {ref['t_end']:.1f} s; c-continuous law: "
            f"{alt['t_end']:.1f} s)"
        )
    assert abs(cap_err) < 0.01
    assert v_err < 2e-3
    # the law is visible: continuity of c instead of x changes the capacity by far more than 1 %
    assert abs(alt["t_end"] / ref["t_end"] - 1.0) > 0.05
    # the shell limits: less than 90 % of C_theo, whose hand sum over the two materials holds
    assert sim.q_theo == pytest.approx(ref["q_theo"], rel=1e-12)
    assert tab["t"][-1] * I_APP < 0.9 * sim.q_theo
    # conservation: the Li of both materials grows by I A t / F
    expected = I_APP * sim.area * tab["t"] / FARADAY
    assert np.max(np.abs(lithium - lithium[0] - expected)) < 1e-8 * expected[-1]
    if MPI.COMM_WORLD.size > 1:  # the same answer on one rank
        _, ser, _ = _run(MPI.COMM_SELF, s)
        assert ser["t"].shape == tab["t"].shape
        assert np.allclose(ser["t"], tab["t"], rtol=1e-9, atol=1e-9)
        assert np.max(np.abs(ser["voltage"] - tab["voltage"])) < 1e-6


def test_same_parameters_equal_the_single_material_cell():
    """A shell label naming materials.cam's own parameters: the single-material cell."""
    s = get_system("LCO_LLZO_LT", overrides={"cams": {"SHELL": {}}})
    control = StepControl(dt_max=400.0, dU_max=0.01)
    _, two, _ = _run(MPI.COMM_SELF, s, I=1.0, control=control)
    _, one, _ = _run(MPI.COMM_SELF, s, I=1.0, control=control, shell_code=tags.CAM)
    assert two["t"].shape == one["t"].shape
    assert np.allclose(two["t"], one["t"], rtol=1e-9, atol=1e-9)
    assert np.max(np.abs(two["voltage"] - one["voltage"])) < 1e-8
    assert np.max(np.abs(two["x_mean"] - one["x_mean"])) < 1e-9


def test_theoretical_capacity_is_the_sum_over_materials():
    s = _system()
    sim = CellSimulation(_mesh(MPI.COMM_SELF), s)
    h = PLANAR["L_cam"] / N_CAM
    core, shell = s.cam, s.cams["SHELL"]
    hand = FARADAY * h * (N_SHELL * (shell.c_max - shell.c0) + (N_CAM - N_SHELL) * (core.c_max - core.c0))
    assert sim.q_theo == pytest.approx(hand, rel=1e-12)
    assert shell.c_max == pytest.approx(0.75 * core.c_max, rel=1e-12)
    # the initial state: each material at its own x0 (equal here), at rest
    assert np.allclose(sim.forms.cam_stoichiometry(), core.x0, atol=1e-14)
    assert sim.mean_stoichiometry() == pytest.approx(core.x0, abs=1e-12)


# --- the case: fem-assb modify --shell, materials.cams, the API --------------------------------


def _shell_image(folder, thickness="0.5um"):
    """A small generated LCO | SE composite (8 x 6 x 6 voxels of 0.5 um) and its copy with an
    AL_LCO shell made by ``fem-assb modify --shell`` (the CLI, in a child process of rank 0)."""
    import subprocess
    import sys

    from child_env import ROOT, child_env

    from fem_assb.structure.generate import generate_composite
    from fem_assb.structure.io import write_image

    plain, shell = folder / "plain.npz", folder / f"shell_{thickness}.npz"
    if MPI.COMM_WORLD.rank == 0 and not shell.is_file():
        image = generate_composite(
            (8, 6, 6), "0.5 um", cam_fraction=0.6, se_fraction=0.4, d_cam="1.5 um", d_se="1 um", seed=0
        )
        write_image(image, plain)
        cmd = [sys.executable, "-m", "fem_assb", "modify", str(plain), str(shell), "--shell", thickness]
        done = subprocess.run(cmd, env=child_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    MPI.COMM_WORLD.barrier()
    return plain, shell


def _case(image, cams=None, **materials):
    return {
        "name": "shells",
        "structure": {"image": str(image)},
        "cell": {"separator": {"material": "SE", "thickness": "5 um"}, "li_metal": "2 um"},
        "materials": {"preset": "LCO_LLZO_LT", **({"cams": cams} if cams is not None else {}), **materials},
        "operation": {
            "steps": [
                {
                    "kind": "discharge",
                    "current_density": "0.5 mA/cm^2",
                    "cutoff_voltage": "3.4 V",
                    "duration": "40 s",
                }
            ]
        },
        "numerics": {"dt_initial": "5 s", "dt_max": "10 s", "linear_solver": "direct"},
        "outputs": {"fields": [], "plots": False},
    }


@pytest.mark.mpi
def test_shell_case_runs_from_the_api_with_per_material_indicators(shared_tmp_path):
    from fem_assb import Simulation
    from fem_assb.structure import analysis
    from fem_assb.structure.io import read_image

    plain, shell = _shell_image(shared_tmp_path)
    image = read_image(shell)
    h3 = image.voxel_size**3
    # the simulated CAM: face-connected to the collector (isolated clusters are removed)
    kept = analysis.connected_to_face(image.mask("CAM"), "xmax")  # mask("CAM"): both materials
    n_shell = int((kept & image.mask("AL_LCO")).sum())
    n_core = int(kept.sum()) - n_shell
    assert n_shell > 0 and n_core > 0
    case = _case(shell, {"AL_LCO": {"preset": "Al-LCO"}})
    res = Simulation(case, comm=MPI.COMM_WORLD).run()
    base = Simulation(_case(plain), comm=MPI.COMM_WORLD).run()
    s, s0 = res.summary, base.summary
    assert s["complete"] and s0["complete"]
    lco, al = (
        get_system("LCO_LLZO_LT"),
        get_system("LCO_LLZO_LT", overrides={"cams": {"A": {"preset": "Al-LCO"}}}).cams["A"],
    )
    area = image.shape[1] * image.shape[2] * image.voxel_size**2
    hand = FARADAY * h3 * (n_core * (lco.cam.c_max - lco.cam.c0) + n_shell * (al.c_max - al.c0)) / area
    assert s["theoretical_capacity_mAh_cm2"] == pytest.approx(hand / 3.6e4, rel=1e-12)
    parts = s["inventory"]["extra_cams"]
    assert [p["name"] for p in parts] == ["AL_LCO"] and parts[0]["volume"] == pytest.approx(
        n_shell * h3, rel=1e-12
    )
    # the shell's lost sites: C_theo falls by a quarter of the shell's LCO capacity
    lost = FARADAY * h3 * n_shell * 0.25 * (lco.cam.c_max - lco.cam.c0) / area / 3.6e4
    assert s0["theoretical_capacity_mAh_cm2"] - s["theoretical_capacity_mAh_cm2"] == pytest.approx(
        lost, rel=1e-9
    )
    # the CAM mass counts each material's density
    m_cam = h3 * (n_core * lco.cam.density + n_shell * al.density) * 1e3 / area  # g/m^2
    m_se = s["masses_g_m2"]["cathode"] - m_cam
    assert m_se == pytest.approx(
        s0["masses_g_m2"]["cathode"] - h3 * (n_core + n_shell) * lco.cam.density * 1e3 / area
    )
    # same current and time: the same charge, less kinetically available (slower shell) -> lower voltage
    assert s["capacity_mAh_cm2"] == pytest.approx(s0["capacity_mAh_cm2"], rel=1e-9)
    assert s["final_voltage_V"] < s0["final_voltage_V"] - 1e-3
    if MPI.COMM_WORLD.size > 1:  # the same answer on one rank
        ser = Simulation(case, comm=MPI.COMM_SELF).run()
        assert np.max(np.abs(ser.history.voltage - res.history.voltage)) < 1e-6


def test_case_errors_name_the_problem_and_the_fix(tmp_path):
    from fem_assb.case import resolve_case
    from fem_assb.errors import InputError

    _, shell = _shell_image(tmp_path)
    with pytest.raises(InputError, match=r"cams\.AL_LC names no CAM-class label.*did you mean 'AL_LCO'"):
        resolve_case(_case(shell, {"AL_LC": {"preset": "Al-LCO"}}))
    with pytest.raises(InputError, match=r"unknown CAM parameter set 'AlLCO' \(did you mean 'Al-LCO'\?\)"):
        resolve_case(_case(shell, {"AL_LCO": {"preset": "AlLCO"}}))
    with pytest.raises(InputError, match=r"CAM labels CAM, AL_LCO have no parameter set of their own"):
        resolve_case(_case(shell))
    with pytest.raises(InputError, match=r"would not start at rest.*give c0 = 0\.0202935 mol/cm\^3"):
        resolve_case(_case(shell, {"AL_LCO": {"c_max": "0.03866625 mol/cm^3"}}))
    with pytest.raises(InputError, match=r"'CAM' is a material class, not a label name"):
        resolve_case(_case(shell, {"CAM": {}, "AL_LCO": {}}))
    _, whole = _shell_image(tmp_path, "20um")  # every CAM voxel in the shell
    with pytest.raises(InputError, match=r"materials\.cam has no effect: every CAM voxel"):
        resolve_case(_case(whole, {"AL_LCO": {}}, cam={"D": "1e-12 cm^2/s"}))
    with pytest.raises(
        InputError, match=r"cams\.AL_LCO: .*not start at rest.*no x in \[0, 1\] has U0 = 4\.1"
    ):
        resolve_case(_case(shell, {"AL_LCO": {"U0": "4 V"}}))
    with pytest.raises(
        InputError, match=r"cams\.AL_LCO: .*not start at rest.*x0 = 0\.345.* would be at rest"
    ):
        resolve_case(_case(shell, {"AL_LCO": {"U0": U0_LINEAR}}))
    generated = _case(shell, {"AL_LCO": {}})
    generated["structure"] = {"generator": {"kind": "composite", "shape": [6, 4, 4], "voxel_size": "0.5 um"}}
    with pytest.raises(InputError, match=r"names no CAM-class label.*generated structure has only CAM"):
        resolve_case(generated)


def test_zero_thickness_shell_is_a_note_not_an_error(tmp_path):
    """``--shell 0um`` (the zero point of a thickness sweep): the label exists without voxels."""
    from fem_assb.case import resolve_case

    _, shell = _shell_image(tmp_path, "0um")
    case = resolve_case(_case(shell, {"AL_LCO": {"preset": "Al-LCO"}}))
    assert any("no AL_LCO voxels" in n for n in case.notes)


# --- two CAM materials with different U0(x) ----------------------------------------------------

#: U0 of the second material of the slab [V]: linear, 4.6 V at x = 0 to 3.4 V at x = 1, against
#: the core's LCO (lco_ramadass2004: flat near 3.9 V, then steep); the two meet the core's
#: U0(x0 = 0.5248) = 4.1855 V at x0 = 0.345 of the shell.
U0_LINEAR = {"expr": "4.6 - 1.2 * x", "unit": "V"}


def _linear_shell():
    """SHELL with U0_LINEAR, started at rest: c0 at the x0 whose U0 is the core's U0(x0)."""
    core = get_system("LCO_LLZO_LT").cam
    u_rest = float(core.U0(core.x0, core_T(), np))
    x0 = (4.6 - u_rest) / 1.2
    c_max = 0.75 * core.c_max  # mol/m^3
    return {**SHELL, "U0": U0_LINEAR, "c0": f"{x0 * c_max * 1e-6!r} mol/cm^3"}


def core_T():
    return get_system("LCO_LLZO_LT").temperature


@pytest.mark.mpi
def test_two_materials_with_different_U0_match_1d_reference():
    """The CAM | CAM law with continuity of U0 (transport Eq. 9, a local solve per facet) on the
    slab of LCO under a shell of linear U0 (c_max 75 %, D / 4, its own x0 at rest) against the 1D
    reference with the same condition (brentq at the interface); the law that takes x
    continuous instead ends far from it (the test sees the law)."""
    s = _system(_linear_shell())
    assert abs(float(s.cams["SHELL"].U0(s.cams["SHELL"].x0, s.temperature, np)) - 4.18548) < 1e-4
    sim, tab, lithium = _run(MPI.COMM_WORLD, s, n_cam=N_CAM_U0)
    assert any(law.name == "cam_interface" for law in sim.forms.local_laws)
    ref = reference_1d(s, I_APP)
    cap_err, v_err = _compare(tab, ref)
    alt = reference_1d(s, I_APP, law="stoichiometry")
    res = sim.residuals.get("cam_interface")
    if MPI.COMM_WORLD.rank == 0:
        print(
            f"\ndifferent U0: voltage error {v_err * 1e3:.3f} mV, capacity {cap_err:.3%} (t_end "
            f"{tab['t'][-1]:.1f} s, reference {ref['t_end']:.1f} s; x-continuous law: {alt['t_end']:.1f} s); "
            f"CAM | CAM residual {res:.3g} V"
        )
    assert abs(cap_err) < 0.01
    assert v_err < 2e-3
    assert abs(alt["t_end"] / ref["t_end"] - 1.0) > 0.05
    assert res is not None and res <= 1e-9
    expected = I_APP * sim.area * tab["t"] / FARADAY
    assert np.max(np.abs(lithium - lithium[0] - expected)) < 1e-8 * expected[-1]
    if MPI.COMM_WORLD.size > 1:  # the same answer on one rank
        _, ser, _ = _run(MPI.COMM_SELF, s, n_cam=N_CAM_U0)
        assert_same_as_serial(ser, tab, "different U0")


#: CAM cells of the different-U0 slab: measured 1.05 mV / -0.062 % with 32 cells, 0.93 mV /
#: -0.047 % with 64, 0.95 mV / -0.044 % with 128 (the rest is the time step, dU_max = 5 mV)
N_CAM_U0 = 32


def test_local_solve_equals_the_shared_U0_law(monkeypatch):
    """With one U0(x) for both materials the local solve of Eq. (9) (forced: 6 steps) gives the
    law of continuity of x (Eq. 10, no steps) to solver tolerance, step by step."""
    from fem_assb.forms.electrochemistry import CellForms

    s = _system()
    control = StepControl(dt_initial=200.0, dt_max=200.0, dU_max=1.0, dx_max=1.0)
    _, plain, _ = _run(MPI.COMM_SELF, s, control=control, n_cam=16)
    monkeypatch.setattr(CellForms, "cam_interface_iterations", 6)
    sim, solved, _ = _run(MPI.COMM_SELF, s, control=control, n_cam=16)
    assert any(law.name == "cam_interface" for law in sim.forms.local_laws)
    assert solved["t"].shape == plain["t"].shape and len(plain["t"]) > 10
    print(
        f"\nlocal solve vs shared-U0 law: {len(plain['t'])} steps, |dU| <= "
        f"{np.max(np.abs(solved['voltage'] - plain['voltage'])):.3g} V, |dx| <= "
        f"{np.max(np.abs(solved['x_mean'] - plain['x_mean'])):.3g}, "
        f"residual {sim.residuals['cam_interface']:.3g} V"
    )
    assert np.max(np.abs(solved["voltage"] - plain["voltage"])) < 1e-9
    assert np.max(np.abs(solved["x_mean"] - plain["x_mean"])) < 1e-10
    assert sim.residuals["cam_interface"] < 1e-12

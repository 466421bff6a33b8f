"""Impedance spectra (MODEL.md §3 double layers, §5 impedance; docs/impedance.md): the small-signal
linearization of the cell against the analytic thin-film impedance, against the transient solver,
Kramers-Kronig consistency of a 3D spectrum, serial = 2 ranks, the case section and its errors,
the command's files."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dolfinx")

from child_env import ROOT, child_env  # noqa: E402
from discharge_cells import tiny_case  # noqa: E402
from impedance_cells import analytic_impedance, thin_film_simulation  # noqa: E402

from fem_assb.case import resolve_case  # noqa: E402
from fem_assb.errors import InputError  # noqa: E402


def _errors(z, za):
    """(max relative |Z| error, max phase error in degrees) of z against za."""
    mag = np.max(np.abs(np.abs(z) / np.abs(za) - 1.0))
    phase = np.max(np.abs(np.degrees(np.angle(z / za))))
    return mag, phase


# --- the linearization --------------------------------------------------------------------------


def test_storage_terms_are_the_only_dependence_on_the_old_state():
    """F(u; u_old) - F(u; u) = M (u - u_old) / dt for arbitrary u, u_old: the storage terms (CAM Li,
    double layers) are linear and the only place u_old enters, which the linearization's
    M = -dt dF/du_old and J = dF/du at u_old = u rely on (CellForms.linearization)."""
    from dolfinx.fem.petsc import assemble_matrix, assemble_vector
    from petsc4py import PETSc

    from fem_assb.forms.electrochemistry import _form

    sim, _ = thin_film_simulation(ratio=2.0)
    f = sim.forms
    f.dt.value = 3e-3
    rng = np.random.default_rng(1)
    u_star = f.u.x.array.copy()
    f.u.x.array[:] = u_star + 1e-3 * rng.standard_normal(u_star.size)
    f.u_old.x.array[:] = u_star + 1e-3 * rng.standard_normal(u_star.size)
    F = _form(f.F, f.vmesh.mesh.comm)

    def residual():
        b = assemble_vector(F)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b.array_r.copy()

    with_old = residual()
    u_old = f.u_old.x.array.copy()
    f.u_old.x.array[:] = f.u.x.array
    without = residual()
    M = assemble_matrix(f.linearization()[1])
    M.assemble()
    du = M.createVecRight()
    n = du.getLocalSize()
    du.array[:] = (f.u.x.array - u_old)[:n] / f.dt.value
    storage = M * du
    scale = np.max(np.abs(storage.array_r))
    assert scale > 0
    # to rounding: of the storage terms, and of the other terms' values (eps |F|) they are added to
    tol = 1e-9 * scale + 1e-13 * np.abs(with_old)
    assert np.all(np.abs(with_old - without - storage.array_r) <= tol)


def test_thin_film_cell_matches_the_analytic_impedance():
    """Li | SE | dense CAM slab | collector at open circuit, 1 mHz .. 1 MHz (10 per decade): the
    series resistances, the Li | SE arc R_a || C_a, the cathode's Randles element C_DL || (R_ct +
    Z_D) with the finite-length (reflecting) diffusion impedance of the slab, from the analytic
    formula of tests/impedance_cells.py: within 1 % in |Z| and 1 degree in phase (measured 0.11 %,
    0.015 degree; the series form (R_ct || C_DL) + Z_D is 14 % away)."""
    from fem_assb.studies.impedance import frequency_grid, impedance_spectrum

    sim, system = thin_film_simulation()
    f = frequency_grid(1e-3, 1e6, 10)
    spec = impedance_spectrum(sim, f)
    za = analytic_impedance(f, system)
    mag, phase = _errors(spec.Z, za)
    print(
        f"thin film, {len(f)} frequencies: max |Z| error {mag * 100:.3f} %, max phase error {phase:.3f} deg"
    )
    assert mag < 0.01
    assert phase < 1.0
    # the comparison can tell the Randles element from the series form (R_ct || C_DL) + Z_D
    assert _errors(spec.Z, analytic_impedance(f, system, randles=False))[0] > 0.05
    # the features the comparison checks are all in the range: two arcs and the capacitive rise
    mz = -spec.Z.imag
    apexes = [k for k in range(1, len(f) - 1) if mz[k] > mz[k - 1] and mz[k] >= mz[k + 1]]
    assert len(apexes) == 2, f"expected the Li and the cathode arc, got apexes at {f[apexes]} Hz"
    assert mz[0] > mz[apexes].max()  # the finite slab's capacitive branch at 1 mHz


def test_one_symbolic_factorization_serves_every_frequency():
    """The block matrix keeps one nonzero pattern: the LU's symbolic analysis is done once, each
    frequency is a numeric factorization and a solve (PETSc's event counts)."""
    from petsc4py import PETSc

    from fem_assb.studies.impedance import impedance_spectrum

    PETSc.Log.begin()
    events = [PETSc.Log.Event(n) for n in ("MatLUFactorSym", "MatLUFactorNum", "MatSolve")]
    before = [e.getPerfInfo()["count"] for e in events]
    sim, _ = thin_film_simulation(ratio=2.0)
    impedance_spectrum(sim, [1.0, 10.0, 100.0, 1e3, 1e4])
    counts = [e.getPerfInfo()["count"] - b for e, b in zip(events, before, strict=True)]
    assert counts == [1, 5, 5], counts


def test_grain_boundary_capacitance_gives_its_arc():
    """The thin film with one grain boundary in the separator (grain_boundary i_GB0, C_GB): its
    R_GB || C_GB arc (~300 kHz) added to the analytic impedance, within 1 % and 1 degree from
    1 mHz to 1 MHz; without the GB term the analytic impedance is > 5 % away."""
    from impedance_cells import GB_OVERRIDES, thin_film_system

    from fem_assb.studies.impedance import frequency_grid, impedance_spectrum

    system = thin_film_system(GB_OVERRIDES)
    sim, _ = thin_film_simulation(system=system, grain_boundary=True)
    f = frequency_grid(1e-3, 1e6, 5)
    z = impedance_spectrum(sim, f).Z
    mag, phase = _errors(z, analytic_impedance(f, system))
    print(f"thin film with a GB: max |Z| error {mag * 100:.3f} %, max phase error {phase:.3f} deg")
    assert mag < 0.01
    assert phase < 1.0
    no_gb = thin_film_system({"double_layer": GB_OVERRIDES["double_layer"]})
    assert _errors(z, analytic_impedance(f, no_gb))[0] > 0.05


# --- the time domain ----------------------------------------------------------------------------


def _time_domain(sim, f_hz, amplitude, periods=3, per_period=400):
    """Z (Ohm m^2) from the transient solver: i_app = A sin(w t) (discharge positive) by implicit
    Euler from rest, V(t) fitted over the last period by a + b t + c cos(w t) + d sin(w t)."""
    w = 2 * np.pi * f_hz
    dt = 1.0 / (f_hz * per_period)
    t, v = [], []
    for n in range(1, periods * per_period + 1):
        sim.forms.i_app.value = amplitude * np.sin(w * n * dt)
        res = sim.step(dt)
        assert res.converged, res.reason
        t.append(n * dt)
        v.append(sim.voltage())
    t, v = np.array(t[-per_period:]), np.array(v[-per_period:])
    A = np.column_stack([np.ones_like(t), t - t[0], np.cos(w * t), np.sin(w * t)])
    a, b, c, d = np.linalg.lstsq(A, v, rcond=None)[0]
    V_hat = c - 1j * d  # V = Re(V_hat exp(i w t))
    I_hat = -amplitude * (-1j)  # charge current -i_app = -A sin = Re(i A exp(i w t))
    return V_hat / I_hat


def _compare_time_domain(sim, freqs):
    """The small-signal Z of ``sim`` (at rest) against :func:`_time_domain` from the same state
    at each of ``freqs``: |Z| within 2 %, phase within 2 % (0.5 degree floor). Returns the small
    signal Z, with ``sim`` back at its steady state."""
    from fem_assb.studies.impedance import impedance_spectrum

    z_small = impedance_spectrum(sim, freqs).Z
    u0 = sim.save()
    for f, zs in zip(freqs, z_small, strict=True):
        sim.restore(u0)
        sim.forms.u_old.x.array[:] = u0
        sim._last = None
        zt = _time_domain(sim, f, amplitude=0.05)
        mag, phase = abs(zt) / abs(zs) - 1.0, np.degrees(np.angle(zt / zs))
        print(
            f"{f:g} Hz: small signal {zs * 1e4:.4f}, time domain {zt * 1e4:.4f} Ohm cm^2: "
            f"|Z| {mag * 100:+.3f} %, phase {phase:+.3f} deg"
        )
        assert abs(mag) < 0.02
        assert abs(phase) < 0.02 * 180 / np.pi * abs(np.angle(zs)) + 0.5  # 2 % of the phase, 0.5 deg floor
    sim.restore(u0)  # back to the steady state
    sim.forms.u_old.x.array[:] = u0
    sim._last = None
    return z_small


def test_small_signal_equals_the_transient_solver_at_three_frequencies():
    """A 0.05 A/m^2 current sine (a ~0.5 mV response) through CellSimulation.step at the Warburg
    branch (1 Hz), the cathode arc (1 kHz) and the Li arc (30 kHz): amplitude within 2 %, phase
    within 2 % (0.5 degree floor) of the small signal (measured: 0.04, 0.09, 0.27 % and 0.14,
    0.06, 0.11 degree; ~15 s)."""
    _compare_time_domain(thin_film_simulation(ratio=2.0)[0], [1.0, 1.0e3, 3.0e4])


# --- a liquid electrolyte (docs/liquid.md): the c_e storage eps c_e0 dx/dt in M --------------------


def _liquid_simulation():
    """The planar liquid cell of tests/liquid_cells.py (Li | porous LE separator 20 um | LE layer
    10 um | NMC811 slab 2 um | collector, 48 cells) at rest, with double layers (8e-7 F/cm^2 at
    CAM | LE, 2e-7 at Li | LE) and a faster CAM (i00 x 100: R_ct 16 Ohm cm^2 instead of 1600), so
    that the electrolyte's diffusion impedance (L^2 / D_e ~ 45 s, D_e = 2e-11 m^2/s) is a
    sizeable part of Z near 0.1 Hz."""
    from liquid_cells import constant_liquid_system, liquid_planar_mesh
    from mpi4py import MPI

    from fem_assb.studies.discharge import CellSimulation

    system = constant_liquid_system(
        0.25,
        overrides={
            "cam": {"i00": "2.4 A*cm^2.5/mol^1.5"},
            "double_layer": {"cathode": "8e-7 F/cm^2", "anode": "2e-7 F/cm^2"},
        },
    )
    vm = liquid_planar_mesh(MPI.COMM_SELF)
    sim = CellSimulation(vm, system, 298.15, surface_iterations=0, tol_phi=1e-13, tol_x=1e-13)
    assert sim.quasi_static(0.0).converged
    return sim


def _dense_impedance(sim, freqs, ce_mass=1.0):
    """Z (Ohm m^2) from the dense linearization (J + i w M) du = g, with the c_e rows of M (the
    liquid cells' second unknown, the storage eps c_e0 dx/dt) multiplied by ``ce_mass``."""
    from dolfinx.fem.petsc import assemble_matrix, assemble_vector
    from mpi4py import MPI
    from petsc4py import PETSc

    from fem_assb.forms.electrochemistry import _assemble
    from fem_assb.meshing import cell_tags as tags

    f = sim.forms
    f.capacitive.value = 1.0
    K, M, g, dV, dV_di = f.linearization()

    def dense(form):
        A = assemble_matrix(form)
        A.assemble()
        return A.convert("dense").getDenseArray().copy()

    def vector(form):
        b = assemble_vector(form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b.array_r.copy()

    J, Md, gv, dv = dense(K), dense(M), vector(g), vector(dV)
    nown = f.vmesh.num_owned_cells
    liquid = np.isin(f.vmesh.material[:nown], tags.LIQUID)
    rows = 2 * f.Q.dofmap.list[:nown, 0][liquid] + 1
    assert np.abs(Md[rows]).max() > 0  # the liquid rows hold a storage term
    Md[rows] *= ce_mass
    drop = _assemble(dV_di, MPI.COMM_SELF, compiled=True)
    w = 2 * np.pi * np.asarray(freqs, dtype=float)
    return np.array([(dv @ np.linalg.solve(J + 1j * wk * Md, gv) - drop) / f.area for wk in w])


def test_liquid_cell_small_signal_equals_the_transient_solver_and_needs_the_ce_storage():
    """A liquid cell's impedance (the linearization takes the c_e storage eps c_e0 dx/dt from the
    one residual): the small signal equals a 0.05 A/m^2 current sine through the transient solver
    at 0.1 Hz (electrolyte and solid diffusion), 1 Hz and 30 kHz (the Li | LE arc), |Z| and
    phase within 2 % (measured +0.07 %, +0.18 degree at 0.1 Hz; ~5 s). The comparison sees the
    c_e storage: with it halved (e.g. a porosity lost) Z at 0.1 Hz moves by 6.8 % (checked > 4 %;
    without it, J + i w M is singular: the salt content is then free)."""
    freqs = [0.1, 1.0, 3.0e4]
    sim = _liquid_simulation()
    z = _compare_time_domain(sim, freqs)
    z_dense = _dense_impedance(sim, freqs)
    assert np.max(np.abs(z_dense / z - 1)) < 1e-6  # the dense helper is the same linearization
    z_half = _dense_impedance(sim, freqs[:1], ce_mass=0.5)
    change = abs(z_half[0] / z[0] - 1)
    print(f"c_e storage halved: Z at 0.1 Hz moves by {change * 100:.2f} %")
    assert change > 0.04


def test_liquid_cell_iterative_solver_is_refused_and_auto_takes_the_direct_one():
    """GMRES + PRESB does not converge on a liquid cell (measured: 90-144 iterations, breakdown at
    3 Hz on the planar cell): solver iterative is refused naming the fix, auto is direct at any
    size (while its memory fits)."""
    from mpi4py import MPI

    from fem_assb.studies.impedance import choose_solver, impedance_spectrum

    sim = _liquid_simulation()
    with pytest.raises(InputError, match="not available for a cell with a liquid electrolyte"):
        impedance_spectrum(sim, [1.0], solver="iterative")
    assert choose_solver("auto", 10**6, MPI.COMM_SELF, available=1e12, liquid=True) == "direct"
    with pytest.raises(InputError, match="not available with a liquid electrolyte, reduce the resolution"):
        choose_solver("auto", 10**6, MPI.COMM_SELF, available=1e9, liquid=True)
    case = tiny_case("liq")  # the case section is refused at load
    case["materials"] = {"preset": "NMC811_LiPF6"}
    case["cell"]["separator"] = {"material": "LE", "thickness": "5 um"}
    case["impedance"] = {"solver": "iterative"}
    with pytest.raises(InputError, match="impedance.solver = 'iterative' is not available with a liquid"):
        resolve_case(case)


# --- a 3D spectrum ------------------------------------------------------------------------------


def _composite_case(name="imp3d", **impedance):
    case = tiny_case(name, numerics={"surface_iterations": 0})
    case["materials"] = {"preset": "NMC622_bLPS"}
    case["operation"]["steps"][0]["cutoff_voltage"] = "2.6 V"
    case["impedance"] = {"frequencies": {"min": "1 Hz", "max": "7 MHz", "per_decade": 6}, **impedance}
    return case


def _linear_kk(f, z, n_per_decade=3):
    """Relative residuals (real, imaginary; of |Z|) of a linear Kramers-Kronig test (Boukamp
    1995, Schoenleber et al. 2014): Z fitted by R0 + 1/(i w C) + sum_k R_k / (1 + i w tau_k), the
    tau_k log-spaced over the measured range, by linear least squares on real and imaginary
    parts weighted by 1/|Z|. A KK-consistent (causal, linear, stable) spectrum leaves residuals
    at the fit's accuracy."""
    w = 2 * np.pi * f
    decades = np.log10(f.max() / f.min())
    taus = np.logspace(-np.log10(w.max()), -np.log10(w.min()), int(decades * n_per_decade) + 1)
    cols = [np.ones_like(w, dtype=complex), 1.0 / (1j * w)] + [1.0 / (1 + 1j * w * tau) for tau in taus]
    A = np.column_stack(cols)
    wt = 1.0 / np.abs(z)
    lhs = np.vstack([A.real * wt[:, None], A.imag * wt[:, None]])
    rhs = np.concatenate([z.real * wt, z.imag * wt])
    p = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    fit = A @ p
    return (z.real - fit.real) / np.abs(z), (z.imag - fit.imag) / np.abs(z)


def test_composite_spectrum_is_kramers_kronig_consistent():
    """The spectrum of a small generated NMC622 / beta-LPS composite (6 x 4 x 4 voxels + separator)
    passes a linear KK test with residuals below 1 %; a spectrum with a non-causal distortion
    (the imaginary part of one decade scaled by 1.2) does not (the test can fail)."""
    from fem_assb.studies.impedance import run_impedance

    res = run_impedance(resolve_case(_composite_case()), quiet=True)
    f, z = res.spectrum.frequency, res.spectrum.Z
    r_re, r_im = _linear_kk(f, z)
    worst = max(np.abs(r_re).max(), np.abs(r_im).max())
    print(f"linear KK: {len(f)} frequencies, max residual {worst * 100:.4f} %")
    assert worst < 0.01
    bad = z.copy()
    sel = (f > 1e3) & (f < 1e4)
    bad[sel] = bad[sel].real + 1.2j * bad[sel].imag
    assert max(np.abs(r).max() for r in _linear_kk(f, bad)) > 0.01
    assert res.summary["arcs"], "no arc found in the composite spectrum"


@pytest.mark.mpi
def test_composite_spectrum_serial_and_two_ranks_agree():
    from mpi4py import MPI

    from fem_assb.studies.impedance import run_impedance

    case = resolve_case(
        _composite_case("imp_mpi", frequencies={"min": "1 Hz", "max": "7 MHz", "per_decade": 3})
    )
    z = [run_impedance(case, quiet=True, comm=c).spectrum.Z for c in (MPI.COMM_SELF, MPI.COMM_WORLD)]
    rel = np.max(np.abs(z[1] - z[0]) / np.abs(z[0]))
    print(f"{MPI.COMM_WORLD.size} ranks vs serial: max relative difference {rel:.2e}")
    assert rel < 1e-8


# --- the case section -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "impedance, message",
    [
        ({"frequencies": {"min": "0 Hz"}}, "impedance.frequencies.min = '0 Hz' must be a positive frequency"),
        ({"frequencies": {"max": "-1 kHz"}}, "impedance.frequencies.max = '-1 kHz' must be a positive"),
        ({"frequencies": {"min": "1 MHz", "max": "1 kHz"}}, "min (1e+06 Hz) must be below max (1000 Hz)"),
        ({"frequencies": {"min": "1 kHz", "max": "1 kHz"}}, "must be below max"),
        ({"frequencies": {"min": "1 s"}}, "inconsistent units"),
        ({"frequencies": {"per_decade": 0}}, "per_decade = 0 must be an integer >= 1"),
        ({"frequencies": [1, 2]}, "impedance.frequencies must be a mapping"),
        ({"frequencies": {"mn": "1 Hz"}}, "unknown key 'mn' in impedance.frequencies (did you mean 'min'?)"),
        ({"state": "inital"}, "impedance.state = 'inital' is unknown (did you mean 'initial'?)"),
        ({"state": "after_steps"}, "leaves a current flowing: the state is not steady"),
        ({"sate": "initial"}, "unknown key 'sate' in impedance"),
    ],
)
def test_bad_impedance_sections_are_refused(impedance, message):
    case = tiny_case("bad")
    case["impedance"] = impedance
    with pytest.raises(InputError) as err:
        resolve_case(case)
    assert message in str(err.value)


def test_section_resolves_to_si_with_defaults():
    case = tiny_case("ok")
    case["impedance"] = {"frequencies": {"min": "10 mHz", "max": "7 MHz"}}
    imp = resolve_case(case).impedance
    assert (imp.f_min, imp.f_max, imp.per_decade, imp.state) == (pytest.approx(0.01), 7e6, 10, "initial")
    from fem_assb.studies.impedance import frequency_grid

    grid = frequency_grid(imp.f_min, imp.f_max, imp.per_decade)
    assert grid[0] == pytest.approx(0.01) and grid[-1] == pytest.approx(7e6)
    assert np.allclose(np.diff(np.log10(grid)), np.log10(7e8) / (len(grid) - 1))
    assert 0.099 < np.log10(grid[1] / grid[0]) <= 0.1 + 1e-12
    assert resolve_case(tiny_case("none")).impedance is None


def test_a_cell_without_double_layers_warns_that_arcs_become_resistive():
    """NMC811 / Li6PS5Cl has no double layer: the spectrum is computed with a warning; its
    charge-transfer part is a resistance (no arc apex above the diffusion branch)."""
    import fem_assb

    case = tiny_case("nodl", numerics={"surface_iterations": 0})
    case["impedance"] = {"frequencies": {"min": "100 Hz", "max": "1 MHz", "per_decade": 2}}
    with pytest.warns(UserWarning, match="arcs become resistive"):
        res = fem_assb.Simulation(case).impedance()
    assert "arcs become resistive" in res.summary["warnings"][0]
    assert res.Z.real.min() > 0


def test_after_steps_takes_the_state_after_the_rest_and_warns_while_it_relaxes():
    """state after_steps: the spectrum of the state after a discharge and a rest (another voltage,
    another spectrum than the initial state); a rest of 1 s after 20 s at 5 mA/cm^2 has not
    relaxed the particles (r^2 / D ~ 1 min): a warning says so."""
    from fem_assb.studies.impedance import run_impedance

    raw = tiny_case("after", numerics={"surface_iterations": 0})
    raw["operation"]["steps"].append({"kind": "rest", "duration": "1 s"})
    raw["impedance"] = {
        "frequencies": {"min": "1 Hz", "max": "100 Hz", "per_decade": 2},
        "state": "after_steps",
    }
    after = run_impedance(resolve_case(raw), quiet=True)
    raw["impedance"]["state"] = "initial"
    initial = run_impedance(resolve_case(raw), quiet=True)
    assert after.summary["state"] == "after_steps"
    assert after.summary["mean_stoichiometry"] > initial.summary["mean_stoichiometry"] + 1e-3
    assert np.max(np.abs(after.spectrum.Z / initial.spectrum.Z - 1)) > 1e-3
    assert any("still relaxing" in w and "Lengthen the rest" in w for w in after.warnings), after.warnings
    assert not any("still relaxing" in w for w in initial.warnings)


def test_after_steps_without_a_rest_in_the_api_is_refused():
    import fem_assb

    case = tiny_case("norest", numerics={"surface_iterations": 0})
    with pytest.raises(InputError, match="a current still flows and the state is not steady"):
        fem_assb.Simulation(case).impedance(frequencies=["1 Hz", "10 Hz"], state="after_steps")
    with pytest.raises(InputError, match="positive"):
        fem_assb.Simulation(case).impedance(frequencies=[-1.0, 10.0])


def test_a_sweep_case_is_refused():
    from fem_assb.studies.impedance import run_impedance

    case = tiny_case("sweep")
    case["operation"]["sweep"] = {"parameter": "operation.steps.0.duration", "values": ["10 s", "20 s"]}
    with pytest.raises(
        InputError, match="has an operation.sweep: the impedance spectrum is taken of one cell"
    ):
        run_impedance(resolve_case(case), quiet=True)


def test_command_writes_csv_plots_and_summary(tmp_path):
    import yaml

    case = _composite_case("cli", frequencies={"min": "1 Hz", "max": "1 MHz", "per_decade": 2})
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fem_assb", "impedance", str(path), "-o", str(out), "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=child_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(out / "impedance.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["frequency_Hz", "Z_real_ohm_cm2", "Z_imag_ohm_cm2"]
    data = np.array(rows[1:], dtype=float)
    assert len(data) == 13 and data[0, 0] == pytest.approx(1.0) and data[-1, 0] == pytest.approx(1e6)
    assert np.all(data[:, 2] < 0)  # capacitive everywhere
    summary = json.loads((out / "summary.json").read_text())
    assert summary["high_frequency_intercept_ohm_cm2"] == pytest.approx(data[-1, 1])
    assert summary["low_frequency"]["Z_real_ohm_cm2"] == pytest.approx(data[0, 1])
    for a in summary["arcs"]:
        k = int(np.argmin(np.abs(data[:, 0] - a["apex_frequency_Hz"])))
        assert -data[k, 2] >= -data[k - 1, 2] and -data[k, 2] >= -data[k + 1, 2]
    for name in ("nyquist.png", "bode.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the iterative solver (GMRES + PRESB, fem_assb/solvers/presb.py) ----------------------------


def _composite_sim(comm=None):
    from mpi4py import MPI

    from fem_assb.studies.run import build

    built = build(resolve_case(_composite_case("presb")), comm or MPI.COMM_WORLD, None, None)
    assert built.sim.quasi_static(0.0).converged
    return built.sim


def _solver_agreement(comm=None):
    from fem_assb.studies.impedance import frequency_grid, impedance_spectrum

    sim = _composite_sim(comm)
    f = frequency_grid(1.0, 7e6, 3)
    info = {}
    zi = impedance_spectrum(sim, f, solver="iterative", info=info).Z
    zd = impedance_spectrum(sim, f, solver="direct").Z
    rel = np.abs(zi - zd) / np.abs(zd)
    print(f"iterative vs direct: max relative difference {rel.max():.2e}; iterations {info['iterations']}")
    return rel, info["iterations"]


def test_iterative_solver_agrees_with_the_direct_one_with_bounded_iterations():
    """GMRES + PRESB against MUMPS on the small composite, 1 Hz .. 7 MHz: Z within 2e-4 relative
    (measured 7.4e-5 on this 2 x 2 um cell; both solvers are at the rounding floor of this badly
    scaled system at low frequency, which grows as the collector area shrinks: on an 8^3
    composite each is ~2e-6 from a long-double-refined dense LU, on 32^3 they agree to 4.7e-7,
    docs/impedance.md); the iteration count at the extreme frequencies bounded (measured 12-16
    here at rtol 1e-4, 2 ranks 12-17; 17-22 at rtol 1e-8; 16-45 on 8^3 .. 32^3; bound 60)."""
    rel, its = _solver_agreement()
    assert rel.max() < 2e-4
    assert max(its[0], its[-1]) <= 60 and max(its) <= 80


@pytest.mark.mpi
def test_iterative_solver_agrees_with_the_direct_one_on_two_ranks():
    rel, its = _solver_agreement()
    assert rel.max() < 2e-4
    assert max(its) <= 80


def test_direct_solver_is_refused_when_its_memory_estimate_does_not_fit():
    from mpi4py import MPI

    from fem_assb.studies.impedance import choose_solver

    assert choose_solver("auto", 100, MPI.COMM_SELF, available=1e12) == "direct"
    assert choose_solver("auto", 10**6, MPI.COMM_SELF, available=1e12) == "iterative"
    assert choose_solver("auto", 100, MPI.COMM_SELF, available=1.0) == "iterative"
    with pytest.raises(InputError, match="use impedance.solver: iterative"):
        choose_solver("direct", 10**6, MPI.COMM_SELF, available=1e9)
    with pytest.raises(InputError, match="unknown"):
        choose_solver("lu", 100, MPI.COMM_SELF)


def test_without_zeros_keeps_every_product_and_drops_the_stored_zeros():
    """The impedance solvers' J and M without the blocked pattern's stored zeros
    (presb.without_zeros): the same products to rounding (another summation order), the diagonal
    kept, every nonzero kept, under 60 % of the stored entries."""
    from dolfinx.fem.petsc import assemble_matrix

    from fem_assb.solvers.presb import without_zeros

    sim = _composite_sim()
    f = sim.forms
    f.capacitive.value = 1.0
    K, M = f.linearization()[:2]
    rng = np.random.default_rng(0)
    for form in (K, M):
        A = assemble_matrix(form)
        A.assemble()
        B = without_zeros(A)
        x = A.createVecRight()
        x.array[:] = rng.standard_normal(x.getLocalSize())
        ya, yb = A * x, B * x
        indptr, cols, vals = A.getValuesCSR()  # serial: global = local columns
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        # |A| |x|: the rounding scale of each row's sum
        scale = np.bincount(rows, weights=np.abs(vals) * np.abs(x.array_r[cols]), minlength=len(indptr) - 1)
        assert np.all(np.abs(ya.array_r - yb.array_r) <= 1e-14 * scale)
        assert np.max(scale) > 0
        d = B.getDiagonal()
        assert np.array_equal(A.getDiagonal().array_r, d.array_r)
        stored = [A.getInfo()["nz_used"], B.getInfo()["nz_used"]]
        assert B.getValuesCSR()[2].size == np.count_nonzero(A.getValuesCSR()[2]) + np.sum(d.array_r == 0)
        assert stored[1] < 0.6 * stored[0], stored

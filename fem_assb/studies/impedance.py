"""Small-signal impedance of a resolved cell (EIS, MODEL.md §5; docs/impedance.md).

Around a steady state u* (open circuit at the initial stoichiometry, or the state after the
case's operation steps) the cell residual F(u; u_old) = K(u) + (S(u) - S(u_old)) / dt
(:meth:`fem_assb.forms.electrochemistry.CellForms.linearization`) gives, for a galvanostatic
perturbation i_app = i* + di exp(i w t),

    (J + i w M) du = -g di,      J = dK/du (u*),  M = dS/du,  g = dF/d i_app,
    dU = (dV . du) / A + (dV/d i_app) di / A,

with U the collector voltage and A the collector area. The PETSc build is real, so each
frequency solves the real 2 x 2 block system

    [[J, -w M], [w M, J]] [du_r; du_i] = [-g di; 0]

by a direct LU factorization (MUMPS, else SuperLU_dist, else PETSc's serial LU) whose symbolic
analysis is kept across frequencies (one nonzero pattern). The impedance is reported for the
charge current I = -i_app (A/m^2 of the collector face, > 0 into the cathode):
Z(w) = dU / dI in Ohm m^2 (SI inside; Ohm cm^2 = 1e4 Ohm m^2 in the files), with
Z_imag < 0 for capacitive arcs.

Programmatic API::

    sim = CellSimulation(vmesh, system, T)            # at rest: the open-circuit state
    spec = impedance_spectrum(sim, frequencies)       # Spectrum(frequency [Hz], Z [Ohm m^2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem_assb.errors import InputError
from fem_assb.memory import available_memory_of, lu_memory_estimate

#: The impedance solvers (case key ``impedance.solver``, docs/impedance.md "Solvers").
SOLVERS = ("auto", "direct", "iterative")
#: ``solver: auto`` takes the direct solver below this many cells, GMRES + PRESB above.
AUTO_DIRECT_CELLS = 5_000
#: Relative tolerance of the (scaled) true residual of the iterative solve. Z converges faster
#: than the residual (it is one functional of the solution): against rtol 1e-8, measured over 60
#: frequencies 1 Hz .. 7 MHz, Z moves by at most 1.4e-8 / 4.5e-8 / 5.3e-8 / 3.3e-8 (the 6x4x4
#: test composite, 8^3, 16^3, 32^3 seed 004 composites) at rtol 1e-4, 20-50 times below the
#: rounding floor at which both solvers agree with each other (7.4e-5 .. 4.7e-7,
#: docs/impedance.md), for 29-34 % fewer GMRES iterations; rtol 1e-3 moved Z by 1-2e-6, the
#: size of that floor, and is not taken. (Before: 1e-8.)
ITERATIVE_RTOL = 1e-4
#: The direct solver is refused when its estimated memory (:func:`direct_memory_estimate`)
#: exceeds this fraction of the available memory.
LU_MEMORY_FRACTION = 0.8


def direct_memory_estimate(cells: int) -> float:
    """Estimated bytes of the LU factorization of the 2 x 2 block system of ``cells`` cells (4
    unknowns per cell, :func:`fem_assb.memory.lu_memory_estimate`)."""
    return lu_memory_estimate(cells, 4)


def choose_solver(
    solver: str, cells: int, comm, available: float | None = None, liquid: bool = False
) -> str:
    """ "direct" or "iterative" for ``solver`` ("auto": direct below AUTO_DIRECT_CELLS cells
    while its estimated memory fits, else iterative; always direct in a cell with a liquid
    electrolyte, ``liquid``). InputError for an unknown name, for "iterative" with a liquid, or
    for "direct" when its memory estimate exceeds LU_MEMORY_FRACTION of ``available`` (bytes;
    default :func:`fem_assb.memory.available_memory_of`)."""
    if solver not in SOLVERS:
        raise InputError(f"impedance solver {solver!r} is unknown; use one of {', '.join(SOLVERS)}.")
    if liquid and solver == "iterative":
        # measured on the planar liquid cell of tests/test_impedance.py (48 cells): GMRES + PRESB
        # with the block preconditioner (BoomerAMG on phi, then on c_e) needed 90-144 iterations
        # from 1 mHz to 1 Hz and broke down (KSP reason -5) at 3 Hz; the diffusion-potential
        # coupling of phi_e to ln c_e is left out of the block-triangular H^-1
        raise InputError(
            "impedance.solver: iterative is not available for a cell with a liquid electrolyte (GMRES + "
            "PRESB does not converge there, docs/impedance.md): use impedance.solver: direct (or auto)."
        )
    if solver == "iterative":
        return solver
    need = direct_memory_estimate(cells)
    have = available_memory_of(comm) if available is None else available
    fits = need <= LU_MEMORY_FRACTION * have
    if solver == "auto" and not liquid:
        return "direct" if cells < AUTO_DIRECT_CELLS and fits else "iterative"
    if not fits:
        raise InputError(
            f"impedance.solver: {solver} on {cells} cells needs about {need / 1e9:.3g} GB for the LU "
            f"factorization of the 2 x 2 block system, and {have / 1e9:.3g} GB are available: "
            + (
                "the iterative solver is not available with a liquid electrolyte, reduce the resolution."
                if liquid
                else "use impedance.solver: iterative (or auto), or reduce the resolution."
            )
        )
    return "direct"


@dataclass
class Spectrum:
    """An impedance spectrum: ``frequency`` (Hz, ascending) and complex ``Z`` (Ohm m^2 of the
    collector face, Z = dU/dI with I the charge current density)."""

    frequency: np.ndarray
    Z: np.ndarray

    @property
    def Z_ohm_cm2(self) -> np.ndarray:
        return self.Z * 1e4

    def table(self) -> dict:
        """The columns of impedance.csv (Ohm cm^2)."""
        z = self.Z_ohm_cm2
        return {"frequency_Hz": self.frequency, "Z_real_ohm_cm2": z.real, "Z_imag_ohm_cm2": z.imag}


def frequency_grid(f_min: float, f_max: float, per_decade: int) -> np.ndarray:
    """Log-spaced frequencies (Hz) from f_min to f_max, ``per_decade`` points per decade, both
    ends included (ascending)."""
    if not (f_min > 0 and f_max > f_min):
        raise InputError(f"impedance frequencies need 0 < min < max (got min {f_min:g} Hz, max {f_max:g} Hz)")
    n = max(int(np.ceil(np.log10(f_max / f_min) * per_decade - 1e-9)) + 1, 2)
    return np.logspace(np.log10(f_min), np.log10(f_max), n)


def _direct_solver(comm) -> str:
    """The LU package of the block system: MUMPS, else SuperLU_dist, else PETSc's own (serial)."""
    from petsc4py import PETSc

    for name in ("mumps", "superlu_dist"):
        if PETSc.Sys.hasExternalPackage(name):
            return name
    if comm.size > 1:
        raise InputError(
            "the impedance solve needs MUMPS or SuperLU_dist under MPI, and this PETSc has neither: "
            "run it serially or use a PETSc built with MUMPS."
        )
    return "petsc"


class SmallSignal:
    """The linearized cell (J, M, g, dV) at the state in ``forms.u``, and its frequency response.

    forms: :class:`~fem_assb.forms.electrochemistry.CellForms` holding the steady state u*
    (its ``capacitive`` Constant is set to 1: every double layer counts). The matrices are
    assembled once; :meth:`impedance` solves one frequency after another, with one LU set-up
    (``solver`` "direct") or GMRES + PRESB (``solver`` "iterative",
    :mod:`fem_assb.solvers.presb`); "auto" chooses by the number of cells
    (:func:`choose_solver`).
    """

    def __init__(self, forms, solver: str = "auto", rtol: float | None = None):
        from dolfinx.fem.petsc import assemble_matrix, assemble_vector
        from petsc4py import PETSc

        from fem_assb.solvers.presb import without_zeros

        self.forms = forms
        self.comm = forms.vmesh.mesh.comm
        self.cells = self.comm.allreduce(forms.vmesh.num_owned_cells)
        self.method = choose_solver(
            solver, self.cells, self.comm, liquid=bool(getattr(forms, "has_liquid", False))
        )
        forms.capacitive.value = 1.0
        K_form, M_form, g_form, dV_form, dVdi_form = forms.linearization()

        def matrix(form):  # most of the blocked pattern's entries are zeros: dropped
            A = assemble_matrix(form)
            A.assemble()
            B = without_zeros(A)
            A.destroy()
            return B

        def vector(form):
            b = assemble_vector(form)
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            return b

        J, M = matrix(K_form), matrix(M_form)
        self.g, self.dV = vector(g_form), vector(dV_form)
        from fem_assb.forms.electrochemistry import _assemble

        self.dV_di = _assemble(dVdi_form, self.comm, compiled=True)  # V m^2 per A/m^2
        self.area = float(forms.area)
        n = self.g.getLocalSize()
        self.n_local = n
        self.iterations: list[int] = []  # Krylov iterations per frequency (iterative)
        self.factorizations = 0
        self.presb = self.ksp = self.A = self.A_J = self.A_M = None
        if self.method == "iterative":
            from fem_assb.solvers.presb import PRESBSolver

            self.J, self.M = J, M
            self.rtol = ITERATIVE_RTOL if rtol is None else float(rtol)
            self.presb = PRESBSolver(J, M, rtol=self.rtol)
            self.solver_type = "GMRES + PRESB (BoomerAMG on phi of J + w M)"
            self.x, self.b = self.presb.create_vecs()
        else:
            Mneg = M.copy()
            Mneg.scale(-1.0)
            # one layout for the real block system: on every rank its rows of block 0, then block 1
            # (petsc4py's convert without ``out`` converts in place: the nests become the AIJ matrices)
            self.A_J = PETSc.Mat().createNest([[J, None], [None, J]], comm=self.comm).convert("aij")
            self.A_M = PETSc.Mat().createNest([[None, Mneg], [M, None]], comm=self.comm).convert("aij")
            for m in (J, M, Mneg):
                m.destroy()
            self.J = self.M = None
            self.A = self.A_J.copy()
            self.A.axpy(1.0, self.A_M, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
            self.x, self.b = self.A.createVecs()
            self.solver_type = _direct_solver(self.comm)
            ksp = PETSc.KSP().create(self.comm)
            ksp.setOptionsPrefix("fem_assb_impedance_")
            ksp.setType("preonly")
            pc = ksp.getPC()
            pc.setType("lu")
            pc.setFactorSolverType(self.solver_type)
            self.ksp = ksp
        rhs = np.zeros(2 * n)
        rhs[:n] = self.g.array_r  # di = -1: a charge current of 1 A/m^2, -g di = g
        self.b.array[:] = rhs

    @property
    def description(self) -> str:
        """The solver, as summary.json says it."""
        if self.method == "iterative":
            return f"iterative: {self.solver_type}, rtol {self.rtol:g}"
        return f"direct LU ({self.solver_type}) on the real 2x2 block system"

    def solve(self, omega: float) -> tuple[np.ndarray, np.ndarray]:
        """(du_r, du_i): local owned arrays of the response to a charge current of 1 A/m^2 at the
        angular frequency ``omega`` (rad/s)."""
        from petsc4py import PETSc

        if self.presb is not None:
            reason = self.presb.solve(omega, self.b, self.x)
            self.iterations.append(self.presb.iterations[-1])
            what = f"GMRES + PRESB, {self.iterations[-1]} iterations"
        else:
            A = self.A
            A.zeroEntries()
            A.axpy(1.0, self.A_J, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            A.axpy(float(omega), self.A_M, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            self.ksp.setOperators(A)
            self.ksp.solve(self.b, self.x)
            self.factorizations += 1
            reason = self.ksp.getConvergedReason()
            what = f"{self.solver_type} LU"
        if reason < 0:
            from fem_assb.errors import SolverError

            raise SolverError(
                f"the impedance block system at {omega / (2 * np.pi):.4g} Hz was not solved "
                f"({what}, KSP reason {reason}): the linearized cell is singular there "
                "(an isolated conductor?)"
                + (
                    ""
                    if self.presb is None
                    else " or the iteration did not converge (try impedance.solver: direct)"
                )
            )
        arr = self.x.array_r
        n = self.n_local
        return arr[:n].copy(), arr[n:].copy()

    def impedance(self, frequencies) -> np.ndarray:
        """Z (complex, Ohm m^2) at each frequency (Hz): dU / dI for the charge current density I."""
        from mpi4py import MPI

        z = np.empty(len(frequencies), dtype=complex)
        dv = self.dV.array_r
        for k, f in enumerate(frequencies):
            ur, ui = self.solve(2.0 * np.pi * float(f))
            loc = np.array([dv @ ur, dv @ ui])
            re, im = self.comm.allreduce(loc, op=MPI.SUM)
            z[k] = (re + 1j * im - self.dV_di) / self.area  # di = -1 A/m^2
        return z

    def destroy(self) -> None:
        for obj in (
            self.A,
            self.A_J,
            self.A_M,
            self.x,
            self.b,
            self.g,
            self.dV,
            self.ksp,
            self.presb,
            self.J,
            self.M,
        ):
            if obj is not None:
                obj.destroy()


def checked_frequencies(frequencies) -> np.ndarray:
    """The frequencies (Hz) as an ascending float array; InputError unless a nonempty list of
    positive, finite values."""
    f = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if f.ndim != 1 or f.size == 0 or not np.all(np.isfinite(f)) or not np.all(f > 0):
        raise InputError(
            "impedance frequencies must be a nonempty list of positive, finite values in Hz "
            f"(got {frequencies!r})."
        )
    return np.sort(f)


def impedance_spectrum(sim, frequencies, solver: str = "auto", info: dict | None = None) -> Spectrum:
    """The small-signal impedance of a :class:`~fem_assb.studies.discharge.CellSimulation` around
    its current state, at ``frequencies`` (Hz). The state must be steady (zero current, relaxed:
    :func:`run_impedance` makes it so); the forms' ``i_app`` should be 0. ``solver``: "auto",
    "direct" or "iterative" (:func:`choose_solver`); ``info``, when given, receives the solver's
    description and its iterations per frequency."""
    f = checked_frequencies(frequencies)
    lin = SmallSignal(sim.forms, solver=solver)
    try:
        z = lin.impedance(f)
        if info is not None:
            info.update(solver=lin.description, method=lin.method, iterations=list(lin.iterations))
    finally:
        lin.destroy()
    return Spectrum(f, z)


# --- the case driver: fem-assb impedance / Simulation.impedance ---------------------------------

#: A rest has relaxed enough for the linearization when its voltage drifts by less than this (V)
#: over one period of the lowest frequency (the small-signal response is ~ |Z| x 1 A/m^2).
DRIFT_TOLERANCE = 1e-4
#: ... and when it is within this (V) of the open-circuit voltage at the mean stoichiometry.
RELAXED_GAP = 1e-3


def double_layer_warnings(system) -> list[str]:
    """Warnings about a system without capacitances: no double layer at all gives a resistive
    spectrum (no arcs, only the solid diffusion's capacitive branch)."""
    dl = getattr(system, "double_layer", None)
    gb = getattr(system, "grain_boundary", None)
    caps = [getattr(dl, k, None) for k in ("cathode", "anode")] + [getattr(gb, "C_GB", None)]
    if not any(c is not None and float(c) > 0 for c in caps):
        return [
            f"materials {system.name}: no double layer (double_layer.cathode / .anode, grain_boundary.C_GB): "
            "the charge-transfer arcs become resistive (no semicircles, Z_imag from the solid diffusion "
            "only). Add a double_layer section, e.g. {cathode: 8e-7 F/cm^2, anode: 2e-7 F/cm^2}."
        ]
    return []


def relaxation_warnings(sim, f_min: float) -> list[str]:
    """Warnings when the state after a rest is not steady: the voltage still drifts by more than
    DRIFT_TOLERANCE (V) over one period of ``f_min`` (Hz), or it is more than RELAXED_GAP (V)
    from the open-circuit voltage at the mean stoichiometry (the particles' concentration
    gradients not yet relaxed)."""
    h, out = sim.history, []
    drift = 0.0
    if len(h.t) > 1 and h.t[-1] > h.t[-2]:
        drift = abs(h.voltage[-1] - h.voltage[-2]) / (h.t[-1] - h.t[-2])
    gap = abs(sim.voltage() - sim.ocv())
    if drift / f_min > DRIFT_TOLERANCE or gap > RELAXED_GAP:
        out.append(
            "the cell is still relaxing at the end of the rest: its voltage drifts "
            f"{drift * 1e3:.3g} mV/s ({drift / f_min * 1e3:.3g} mV over one period of {f_min:g} Hz) and is "
            f"{gap * 1e3:.3g} mV from the open-circuit voltage at the mean stoichiometry: the low-frequency "
            "end is not the impedance of a steady state. Lengthen the rest."
        )
    return out


def spectrum_summary(spec: Spectrum) -> dict:
    """The summary.json entries of a spectrum (Ohm cm^2, Hz): the high-frequency intercept (Re Z
    at the highest frequency, with its phase: near 0 when the range reaches the real axis), the
    arcs (local maxima of -Z_imag: apex frequency and Z there) and the low-frequency value."""
    f, z = spec.frequency, spec.Z_ohm_cm2
    mz = -z.imag
    arcs = [
        {
            "apex_frequency_Hz": float(f[k]),
            "Z_real_ohm_cm2": float(z[k].real),
            "minus_Z_imag_ohm_cm2": float(mz[k]),
        }
        for k in range(1, len(f) - 1)
        if mz[k] > mz[k - 1] and mz[k] >= mz[k + 1] and mz[k] > 0
    ]
    arcs.sort(key=lambda a: -a["apex_frequency_Hz"])
    return {
        "high_frequency_intercept_ohm_cm2": float(z[-1].real),
        "high_frequency_phase_deg": float(np.degrees(np.angle(z[-1]))),
        "arcs": arcs,
        "low_frequency": {
            "frequency_Hz": float(f[0]),
            "Z_real_ohm_cm2": float(z[0].real),
            "Z_imag_ohm_cm2": float(z[0].imag),
        },
        "frequency_range_Hz": [float(f[0]), float(f[-1])],
        "frequencies": int(len(f)),
    }


@dataclass
class ImpedanceResult:
    """What :func:`run_impedance` returns (on every rank): the spectrum, the summary dict (as in
    summary.json), the folder written (or None) and the warnings."""

    spectrum: Spectrum
    summary: dict
    output: object = None
    warnings: list = None


def run_impedance(
    case, outdir=None, quiet: bool = True, comm=None, frequencies=None, state=None
) -> ImpedanceResult:
    """The impedance spectrum of a loaded case (docs/impedance.md).

    frequencies: Hz (a sequence), default the case's ``impedance.frequencies`` (or 1 Hz .. 7 MHz,
    10 per decade without the section); state: "initial" or "after_steps", default the case's
    ``impedance.state``. Writes impedance.csv, nyquist.png, bode.png and summary.json into
    ``outdir`` (rank 0, atomically) when given.
    """
    import time

    from mpi4py import MPI

    from fem_assb.case.schema import IMPEDANCE_STATES, Impedance
    from fem_assb.output.progress import Progress
    from fem_assb.studies.run import build

    comm = comm or MPI.COMM_WORLD
    t0 = time.perf_counter()
    if case.operation.sweep is not None:
        raise InputError(
            f"case {case.name} has an operation.sweep: the impedance spectrum is taken of one cell. "
            "Remove the sweep (or make one case per point)."
        )
    section = case.impedance or Impedance()
    state = state or section.state
    if state not in IMPEDANCE_STATES:
        raise InputError(f"impedance state {state!r} is unknown; use 'initial' or 'after_steps'.")
    if frequencies is None:
        frequencies = frequency_grid(section.f_min, section.f_max, section.per_decade)
    frequencies = checked_frequencies(frequencies)
    out = None
    if outdir is not None:
        from pathlib import Path

        from fem_assb.output.folder import check_output_folder
        from fem_assb.parallel import on_rank0

        out = Path(outdir)
        on_rank0(check_output_folder, out, comm=comm)
    warnings = double_layer_warnings(case.materials)
    progress = Progress(quiet=quiet, comm=comm)
    built = build(case, comm, None, progress)
    sim = built.sim
    if state == "after_steps":
        last = built.ops[-1]
        if last.kind != "rest":  # the loader refuses it too; the API may pass state= itself
            raise InputError(
                f"impedance state after_steps: the last operation step is a {last.kind}, a current still "
                "flows and the state is not steady. End the steps with a rest or use state 'initial'."
            )
        sim.run(built.ops)
        warnings.extend(relaxation_warnings(sim, min(frequencies)))
    res = sim.quasi_static(0.0)
    if not res.converged:
        from fem_assb.errors import SolverError

        raise SolverError(f"the steady state at open circuit did not converge: {res.reason}")
    t_solve = time.perf_counter()
    info: dict = {}
    spectrum = impedance_spectrum(sim, frequencies, solver=section.solver, info=info)
    t_end = time.perf_counter()
    summary = {
        "name": case.name,
        "state": state,
        "voltage_V": sim.voltage(),
        "mean_stoichiometry": sim.mean_stoichiometry(),
        **spectrum_summary(spectrum),
        "cells": built.n_cells,
        "ranks": comm.size,
        "solver": info["solver"],
        "iterations_per_frequency": info["iterations"],
        "wall_time_s": t_end - t0,
        "solve_time_per_frequency_s": (t_end - t_solve) / len(spectrum.frequency),
        "warnings": warnings,
        "complete": True,
    }
    if out is not None:
        write_impedance(out, spectrum, summary, title=case.name, comm=comm)
    return ImpedanceResult(spectrum, summary, out, warnings)


def write_impedance(out, spectrum: Spectrum, summary: dict, title: str = "", comm=None) -> None:
    """impedance.csv (frequency_Hz, Z_real_ohm_cm2, Z_imag_ohm_cm2), nyquist.png, bode.png and
    (last) summary.json into ``out``, atomically, on rank 0 of ``comm``."""
    from fem_assb.output import plots
    from fem_assb.output.atomic import write_json
    from fem_assb.output.tables import write_csv

    if (comm.rank if comm is not None else 0) != 0:
        return
    write_csv(out / "impedance.csv", spectrum.table(), fmt="%.12g", comm=comm)
    plots.nyquist(out / "nyquist.png", spectrum.frequency, spectrum.Z_ohm_cm2, title=title, comm=comm)
    plots.bode(out / "bode.png", spectrum.frequency, spectrum.Z_ohm_cm2, title=title, comm=comm)
    summary["files"] = {"impedance": "impedance.csv", "nyquist": "nyquist.png", "bode": "bode.png"}
    write_json(out / "summary.json", summary)

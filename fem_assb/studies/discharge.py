"""Galvanostatic operation of an all-solid-state cell: discharge, charge, rest and sequences.

Programmatic API::

    sim = CellSimulation(vmesh, system, T=298.15)          # forms + Newton on a VoxelMesh
    hist = sim.run([Operation("discharge", current_density=10.0, cutoff=3.0)])

``Operation`` is :class:`fem_assb.case.schema.Step`. The case driver (a loaded case -> outputs in a
folder -> summary dict, ``fem-assb run``) is :func:`fem_assb.studies.run.run_case`, importable
from here too; the public facade is :mod:`fem_assb.api`.
Units: current densities in A/m^2 of the cell cross-section, voltages in V, times in s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from mpi4py import MPI

from fem_assb.case.schema import Step
from fem_assb.errors import InputError
from fem_assb.forms.electrochemistry import CellForms
from fem_assb.forms.interface import FARADAY
from fem_assb.memory import available_memory_of, lu_memory_estimate, release_free_heap
from fem_assb.meshing import cell_tags as tags
from fem_assb.solvers.newton import BlockNewton, NewtonResult, keep_inside
from fem_assb.solvers.time_stepping import SegmentState, StepControl, run_segment

#: The operation step (kind, current_density or c_rate, cutoff, duration; SI floats or strings
#: with units): one type for the YAML loader, the API and the simulation.
Operation = Step


@dataclass
class History:
    """Accepted time points of a run (lists of floats; SI)."""

    t: list = field(default_factory=list)  # s
    voltage: list = field(default_factory=list)  # V
    current: list = field(default_factory=list)  # A/m^2, > 0 discharge
    charge: list = field(default_factory=list)  # C/m^2 delivered (discharge positive)
    x_mean: list = field(default_factory=list)  # mean CAM stoichiometry
    step: list = field(default_factory=list)  # index of the operation step
    newton: int = 0
    linear: int = 0
    rejected: int = 0
    steps: int = 0
    #: Newton solves that the iterative linear solver could not do and the direct one redid
    #: (:meth:`CellSimulation.step`)
    direct_fallbacks: int = 0
    stop_reasons: list = field(default_factory=list)
    #: {operation step index: message}: what else ended a step (an electrolyte depleted)
    notes: dict = field(default_factory=dict)

    def as_table(self):
        return {
            "t": np.array(self.t),
            "voltage": np.array(self.voltage),
            "current": np.array(self.current),
            "charge": np.array(self.charge),
            "x_mean": np.array(self.x_mean),
            "step": np.array(self.step),
        }


#: Newton iteration cap of the quasi-static solves (the potentials when the current changes):
#: they start far from the solution, with eta = 0 between weakly coupled conductor networks,
#: and need several times the iterations of a time step (measured: > 15 at 32^3 voxels). 59
#: SNES iterations are the 60 of the Newton loop before SNES, which did not test its last update.
QUASI_STATIC_MAX_IT = 59
#: c_e / c_e0 below which a liquid electrolyte counts as depleted when a step ends (the note of
#: History.notes; the positivity rule keeps c_e > 0, so the voltage falls to the cut-off instead:
#: i0 ~ c_e^alpha and the diffusion potential ~ ln c_e, docs/liquid.md)
DEPLETED = 0.01


def _unless_residual(res: NewtonResult, residual: float, tolerance: float, reason: str) -> NewtonResult:
    """``res`` when a local (per-facet) law's residual (V) after a converged solve is within
    ``tolerance`` (V, and finite), else the same solve as a failure with ``reason``: the step is
    then cut and retried (the interface laws solved inside the forms are checked, never assumed
    converged)."""
    if residual <= tolerance:  # False for NaN
        return res
    return NewtonResult(False, res.iterations, res.linear_iterations, reason)


class CellSimulation:
    """Cell forms + block Newton + adaptive implicit Euler on a VoxelMesh.

    system: materials system; T: temperature (K); surface_iterations: 0 (default) for
    cell-centre kinetics, else the half-cell surface correction with that many phase-1 Newton
    steps (:func:`fem_assb.forms.interface.film_current`; a case's ``auto`` is
    :func:`surface_iterations_for`); linear_solver: "direct" or
    "iterative"; control: StepControl; tol_phi (V), tol_x (-): Newton tolerances;
    petsc_options: PETSc options of the Newton solver (a mapping, names without the solver's
    prefix ``fem_assb_newton_``, :class:`fem_assb.solvers.newton.BlockNewton`); report: callable
    taking a message for the user (options PETSc did not use; default: rank 0 prints to stderr);
    film_law: see :class:`~fem_assb.forms.electrochemistry.CellForms` (None: the resistive film
    where the system has one). With the film, a solve counts as converged only if the film law
    holds too (:meth:`step`).
    """

    def __init__(
        self,
        vmesh,
        system,
        T: float | None = None,
        *,
        surface_iterations: int = 0,
        linear_solver: str = "direct",
        control: StepControl | None = None,
        tol_phi: float = 1e-9,
        tol_x: float = 1e-10,
        petsc_options=None,
        report=None,
        film_law: bool | None = None,
    ):
        self.system = system
        self.T = float(T if T is not None else getattr(system, "temperature", 298.15))
        self.forms = CellForms(
            vmesh, system, self.T, surface_iterations=surface_iterations, film_law=film_law
        )
        self.newton = BlockNewton(
            self.forms.F,
            self.forms.J,
            self.forms.u,
            linear_solver=linear_solver,
            tol_phi=tol_phi,
            tol_x=tol_x,
            petsc_options=petsc_options,
            report=report,
            x_upper=self.forms.x_upper,
            # AMG on the second field where it holds an electrolyte concentration (docs/liquid.md)
            second_amg=self.forms.has_liquid,
            potential_shift=self.forms.diffusion_potential_shift if self.forms.has_liquid else None,
        )
        self.control = control or StepControl()
        self.comm = vmesh.mesh.comm
        cam = system.cam
        self.c_max, self.x0 = float(cam.c_max), float(cam.c0) / float(cam.c_max)
        self.area = self.forms.area
        self.cam_volume = self.forms.cam_volume
        if not self.forms.active_area > 0:
            raise InputError(
                "no CAM | electrolyte interface is left between the CAM connected to the collector "
                "and the electrolyte connected to the separator: no current can flow. Check the "
                "structure's CAM and SE fractions and connectivity (fem-assb analyze)."
            )
        #: theoretical capacity per cross-section (C/m^2), MODEL §7 [000 Eq. S2]: the sum over the
        #: CAM materials of (c_max - c0) F V / A, each with its own c_max, c0 and meshed volume V
        self.q_theo = sum(
            (float(c.c_max) - float(c.c0)) * FARADAY * self.forms.cam_volumes[code] / self.area
            for code, _, c in self.forms.cam_parts
        )
        #: Li sites of the CAM, sum of c_max V (mol): the mean stoichiometry is Li / sites
        self.sites = sum(float(c.c_max) * self.forms.cam_volumes[code] for code, _, c in self.forms.cam_parts)
        self.t = 0.0
        self.q = 0.0
        self.history = History()
        self.forms.initial_state(float(np.asarray(cam.U0(self.x0, self.T, np))))
        self.newton.compact_sparsity(self.forms.generic_states())
        self._last = None  # (state before, dt in s) of the last accepted step, for _predict
        self.residuals = {}  # law name -> residual bound of the last converged solve (_check_local_laws)
        self._segment = None  # (operation index, its start time in s, SegmentState) of the run
        self._resume = None  # the same, restored from a checkpoint (restore_checkpoint)
        self._direct = None  # the direct Newton of the iterative solver's fallback (step)
        self._direct_fits = None  # whether the fallback's LU fits in memory (step)
        self._direct_steps_left = 0  # steps that go to the direct Newton first (step)

    def release_solvers(self) -> None:
        """Free the Newton solvers' matrices, preconditioners and vectors once the simulation is
        over (the fields, history and forms stay): what comes after it, the indicators, plots and
        3D pictures, then reuses their memory instead of adding to it. The simulation cannot go
        on afterwards."""
        for newton in (self.newton, self._direct):
            if newton is not None:
                newton.destroy()
        release_free_heap()

    def stage_seconds(self) -> dict:
        """This rank's wall seconds per solver stage (:mod:`fem_assb.solvers.timers`), the
        direct fallback's included."""
        extra = (self._direct.times,) if self._direct is not None else ()
        return self.newton.times.merged(*extra)

    def _cathode_electronic(self):
        """Mask over the DG0 dofs: the cathode's electronic conductors (CAM, cathode collector)."""
        f = self.forms
        return f.has_material((*f.cam_codes, tags.CATHODE_CC))

    # -- the system interface of run_segment ------------------------------------------------
    def save(self):
        return self.forms.u.x.array.copy()

    def restore(self, state):
        self.forms.u.x.array[:] = state

    def step(self, dt: float) -> NewtonResult:
        self.forms.u_old.x.array[:] = self.forms.u.x.array
        if float(self.forms.dt.value) != dt:
            self._new_time_level()  # C/dt in the Jacobian: a factorization of its own
        self.forms.dt.value = dt
        self._predict(dt)
        start = self.forms.u.x.array.copy()
        direct_first = self._direct_steps_left > 0  # after a fallback: LU for a while
        if direct_first:
            self._direct_steps_left -= 1
        res = self._check_local_laws((self._direct_newton() if direct_first else self.newton).solve())
        if not res.converged and not direct_first and self._direct_fallback_applies(res):
            # the same step from the same start with MUMPS (measured: a LIB cathode at 8 mA/cm^2
            # whose electrolyte depletes near the collector, c_e < 0.02 c_e0: BiCGStab + AMG
            # stopped at 400 iterations and the steps shrank to 1e-4 s, while LU took 10 s steps
            # with 3 Newton iterations; docs/liquid.md, "Solver")
            self.history.newton += res.iterations
            self.history.linear += res.linear_iterations
            self.history.direct_fallbacks += 1
            self.forms.u.x.array[:] = start
            res = self._check_local_laws(self._direct_newton().solve())
            # where the Krylov solver failed once it fails again in the next steps (the depleted
            # region stays): they go to LU first, then the iterative solver is tried again
            self._direct_steps_left = DIRECT_FALLBACK_STEPS
        self.history.newton += res.iterations
        self.history.linear += res.linear_iterations
        if not res.converged:
            self.history.rejected += 1
        return res

    def _new_time_level(self):
        """The direct solvers (the run's, the fallback's) factorize afresh at their next solve
        (BlockNewton.new_time_level)."""
        for newton in (self.newton, self._direct):
            if newton is not None:
                newton.new_time_level()

    def _direct_fallback_applies(self, res: NewtonResult) -> bool:
        """A failed iterative solve is redone with the direct solver in a cell with a liquid
        electrolyte (where the Krylov solver fails as the electrolyte depletes) when its LU fits
        in memory; a failure of a local law (a LocalLaw reason) is not the linear solver's."""
        if self.newton.linear_solver != "iterative" or not self.forms.has_liquid:
            return False
        if not res.reason.startswith(("DIVERGED_LINEAR_SOLVE", "DIVERGED_MAX_IT")):
            return False
        if self._direct_fits is None:  # decided once, at the first failure
            cells = self.comm.allreduce(self.forms.vmesh.num_owned_cells)
            need = lu_memory_estimate(cells, 2)  # (phi, x) per cell
            self._direct_fits = need <= 0.5 * available_memory_of(self.comm)
        return self._direct_fits

    def _direct_newton(self) -> BlockNewton:
        """The direct-solver Newton of :meth:`step`'s fallback (built on first use)."""
        if self._direct is None:
            n = self.newton
            self._direct = BlockNewton(
                self.forms.F,
                self.forms.J,
                self.forms.u,
                linear_solver="direct",
                tol_phi=n.tol_phi,
                tol_x=n.tol_x,
                max_it=n.max_it,
                report=n._report,
                x_upper=self.forms.x_upper,
                prefix=n.options.prefix + "direct_",
            )
            self._direct.compact_sparsity(self.forms.generic_states())
        return self._direct

    def _check_local_laws(self, res: NewtonResult) -> NewtonResult:
        """A converged solve counts only if every law the forms solve by a fixed number of local
        Newton steps (grain boundaries, resistive film, half-cell surface correction:
        :class:`~fem_assb.forms.electrochemistry.LocalLaw`) holds to its tolerance on every facet:
        what the steps leave is measured, never assumed small; otherwise the step is cut and
        retried (and the run fails with the law's reason if cutting does not help)."""
        for law in self.forms.local_laws:
            if not res.converged:
                return res
            self.residuals[law.name] = self.forms.local_residual(law)
            res = _unless_residual(
                res, self.residuals[law.name], law.tolerance, law.failure(self.residuals[law.name])
            )
        return res

    @property
    def gb_residual(self) -> float:
        """V: the grain-boundary law's residual bound after the last converged solve (0 without)."""
        return self.residuals.get("grain_boundary", 0.0)

    @property
    def film_residual(self) -> float:
        """V: the film law's residual bound after the last converged solve (0 without a film)."""
        return self.residuals.get("film", 0.0)

    def voltage(self) -> float:
        return self.forms.cell_voltage()

    def film_limit(self) -> float:
        """The largest discharge current density (A/m^2 of the cell cross-section) the resistive
        film can pass at the initial state: every CAM | SE facet at the current that saturates the
        film's outer surface, (c_max - c0) F D_cam / l_cam (MODEL §3, [003] Eq. 4); inf without a
        film diffusion resistance. An upper bound: the CAM's own diffusion lowers it further."""
        film = self.forms.film
        if film is None or not float(film.l_cam) > 0:
            return float("inf")
        cam = self.system.cam
        i_facet = (float(cam.c_max) - float(cam.c0)) * FARADAY * float(film.D_at(self.T)) / float(film.l_cam)
        return i_facet * self.forms.active_area / self.area

    def _predict(self, dt: float):
        """Newton's start for a step of dt (s): linear extrapolation of the last accepted step.

        Only the starting guess changes (the converged state does not); it saves about one Newton
        iteration per step on the smooth parts of a discharge. The extrapolation factor is capped
        at 2 and x is kept in (0, 1) (half way to a bound at most).
        """
        if self._last is None:
            return
        u_before, dt_last = self._last
        u = self.forms.u.x.array
        x_now = u.reshape(-1, 2)[:, 1].copy()
        u += min(dt / dt_last, 2.0) * (u - u_before)
        xs = u.reshape(-1, 2)
        xs[:, 1] = keep_inside(xs[:, 1], x_now, 0.5, upper=self.forms.x_upper)

    def max_change(self) -> float:
        a = self.forms.u.x.array.reshape(-1, 2)[:, 1]
        b = self.forms.u_old.x.array.reshape(-1, 2)[:, 1]
        loc = float(np.max(np.abs(a - b))) if a.size else 0.0
        return self.comm.allreduce(loc, op=MPI.MAX)

    # -- quantities -----------------------------------------------------------------------
    def mean_stoichiometry(self) -> float:
        """Li in the CAM over its sites, sum of c x V / sum of c_max V (one material: the mean x)."""
        return self.forms.scalar(self.forms.lithium) / self.sites

    def interface_current(self) -> float:
        """Total CAM | SE interface current (A, anodic positive)."""
        return self.forms.scalar(self.forms.interface_current)

    def lithium(self) -> float:
        """Li in the CAM (mol)."""
        return self.forms.scalar(self.forms.lithium)

    def electrolyte_lithium(self) -> float:
        """Li+ in the liquid electrolyte (mol), int eps c_e dx (0 without liquid)."""
        form = self.forms.electrolyte_lithium
        return 0.0 if form is None else self.forms.scalar(form)

    def ocv(self) -> float:
        """U0_CAM(mean stoichiometry) - U0_anode (V)."""
        return self.forms.open_circuit_voltage(self.mean_stoichiometry())

    def current_of(self, op: Operation) -> float:
        """Signed applied current density (A/m^2, > 0 discharge) of an operation."""
        if op.kind == "rest":
            return 0.0
        mag = op.current_density if op.current_density is not None else op.c_rate * self.q_theo / 3600.0
        return mag if op.kind == "discharge" else -mag

    def _overpotential_estimate(self, i_app: float):
        """0D estimate (V) of the Li | SE and CAM | SE overpotentials at current density i_app.

        Used only to shift the initial guess of the ionic and the cathode electronic potentials
        when the current changes: from eta = 0 the linearized Butler-Volmer coupling between the
        conductor networks is so weak that the first Newton systems are nearly singular.
        """
        from fem_assb.forms.interface import overpotential_estimate

        x, f = self.mean_stoichiometry(), self.forms
        eta_li, eta_c = overpotential_estimate(i_app, self.system, x, f.c_e, f.active_area, self.area, self.T)
        if f.film is not None:  # the film's ohmic drop at the mean interface current (MODEL §3)
            eta_c += -i_app * self.area / f.active_area * float(f.film.resistance())
        return eta_li, eta_c

    def _shift_guess(self, i_old: float, i_new: float):
        if i_old == i_new:
            return
        li0, c0 = self._overpotential_estimate(i_old)
        li1, c1 = self._overpotential_estimate(i_new)
        f = self.forms
        arr = f.u.x.array.reshape(-1, 2)
        ion = f.has_material(tags.IONIC)
        cathode = self._cathode_electronic()
        arr[ion, 0] -= li1 - li0
        arr[cathode, 0] += -(li1 - li0) + (c1 - c0)

    def quasi_static(self, i_app: float) -> NewtonResult:
        """Potentials at fixed concentrations for the applied current (MODEL §4 initial state).

        The double-layer currents are left out of this solve (``forms.capacitive`` = 0): with
        dt = 1e-12 s they would hold every interface at its old overpotential (a short circuit of
        R_ct) and put C/dt ~ 1e10 S/m^2 into the Jacobian. The step's time stepping thus starts
        from the steady state, the double layers charged: their time constants (R_ct C_DL ~ 1e-4
        to 1e-2 s, R_GB C_GB ~ 4e-8 s) are far below a discharge's time steps. The transient
        itself is resolved by driving :meth:`step` with time steps below R_ct C_DL
        (docs/discharge.md, "Double layers")."""
        self._shift_guess(float(self.forms.i_app.value), i_app)
        self.forms.i_app.value = i_app
        self._last = None
        x = self.save()
        max_it, self.newton.max_it = self.newton.max_it, max(self.newton.max_it, QUASI_STATIC_MAX_IT)
        self.newton.rebuild_preconditioner()  # dt = 1e-12 s: a preconditioner of its own
        self.forms.capacitive.value = 0.0  # the steady state: double layers charged (docs/discharge.md)
        try:
            res = self.step(1e-12)
        finally:
            self.forms.capacitive.value = 1.0
            self.newton.max_it = max_it
            self.newton.rebuild_preconditioner()  # and not that one for the time steps
        xs = self.forms.u.x.array.reshape(-1, 2)
        xs[:, 1] = x.reshape(-1, 2)[:, 1]
        return res

    def _record(self, i_app, k):
        h = self.history
        h.t.append(self.t)
        h.voltage.append(self.voltage())
        h.current.append(i_app)
        h.charge.append(self.q)
        h.x_mean.append(self.mean_stoichiometry())
        h.step.append(k)

    # -- checkpoints (fem_assb.studies.checkpoint) -------------------------------------------
    def checkpoint_state(self) -> dict:
        """The run's state besides the fields u and u_old, as JSON-able floats and lists: time
        (s), charge (C/m^2), applied current (A/m^2), the predictor's last step (s), the operation
        index, its start time (s), the step controller and the History. Call it between accepted
        steps (from ``run``'s on_step or on_segment); u_old then holds the predictor's state."""
        k, t_start, seg = self._segment
        return {
            "t": self.t,
            "q": self.q,
            "i_app": float(self.forms.i_app.value),
            "last_dt": None if self._last is None else float(self._last[1]),
            "operation": k,
            "segment_start": t_start,
            "segment": asdict(seg),
            "history": asdict(self.history),
            "direct_steps_left": self._direct_steps_left,
        }

    def restore_checkpoint(self, state: dict) -> None:
        """Restore :meth:`checkpoint_state` (u and u_old already read into ``self.forms``); the
        next :meth:`run` goes on from there (the operations before are skipped, the current one
        continues without its initial potentials being solved again)."""
        self.t, self.q = float(state["t"]), float(state["q"])
        self.forms.i_app.value = float(state["i_app"])
        self.history = History(**state["history"])
        self._direct_steps_left = int(state.get("direct_steps_left", 0))
        last = state["last_dt"]
        self._last = None if last is None else (self.forms.u_old.x.array.copy(), float(last))
        seg = SegmentState(**state["segment"])
        self._resume = (int(state["operation"]), float(state["segment_start"]), seg)

    def run(self, operations, on_step=None, on_segment=None) -> History:
        """Run the operation steps in order; returns the History (also kept as ``self.history``).

        After :meth:`restore_checkpoint` the run goes on from the checkpoint's step."""
        resume, self._resume = self._resume, None
        for k, op in enumerate(operations):
            if resume is not None and k < resume[0]:
                continue
            i_app = self.current_of(op)
            cutoff = None if op.kind == "rest" else (op.cutoff, -1 if op.kind == "discharge" else +1)
            duration = op.duration if op.duration else (20.0 * self.q_theo / abs(i_app) if i_app else 0.0)
            if resume is not None and k == resume[0]:
                self._segment = resume
                if on_segment:
                    on_segment(k, op)
                self._run_segment(k, op, i_app, cutoff, duration, on_step)
                continue
            if op.kind == "discharge" and op.cutoff >= self.ocv():
                raise InputError(
                    f"the discharge cut-off {op.cutoff:.3f} V is at or above the open-circuit voltage "
                    f"{self.ocv():.3f} V of the cell: the discharge would end at once. Lower the cut-off."
                )
            if op.kind == "charge" and op.cutoff <= self.ocv():
                raise InputError(
                    f"the charge cut-off {op.cutoff:.3f} V is at or below the open-circuit voltage "
                    f"{self.ocv():.3f} V: the charge would end at once. Raise the cut-off."
                )
            if op.kind == "discharge" and self.t == 0.0 and i_app > self.film_limit():
                from fem_assb.errors import SolverError

                lim = self.film_limit()
                raise SolverError(
                    f"the resistive film passes at most {lim / 10.0:.4g} mA/cm^2 of cell area on discharge "
                    f"(its surface saturates: film.D_cam = {self.forms.film.D_at(self.T) * 1e4:.3g} cm^2/s, "
                    f"l_cam = {self.forms.film.l_cam * 1e9:.4g} nm, {self.forms.active_area / self.area:.3g} "
                    f"cm^2 of CAM | SE interface per cm^2), below the applied {i_app / 10.0:.4g} mA/cm^2: "
                    "the discharge ends at once. Lower the current or raise film.D_cam."
                )
            res = self.quasi_static(i_app)
            if not res.converged:
                from fem_assb.errors import SolverError

                raise SolverError(
                    f"the initial potentials of step {k + 1} ({op.kind}) did not converge: {res.reason}"
                )
            self._record(i_app, k)
            dt0 = min(self.control.dt_initial, self.control.dt_max)
            self._segment = (k, self.t, SegmentState(self.t, dt0, self.voltage()))
            if on_segment:
                on_segment(k, op)
            self._run_segment(k, op, i_app, cutoff, duration, on_step)
        return self.history

    def _run_segment(self, k, op, i_app, cutoff, duration, on_step):
        """Operation step k from ``self._segment`` on (its start time and controller state)."""

        def accept(rec):
            # a fresh factorization for the next step (the direct solver): the steps after any
            # accepted one, where a checkpoint may be written, depend only on its state
            self._new_time_level()
            self._last = (self.forms.u_old.x.array.copy(), rec.dt)
            self.q += i_app * rec.dt
            self.t = rec.t
            self.history.steps += 1
            self._record(i_app, k)
            release_free_heap()  # the step's temporaries (docs/discharge.md, "Memory")
            if on_step:
                on_step(self, rec)

        _, t_start, state = self._segment
        _, reason = run_segment(
            self,
            duration=duration,
            cutoff=cutoff,
            control=self.control,
            t0=t_start,
            on_step=accept,
            state=state,
        )
        self.history.stop_reasons.append(reason)
        note = self.depletion_note()
        if note:
            self.history.notes[k] = note
            if self.comm.rank == 0:
                self.newton._report(f"step {k}: {note}")

    def electrolyte_minimum(self):
        """(c_e / c_e0, x in m) of the liquid cell with the lowest concentration, all ranks
        (None without liquid)."""
        f = self.forms
        if not f.has_liquid:
            return None
        from dolfinx.mesh import compute_midpoints

        nown = f.vmesh.num_owned_cells
        liquid = np.flatnonzero(np.isin(f.vmesh.material[:nown], tags.LIQUID))
        best = (np.inf, 0.0)
        if liquid.size:
            x = f.u.x.array.reshape(-1, 2)[f.Q.dofmap.list[liquid, 0], 1]
            k = int(np.argmin(x))
            msh = f.vmesh.mesh
            mid = compute_midpoints(msh, msh.topology.dim, liquid[k : k + 1].astype(np.int32))
            best = (float(x[k]), float(mid[0, 0]))
        return min(self.comm.allgather(best))

    def depletion_note(self) -> str:
        """A message when the liquid electrolyte is depleted (c_e < DEPLETED c_e0 somewhere), else ''."""
        low = self.electrolyte_minimum()
        if low is None or not low[0] < DEPLETED:
            return ""
        x_cc = self.forms.vmesh.bounds[0][1]
        return (
            f"electrolyte depleted at t = {self.t:.6g} s: c_e = {low[0]:.3g} c_e0 at "
            f"x = {low[1] * 1e6:.4g} um ({(x_cc - low[1]) * 1e6:.4g} um from the cathode collector face); "
            "the discharge is limited by the electrolyte's transport"
        )


#: ``linear_solver: auto`` in a cell with liquid electrolyte cells: the direct solver (MUMPS)
#: below this many cells, above it the iterative one. Measured (benchmarks/small_cases.py,
#: serial CPU, docs/discharge.md "Performance") with the c_e-block BoomerAMG (block_pc
#: second_amg): on cases/lib_le_small.yaml (9 885 cells) the iterative solver took 39.1 s, the
#: direct one 65.6 s (51.6 s keeping its factorization within a step), the same 85 steps, 332
#: Newton iterations and capacity to 1e-14; on its 12 x 8 x 8 variant (1 718 cells) 5.06 s
#: against 4.65 s (a tie within the machine's noise: the same direct run took 5.42 s in another
#: run). (Before that AMG the iterative solver needed 140 Krylov iterations per Newton
#: iteration there and 3.6x the direct solver's CPU; this limit was 20 000.)
DIRECT_SOLVER_CELLS = 2000
#: ``linear_solver: auto`` in a solid-state cell (no liquid): the direct solver only below this
#: many cells. Measured (benchmarks/small_cases.py, serial CPU): with the iterative solver 2.4x
#: less CPU than the direct one (its LU kept within a time step) on a 24 x 16 x 16 LCO | LLZO
#: composite (9 813 cells: 5.41 against 12.48 s; 17.28 s with one factorization per Newton
#: iteration), 2.2x on 18 x 12 x 12 (4 717 cells) and 2.6x on 12 x 8 x 8 voxels (1 739 cells),
#: the same steps, Newton iterations and capacity to 4e-14; below 1 000 cells not measured
#: (both take milliseconds per Newton iteration).
SOLID_DIRECT_SOLVER_CELLS = 1000


def auto_linear_solver(vmesh) -> str:
    """``numerics.linear_solver: auto`` for a VoxelMesh (collective): "direct" below
    SOLID_DIRECT_SOLVER_CELLS cells (DIRECT_SOLVER_CELLS with liquid electrolyte cells), else
    "iterative"."""
    comm = vmesh.mesh.comm
    nown = vmesh.num_owned_cells
    n_cells = comm.allreduce(nown)
    liquid = comm.allreduce(bool(np.isin(vmesh.material[:nown], tags.LIQUID).any()), op=MPI.LOR)
    limit = DIRECT_SOLVER_CELLS if liquid else SOLID_DIRECT_SOLVER_CELLS
    return "direct" if n_cells < limit else "iterative"


#: After a direct-solver fallback (CellSimulation.step) this many step attempts go to the direct
#: solver before the iterative one is tried again.
DIRECT_FALLBACK_STEPS = 20


#: Newton steps of the half-cell surface correction when it is used (docs/discharge.md).
SURFACE_ITERATIONS = 3
#: ``surface_iterations: auto`` uses the correction where half a voxel <= RESOLVED x the solid
#: diffusion length (its linear profile must be a good model of the half voxel).
RESOLVED = 0.1


def diffusion_length(cam, T: float, x0: float, duration: float) -> float:
    """sqrt(D_min t) (m): the solid diffusion length over ``duration`` (s), with the smallest
    D(x) (m^2/s) on [x0, 1] (sampled), the slowest the discharge will meet."""
    xs = np.linspace(x0, 1.0 - 1e-6, 201)
    d_min = float(np.min(np.asarray(cam.D(xs, T, np)) * np.ones_like(xs)))
    return float(np.sqrt(max(d_min, 0.0) * duration))


def surface_iterations_for(voxel_size: float, length: float) -> int:
    """``numerics.surface_iterations: auto``: the half-cell surface correction (SURFACE_ITERATIONS)
    where the voxels resolve the solid diffusion length (voxel_size / 2 <= RESOLVED * length,
    m), none where they do not.

    The correction assumes a linear concentration profile over the half voxel. Where the
    diffusion layer is thinner than that, it overstates the surface excursion: on a 0.5 um
    voxel NMC811 cathode at 1 mA/cm^2 its implicit equation saturates every surface at once
    and admits a fraction of the current (docs/discharge.md). Cell-centre values are then
    first-order in the voxel size but smooth.
    """
    return SURFACE_ITERATIONS if voxel_size / 2.0 <= RESOLVED * length else 0


def build_cell_mesh(vcell, comm=None):
    """(VoxelMesh, CellGridInfo) of a VirtualCell; the grid is built and validated
    (:func:`fem_assb.meshing.validate.validate_cell`) on rank 0 only."""
    from fem_assb.meshing import cell_tags
    from fem_assb.meshing.validate import validate_cell
    from fem_assb.meshing.voxel_mesh import build_voxel_mesh

    comm = comm or MPI.COMM_WORLD
    grid, info, err = None, None, None
    if comm.rank == 0:
        try:
            grid, info = validate_cell(vcell)  # the checks `fem-assb check` makes too
        except Exception as exc:  # re-raised on every rank below
            err = exc
    err = comm.bcast(err, root=0)
    if err is not None:
        raise err
    info = comm.bcast(info, root=0)
    vmesh = build_voxel_mesh(comm, grid, cell_tags.facet_tagger)
    if vcell.separator.conductivity_factor is not None:  # kappa_separator = factor kappa (MODEL §1)
        code = cell_tags.SEPARATOR_LE if vcell.separator.material == "LE" else cell_tags.SEPARATOR
        vmesh.conductivity_factor[code] = float(vcell.separator.conductivity_factor)
    if vcell.separator.material == "LE":  # the porous separator's storage eps c_e (docs/liquid.md)
        vmesh.porosity[cell_tags.SEPARATOR_LE] = float(vcell.separator.porosity)
    faces = vcell.cathode.inactive_faces
    if faces is not None:  # delaminated CAM | SE faces carry no current (MODEL §3, [004])
        from fem_assb.meshing.virtual_cell_grid import deactivate_faces

        deactivate_faces(vmesh, info, faces, cell_tags.CAM_SE)
    return vmesh, info


def auto_surface_iterations(
    cam, T: float, voxel_size: float, thickness: float, cam_fraction: float, current_density=None, c_rate=None
):
    """``surface_iterations: auto`` for a cathode: (iterations, solid diffusion length in m).

    The duration is that of a full discharge at ``current_density`` (A/m^2; the CAM's capacity in
    a cathode of ``thickness`` m with ``cam_fraction``) or at ``c_rate`` (1/h); T in K, voxel
    size in m. Without either the correction is kept.
    """
    if current_density:
        duration = (float(cam.c_max) - float(cam.c0)) * FARADAY * cam_fraction * thickness / current_density
    elif c_rate:
        duration = 3600.0 / c_rate
    else:
        return SURFACE_ITERATIONS, float("inf")
    length = diffusion_length(cam, T, float(cam.c0) / float(cam.c_max), duration)
    return surface_iterations_for(voxel_size, length), length


def __getattr__(name):
    """The case driver moved to :mod:`fem_assb.studies.run`; ``run_case`` etc. stay importable here."""
    if name in ("run_case", "simulate_case", "operations_of", "control_of"):
        from fem_assb.studies import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

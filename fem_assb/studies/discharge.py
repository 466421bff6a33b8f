"""Galvanostatic operation of an all-solid-state cell: discharge, charge, rest and sequences.

Programmatic API::

    sim = CellSimulation(vmesh, system, T=298.15)          # forms + Newton on a VoxelMesh
    hist = sim.run([Operation("discharge", current_density=10.0, cutoff=3.0)])

and :func:`run_case` (a loaded case -> outputs in a folder -> summary dict), used by
``fem-assb run`` and ``fem-assb demo``.
Units: current densities in A/m^2 of the cell cross-section, voltages in V, times in s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from fem_assb.errors import InputError
from fem_assb.forms.electrochemistry import CellForms
from fem_assb.forms.interface import FARADAY
from fem_assb.memory import release_free_heap
from fem_assb.meshing import cell_tags as tags
from fem_assb.solvers.newton import BlockNewton, NewtonResult, keep_inside
from fem_assb.solvers.time_stepping import StepControl, run_segment

KINDS = ("discharge", "charge", "rest")


@dataclass
class Operation:
    """One operation step.

    kind: "discharge", "charge" or "rest"; current_density (A/m^2, > 0; the kind sets the sign)
    or c_rate (1/h, of the theoretical capacity); cutoff (V): lower cut-off of a discharge, upper
    of a charge; duration (s): length of a rest, or an upper bound for a (dis)charge.
    """

    kind: str
    current_density: float | None = None
    c_rate: float | None = None
    cutoff: float | None = None
    duration: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"operation kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}.")
        if self.kind == "rest":
            if not (self.duration and self.duration > 0):
                raise InputError("a rest needs a positive duration, e.g. duration: 1 h.")
            return
        given = [v for v in (self.current_density, self.c_rate) if v is not None]
        if len(given) != 1:
            raise InputError(f"a {self.kind} needs exactly one of current_density or c_rate.")
        if given[0] <= 0:
            raise InputError(
                f"the {self.kind} current must be positive (got {given[0]:g}); the kind "
                f"('{self.kind}') already sets its direction."
            )
        if self.cutoff is None:
            raise InputError(f"a {self.kind} needs a cut-off voltage (cutoff: 3.0 V).")


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
    stop_reasons: list = field(default_factory=list)

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


class CellSimulation:
    """Cell forms + block Newton + adaptive implicit Euler on a VoxelMesh.

    system: materials system; T: temperature (K); surface_iterations: see
    :func:`fem_assb.forms.interface.intercalation_current`; linear_solver: "direct" or
    "iterative"; control: StepControl; tol_phi (V), tol_x (-): Newton tolerances;
    petsc_options: PETSc options of the Newton solver (a mapping, names without the solver's
    prefix ``fem_assb_newton_``, :class:`fem_assb.solvers.newton.BlockNewton`); report: callable
    taking a message for the user (options PETSc did not use; default: rank 0 prints to stderr).
    """

    def __init__(
        self,
        vmesh,
        system,
        T: float | None = None,
        *,
        surface_iterations: int = 3,
        linear_solver: str = "direct",
        control: StepControl | None = None,
        tol_phi: float = 1e-9,
        tol_x: float = 1e-10,
        petsc_options=None,
        report=None,
    ):
        self.system = system
        self.T = float(T if T is not None else getattr(system, "temperature", 298.15))
        self.forms = CellForms(vmesh, system, self.T, surface_iterations=surface_iterations)
        self.newton = BlockNewton(
            self.forms.F,
            self.forms.J,
            self.forms.u,
            linear_solver=linear_solver,
            tol_phi=tol_phi,
            tol_x=tol_x,
            petsc_options=petsc_options,
            report=report,
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
        #: theoretical capacity per cross-section (C/m^2), MODEL §7 [000 Eq. S2]
        self.q_theo = (self.c_max - float(cam.c0)) * FARADAY * self.cam_volume / self.area
        self.t = 0.0
        self.q = 0.0
        self.history = History()
        self.forms.initial_state(float(np.asarray(cam.U0(self.x0, self.T, np))))
        self.newton.compact_sparsity(self.forms.generic_states())
        self._last = None  # (state before, dt in s) of the last accepted step, for _predict

    def _cathode_electronic(self):
        """Mask over the DG0 dofs: the cathode's electronic conductors (CAM, cathode collector)."""
        f = self.forms
        return f.has_material((tags.CAM, tags.CATHODE_CC))

    # -- the system interface of run_segment ------------------------------------------------
    def save(self):
        return self.forms.u.x.array.copy()

    def restore(self, state):
        self.forms.u.x.array[:] = state

    def step(self, dt: float) -> NewtonResult:
        self.forms.u_old.x.array[:] = self.forms.u.x.array
        self.forms.dt.value = dt
        self._predict(dt)
        res = self.newton.solve()
        self.history.newton += res.iterations
        self.history.linear += res.linear_iterations
        if not res.converged:
            self.history.rejected += 1
        return res

    def voltage(self) -> float:
        return self.forms.cell_voltage()

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
        xs[:, 1] = keep_inside(xs[:, 1], x_now, 0.5)

    def max_change(self) -> float:
        a = self.forms.u.x.array.reshape(-1, 2)[:, 1]
        b = self.forms.u_old.x.array.reshape(-1, 2)[:, 1]
        loc = float(np.max(np.abs(a - b))) if a.size else 0.0
        return self.comm.allreduce(loc, op=MPI.MAX)

    # -- quantities -----------------------------------------------------------------------
    def mean_stoichiometry(self) -> float:
        return self.forms.scalar(self.forms.lithium) / (self.c_max * self.cam_volume)

    def interface_current(self) -> float:
        """Total CAM | SE interface current (A, anodic positive)."""
        return self.forms.scalar(self.forms.interface_current)

    def lithium(self) -> float:
        """Li in the CAM (mol)."""
        return self.forms.scalar(self.forms.lithium)

    def ocv(self) -> float:
        """U0 of the mean stoichiometry (V)."""
        return float(np.asarray(self.system.cam.U0(self.mean_stoichiometry(), self.T, np)))

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
        from fem_assb.forms.interface import GAS_CONSTANT, exchange_current_cam

        f = FARADAY / (GAS_CONSTANT * self.T)
        cam = self.system.cam
        x = self.mean_stoichiometry()
        i0 = float(exchange_current_cam(self.forms.c_e, x * self.c_max, self.c_max, cam.i00, cam.alpha, m=np))
        i0_area = i0 * self.forms.active_area / self.area
        eta_li = 2.0 / f * np.arcsinh(i_app / (2.0 * float(self.system.anode.i0)))
        eta_c = 2.0 / f * np.arcsinh(-i_app / (2.0 * i0_area)) if i0_area > 0 else 0.0
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
        """Potentials at fixed concentrations for the applied current (MODEL §4 initial state)."""
        self._shift_guess(float(self.forms.i_app.value), i_app)
        self.forms.i_app.value = i_app
        self._last = None
        x = self.save()
        max_it, self.newton.max_it = self.newton.max_it, max(self.newton.max_it, QUASI_STATIC_MAX_IT)
        self.newton.rebuild_preconditioner()  # dt = 1e-12 s: a preconditioner of its own
        try:
            res = self.step(1e-12)
        finally:
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

    def run(self, operations, on_step=None, on_segment=None) -> History:
        """Run the operation steps in order; returns the History (also kept as ``self.history``)."""
        for k, op in enumerate(operations):
            i_app = self.current_of(op)
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
            res = self.quasi_static(i_app)
            if not res.converged:
                from fem_assb.errors import SolverError

                raise SolverError(
                    f"the initial potentials of step {k + 1} ({op.kind}) did not converge: {res.reason}"
                )
            self._record(i_app, k)
            if on_segment:
                on_segment(k, op)
            cutoff = None if op.kind == "rest" else (op.cutoff, -1 if op.kind == "discharge" else +1)
            duration = op.duration if op.duration else (20.0 * self.q_theo / abs(i_app) if i_app else 0.0)

            def accept(rec, i_app=i_app, k=k):
                self._last = (self.forms.u_old.x.array.copy(), rec.dt)
                self.q += i_app * rec.dt
                self.t = rec.t
                self.history.steps += 1
                self._record(i_app, k)
                release_free_heap()  # the step's temporaries (docs/discharge.md, "Memory")
                if on_step:
                    on_step(self, rec)

            dt0 = min(self.control.dt_initial, self.control.dt_max)
            _, reason = run_segment(
                self,
                duration=duration,
                cutoff=cutoff,
                control=self.control,
                t0=self.t,
                dt=dt0,
                on_step=accept,
            )
            self.history.stop_reasons.append(reason)
        return self.history


def wall_clock():
    return time.perf_counter()


#: Below this many cells ``linear_solver: auto`` takes the direct solver (MUMPS), above it the
#: iterative one (at 20^3 voxels GMRES + field split was already 2-3x faster, docs/discharge.md).
DIRECT_SOLVER_CELLS = 20000
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
    diffusion layer is thinner than that, it overstates the surface excursion (on a 0.5 um
    voxel NMC811 cathode at 1 mA/cm^2 its implicit equation saturates every surface at once)
    and its unrolled Newton steps do not converge: the voltage after 1 s was 4.24, 4.19, 4.09,
    3.96 and 3.77 V with 0, 1, 3, 6 and 10 steps, and the outer Newton cycled
    (docs/discharge.md). Cell-centre values are then first-order in the voxel size but smooth.
    """
    return SURFACE_ITERATIONS if voxel_size / 2.0 <= RESOLVED * length else 0


# ---------------------------------------------------------------------------------------------
# Case driver: structure -> mesh -> simulation -> indicators -> output files


def operations_of(case) -> list[Operation]:
    """The case's operation steps as :class:`Operation` objects."""
    return [
        Operation(
            s.kind,
            current_density=s.current_density,
            c_rate=s.c_rate,
            cutoff=s.cutoff_voltage,
            duration=s.duration,
        )
        for s in case.operation.steps
    ]


def control_of(numerics) -> StepControl:
    return StepControl(
        dt_initial=numerics.dt_initial,
        dt_min=numerics.dt_min,
        dt_max=numerics.dt_max,
        dU_max=numerics.max_voltage_step,
        dx_max=numerics.max_stoichiometry_step,
    )


def build_cell_mesh(vcell, comm=None):
    """(VoxelMesh, CellGridInfo) of a VirtualCell; the grid is built on rank 0 only."""
    from fem_assb.meshing import cell_tags
    from fem_assb.meshing.virtual_cell_grid import virtual_cell_grid
    from fem_assb.meshing.voxel_mesh import build_voxel_mesh

    comm = comm or MPI.COMM_WORLD
    grid, info, err = None, None, None
    if comm.rank == 0:
        try:
            grid, info = virtual_cell_grid(vcell)
        except Exception as exc:  # re-raised on every rank below
            err = exc
    err = comm.bcast(err, root=0)
    if err is not None:
        raise err
    info = comm.bcast(info, root=0)
    vmesh = build_voxel_mesh(comm, grid, cell_tags.facet_tagger)
    faces = vcell.cathode.inactive_faces
    if faces is not None:  # delaminated CAM | SE faces carry no current (MODEL §3, [004])
        from fem_assb.meshing.virtual_cell_grid import deactivate_faces

        deactivate_faces(vmesh, info, faces, cell_tags.CAM_SE)
    return vmesh, info


class _Fields:
    """DG0 output fields (phi, c, x, utilization, material, grain, current) and their writer."""

    def __init__(self, sim, names, path):
        from dolfinx import fem

        from fem_assb.output.fields import FieldWriter

        f = sim.forms
        self.sim, self.names = sim, [n for n in names]
        self.funcs = {n: fem.Function(f.Q, name=n) for n in self.names}
        cells = f.Q.dofmap.list[:, 0]
        if "material" in self.funcs:
            self.funcs["material"].x.array[cells] = sim.forms.vmesh.material
        if "grain" in self.funcs:
            self.funcs["grain"].x.array[cells] = sim.forms.vmesh.grain
        self.writer = FieldWriter(sim.comm, path, list(self.funcs.values())) if self.funcs else None

    def write(self, t):
        if self.writer is None:
            return
        f, u = self.sim.forms, self.sim.forms.u.x.array.reshape(-1, 2)
        cam = f.has_material((tags.CAM,))
        for n, fn in self.funcs.items():
            if n == "phi":
                fn.x.array[:] = u[:, 0]
            elif n == "x":
                fn.x.array[:] = np.where(cam, u[:, 1], np.nan)
            elif n == "c":
                fn.x.array[:] = np.where(cam, u[:, 1] * f.c_max, np.nan)
            elif n == "utilization":
                fn.x.array[:] = np.where(cam, (u[:, 1] - f.x0) / (1 - f.x0), np.nan)
            elif n == "current":
                f.cell_interface_current(fn)
        self.writer.write(t)

    def close(self):
        return self.writer.close() if self.writer else None


def _gather_cam(sim, info):
    """(x index in the cathode image, utilization) of every CAM cell, on rank 0."""
    from fem_assb.meshing import cell_tags

    vm = sim.forms.vmesh
    nown = vm.num_owned_cells
    cells = sim.forms.Q.dofmap.list[:nown, 0]
    cam = vm.material[:nown] == cell_tags.CAM
    ix = np.unravel_index(vm.voxel_index[:nown][cam], vm.grid_shape)[0] - info.cathode_slice[0]
    x = sim.forms.u.x.array.reshape(-1, 2)[cells[cam], 1]
    parts = sim.comm.gather((ix, x), root=0)
    if sim.comm.rank != 0:
        return None, None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def run_case(case, outdir=None, quiet: bool = False) -> dict:
    """Simulate a loaded case (fem_assb.case.load_case) and write its outputs; returns the summary.

    Outputs in ``outdir`` (default case.outputs.folder), written atomically on rank 0:
    history.csv, summary.json, voltage.png, utilization_profile.csv, utilization_histogram.csv,
    utilization.png, fields.bp (VTX time series) and a copy of the case.
    """
    from pathlib import Path

    from fem_assb.indicators import capacity as cap
    from fem_assb.indicators import energy, utilization
    from fem_assb.output import plots
    from fem_assb.output.atomic import write_json
    from fem_assb.output.progress import Progress
    from fem_assb.output.tables import write_csv

    comm = MPI.COMM_WORLD
    t_start = time.perf_counter()
    out = Path(outdir) if outdir else Path(case.outputs.folder)
    progress = Progress(quiet)
    image = case.structure.build()
    vcell = case.cell.virtual_cell(image)
    vmesh, info = build_cell_mesh(vcell, comm)
    if info.removed_cam_fraction > 0 or info.removed_electrolyte_fraction > 0:
        progress.message(
            f"removed isolated clusters: {100 * info.removed_cam_fraction:.2f} % of the CAM "
            f"(not connected to the collector), {100 * info.removed_electrolyte_fraction:.2f} % of "
            "the SE (not connected to the separator)"
        )
    num = case.numerics
    n_cells = comm.allreduce(vmesh.num_owned_cells)
    ops = operations_of(case)
    linear_solver = num.linear_solver
    if linear_solver == "auto":
        linear_solver = "direct" if n_cells < DIRECT_SOLVER_CELLS else "iterative"
    surface_iterations, resolution = num.surface_iterations, None
    if surface_iterations is None:
        surface_iterations, resolution = _auto_surface_iterations(case, image, ops)
        progress.message(
            f"solid diffusion length {resolution[1] * 1e6:.3g} um, half voxel "
            f"{resolution[0] * 5e5:.3g} um: half-cell surface correction "
            + ("on" if surface_iterations else "off (voxels too coarse for it, docs/discharge.md)")
        )
    sim = CellSimulation(
        vmesh,
        case.materials,
        case.temperature,
        surface_iterations=surface_iterations,
        linear_solver=linear_solver,
        control=control_of(num),
        tol_phi=num.newton.phi_tol,
        tol_x=num.newton.x_tol,
        petsc_options=num.petsc_options,
    )
    sim.newton.max_it = num.newton.max_iterations
    progress.message(
        f"{case.name}: {n_cells} cells on {comm.size} rank(s), {len(ops)} operation step(s), "
        f"C_theo = {cap.mah_per_cm2(sim.q_theo):.4f} mAh/cm2"
    )
    fields = _Fields(sim, case.outputs.fields, out / "fields")
    interval = case.outputs.field_interval
    fields.write(0.0)

    def on_step(s, rec):
        h = s.history
        seg_q = abs(h.charge[-1] - h.charge[next(i for i, k in enumerate(h.step) if k == h.step[-1])])
        frac = None
        op = ops[h.step[-1]]
        if h.current[-1]:
            # Progress: the larger of the capacity fraction and the voltage's way to the cut-off.
            u0 = h.voltage[next(i for i, k in enumerate(h.step) if k == h.step[-1])]
            span = u0 - op.cutoff
            frac = min(max(seg_q / s.q_theo, (u0 - rec.voltage) / span if span else 0.0), 1.0)
        elif op.duration:
            frac = min(
                (s.t - h.t[next(i for i, k in enumerate(h.step) if k == h.step[-1])]) / op.duration, 1.0
            )
        progress.update(
            step=h.steps,
            t=s.t,
            voltage=rec.voltage,
            capacity=cap.mah_per_cm2(abs(s.q)),
            fraction=frac,
            label=ops[h.step[-1]].kind,
        )
        if interval and h.steps % interval == 0:
            fields.write(s.t)

    try:
        hist = sim.run(ops, on_step=on_step)
    finally:
        progress.close()
    fields.write(sim.t)
    fields_path = fields.close()
    wall = time.perf_counter() - t_start

    # Indicators.
    tab = hist.as_table()
    segments = []
    for k, op in enumerate(ops):
        sel = tab["step"] == k
        q = tab["charge"][sel]
        segments.append(
            {
                "kind": op.kind,
                "capacity_mAh_cm2": cap.mah_per_cm2(abs(q[-1] - q[0])),
                "end_voltage_V": float(tab["voltage"][sel][-1]),
                "duration_s": float(np.ptp(tab["t"][sel])),
                "stop": hist.stop_reasons[k],
            }
        )
    first = next((k for k, op in enumerate(ops) if op.kind == "discharge"), None)
    q_dis = 0.0
    e_dis = 0.0
    if first is not None:
        sel = tab["step"] == first
        q_dis = float(tab["charge"][sel][-1] - tab["charge"][sel][0])
        e_dis = energy.delivered_energy(tab["t"][sel], tab["voltage"][sel], tab["current"][sel])
    ix, xs = _gather_cam(sim, info)
    cs = case.materials
    h = image.voxel_size
    vol = h**3
    n_cam_img = int(np.isin(image.labels, image.label_map.values_of("CAM")).sum())
    n_se_img = (
        int(np.isin(image.labels, image.label_map.values_of("SE")).sum()) if _has_kind(image, "SE") else 0
    )
    masses = energy.cell_masses(
        q_theo=sim.q_theo,
        cam_volume=n_cam_img * vol,
        se_volume=n_se_img * vol,
        separator_volume=vcell.separator.thickness * sim.area,
        area=sim.area,
        cam_density=cs.cam.density,
        se_density=cs.electrolyte.density,
    )
    summary = None
    if comm.rank == 0:
        util = utilization.utilization(xs, sim.x0)
        nx = image.shape[0]
        prof = utilization.profile(util, ix, nx)
        frac, edges = utilization.histogram(util, bins=50)
        x_um = (np.arange(nx) + 0.5) * h * 1e6
        summary = {
            "case": case.name,
            "capacity_mAh_cm2": cap.mah_per_cm2(q_dis),
            "theoretical_capacity_mAh_cm2": cap.mah_per_cm2(sim.q_theo),
            "normalized_capacity": q_dis / sim.q_theo if sim.q_theo else float("nan"),
            "gravimetric_capacity_mAh_g": cap.gravimetric_capacity(
                q_dis, sim.area, n_cam_img * vol, cs.cam.density
            ),
            "energy_Wh_m2": e_dis / 3600.0,
            "energy_density_Wh_kg": energy.energy_density(e_dis, masses),
            "masses_g_m2": masses,
            "mean_utilization": float(np.mean(util)) if util.size else float("nan"),
            "final_voltage_V": float(tab["voltage"][-1]),
            "final_mean_stoichiometry": float(tab["x_mean"][-1]),
            "simulated_time_s": float(sim.t),
            "segments": segments,
            "removed_cam_fraction": info.removed_cam_fraction,
            "removed_electrolyte_fraction": info.removed_electrolyte_fraction,
            "cells": n_cells,
            "ranks": comm.size,
            "time_steps": hist.steps,
            "newton_iterations": hist.newton,
            "linear_iterations": hist.linear,
            "rejected_steps": hist.rejected,
            "wall_time_s": wall,
            "temperature_K": sim.T,
            "linear_solver": linear_solver,
            "surface_iterations": surface_iterations,
            "files": {
                "history": "history.csv",
                "fields": fields_path.name if fields_path else None,
                "voltage_plot": "voltage.png",
                "utilization_profile": "utilization_profile.csv",
                "utilization_histogram": "utilization_histogram.csv",
                "utilization_plot": "utilization.png",
            },
        }
        write_csv(
            out / "history.csv",
            {
                "time_s": tab["t"],
                "voltage_V": tab["voltage"],
                "current_A_m2": tab["current"],
                "capacity_mAh_cm2": tab["charge"] / cap.C_PER_M2_PER_MAH_PER_CM2,
                "mean_stoichiometry": tab["x_mean"],
                "step": tab["step"],
            },
        )
        write_csv(out / "utilization_profile.csv", {"x_um": x_um, "mean_utilization": prof})
        write_csv(
            out / "utilization_histogram.csv",
            {"utilization_low": edges[:-1], "utilization_high": edges[1:], "fraction": frac},
        )
        if case.outputs.plots:
            plots.voltage_curve(
                out / "voltage.png",
                np.abs(tab["charge"]) / cap.C_PER_M2_PER_MAH_PER_CM2,
                tab["voltage"],
                title=case.name,
            )
            plots.utilization_plots(out / "utilization.png", x_um, prof, frac, edges)
        write_json(out / "summary.json", summary)
        if case.path is not None:
            from fem_assb.output.atomic import write_text

            write_text(out / "case.yaml", Path(case.path).read_text())
    summary = comm.bcast(summary, root=0)
    sim.newton.destroy()
    return summary


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


def _auto_surface_iterations(case, image, ops):
    """(surface iterations, (voxel size m, diffusion length m)) for a case's ``surface_iterations:
    auto``, at its first current (current density before C-rate)."""
    currents = [op.current_density for op in ops if op.current_density]
    c_rates = [op.c_rate for op in ops if op.c_rate]
    iterations, length = auto_surface_iterations(
        case.materials.cam,
        case.temperature,
        image.voxel_size,
        image.shape[0] * image.voxel_size,
        float(np.isin(image.labels, image.label_map.values_of("CAM")).mean()),
        current_density=currents[0] if currents else None,
        c_rate=c_rates[0] if c_rates else None,
    )
    return iterations, (image.voxel_size, length)


def _has_kind(image, kind) -> bool:
    return any(m.kind == kind for m in image.label_map.materials.values())

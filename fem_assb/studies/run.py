"""The case driver: a loaded case -> cell simulation -> indicators -> output files.

    summary = run_case(case, outdir)                      # fem-assb run / demo: writes files
    result = simulate_case(case, outdir=None, quiet=True) # the Python API: files only with outdir

:func:`simulate_case` runs four named stages:

1. :func:`build`: output folder checked, structure, virtual cell, mesh (isolated clusters
   removed), solver choices, :class:`CellSimulation`; then a previous run's files are removed
   from the folder (:func:`fem_assb.output.folder.clear_previous_run`);
2. :func:`simulate`: the operation steps with progress and field output; SIGINT / SIGTERM stop it
   cleanly on every rank (:mod:`fem_assb.interrupt`);
3. :func:`indicators`: the summary (capacity, C/C_theo, mAh/g, Wh/kg from one CAM volume,
   :mod:`fem_assb.indicators.cell`), utilization profile and histogram;
4. :func:`write`: the files, atomically on rank 0; ``summary.json`` lists exactly the files this
   run wrote and says ``"complete": false`` when the run was stopped.

Collective: every rank of ``comm`` calls these functions in the same order.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from mpi4py import MPI

from fem_assb.meshing import cell_tags as tags
from fem_assb.solvers.time_stepping import StepControl
from fem_assb.solvers.timers import StageTimes, stage_table
from fem_assb.studies.discharge import (
    CellSimulation,
    Operation,
    auto_linear_solver,
    auto_surface_iterations,
    build_cell_mesh,
)


def operations_of(case) -> list[Operation]:
    """The case's operation steps (already :class:`fem_assb.case.schema.Step` objects)."""
    return list(case.operation.steps)


def control_of(numerics) -> StepControl:
    """The time-step control of a case's ``numerics`` section."""
    return StepControl(
        dt_initial=numerics.dt_initial,
        dt_min=numerics.dt_min,
        dt_max=numerics.dt_max,
        dU_max=numerics.max_voltage_step,
        dx_max=numerics.max_stoichiometry_step,
    )


@dataclass
class Built:
    """What :func:`build` made: the case's image, virtual cell, mesh and simulation."""

    case: object
    comm: object
    out: Path | None  # checked output folder, None: write nothing
    image: object
    vcell: object
    info: object  # meshing.virtual_cell_grid.CellGridInfo
    sim: CellSimulation
    ops: list
    n_cells: int
    linear_solver: str
    surface_iterations: int
    t_start: float = field(default_factory=time.perf_counter)
    #: wall seconds of the driver's stages on this rank: build, simulate (of which fields,
    #: checkpoints and progress: the outputs written during the run), indicators, write
    stages: StageTimes = field(default_factory=StageTimes)


@dataclass
class CaseResult:
    """The outcome of :func:`simulate_case`, on every rank.

    summary: the summary dict (as in summary.json); table: the history as numpy arrays (t [s],
    voltage [V], current [A/m^2, > 0 discharge], charge [C/m^2], x_mean, step); output: the
    folder written (None without one); complete: False when a signal stopped the run.
    """

    summary: dict
    table: dict
    output: Path | None
    complete: bool = True


def run_case(case, outdir=None, quiet: bool = False, comm=None, resume: bool = False) -> dict:
    """Simulate a loaded case and write its outputs into ``outdir`` (default the case's
        ``outputs.folder``); returns the summary dict (``summary["complete"]`` is False when a
        SIGINT/SIGTERM stopped it). Files: history.csv, summary.json, voltage.png,
        utilization_profile.csv, utilization_histogram.csv, utilization.png, utilization_3d.png,
        fields.bp (render_<field>_<k>.png with outputs.render), case.yaml (and checkpoint/ while
        the run is not complete). resume: go on from the folder's checkpoint (a sweep: point by point,
    :func:`fem_assb.studies.sweep.run_sweep`)."""
    out = Path(outdir) if outdir else Path(case.outputs.folder)
    if case.operation.sweep is not None:  # every point in a subfolder, then sweep.csv
        from fem_assb.studies.sweep import run_sweep

        return run_sweep(case, out, quiet=quiet, comm=comm, resume=resume).summary
    return simulate_case(case, out, quiet=quiet, comm=comm, resume=resume).summary


def simulate_case(
    case, outdir=None, quiet: bool = True, comm=None, resume: bool = False, stop=None
) -> CaseResult:
    """Build, simulate, compute the indicators and (with ``outdir``) write the files of a case.

    A SIGINT/SIGTERM ends the simulation early (``complete`` False). A solver or input error
    during the simulation (raised on every rank) still writes the results so far, with
    ``"complete": false`` and the ``"error"`` in summary.json, and is then raised.
    resume: continue the run in ``outdir`` from its newest checkpoint
    (:mod:`fem_assb.studies.checkpoint`; InputError when there is none or the case differs).
    ``stop``: a :class:`~fem_assb.interrupt.StopSignals` already entered (a sweep's), else one is
    made here.
    """
    from fem_assb.errors import FemAssbError
    from fem_assb.interrupt import Stopped, StopSignals
    from fem_assb.output.folder import clear_previous_run
    from fem_assb.output.progress import Progress

    comm = comm or MPI.COMM_WORLD
    if case.operation.sweep is not None:
        from fem_assb.errors import InputError

        raise InputError(f"case {case.name} is a sweep: run it with fem_assb.Sweep (fem-assb run does).")
    progress = Progress(quiet, comm=comm)
    if resume:
        _check_resume(case, outdir, comm)  # before the build: no checkpoint, or another case
    with StopSignals(comm) if stop is None else contextlib.nullcontext(stop) as stop:
        built = build(case, comm, outdir, progress)
        fields = checkpoints = resumed = None
        try:
            if built.out is not None:
                checkpoints, resumed = _checkpoints(built, progress, resume)
                if not resume:
                    clear_previous_run(built.out, comm)  # now that the new run can start
                fields = _Fields(built.sim, case.outputs.fields, built.out / "fields", case.outputs.render)
            stopped = None
            try:
                simulate(built, progress, fields, stop, checkpoints)
            except Stopped as exc:
                stopped = exc.signal_name
                progress.message(f"{stopped}: stopping after {built.sim.history.steps} time steps")
                if checkpoints is not None:
                    checkpoints.write(built.sim)  # the run goes on from here with --resume
            except FemAssbError as exc:  # collective: every rank raised it
                built.sim.release_solvers()
                if fields is not None:
                    fields.abort()
                if built.out is not None and built.sim.history.t:
                    summary, tables = indicators(built, error=str(exc))
                    write(built, summary, tables, None)
                raise
            # the solvers' memory (Jacobian, BoomerAMG, Krylov vectors) is freed before the
            # outputs allocate theirs: measured, a process that only generated the 100^3 demo
            # image and drew its utilization_3d.png peaked at 714 MB (docs/discharge.md)
            built.sim.release_solvers()
            fields_path = fields.finish(built.sim.t) if fields is not None else None
            if checkpoints is not None and stopped is None:
                checkpoints.remove()  # complete: nothing left to resume
            summary, tables = indicators(built, stopped)
            if summary is not None and (checkpoints is not None or resumed is not None):
                summary["checkpoints"] = {
                    **(checkpoints.summary() if checkpoints is not None else {}),
                    **({"resumed_from_step": resumed["steps"]} if resumed is not None else {}),
                }
            if built.out is not None:
                write(built, summary, tables, fields_path)
            summary = comm.bcast(summary, root=0)
        except BaseException:
            if fields is not None and comm.size == 1:
                fields.abort()  # not collective elsewhere: a later run removes the temporary
            raise
        finally:
            built.sim.release_solvers()
    return CaseResult(summary, tables["history"], built.out, complete=stopped is None)


def _check_resume(case, outdir, comm) -> None:
    """Refuse a resume before anything is built: no output folder, no checkpoint there, or one
    written by a case whose cell, materials, operation or numerics differ (InputError)."""
    from fem_assb.errors import InputError
    from fem_assb.parallel import on_rank0
    from fem_assb.studies import checkpoint as ck

    if outdir is None:
        raise InputError("resume: give the output folder of the run to continue (-o DIR, output=DIR).")
    sections = [s for s in ck.SECTIONS if s != "structure"]  # compared once the image is built
    now = ck.case_fingerprint(case, sections=sections)
    on_rank0(ck.find_checkpoint, Path(outdir), now, sections, comm=comm)


def _checkpoints(built, progress, resume: bool):
    """(Checkpoints or None, the state resumed from or None) of a run with an output folder: a
    Checkpoints when the case asks for them or the run is resumed (it then writes at a stop and
    removes the checkpoint when the run completes, whatever the interval)."""
    outputs = built.case.outputs
    if not (resume or outputs.checkpoint_steps or outputs.checkpoint_wall_time):
        return None, None
    from fem_assb.studies import checkpoint as ck

    fingerprint = ck.case_fingerprint(built.case, image=built.image)
    resumed = None
    if resume:
        resumed = ck.read_checkpoint(built.out, built.sim, fingerprint)
        h = built.sim.history
        progress.message(f"resuming from the checkpoint of step {h.steps} (t = {built.sim.t:.6g} s)")
    last = built.sim.history.steps if resumed is not None else None
    return ck.Checkpoints(built.out, outputs, fingerprint, built.comm, last_step=last), resumed


# --- stage 1: build -----------------------------------------------------------------------------


def build(case, comm, outdir=None, progress=None) -> Built:
    """Check the output folder, build the structure, mesh and :class:`CellSimulation` of a case."""
    from fem_assb.indicators import capacity as cap
    from fem_assb.output.folder import prepare_output_folder

    t_start = time.perf_counter()
    say = progress.message if progress is not None else (lambda text: None)
    out = prepare_output_folder(outdir, comm) if outdir is not None else None
    image = case.structure.build()
    vcell = case.cell.virtual_cell(image, getattr(case.materials, "cams", {}))
    vmesh, info = build_cell_mesh(vcell, comm)
    if info.removed_cam_fraction > 0 or info.removed_electrolyte_fraction > 0:
        say(
            f"removed isolated clusters: {100 * info.removed_cam_fraction:.2f} % of the CAM "
            f"(not connected to the collector), {100 * info.removed_electrolyte_fraction:.2f} % of "
            f"the {'LE and CBD' if vcell.separator.material == 'LE' else 'SE'} "
            "(not connected to the separator)"
        )
    num = case.numerics
    n_cells = comm.allreduce(vmesh.num_owned_cells)
    ops = operations_of(case)
    linear_solver = num.linear_solver
    if linear_solver == "auto":
        linear_solver = auto_linear_solver(vmesh)
    surface_iterations = num.surface_iterations
    if surface_iterations is None:
        surface_iterations, length = _auto_surface_iterations(case, image, ops)
        say(
            f"solid diffusion length {length * 1e6:.3g} um, half voxel "
            f"{image.voxel_size * 5e5:.3g} um: half-cell surface correction "
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
    say(
        f"{case.name}: {n_cells} cells on {comm.size} rank(s), {len(ops)} operation step(s), "
        f"C_theo = {cap.mah_per_cm2(sim.q_theo):.4f} mAh/cm2"
    )
    built = Built(
        case, comm, out, image, vcell, info, sim, ops, n_cells, linear_solver, surface_iterations, t_start
    )
    built.stages.add("build", time.perf_counter() - t_start)
    return built


def _auto_surface_iterations(case, image, ops):
    """(surface iterations, solid diffusion length in m) for ``surface_iterations: auto``, at the
    case's first current (current density before C-rate)."""
    currents = [op.current_density for op in ops if op.current_density]
    c_rates = [op.c_rate for op in ops if op.c_rate]
    choices = [  # every CAM material (materials.cams too): the shortest diffusion length decides
        auto_surface_iterations(
            cam,
            case.temperature,
            image.voxel_size,
            image.shape[0] * image.voxel_size,
            float(np.isin(image.labels, image.label_map.values_of("CAM")).mean()),
            current_density=currents[0] if currents else None,
            c_rate=c_rates[0] if c_rates else None,
        )
        for cam in (case.materials.cam, *getattr(case.materials, "cams", {}).values())
    ]
    return min(choices, key=lambda c: c[1])


# --- stage 2: simulate --------------------------------------------------------------------------


def simulate(built: Built, progress, fields, stop, checkpoints=None) -> None:
    """Run the operation steps; fields every ``outputs.field_interval`` steps (and at the start:
    t = 0, or the checkpoint's time of a resumed run); ``checkpoints``
    (:class:`fem_assb.studies.checkpoint.Checkpoints` or None) asked after every accepted step.

    Asks ``stop`` (a :class:`fem_assb.interrupt.StopSignals`) once per segment and per accepted
    step, collectively, and raises :class:`fem_assb.interrupt.Stopped` on every rank together.
    """
    from fem_assb.indicators import capacity as cap
    from fem_assb.interrupt import Stopped

    sim, ops = built.sim, built.ops
    interval = built.case.outputs.field_interval
    t_sim = time.perf_counter()
    if fields is not None:
        with built.stages("fields"):
            fields.write(sim.t)

    def check_stop(*_):
        if stop is not None and stop.requested():
            raise Stopped(stop.requested_name)

    def on_step(s, rec):
        h = s.history
        with built.stages("progress"):
            progress.update(
                step=h.steps,
                t=s.t,
                voltage=rec.voltage,
                capacity=cap.mah_per_cm2(abs(s.q)),
                fraction=_segment_fraction(s, ops[h.step[-1]], rec.voltage),
                label=ops[h.step[-1]].kind,
            )
        if fields is not None and (fields.due(s.t) or interval and h.steps % interval == 0):
            with built.stages("fields"):
                fields.write(s.t)
        if checkpoints is not None:
            with built.stages("checkpoints"):
                checkpoints.after_step(s)
        check_stop()

    try:
        sim.run(ops, on_step=on_step, on_segment=check_stop)
    finally:
        progress.close()
        built.stages.add("simulate", time.perf_counter() - t_sim)


def _segment_fraction(sim, op, voltage: float) -> float | None:
    """Estimated progress (0..1) of the current segment: for a (dis)charge the larger of the
    capacity fraction and the voltage's way to the cut-off, for a rest the time fraction."""
    h = sim.history
    first = h.step.index(h.step[-1])
    if h.current[-1]:
        span = h.voltage[first] - op.cutoff
        by_voltage = (h.voltage[first] - voltage) / span if span else 0.0
        return min(max(abs(h.charge[-1] - h.charge[first]) / sim.q_theo, by_voltage), 1.0)
    if op.duration:
        return min((sim.t - h.t[first]) / op.duration, 1.0)
    return None


# --- stage 3: indicators ------------------------------------------------------------------------


def inventory(built: Built):
    """The :class:`fem_assb.indicators.cell.CellInventory` of the simulated cell (collective):
    the meshed CAM and SE of the cathode (isolated clusters removed), the separator."""
    from fem_assb.indicators.cell import CamPart, CellInventory
    from fem_assb.indicators.energy import cbd_bulk_density

    sim, vm = built.sim, built.sim.forms.vmesh
    own = vm.material[: vm.num_owned_cells]
    # the cathode's electrolyte: SE or LE voxels; an LE separator weighs its electrolyte only
    # (porosity x thickness: its membrane's mass has no parameter yet, docs/liquid.md)
    n_se = built.comm.allreduce(int(np.count_nonzero(np.isin(own, (tags.SE, tags.LE)))))
    sep = built.vcell.separator
    sep_fill = float(sep.porosity) if sep.material == "LE" else 1.0
    cs = built.case.materials
    n_cbd = built.comm.allreduce(int(np.count_nonzero(own == tags.CBD)))
    cbd_density = 0.0
    if cs.cbd is not None:  # the CBD's solid and the electrolyte in its pores
        cbd = cs.cbd
        cbd_density = cbd_bulk_density(float(cbd.density), float(cbd.porosity), float(cs.electrolyte.density))
    f = sim.forms
    extra = tuple(
        CamPart(label, f.cam_volumes[code], float(c.c_max), float(c.c0), float(c.density))
        for code, label, c in f.cam_parts
        if label is not None
    )
    return CellInventory(
        area=sim.area,
        cam_volume=f.cam_volumes.get(tags.CAM, 0.0),
        se_volume=n_se * built.image.voxel_size**3,
        separator_volume=sep_fill * sep.thickness * sim.area,
        c_max=float(cs.cam.c_max),
        c0=float(cs.cam.c0),
        cam_density=float(cs.cam.density),
        se_density=float(cs.electrolyte.density),
        extra_cams=extra,
        cbd_volume=n_cbd * built.image.voxel_size**3,
        cbd_density=cbd_density,
    )


def indicators(built: Built, stopped: str | None = None, error: str | None = None):
    """(summary dict on rank 0 / None elsewhere, tables) of a simulated case (collective).

    The capacity indicators are those of the first discharge step; ``tables`` holds "history"
    (every rank) and, on rank 0, the utilization "profile" and "histogram". ``stopped``: the
    signal that ended the run early, ``error``: the error that did (both: not complete).
    """
    from fem_assb.indicators import capacity as cap
    from fem_assb.indicators import utilization
    from fem_assb.indicators.cell import cell_indicators

    t_ind = time.perf_counter()
    sim, ops, hist = built.sim, built.ops, built.sim.history
    # collective (the largest over the ranks): the driver's stages, then the solver's
    timings = stage_table({**built.stages.seconds, **sim.stage_seconds()}, built.comm)
    tab = hist.as_table()
    inv = inventory(built)
    q_dis, e_dis = _first_discharge(ops, tab)
    ix, util = _gather_cam(sim, built.info)  # each cell's utilization in its material's window
    tables = {"history": tab}
    plots = built.case.outputs.plots  # utilization_3d.png needs every CAM voxel's state
    tables["cam_voxels"] = _cam_voxels(sim, built.info, built.image.shape) if plots else None
    if built.comm.rank != 0:
        return None, tables
    nx, h = built.image.shape[0], built.image.voxel_size
    frac, edges = utilization.histogram(util, bins=50)
    tables["profile"] = {
        "x_um": (np.arange(nx) + 0.5) * h * 1e6,
        "mean_utilization": utilization.profile(util, ix, nx),
    }
    tables["histogram"] = {"utilization_low": edges[:-1], "utilization_high": edges[1:], "fraction": frac}
    summary = {
        "case": built.case.name,
        "complete": stopped is None and error is None,
        "stopped_by": stopped,
        **({"error": error} if error else {}),
        **cell_indicators(inv, q_dis, e_dis),
        "mean_utilization": float(np.mean(util)) if util.size else float("nan"),
        "final_voltage_V": float(tab["voltage"][-1]),
        "final_mean_stoichiometry": float(tab["x_mean"][-1]),
        "simulated_time_s": float(sim.t),
        "segments": _segments(ops, tab, hist.stop_reasons, hist.notes),
        "removed_cam_fraction": built.info.removed_cam_fraction,
        "removed_electrolyte_fraction": built.info.removed_electrolyte_fraction,
        "inventory": inv.as_dict(),
        "cells": built.n_cells,
        "ranks": built.comm.size,
        "time_steps": hist.steps,
        "newton_iterations": hist.newton,
        "linear_iterations": hist.linear,
        "rejected_steps": hist.rejected,
        "direct_fallbacks": hist.direct_fallbacks,
        "wall_time_s": time.perf_counter() - built.t_start,
        "temperature_K": sim.T,
        "linear_solver": built.linear_solver,
        "surface_iterations": built.surface_iterations,
        "film_resistance_ohm_cm2": _film_resistance(sim),
        # wall seconds per stage, the largest over the ranks (docs/discharge.md, "Performance"):
        # build, simulate (fields, checkpoints, progress: outputs during it), the solver's
        # newton (residual, jacobian, pc_setup, krylov with pc_apply, newton_other), indicators
        # (rank 0's), write (rank 0's, set by write())
        "timings_s": {**timings, "indicators": round(time.perf_counter() - t_ind, 3)},
    }
    assert abs(summary["theoretical_capacity_mAh_cm2"] - cap.mah_per_cm2(sim.q_theo)) <= 1e-9 * abs(
        summary["theoretical_capacity_mAh_cm2"]
    ), "C_theo of the indicators and of the simulation differ"
    return summary, tables


def _film_resistance(sim):
    """R_RF of the resistive film in Ohm cm^2 (MODEL §3), None without a film."""
    film = sim.forms.film
    return None if film is None else float(film.resistance()) * 1e4


def _first_discharge(ops, tab) -> tuple[float, float]:
    """(charge C/m^2, energy J/m^2) delivered by the first discharge step (0, 0 without one)."""
    from fem_assb.indicators import energy

    first = next((k for k, op in enumerate(ops) if op.kind == "discharge"), None)
    sel = tab["step"] == first
    if first is None or not sel.any():
        return 0.0, 0.0
    q = float(tab["charge"][sel][-1] - tab["charge"][sel][0])
    return q, energy.delivered_energy(tab["t"][sel], tab["voltage"][sel], tab["current"][sel])


def _segments(ops, tab, stop_reasons, notes=None) -> list[dict]:
    """Per operation step: kind, capacity, end voltage, duration and why it stopped (the steps
    a stopped run did not reach are left out); ``note``: what else ended it (an electrolyte
    depleted, CellSimulation.depletion_note), where there is one."""
    from fem_assb.indicators import capacity as cap

    out = []
    for k, op in enumerate(ops):
        sel = tab["step"] == k
        if not sel.any():
            break
        q = tab["charge"][sel]
        out.append(
            {
                "kind": op.kind,
                "capacity_mAh_cm2": cap.mah_per_cm2(abs(q[-1] - q[0])),
                "end_voltage_V": float(tab["voltage"][sel][-1]),
                "duration_s": float(np.ptp(tab["t"][sel])),
                "stop": stop_reasons[k] if k < len(stop_reasons) else "signal",
                **({"note": notes[k]} if notes and k in notes else {}),
            }
        )
    return out


def _gather_cam(sim, info):
    """(x index in the cathode image, utilization (x - x0) / (1 - x0) with the x0 of the cell's CAM
    material: each in its own stoichiometry window) of every CAM cell, on rank 0."""
    vm = sim.forms.vmesh
    nown = vm.num_owned_cells
    cells = sim.forms.Q.dofmap.list[:nown, 0]
    cam = np.isin(vm.material[:nown], sim.forms.cam_codes)
    ix = np.unravel_index(vm.voxel_index[:nown][cam], vm.grid_shape)[0] - info.cathode_slice[0]
    x = sim.forms.u.x.array.reshape(-1, 2)[cells[cam], 1]
    # each cell's utilization in its own material's window, (x - x0) / (1 - x0)
    x = (x - sim.forms.cell_x0[cells[cam]]) / (1.0 - sim.forms.cell_x0[cells[cam]])
    parts = sim.comm.gather((ix, x), root=0)
    if sim.comm.rank != 0:
        return None, None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# --- stage 4: write -----------------------------------------------------------------------------


#: history.csv's number format: 12 significant digits, 1e-11 V at 4 V (a resumed run is checked
#: against the uninterrupted one to 1e-10 V in this file, tests/test_checkpoint.py).
HISTORY_FORMAT = "%.12g"


def write(built: Built, summary: dict, tables: dict, fields_path: Path | None) -> None:
    """Write the tables, plots, case copy and (last) summary.json on rank 0, each atomically;
    ``summary["files"]`` is set to the files written."""
    if built.comm.rank != 0:
        return
    t_write = time.perf_counter()
    from fem_assb.indicators import capacity as cap
    from fem_assb.output import plots
    from fem_assb.output.atomic import write_json
    from fem_assb.output.tables import write_csv

    out, case, tab = built.out, built.case, tables["history"]
    files = {}
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
        fmt=HISTORY_FORMAT,
        comm=built.comm,
    )
    files["history"] = "history.csv"
    write_csv(out / "utilization_profile.csv", tables["profile"], comm=built.comm)
    files["utilization_profile"] = "utilization_profile.csv"
    write_csv(out / "utilization_histogram.csv", tables["histogram"], comm=built.comm)
    files["utilization_histogram"] = "utilization_histogram.csv"
    if fields_path is not None:
        files["fields"] = fields_path.name
    if (out / "checkpoint").is_dir():  # a run that is not complete keeps its checkpoint
        files["checkpoint"] = "checkpoint"
    if case.outputs.plots:
        q_mah = np.abs(tab["charge"]) / cap.C_PER_M2_PER_MAH_PER_CM2
        plots.voltage_curve(out / "voltage.png", q_mah, tab["voltage"], title=case.name, comm=built.comm)
        files["voltage_plot"] = "voltage.png"
        prof, hist = tables["profile"], tables["histogram"]
        edges = np.append(hist["utilization_low"], hist["utilization_high"][-1:])
        plots.utilization_plots(
            out / "utilization.png",
            prof["x_um"],
            prof["mean_utilization"],
            hist["fraction"],
            edges,
            comm=built.comm,
        )
        files["utilization_plot"] = "utilization.png"
        _utilization_3d(built, tables["cam_voxels"], summary, files)
    if case.outputs.render is not None and fields_path is not None:
        _field_renders(built, fields_path, summary, files)
    if _write_case_copy(case, out / "case.yaml"):
        files["case"] = "case.yaml"
    summary["files"] = files
    if "timings_s" in summary:  # this stage's own time, but for the summary itself
        summary["timings_s"]["write"] = round(time.perf_counter() - t_write, 3)
    write_json(out / "summary.json", summary)


def _write_case_copy(case, path: Path) -> bool:
    """The case file (or, for a case given as a dict, its YAML dump) beside the results."""
    from fem_assb.output.atomic import write_text

    if case.path is not None:
        write_text(path, Path(case.path).read_text())
        return True
    try:
        import yaml

        text = yaml.safe_dump(case.raw, sort_keys=False)
    except Exception:  # a dict case holding objects YAML cannot represent (an image array)
        return False
    write_text(path, text)
    return True


# --- 3D pictures (docs/studies.md, Pictures) ---------------------------------------------------


def _cam_voxels(sim, info, shape):
    """(flat C-order index in the cathode image of ``shape``, utilization (x - x0) / (1 - x0) with
    the x0 of the cell's CAM material) of every CAM cell, on rank 0 (None elsewhere; collective)."""
    vm = sim.forms.vmesh
    nown = vm.num_owned_cells
    cells = sim.forms.Q.dofmap.list[:nown, 0]
    cam = np.isin(vm.material[:nown], sim.forms.cam_codes)
    i, j, k = np.unravel_index(vm.voxel_index[:nown][cam], vm.grid_shape)
    flat = np.ravel_multi_index((i - info.cathode_slice[0], j, k), shape)
    x = sim.forms.u.x.array.reshape(-1, 2)[cells[cam], 1]
    x = (x - sim.forms.cell_x0[cells[cam]]) / (1.0 - sim.forms.cell_x0[cells[cam]])  # utilization
    parts = sim.comm.gather((flat, x), root=0)
    if sim.comm.rank != 0:
        return None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _picture_failed(summary: dict, name: str, exc: Exception) -> None:
    """A 3D picture that could not be made: said on stderr and in summary["render_errors"]; the
    run's other files are still written."""
    import sys

    text = f"{name}: {exc}"
    summary.setdefault("render_errors", []).append(text)
    print(f"fem-assb: warning: picture not written, {text}", file=sys.stderr, flush=True)


def _utilization_3d(built: Built, cam_voxels, summary: dict, files: dict) -> None:
    """utilization_3d.png: the CAM voxels coloured by their utilization at the end of the run."""
    from fem_assb.output import render

    image = built.image
    util = np.full(image.shape, np.nan)
    flat, x = cam_voxels
    util.flat[flat] = x  # _cam_voxels: each cell's utilization in its material's window
    grey = "; grey: not simulated" if np.isnan(util[image.mask("CAM")]).any() else ""
    title = (
        f"{built.case.name}: CAM utilization at t = {built.sim.t:.4g} s "
        f"(mean {summary['mean_utilization']:.3f}{grey})"
    )
    try:
        render.utilization_picture(image, util, built.out / "utilization_3d.png", title)
    except Exception as exc:  # a picture never costs the run its other files
        _picture_failed(summary, "utilization_3d.png", exc)
        return
    files["utilization_3d"] = "utilization_3d.png"


def _field_renders(built: Built, fields_path: Path, summary: dict, files: dict) -> None:
    """``outputs.render``: the fields at the chosen times, read back from fields.bp through
    VTK's VTX reader (render_<field>_<k>.png; summary["render"] lists asked and shown times)."""
    from fem_assb.output import render

    spec = built.case.outputs.render
    try:
        records = render.field_pictures(fields_path, spec.fields, spec.times, built.out, built.case.name)
    except Exception as exc:
        _picture_failed(summary, fields_path.name, exc)
        return
    summary["render"] = records
    for r in records:
        files[Path(r["file"]).stem] = r["file"]


# --- field output -------------------------------------------------------------------------------


class _Fields:
    """DG0 output fields (phi, c, x, utilization, material, grain, current) and their writer."""

    def __init__(self, sim, names, path, render=None):
        from dolfinx import fem

        from fem_assb.output.fields import FieldWriter

        f = sim.forms
        self.sim, self.names = sim, list(names)
        # outputs.render's times [s] still to come (t = 0 and the end are written anyway)
        self.pending = sorted(t for t in (render.times if render else []) if t is not None and t > 0)
        self.funcs = {n: fem.Function(f.Q, name=n) for n in self.names}
        cells = f.Q.dofmap.list[:, 0]
        if "material" in self.funcs:
            self.funcs["material"].x.array[cells] = f.vmesh.material
        if "grain" in self.funcs:
            self.funcs["grain"].x.array[cells] = f.vmesh.grain
        self.writer = FieldWriter(sim.comm, path, list(self.funcs.values())) if self.funcs else None

    def due(self, t: float) -> bool:
        """True when an ``outputs.render`` time lies at or before t [s] and is not yet written
        (the same on every rank: t is)."""
        due = bool(self.pending) and self.pending[0] <= t
        self.pending = [p for p in self.pending if p > t]
        return due

    def write(self, t: float) -> None:
        """Write the fields at time t [s] (collective)."""
        if self.writer is None:
            return
        f, u = self.sim.forms, self.sim.forms.u.x.array.reshape(-1, 2)
        cam = f.has_material(f.cam_codes)
        for n, fn in self.funcs.items():
            if n == "phi":
                fn.x.array[:] = u[:, 0]
            elif n == "x":
                fn.x.array[:] = np.where(cam, u[:, 1], np.nan)
            elif n == "c":  # c_s in the CAM, c_e in the liquid electrolyte (docs/liquid.md)
                liq, c_e0 = f.has_material(tags.LIQUID), getattr(f, "c_e0", 0.0)
                fn.x.array[:] = np.where(cam, u[:, 1] * f.cell_c_max, np.where(liq, u[:, 1] * c_e0, np.nan))
            elif n == "utilization":
                fn.x.array[:] = np.where(cam, (u[:, 1] - f.cell_x0) / (1 - f.cell_x0), np.nan)
            elif n == "current":
                f.cell_interface_current(fn)
        self.writer.write(t)

    def finish(self, t: float) -> Path | None:
        """Write the state at time t [s] and finish the series (collective); its path, None
        without fields."""
        if self.writer is None:
            return None
        self.write(t)
        writer, self.writer = self.writer, None
        return writer.close()

    def abort(self) -> None:
        """Drop the series of a failed run (collective); nothing once finished or aborted."""
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.abort()

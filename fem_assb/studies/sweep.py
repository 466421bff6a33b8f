"""Parameter sweeps: every point of a case's ``operation.sweep`` run in its own subfolder, then
one table and its plots (docs/studies.md, "Sweeps").

    result = run_sweep(case, outdir)         # fem-assb run CASE.yaml on a case with a sweep
    result.rows                              # one dict per point: the columns of sweep.csv

Stages (collective over the world communicator ``comm``):

1. :func:`expand`: the points of the loaded case (each resolved and validated by the loader,
   :func:`fem_assb.case.load._resolve_sweep`), with their subfolder names
   (``000_current_density=1mA_cm2``);
2. :func:`run_points`: this group's points one after the other, each a
   :func:`fem_assb.studies.run.simulate_case` on the group's communicator. ``concurrent: K``
   splits the world communicator into K groups of N/K consecutive ranks (:func:`split`); point i
   runs on group i mod K. A point that fails (an InputError, PercolationError or SolverError:
   any FemAssbError, raised on every rank of its group) is recorded with its error and the sweep
   goes on; a SIGINT/SIGTERM stops the point under way cleanly (its files say
   ``"complete": false``) and the group runs no further point;
3. :func:`collect`: the points' outcomes (summary, history) gathered on world rank 0;
4. :func:`write`: ``sweep.csv``, the plots and ``sweep.json``, on world rank 0, each atomically.

With an output folder, ``sweep.json`` is also written before the points run (their folders and
case fingerprints): ``resume=True`` (:func:`resume_plan`) then keeps the complete points, resumes
those with a checkpoint and runs the others; a run without it first removes the point folders
of the earlier sweep there (:func:`remove_previous_sweep`).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

#: The summary entries of every point that sweep.csv lists (fem_assb.studies.run.indicators).
METRICS = (
    "capacity_mAh_cm2",
    "normalized_capacity",
    "gravimetric_capacity_mAh_g",
    "energy_density_Wh_kg",
    "mean_utilization",
    "final_voltage_V",
)
#: A point's status: ran to its end / raised an error / stopped by a signal / not started.
STATUSES = ("ok", "failed", "stopped", "not run")
#: The files a sweep writes into its folder, beside the points' subfolders.
SWEEP_FILES = ("sweep.csv", "sweep_curves.png", "sweep_capacity.png", "sweep_map.png", "sweep.json")


@dataclass
class PlannedPoint:
    """A point to run: its :class:`~fem_assb.case.schema.SweepPoint`, subfolder name, label
    (``current_density = 1 mA/cm^2``) and case (named after the sweep and the label)."""

    point: object
    folder: str
    label: str
    case: object = field(repr=False)

    @property
    def index(self) -> int:
        return self.point.index


@dataclass
class PointRun:
    """The outcome of one point. ``status`` one of :data:`STATUSES`; ``error`` its message (one
    line, empty when ok); ``summary`` the point's summary dict (None when it failed or did not
    run); ``table`` its history arrays (:class:`fem_assb.studies.run.CaseResult` ``table``);
    ``wall_time_s`` the point's wall time, build included; ``group`` the rank group that ran it."""

    index: int
    status: str
    error: str = ""
    summary: dict | None = None
    table: dict | None = None
    wall_time_s: float = float("nan")
    group: int = 0


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns, identical on every rank: ``rows`` (the rows of sweep.csv,
    dicts keyed by :func:`header`), ``runs`` (:class:`PointRun` per point, in point order),
    ``planned`` (:class:`PlannedPoint` per point), ``output`` (the folder, or None), ``summary``
    (the dict of sweep.json), ``complete`` (False when a signal stopped the sweep)."""

    rows: list[dict]
    runs: list[PointRun]
    planned: list[PlannedPoint]
    output: Path | None
    summary: dict
    complete: bool = True


# --- stage 1: expand ----------------------------------------------------------------------------


def expand(case) -> list[PlannedPoint]:
    """The points of ``case.operation.sweep`` with subfolder names and labels."""
    sweep = case.operation.sweep
    n = len(sweep.points)
    out = []
    for p in sweep.points:
        pairs = zip(sweep.parameters, p.values, strict=True)
        label = ", ".join(f"{_short(k)} = {_text(v)}" for k, v in pairs)
        folder = point_folder(p.index, n, sweep.parameters, p.values)
        out.append(PlannedPoint(p, folder, label, replace(p.case, name=f"{case.name} [{label}]")))
    return out


def point_folder(index: int, n_points: int, parameters, values) -> str:
    """The subfolder name of a point: ``000_current_density=1mA_cm2`` (index, then per swept
    parameter its last path component and its value with the characters a file name should not
    hold removed or replaced by ``_``)."""
    width = max(3, len(str(n_points - 1)))
    parts = [f"{_short(p)}={_slug(v)}" for p, v in zip(parameters, values, strict=True)]
    return f"{index:0{width}d}_" + "_".join(parts)


def _short(parameter: str) -> str:
    """The last component of a dotted path (with its parent for a list index: ``steps0``)."""
    parts = parameter.split(".")
    if len(parts) > 1 and parts[-1].isdigit():
        return parts[-2] + parts[-1]
    return parts[-1]


def _text(value) -> str:
    """A value as written in the case file (scalars as they are, sections as compact JSON)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _slug(value, limit: int = 40) -> str:
    text = _text(value)
    if isinstance(value, str) and "/" in text and " " not in text and re.search(r"\.[A-Za-z0-9]+$", text):
        text = Path(text).name  # a file (structure.image): its name
    text = text.replace(" ", "").replace("/", "_").replace("^", "").replace("*", "")
    text = re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("_.")
    return text[:limit] or "value"


# --- stage 2: run the points ----------------------------------------------------------------------


def split(comm, concurrent: int):
    """(group communicator, group index, number of groups) for ``concurrent`` groups of
    ``comm.size / concurrent`` consecutive ranks; ``comm`` itself for one group. Raises
    InputError when ``concurrent`` does not divide the number of ranks (on every rank)."""
    from fem_assb.errors import InputError

    n = comm.size
    if concurrent == 1:
        return comm, 0, 1
    if n % concurrent:
        raise InputError(
            f"operation.sweep.concurrent = {concurrent} does not divide the {n} MPI rank(s): the "
            f"points run on {concurrent} groups of equal size. Run on a multiple of {concurrent} "
            f"ranks (mpirun -n {concurrent * max(1, -(-n // concurrent))}) or set concurrent to a "
            f"divisor of {n}."
        )
    per = n // concurrent
    group = comm.rank // per
    return comm.Split(color=group, key=comm.rank), group, concurrent


def run_points(
    planned, comm, group: int, n_groups: int, outdir, quiet: bool, stop, say, modes=None
) -> list[PointRun]:
    """Run the points ``i`` with ``i % n_groups == group`` on ``comm`` (collective over it), in
    ``outdir / folder`` (no files when ``outdir`` is None). ``stop``: the group's entered
    :class:`~fem_assb.interrupt.StopSignals`; ``say(text)``: a message line (group rank 0).
    ``modes`` (a resumed sweep, :func:`resume_plan`): per point "done" (its complete run is read
    back from its folder, not run), "resume" (go on from its checkpoint) or "run" (from the
    start); None: every point "run"."""
    from fem_assb.errors import FemAssbError
    from fem_assb.studies.run import simulate_case

    runs, stopped_by = [], None
    mine = [p for p in planned if p.index % n_groups == group]
    n = len(planned)
    for p in mine:
        if stopped_by is None and stop.requested():  # collective over the group
            stopped_by = stop.requested_name
        if stopped_by is not None:
            why = f"not run: the sweep was stopped by {stopped_by}"
            runs.append(PointRun(p.index, "not run", why, group=group))
            continue
        mode = modes[p.index] if modes is not None else "run"
        out = Path(outdir) / p.folder if outdir is not None else None
        if mode == "done":
            run = read_point(out, p.index, group)
            runs.append(run)
            say(f"sweep point {p.index + 1}/{n} ({p.label}): complete already, {_outcome(run)}")
            continue
        what = "resuming from its checkpoint" if mode == "resume" else "running"
        say(f"sweep point {p.index + 1}/{n} ({p.label}){_on(comm, n_groups, group)}: {what}")
        t0 = time.perf_counter()
        try:
            res = simulate_case(p.case, out, quiet=quiet, comm=comm, stop=stop, resume=mode == "resume")
        except FemAssbError as exc:  # raised on every rank of the group
            wall = time.perf_counter() - t0
            run = PointRun(p.index, "failed", _one_line(exc), wall_time_s=wall, group=group)
        else:
            status = "ok" if res.complete else "stopped"
            error = ""
            if not res.complete:
                stopped_by = res.summary.get("stopped_by") or stop.requested_name or "a signal"
                error = f"stopped by {stopped_by}"
            run = PointRun(
                p.index,
                status,
                error,
                summary=res.summary,
                table=res.table,
                wall_time_s=time.perf_counter() - t0,
                group=group,
            )
        runs.append(run)
        say(f"sweep point {p.index + 1}/{n} ({p.label}): {_outcome(run)}")
    return runs


def _on(comm, n_groups: int, group: int) -> str:
    return f" on ranks group {group} ({comm.size} rank(s))" if n_groups > 1 else ""


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _outcome(run: PointRun) -> str:
    if run.status == "failed":
        return f"failed after {run.wall_time_s:.1f} s: {run.error}"
    s = run.summary or {}
    return (
        f"{run.status}, {s.get('capacity_mAh_cm2', float('nan')):.5g} mAh/cm2, "
        f"{s.get('energy_density_Wh_kg', float('nan')):.5g} Wh/kg, {run.wall_time_s:.1f} s"
    )


# --- resume (docs/studies.md, "Sweeps", resume) ---------------------------------------------------


def point_fingerprints(planned) -> list[dict]:
    """Per point the fingerprint of its case (:func:`fem_assb.studies.checkpoint.case_fingerprint`
    of cell, materials, operation, numerics; the structure by its section as written, without
    building the image: a structure file is named by its path)."""
    from fem_assb.studies import checkpoint as ck

    sections = [s for s in ck.SECTIONS if s != "structure"]
    out = []
    for p in planned:
        fp = ck.case_fingerprint(p.case, sections=sections)
        fp["structure"] = ck._digest(_structure_data(p.case.structure))
        out.append(fp)
    return out


def _structure_data(structure) -> dict:
    from dataclasses import fields

    return {f.name: getattr(structure, f.name) for f in fields(structure)}


def _read_json(path: Path):
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resume_plan(out: Path, planned, fingerprints: list[dict]) -> list[str]:
    """Per point "done" / "resume" / "run" for a resumed sweep in ``out`` (one rank, numpy only):
    the sweep.json there (written when a sweep starts, and again at its end) must list the same
    points with the same case fingerprints, else InputError (the sweep case changed). A point is
    "done" when its folder holds a summary.json that says ``"complete": true``, "resume" when it
    holds a checkpoint, else "run"."""
    from fem_assb.errors import InputError
    from fem_assb.studies import checkpoint as ck

    old = _read_json(out / "sweep.json")
    if old is None:
        raise InputError(
            f"--resume: no sweep in {out} (no sweep.json): there is nothing to resume; run without "
            "--resume to start the sweep."
        )
    old_points = old.get("point_cases")
    if not isinstance(old_points, list):
        raise InputError(
            f"--resume: {out / 'sweep.json'} does not record its points' cases (written by an older "
            "fem-assb): run without --resume to start the sweep again."
        )
    folders = [p.folder for p in planned]
    old_folders = [e.get("folder") for e in old_points if isinstance(e, dict)]
    if old_folders != folders:
        raise InputError(
            f"--resume: the sweep in {out} was written by a different sweep case: its points are "
            f"{len(old_folders)} ({_names(old_folders)}), this sweep's {len(folders)} ({_names(folders)}). "
            "Resume with the case that wrote it, or run without --resume to start again (its "
            "point folders are then replaced)."
        )
    for p, entry, now in zip(planned, old_points, fingerprints, strict=True):
        differ = ck.differing_sections(entry.get("fingerprint") or {}, now)
        if differ:
            raise InputError(
                f"--resume: the sweep in {out} was written by a different sweep case: point "
                f"{p.index} ({p.label}): {', '.join(differ)} "
                f"{'differs' if len(differ) == 1 else 'differ'}. Resume with the case that wrote it, "
                "or run without --resume to start again (its point folders are then replaced)."
            )
    modes = []
    for p in planned:
        summary = _read_json(out / p.folder / "summary.json")
        if summary is not None and summary.get("complete") is True:
            modes.append("done")
        elif ck.latest_checkpoint(out / p.folder) is not None:
            modes.append("resume")
        else:
            modes.append("run")
    return modes


def _names(folders) -> str:
    return ", ".join(map(str, folders[:3])) + (", ..." if len(folders) > 3 else "")


def read_point(out: Path, index: int, group: int) -> PointRun:
    """The :class:`PointRun` of a complete point read back from its folder (summary.json and
    history.csv; its wall time is the summary's, that of the run that computed it)."""
    from fem_assb.indicators.capacity import C_PER_M2_PER_MAH_PER_CM2

    summary = _read_json(out / "summary.json")
    data = np.genfromtxt(out / "history.csv", delimiter=",", names=True, ndmin=1)
    table = {
        "t": np.asarray(data["time_s"], dtype=float),
        "voltage": np.asarray(data["voltage_V"], dtype=float),
        "current": np.asarray(data["current_A_m2"], dtype=float),
        "charge": np.asarray(data["capacity_mAh_cm2"], dtype=float) * C_PER_M2_PER_MAH_PER_CM2,
        "x_mean": np.asarray(data["mean_stoichiometry"], dtype=float),
        "step": np.asarray(data["step"], dtype=int),
    }
    wall = float(summary.get("wall_time_s", float("nan")))
    return PointRun(index, "ok", "", summary=summary, table=table, wall_time_s=wall, group=group)


def remove_previous_sweep(out: Path) -> list[Path]:
    """Remove the point folders of an earlier sweep in ``out`` (one rank): only the folders its
    sweep.json lists, and in them only a fem-assb run's files
    (:func:`fem_assb.output.folder.remove_previous_run`); a folder left empty is removed, one
    holding other files stays. Returns the folders removed."""
    from fem_assb.output.folder import _is_plain_name, remove_previous_run

    old = _read_json(out / "sweep.json")
    if old is None:
        return []
    listed = [e.get("folder") for e in old.get("point_cases") or [] if isinstance(e, dict)]
    listed += [r.get("folder") for r in old.get("rows") or [] if isinstance(r, dict)]
    removed = []
    for name in dict.fromkeys(f for f in listed if isinstance(f, str) and _is_plain_name(f)):
        folder = out / name
        if not folder.is_dir() or folder.is_symlink():
            continue
        remove_previous_run(folder)
        try:
            folder.rmdir()
        except OSError:  # the user's files are in it
            continue
        removed.append(folder)
    return removed


def _start(out: Path, case, planned, fingerprints, resume: bool, say) -> list[str] | None:
    """Rank 0 before the points run: the resume plan (or, without resume, the earlier sweep's
    point folders removed), then sweep.json as at the start of a sweep (its points and their
    case fingerprints, ``"complete": false``), so a sweep killed at any moment can be resumed.
    Returns the modes (None without resume)."""
    from fem_assb.output.atomic import write_json

    modes = None
    if resume:
        modes = resume_plan(out, planned, fingerprints)
        say(
            f"resuming the sweep in {out}: {modes.count('done')} point(s) complete, "
            f"{modes.count('resume')} from a checkpoint, {modes.count('run')} from the start"
        )
    else:
        remove_previous_sweep(out)
    sweep = case.operation.sweep
    write_json(
        out / "sweep.json",
        {
            "case": case.name,
            "parameters": list(sweep.parameters),
            "values": [[_text(v) for v in vs] for vs in sweep.values],
            "grid": sweep.grid,
            "points": len(planned),
            "complete": False,
            "running": True,
            "point_cases": _point_cases(planned, fingerprints),
        },
    )
    return modes


def _point_cases(planned, fingerprints) -> list[dict]:
    return [{"folder": p.folder, "fingerprint": fp} for p, fp in zip(planned, fingerprints, strict=True)]


# --- stage 3: collect ---------------------------------------------------------------------------


def collect(world, leader: bool, runs: list[PointRun]) -> list[PointRun] | None:
    """Every group's runs (sent by each group's rank 0, ``leader``) in point order on world
    rank 0; None elsewhere."""
    parts = world.gather(runs if leader else [], root=0)
    if world.rank != 0:
        return None
    return sorted((r for part in parts for r in part), key=lambda r: r.index)


def header(sweep) -> list[str]:
    """The columns of sweep.csv: point, folder, each swept parameter as written and in SI base
    units (``<parameter>_SI``), :data:`METRICS`, wall_time_s, status, error."""
    cols = ["point", "folder"]
    for p in sweep.parameters:
        cols += [p, f"{p}_SI"]
    return cols + list(METRICS) + ["wall_time_s", "status", "error"]


def rows_of(sweep, planned: list[PlannedPoint], runs: list[PointRun]) -> list[dict]:
    """One row per point (dicts keyed by :func:`header`; NaN where a point has no value)."""
    rows = []
    for p, r in zip(planned, runs, strict=True):
        row = {"point": p.index, "folder": p.folder}
        for param, v, si in zip(sweep.parameters, p.point.values, p.point.values_si, strict=True):
            row[param] = _text(v)
            row[f"{param}_SI"] = si
        for m in METRICS:
            row[m] = float(r.summary[m]) if r.summary and m in r.summary else float("nan")
        row.update(wall_time_s=r.wall_time_s, status=r.status, error=r.error)
        rows.append(row)
    return rows


# --- stage 4: write -----------------------------------------------------------------------------


def write(out: Path, case, planned, runs, rows, summary: dict) -> None:
    """sweep.csv, the plots (``outputs.plots``) and, last, sweep.json into ``out`` (one rank;
    each file atomically); ``summary["files"]`` is set to the files written."""
    from fem_assb.output.atomic import write_json
    from fem_assb.output.tables import write_rows

    sweep = case.operation.sweep
    files = {"table": "sweep.csv"}
    write_rows(out / "sweep.csv", header(sweep), rows)
    if case.outputs.plots:
        files.update(_plots(out, case, planned, runs, rows))
    summary["files"] = files
    write_json(out / "sweep.json", summary)


def _plots(out: Path, case, planned, runs, rows) -> dict:
    """The sweep's PNGs: every point's discharge curve, capacity and energy density against the
    swept value (one line per value of the further parameters of a grid) and, for a grid of two,
    the capacity and energy-density maps."""
    from fem_assb.indicators.capacity import C_PER_M2_PER_MAH_PER_CM2
    from fem_assb.output import plots

    sweep = case.operation.sweep
    files = {}
    curves = []
    for p, r in zip(planned, runs, strict=True):
        if r.table is not None and len(r.table["t"]):
            q = np.abs(r.table["charge"]) / C_PER_M2_PER_MAH_PER_CM2
            curves.append((p.label, q, r.table["voltage"]))
    plots.sweep_curves(out / "sweep_curves.png", curves, title=case.name)
    files["curves_plot"] = "sweep_curves.png"
    shape = [len(v) for v in sweep.values]
    cap = np.array([r["capacity_mAh_cm2"] for r in rows], dtype=float).reshape(shape)
    energy = np.array([r["energy_density_Wh_kg"] for r in rows], dtype=float).reshape(shape)
    axes = [axis_of(p, v) for p, v in zip(sweep.parameters, sweep.values, strict=True)]
    x, xlabel, xticks = axes[0]
    series = []
    for ks in itertools.product(*(range(n) for n in shape[1:])):
        label = ", ".join(
            f"{_short(sweep.parameters[a + 1])} = {_text(sweep.values[a + 1][k])}" for a, k in enumerate(ks)
        )
        sel = (slice(None), *ks)
        series.append((label, cap[sel], energy[sel]))
    plots.sweep_indicators(out / "sweep_capacity.png", x, series, xlabel, xticks=xticks, title=case.name)
    files["indicators_plot"] = "sweep_capacity.png"
    if len(shape) == 2:
        ta, tb = ([_text(v) for v in vs] for vs in sweep.values)
        plots.sweep_map(out / "sweep_map.png", cap, energy, ta, tb, axes[0][1], axes[1][1], title=case.name)
        files["map_plot"] = "sweep_map.png"
    return files


def axis_of(parameter: str, values) -> tuple[np.ndarray, str, list[str] | None]:
    """(positions, axis label, tick labels) of a swept parameter in a plot: the values in the
    unit of the first value when all are quantities of one kind (tick labels None), else their
    indices with the values as tick labels."""
    from fem_assb.units import quantity

    name = _short(parameter)
    try:
        qs = [quantity(v) for v in values]
        unit = qs[0].units
        nums = np.array([float(q.to(unit).magnitude) for q in qs])
        if not np.all(np.isfinite(nums)):
            raise ValueError
    except Exception:
        return np.arange(len(values), dtype=float), name, [_text(v) for v in values]
    text = "" if qs[0].dimensionless else f" ({unit:~P})"
    return nums, name + text, None


# --- the driver ---------------------------------------------------------------------------------


def run_sweep(case, outdir=None, quiet: bool = False, comm=None, resume: bool = False) -> SweepResult:
    """Run every point of the sweep of ``case`` (a loaded case with ``operation.sweep``) and,
    with ``outdir``, write each point into its subfolder and the sweep's files (module docstring).
    resume: go on with the sweep in ``outdir`` (:func:`resume_plan`: complete points are read
    back, points with a checkpoint resumed, the others run); without it the point folders of an
    earlier sweep there are removed first (:func:`remove_previous_sweep`). Collective over
    ``comm`` (default COMM_WORLD); returns the same :class:`SweepResult` on every rank."""
    from mpi4py import MPI

    from fem_assb.errors import InputError
    from fem_assb.interrupt import StopSignals
    from fem_assb.output.folder import clear_previous_run, prepare_output_folder
    from fem_assb.parallel import on_rank0
    from fem_assb.parallel import quiet as env_quiet

    world = comm or MPI.COMM_WORLD
    sweep = case.operation.sweep
    if sweep is None:
        raise InputError(f"case {case.name} has no operation.sweep; run it with fem_assb.Simulation.")
    t0 = time.perf_counter()
    planned = expand(case)
    if resume and outdir is None:
        raise InputError("resume: give the output folder of the sweep to continue (-o DIR, output=DIR).")
    sub, group, n_groups = split(world, sweep.concurrent)  # a clean error before any file
    out = prepare_output_folder(outdir, world) if outdir is not None else None
    leader = sub.rank == 0
    talk = leader and not (quiet or env_quiet())

    def say(text: str) -> None:
        if talk:
            print(text, file=sys.stderr, flush=True)

    modes = None
    if out is not None:
        started = None
        if world.rank == 0:
            try:
                fingerprints = point_fingerprints(planned)
                started = _start(out, case, planned, fingerprints, resume, say if talk else lambda t: None)
            except InputError as exc:
                started = exc
        if world.size > 1:
            started = world.bcast(started, root=0)
        if isinstance(started, InputError):
            raise started  # on every rank, before any point runs
        modes = started
        clear_previous_run(out, world)  # a single run's files in the sweep folder
    with StopSignals(sub) as stop:
        # concurrent points would interleave their progress lines: only the point lines then
        runs = run_points(planned, sub, group, n_groups, out, quiet or n_groups > 1, stop, say, modes)
    if sub is not world:
        sub.Free()  # not on an error: that may be on some ranks only (cli.main then aborts)
    gathered = collect(world, leader, runs)
    rows = summary = None
    if world.rank == 0:
        rows = rows_of(sweep, planned, gathered)
        summary = _summary(case, sweep, gathered, rows, world.size, n_groups, time.perf_counter() - t0)
        if out is None:
            summary["files"] = {}
        else:
            summary["point_cases"] = _point_cases(planned, fingerprints)
            if modes is not None:
                summary["resumed"] = {m: modes.count(m) for m in ("done", "resume", "run")}
    if out is not None:
        on_rank0(write, out, case, planned, gathered, rows, summary, comm=world)
    rows, gathered, summary = world.bcast((rows, gathered, summary), root=0)
    return SweepResult(rows, gathered, planned, out, summary, complete=summary["complete"])


def _summary(case, sweep, runs, rows, n_ranks: int, n_groups: int, wall: float) -> dict:
    """The dict of sweep.json."""
    counts = {s: sum(r.status == s for r in runs) for s in STATUSES}
    stopped = [r.error for r in runs if r.status in ("stopped", "not run")]
    stopped_by = None
    if stopped:
        m = re.search(r"stopped by (\w+)", stopped[0])
        stopped_by = m.group(1) if m else "a signal"
    return {
        "case": case.name,
        "parameters": list(sweep.parameters),
        "values": [[_text(v) for v in vs] for vs in sweep.values],
        "grid": sweep.grid,
        "points": len(runs),
        **{s.replace(" ", "_"): n for s, n in counts.items()},
        "complete": counts["stopped"] == 0 and counts["not run"] == 0,
        "stopped_by": stopped_by,
        "concurrent": n_groups,
        "ranks": n_ranks,
        "ranks_per_point": n_ranks // n_groups,
        "wall_time_s": wall,
        "rows": rows,
    }


def format_table(result: SweepResult) -> str:
    """The rows as a text table (point, swept values, status, capacity, energy density, wall)."""
    sweep_params = result.summary["parameters"]
    head = ["point", *(_short(p) for p in sweep_params), "status", "mAh/cm2", "C/C_theo", "Wh/kg", "wall_s"]
    lines = []
    for r in result.rows:
        cells = [str(r["point"]), *(r[p] for p in sweep_params), r["status"]]
        cells += [_num(r[k]) for k in ("capacity_mAh_cm2", "normalized_capacity", "energy_density_Wh_kg")]
        cells.append(_num(r["wall_time_s"], ".1f"))
        lines.append(cells)
    widths = [max(len(c) for c in col) for col in zip(head, *lines, strict=True)]
    text = [" ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in [head, *lines]]
    for r in result.rows:
        if r["status"] == "failed":
            text.append(f"point {r['point']} failed: {r['error']}")
    return "\n".join(text)


def _num(v, fmt: str = ".5g") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)

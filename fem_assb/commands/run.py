"""`fem-assb run CASE.yaml [-o DIR] [-q] [--resume]`: galvanostatic discharge / charge / rest of a case."""

from __future__ import annotations

NAME = "run"
HELP = "simulate a case (discharge, charge, rests) and write CSV, fields, plots and summary.json"

#: The summary entries printed at the end of a run.
PRINTED = (
    "capacity_mAh_cm2",
    "normalized_capacity",
    "gravimetric_capacity_mAh_g",
    "energy_density_Wh_kg",
    "mean_utilization",
    "final_voltage_V",
    "time_steps",
    "newton_iterations",
    "wall_time_s",
)


def add_arguments(parser) -> None:
    parser.add_argument("case", help="case file (YAML), e.g. cases/demo.yaml")
    parser.add_argument(
        "-o", "--output", default=None, help="output folder (default: outputs.folder of the case)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the killed or stopped run in the output folder from its last checkpoint "
        "(outputs.checkpoint_interval); a sweep goes on point by point (complete points are kept, "
        "points with a checkpoint resumed, the others run); refused for a different case",
    )


def run(args) -> int:
    from fem_assb.case import load_case

    return run_loaded(load_case(args.case), args.output, args.quiet, resume=args.resume)


def run_loaded(case, output, quiet: bool, resume: bool = False) -> int:
    """Run a loaded case, print the main results; exit status 0, or 128 + signal number when a
    SIGINT / SIGTERM stopped it (the files then hold the run so far, summary "complete": false)."""
    import json
    import signal
    import sys

    from fem_assb.parallel import print0
    from fem_assb.studies.run import run_case

    if case.operation.sweep is not None:  # every point in its subfolder (studies/sweep.py)
        return run_sweep_loaded(case, output, quiet, resume=resume)
    summary = run_case(case, output, quiet=quiet, resume=resume)
    print0(json.dumps({k: summary[k] for k in PRINTED}, indent=2))
    if summary.get("complete", True):
        return 0
    name = summary.get("stopped_by") or "SIGINT"
    print0(
        f"fem-assb run: stopped by {name}: the results so far are written, summary.json says "
        '"complete": false.',
        file=sys.stderr,
    )
    return 128 + int(getattr(signal, name, signal.SIGINT))


def run_sweep_loaded(case, output, quiet: bool, resume: bool = False) -> int:
    """Run a case with ``operation.sweep``, print one row per point; exit status 0 when the sweep
    ran through (failed points are reported in their rows and on stderr), 1 when every point
    failed, 128 + signal number when a SIGINT / SIGTERM stopped it (sweep.csv holds the rows).
    resume: go on with the sweep in the folder point by point (complete points are kept)."""
    import signal
    import sys
    from pathlib import Path

    from fem_assb.parallel import print0
    from fem_assb.studies.sweep import format_table, run_sweep

    res = run_sweep(case, Path(output) if output else Path(case.outputs.folder), quiet=quiet, resume=resume)
    print0(format_table(res))
    s = res.summary
    where = f"{res.output / 'sweep.csv'}"
    if not res.complete:
        name = s.get("stopped_by") or "SIGINT"
        print0(f"fem-assb run: sweep stopped by {name}: the rows so far are in {where}.", file=sys.stderr)
        return 128 + int(getattr(signal, name, signal.SIGINT))
    if s["failed"]:
        print0(f"fem-assb run: {s['failed']} of {s['points']} points failed; see {where}.", file=sys.stderr)
    return 1 if s["failed"] == s["points"] else 0

"""`fem-assb study NAME [-o DIR] [--np N]`: run a seed study of cases/studies/ and write its report."""

from __future__ import annotations

from pathlib import Path

NAME = "study"
HELP = (
    "run a seed study (cases/studies/NAME.yaml: its sweeps) and write a markdown report with the "
    "paper's numbers beside ours"
)

#: The studies shipped with fem-assb (one YAML case with a `study:` section each).
STUDIES = Path(__file__).resolve().parents[2] / "cases" / "studies"


def add_arguments(parser) -> None:
    parser.add_argument(
        "name", nargs="?", help="a study of cases/studies/ (see --list) or the path of a study case (YAML)"
    )
    parser.add_argument("--list", action="store_true", help="list the studies of cases/studies/ and exit")
    parser.add_argument("-o", "--output", default=None, help="output folder (default results/studies/NAME)")
    parser.add_argument(
        "--np",
        type=int,
        default=None,
        metavar="N",
        help="run under `mpirun -n N` (started from a serial fem-assb); the points run N / "
        "study.ranks_per_point at once",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--resume", action="store_true", help="go on with a stopped or killed study point by point"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="write the report again from the outputs in the folder"
    )


def study_files(folder: Path = STUDIES) -> list[Path]:
    """The study cases in ``folder`` (sorted by name)."""
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def find_study(name: str, folder: Path = STUDIES) -> Path:
    """The case file of the study ``name``: a file path, or NAME / NAME.yaml in ``folder``."""
    from fem_assb.errors import InputError, did_you_mean

    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    candidate = folder / f"{path.stem if path.suffix in ('.yaml', '.yml') else name}.yaml"
    if candidate.is_file():
        return candidate
    known = [p.stem for p in study_files(folder)]
    raise InputError(
        f"no study {name!r}{did_you_mean(name, known)}; the studies are {', '.join(known) or '(none)'} "
        f"(fem-assb study --list), or give the path of a study case."
    )


def list_studies(folder: Path = STUDIES) -> str:
    """One line per study: its name, title and source."""
    import yaml

    lines = []
    for path in study_files(folder):
        try:
            spec = (yaml.safe_load(path.read_text()) or {}).get("study") or {}
        except yaml.YAMLError:
            spec = {}
        lines.append(f"{path.stem:24s} {spec.get('title', '?')} ({spec.get('source', '?')})")
    return "\n".join(lines) or f"no studies in {folder}"


def _relaunch(args, n: int) -> int:
    """Run this command again under `mpirun -n n` (from a serial process); its exit status."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "fem_assb", "study", args.name, "--np", str(n)]
    for flag, value in (("-o", args.output),):
        if value is not None:
            argv += [flag, value]
    argv += [f for f, on in (("-q", args.quiet), ("--resume", args.resume)) if on]
    return subprocess.call(["mpirun", "-n", str(n), *argv])


def run(args) -> int:
    import json

    from fem_assb.case import load_case
    from fem_assb.errors import InputError
    from fem_assb.parallel import comm_world, on_rank0, print0

    if args.list:
        print0(list_studies())
        return 0
    if not args.name:
        raise InputError("give a study NAME (fem-assb study --list shows them) or --list.")
    comm = comm_world()
    size = comm.size if comm is not None else 1
    if args.np is not None:
        if args.np < 1:
            raise InputError(f"--np {args.np}: give a positive number of MPI ranks.")
        if size == 1 and args.np > 1 and not args.report_only:
            return _relaunch(args, args.np)
        if size > 1 and size != args.np:
            raise InputError(f"--np {args.np} but this runs on {size} MPI ranks; give one of the two.")
    path = find_study(args.name)
    case = load_case(path)
    if case.study is None:
        raise InputError(f"{path} has no study section; run a case with `fem-assb run` (docs/studies.md).")
    name = path.stem
    out = Path(args.output) if args.output else Path("results") / "studies" / name
    if args.report_only:
        run_info = json.loads((out / "study.json").read_text()) if (out / "study.json").is_file() else {}
        files = on_rank0(_report, case, out, name, run_info) or []
        for f in files:
            print0(f"wrote {f}")
        return 0
    rpp = case.study.ranks_per_point
    if size % rpp:
        raise InputError(
            f"study.ranks_per_point = {rpp} does not divide the {size} MPI rank(s); run on a "
            f"multiple of {rpp} ranks."
        )
    status = run_study(case, out, name, size, rpp, args)
    return status


def _report(case, out, name, run_info):
    from fem_assb.studies.report import write_report

    return write_report(case, out, name, run_info)


def run_study(case, out: Path, name: str, size: int, rpp: int, args) -> int:
    """Every variant's sweep into ``out/<variant>``, then study.json and the report (rank 0)."""
    import os
    import signal
    import time

    from fem_assb.atomic import check_folder_target, write_json
    from fem_assb.parallel import on_rank0, print0
    from fem_assb.studies.sweep import format_table, run_sweep

    check_folder_target(out, "-o")
    command = (
        f"./fem-assb --np {size} study {name} -o {out}" if size > 1 else f"./fem-assb study {name} -o {out}"
    )
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    info = {"study": name, "command": command, "ranks": size, "ranks_per_point": rpp, "variants": []}
    stopped = None
    for v in case.study.variants:
        v.case.operation.sweep.concurrent = size // rpp
        print0(f"study {name}: {v.label} ({v.name}, {len(v.case.operation.sweep.points)} points)")
        # a study stopped before this variant began has no sweep of it to resume: it starts
        resume = args.resume and (out / v.name / "sweep.json").exists()
        res = run_sweep(v.case, out / v.name, quiet=args.quiet, resume=resume)
        print0(format_table(res))
        info["variants"].append(
            {
                "name": v.name,
                "points": res.summary["points"],
                "failed": res.summary["failed"],
                "wall_time_s": res.summary["wall_time_s"],
            }
        )
        if not res.complete:
            stopped = res.summary.get("stopped_by") or "SIGINT"
            break
    info.update(
        wall_time_s=time.perf_counter() - t0,
        load_average=[load0, os.getloadavg()[0]],
        machine=f"{os.cpu_count()} CPU(s) as seen by the process",
        resumed=bool(args.resume),
        complete=stopped is None,
    )
    files = on_rank0(lambda: (write_json(out / "study.json", info), _report(case, out, name, info))[1]) or []
    for f in files:
        print0(f"wrote {f}")
    if stopped is not None:
        print0(f"fem-assb study: stopped by {stopped}; go on with --resume.")
        return 128 + int(getattr(signal, stopped, signal.SIGINT))
    return 0

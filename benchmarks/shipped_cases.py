#!/usr/bin/env python3
"""Every shipped case run to its end as a user runs it (issue 20, goal 5): wall time of the
whole process, cells, steps, Newton and Krylov iterations, capacity and where the time went.

    python3 benchmarks/shipped_cases.py                       # every cases/*.yaml, 2 ranks
    python3 benchmarks/shipped_cases.py --cases demo lib_le_small --np 1
    python3 benchmarks/shipped_cases.py --csv benchmarks/results/shipped_cases.csv
    python3 benchmarks/shipped_cases.py --timeout 1200      # a case stopped after 20 min says so

Each case runs as ``./fem-assb --np N run cases/<case>.yaml -o <tmp> -q`` in its own process
(``impedance`` instead of ``run`` for a case with an ``impedance:`` section, which is what
that section is for)
(start-up, imports, form compilation from the JIT cache, outputs and pictures included), one
after the other; a case's sweep (``sweep:`` key) runs all its points. The row is printed when
the case ends and appended to the CSV; a case that fails prints its error and the run goes on.
Columns: wall [s] of the whole process, then from summary.json (a sweep: summed over points)
cells, time steps, Newton and Krylov iterations, capacity of the first discharge (mAh/cm^2) and
the build / simulate / write stages [s] (``timings_s``, docs/discharge.md "Performance").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from table import emit_row  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: A case with a top-level ``impedance:`` section is an impedance case: ``fem-assb impedance``.
IMPEDANCE_KEY = re.compile(r"^impedance:", re.M)
COLUMNS = (
    "case",
    "command",
    "ranks",
    "status",
    "wall_s",
    "cells",
    "steps",
    "newton",
    "krylov",
    "capacity_mAh_cm2",
    "build_s",
    "simulate_s",
    "write_s",
)


def summaries(out: Path) -> list[dict]:
    """The summary.json files an output folder holds (one, or one per sweep point)."""
    return [json.loads(p.read_text()) for p in sorted(out.rglob("summary.json"))]


def run_case(case: str, ranks: int, tmp: Path, timeout: float | None = None) -> dict:
    out = tmp / case
    path = ROOT / "cases" / f"{case}.yaml"
    command = "impedance" if IMPEDANCE_KEY.search(path.read_text()) else "run"
    cmd = [str(ROOT / "fem-assb"), "--np", str(ranks), command, str(path), "-o", str(out), "-q"]
    row = dict.fromkeys(COLUMNS, "")
    row.update(case=case, command=command, ranks=ranks)
    t0 = time.perf_counter()
    # its own process group, so that a timeout stops mpirun and every rank
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate()
        row.update(status=f"stopped after {timeout:g} s", wall_s=round(time.perf_counter() - t0, 1))
        return row
    row["wall_s"] = round(time.perf_counter() - t0, 1)
    found = summaries(out)
    if proc.returncode != 0 or not found:
        row["status"] = f"failed ({proc.returncode})"
        print(stdout[-1500:], stderr[-3000:], sep="\n", file=sys.stderr)
        return row
    row["status"] = "complete" if all(s.get("complete", True) for s in found) else "incomplete"

    def total(key):
        return sum(int(s.get(key) or 0) for s in found)

    first = found[0]
    t = first.get("timings_s", {})
    row.update(
        capacity_mAh_cm2=first.get("capacity_mAh_cm2", ""),
        cells=max(int(s.get("cells") or 0) for s in found),
        steps=total("time_steps"),
        newton=total("newton_iterations"),
        krylov=total("linear_iterations"),
        build_s=round(sum(s.get("timings_s", {}).get("build", 0.0) for s in found), 1),
        simulate_s=round(sum(s.get("timings_s", {}).get("simulate", 0.0) for s in found), 1),
        write_s=t.get("write", "") if len(found) == 1 else "",
    )
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = sorted(c.stem for c in (ROOT / "cases").glob("*.yaml"))
    p.add_argument("--cases", nargs="+", default=every, choices=every, metavar="CASE")
    p.add_argument("--np", type=int, default=2, help="MPI ranks (default 2)")
    p.add_argument("--timeout", type=float, help="stop a case after this many seconds (its row says so)")
    p.add_argument("--csv", type=Path, default=ROOT / "benchmarks" / "results" / "shipped_cases.csv")
    args = p.parse_args(argv)
    print(" | ".join(COLUMNS), flush=True)
    with tempfile.TemporaryDirectory(prefix="fem-assb-cases-") as tmp:
        for case in args.cases:
            emit_row(run_case(case, args.np, Path(tmp), args.timeout), COLUMNS, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Small-cell benchmark (issue 20, goal 5): CPU time per time step and per Newton iteration of
small shipped-like cases, with the solver's work counted (PETSc's event log), so that a change of
the per-iteration cost is measured by counts and CPU time, not by wall time on a shared machine.

    ./scripts/env-run python3 benchmarks/small_cases.py
    ./scripts/env-run python3 benchmarks/small_cases.py --cases small_lco_llzo --solvers direct
    (cd OLD_CHECKOUT && ./scripts/env-run python3 /path/to/benchmarks/small_cases.py --label before)

Each (case, solver) runs in its own serial process (``simulate_case`` without output files, so
plots and fields are not in the numbers; the form compilation is, from a warm JIT cache). Cases:

- ``small_lco_llzo``: cases/seed002_lco_llzo.yaml (LCO | LLZO, grain boundaries, periodic sides)
  on 24 x 16 x 16 voxels (0.4 um) instead of 75 x 50 x 50;
- ``mid_lco_llzo``: the same on 18 x 12 x 12 voxels;
- ``tiny_lco_llzo``: the same on 12 x 8 x 8 voxels;
- ``lib_le_small``: cases/lib_le_small.yaml as shipped (NMC811 | LiPF6, 24 x 16 x 16 um);
- ``tiny_lib_le``: the same on 12 x 8 x 8 voxels.

Columns: cells, accepted steps, Newton and Krylov iterations (the direct solver: 1 per solve
with one factorization per Newton iteration, else Richardson iterations), LU factorizations (MUMPS numeric
factorizations) and preconditioner set-ups (PCSetUp), triangular solves, the CPU seconds of the
simulation (process time of ``simulate_case``: build + steps + indicators), of the SNES solves
alone (PETSc's SNESSolve time, wall clock inside one process) and the CPU per Newton iteration,
and the capacity (mAh/cm^2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "small_lco_llzo": ("cases/seed002_lco_llzo.yaml", [24, 16, 16]),
    "mid_lco_llzo": ("cases/seed002_lco_llzo.yaml", [18, 12, 12]),
    "tiny_lco_llzo": ("cases/seed002_lco_llzo.yaml", [12, 8, 8]),
    "lib_le_small": ("cases/lib_le_small.yaml", None),
    "tiny_lib_le": ("cases/lib_le_small.yaml", [12, 8, 8]),
}
EVENTS = ("SNESSolve", "MatLUFactorNum", "MatSolve", "PCSetUp", "SNESFunctionEval", "SNESJacobianEval")


def child(name: str, solver: str, keep_cells: int | None = None) -> dict:
    """Run one case serially with PETSc's event log on; the row as a dict. keep_cells: the direct
    solver's KEEP_FACTORIZATION_CELLS for this run (None: as shipped)."""
    import yaml
    from petsc4py import PETSc

    PETSc.Log.begin()
    from fem_assb.case import load_case
    from fem_assb.solvers import newton
    from fem_assb.studies.run import simulate_case

    if keep_cells is not None:
        newton.KEEP_FACTORIZATION_CELLS = keep_cells
    path, shape = CASES[name]
    data = yaml.safe_load((ROOT / path).read_text())
    if shape is not None:
        data["structure"]["generator"]["shape"] = shape
    data["name"] = name
    data.setdefault("numerics", {})["linear_solver"] = solver
    data.pop("outputs", None)
    with tempfile.TemporaryDirectory() as tmp:
        case_path = Path(tmp) / f"{name}.yaml"
        case_path.write_text(yaml.safe_dump(data))
        case = load_case(case_path)
        t0 = time.process_time()
        result = simulate_case(case, None, quiet=True)
        cpu = time.process_time() - t0
    s = result.summary
    ev = {e: PETSc.Log.Event(e).getPerfInfo() for e in EVENTS}
    return {
        "case": name,
        "solver": s["linear_solver"],
        "cells": s["cells"],
        "steps": s["time_steps"],
        "newton": s["newton_iterations"],
        "krylov": s["linear_iterations"],
        "factorizations": ev["MatLUFactorNum"]["count"],
        "pc_setups": ev["PCSetUp"]["count"],
        "triangular_solves": ev["MatSolve"]["count"],
        "residuals": ev["SNESFunctionEval"]["count"],
        "cpu_s": cpu,
        "snes_s": ev["SNESSolve"]["time"],
        "lu_s": ev["MatLUFactorNum"]["time"],
        "cpu_per_newton_ms": 1e3 * cpu / max(s["newton_iterations"], 1),
        "capacity_mAh_cm2": s["capacity_mAh_cm2"],
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument(
        "--solvers", nargs="+", default=["direct", "iterative"], choices=["direct", "iterative", "auto"]
    )
    p.add_argument("--label", default="this version", help="first column of the table (e.g. before, after)")
    p.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    p.add_argument(
        "--keep-factorization-cells",
        type=int,
        help="the direct solver keeps its LU within a time step from this many cells (default: as shipped)",
    )
    p.add_argument("--child", nargs=2, metavar=("CASE", "SOLVER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print("ROW " + json.dumps(child(*args.child, args.keep_factorization_cells)), flush=True)
        return
    rows = []
    head = (
        "| version | case | solver | cells | steps | Newton | Krylov | LU factorizations | PC set-ups "
        "| triangular solves | CPU (s) | SNES (s) | CPU per Newton (ms) | capacity (mAh/cm^2) |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in args.cases:
        for solver in args.solvers:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, solver]
                + (
                    []
                    if args.keep_factorization_cells is None
                    else ["--keep-factorization-cells", str(args.keep_factorization_cells)]
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("ROW ")]
            if out.returncode or not line:
                why = out.stderr.strip().splitlines()[-1:]
                print(f"| {args.label} | {name} | {solver} | failed: {why} |")
                continue
            r = json.loads(line[0][4:])
            rows.append({"label": args.label, **r})
            print(
                f"| {args.label} | {name} | {r['solver']} | {r['cells']} | {r['steps']} | {r['newton']} "
                f"| {r['krylov']} | {r['factorizations']} | {r['pc_setups']} | {r['triangular_solves']} "
                f"| {r['cpu_s']:.2f} | {r['snes_s']:.2f} | {r['cpu_per_newton_ms']:.1f} "
                f"| {r['capacity_mAh_cm2']:.15g} |",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

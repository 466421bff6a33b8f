"""Impedance benchmark (issue 18): the spectrum of the seed 004 composite (cases/seed004_impedance.yaml:
NMC622 / beta-LPS, AM solid volume fraction 46 %, 2 um voxels, open circuit at 4.2 V) generated
at n^3 voxels, 60 frequencies from 1 Hz to 7 MHz; wall and CPU time, GMRES iterations, peak
memory per voxel; the iterative solver (GMRES + PRESB) against the direct one (MUMPS) where the
direct one fits, in the same run.

    ./scripts/env-run python3 benchmarks/impedance.py --sizes 32 64 --direct-every 3
    ./scripts/env-run mpirun -n 2 python3 benchmarks/impedance.py --sizes 32 64 --direct-every 3

The separator is 20 um (``--separator``; the case's 425 um in 5 um cells would add 85 layers of
separator cells, more cells than the 64^3 composite: ``--separator case`` keeps it). Prints one
table row per size and solver (rank 0) and appends it to benchmarks/results/impedance_benchmark.csv.
Progress lines (stderr) per frequency unless ``-q``.

Columns: setup_s is the case build (structure, mesh, forms), the open-circuit state and the
assembly of J, M (a later solver's row: its own assembly only); spectrum_s the frequency loop;
amg_setup_s the part of it spent in the per-frequency set-up of the iterative solver (H = J + w
M and its BoomerAMG); cpu_spectrum_s the CPU time of the frequency loop and cpu_s that of the
whole row, summed over the ranks (user + system; the machine is shared: compare them / ranks
with the wall times), load the 1-minute load average at the end; bytes_per_voxel the peak
resident set size summed over the ranks per voxel of the n^3 structure (the process's peak so
far: sizes run in ascending order, the iterative solver before the direct one); max_rel_dZ the
largest |Z_iter - Z_direct| / |Z_direct| over the frequencies both solved.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from mpi4py import MPI
from table import emit_row

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "cases" / "seed004_impedance.yaml"


def peak_memory_bytes(comm) -> float:
    """Sum over ranks of the peak resident set size (bytes; Linux reports kB)."""
    return comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0)


def cpu_seconds(comm) -> float:
    """User + system CPU time of this process so far, summed over the ranks."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return comm.allreduce(r.ru_utime + r.ru_stime)


def seed004_case(n: int, separator: str):
    from fem_assb.case import resolve_case

    raw = yaml.safe_load(CASE.read_text())
    raw["name"] = f"seed004_impedance_{n}"
    raw["structure"]["generator"]["shape"] = [n, n, n]
    if separator != "case":
        raw["cell"]["separator"]["thickness"] = separator
    return resolve_case(raw, base_dir=CASE.parent)


def spectrum(lin, freqs, comm, quiet, label):
    """Z (complex, Ohm cm^2) at ``freqs`` with the SmallSignal ``lin``, one progress line per
    frequency."""
    z = np.empty(len(freqs), dtype=complex)
    t0 = time.perf_counter()
    for k, f in enumerate(freqs):
        z[k] = lin.impedance([f])[0] * 1e4
        if not quiet and comm.rank == 0:
            its = f", {lin.iterations[-1]} it" if lin.iterations else ""
            print(
                f"  {label}: {k + 1}/{len(freqs)} {f:.4g} Hz, Z = {z[k]:.5g} Ohm cm^2{its}, "
                f"wall {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return z, time.perf_counter() - t0


def run(n, comm, args):
    from fem_assb.studies.impedance import SmallSignal
    from fem_assb.studies.run import build

    freqs = np.logspace(0.0, np.log10(7e6), args.frequencies)
    rows = []
    t0, c0 = time.perf_counter(), cpu_seconds(comm)
    built = build(seed004_case(n, args.separator), comm, None, None)
    sim = built.sim
    res = sim.quasi_static(0.0)
    assert res.converged, res.reason
    cells = built.n_cells
    t_build = time.perf_counter() - t0
    z_iter = None
    for solver in args.solvers:
        ts = time.perf_counter()
        if solver == "iterative":
            lin = SmallSignal(sim.forms, "iterative", rtol=args.rtol)
            f_run = freqs
        else:
            lin = SmallSignal(sim.forms, "direct")
            f_run = freqs[:: args.direct_every]
        t_setup = time.perf_counter() - ts + (0.0 if rows else t_build)  # the build counts once
        try:
            c_spec = cpu_seconds(comm)
            z, t_spec = spectrum(lin, f_run, comm, args.quiet, f"{n}^3 {solver}")
            c_spec = cpu_seconds(comm) - c_spec
            its = list(lin.iterations)
            amg = lin.presb.setup_time if lin.presb is not None else float("nan")
            setups = lin.presb.setups if lin.presb is not None else lin.factorizations
        finally:
            lin.destroy()
        row = {
            "n": n,
            "cells": cells,
            "ranks": comm.size,
            "solver": solver,
            "rtol": args.rtol if solver == "iterative" else float("nan"),
            "amg": " ".join(args.amg) if solver == "iterative" else "",
            "frequencies": len(f_run),
            "setup_s": t_setup,
            "spectrum_s": t_spec,
            "per_frequency_s": t_spec / len(f_run),
            "amg_setup_s": amg,
            "setups": setups,
            "its_min": min(its) if its else 0,
            "its_max": max(its) if its else 0,
            "its_total": sum(its),
            "cpu_spectrum_s": c_spec,
            "cpu_s": cpu_seconds(comm) - c0,
            "load": os.getloadavg()[0],
            "bytes_per_voxel": peak_memory_bytes(comm) / n**3,
            "max_rel_dZ": float("nan"),
        }
        c0 = cpu_seconds(comm)
        if solver == "iterative":
            z_iter = z
        elif z_iter is not None:
            zi = z_iter[:: args.direct_every]
            row["max_rel_dZ"] = float(np.max(np.abs(zi - z) / np.abs(z)))
            rows[-1]["max_rel_dZ"] = row["max_rel_dZ"]
        rows.append(row)
        if args.save_z and comm.rank == 0:
            np.savetxt(
                f"{args.save_z}_{n}_{solver}_{comm.size}.txt",
                np.column_stack([f_run, z.real, z.imag]),
                header="frequency_Hz Z_real_ohm_cm2 Z_imag_ohm_cm2",
            )
    return rows


COLUMNS = (
    "n",
    "cells",
    "ranks",
    "solver",
    "rtol",
    "amg",
    "frequencies",
    "setup_s",
    "spectrum_s",
    "per_frequency_s",
    "amg_setup_s",
    "setups",
    "its_min",
    "its_max",
    "its_total",
    "cpu_spectrum_s",
    "cpu_s",
    "load",
    "bytes_per_voxel",
    "max_rel_dZ",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument(
        "--solvers",
        nargs="+",
        default=None,
        choices=("iterative", "direct"),
        help="default: iterative, and direct for n <= 32",
    )
    ap.add_argument("--frequencies", type=int, default=60, help="log-spaced from 1 Hz to 7 MHz")
    ap.add_argument("--direct-every", type=int, default=1, help="direct solver at every k-th frequency")
    ap.add_argument("--separator", default="20 um", help="separator thickness, or 'case' (425 um)")
    ap.add_argument("--rtol", type=float, default=None, help="GMRES rtol (default the package's)")
    ap.add_argument(
        "--amg",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="BoomerAMG options of the phi block, e.g. pc_hypre_boomeramg_strong_threshold=0.5",
    )
    ap.add_argument("--save-z", default=None, help="write each spectrum to PREFIX_n_solver_ranks.txt")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args()
    from fem_assb.studies import impedance as imp

    args.rtol = imp.ITERATIVE_RTOL if args.rtol is None else args.rtol
    comm = MPI.COMM_WORLD
    if args.amg:
        from petsc4py import PETSc

        for item in args.amg:  # set before the solver's defaults, which do not override them
            key, value = item.split("=", 1)
            PETSc.Options()["fem_assb_impedance_phi_" + key] = value
    out = Path(__file__).parent / "results" / "impedance_benchmark.csv"
    if comm.rank == 0:
        print(" | ".join(COLUMNS), flush=True)
    for n in sorted(args.sizes):  # ascending: the process's peak RSS then belongs to this size
        a = argparse.Namespace(**vars(args))
        if a.solvers is None:
            a.solvers = ["iterative"] + (["direct"] if n <= 32 else [])
        for row in run(n, comm, a):
            if comm.rank != 0:
                continue
            emit_row(row, COLUMNS, out)


if __name__ == "__main__":
    main()

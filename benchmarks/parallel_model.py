"""Parallel cost model of the discharge's Krylov iteration (issue 20, goal 3): from quantities
measured on this machine and on the actual partition, the time per BiCGStab iteration on p ranks.

Measured here:

- the partition of fem-assb's slab partitioner (``meshing.voxel_mesh._local_part``, the code the
  mesh is built with): owned cells, ghost cells (= ghost facets: one face neighbour each, as
  GhostMode.shared_facet has them) and neighbour ranks (messages per halo exchange) of every
  rank, for the benchmark cell (``discharge_scaling.py``'s 65 vol% NMC811 | Li6PS5Cl, n^3 voxels
  on a 20 um separator) at each p of ``--ranks``;
- serially on the same cell, at the state after the first time step: the time of one BiCGStab
  iteration with the cell's block preconditioner (two Jacobian products, two preconditioner
  applications, four inner products), BoomerAMG's rows per level (hypre's statistics) and the
  iterations per Newton iteration.

Modelled (docs/discharge.md, "Parallel efficiency"): one iteration on p ranks takes

    t(p) = t_1 max_owned / N
           + 2 (m alpha + 16 g / beta) + 2 sum_l 5 (m alpha + 8 g_l / beta) + 4 (2 alpha log2 p)

two Jacobian products (phi and x: 16 bytes per ghost cell), two BoomerAMG cycles on the phi
block with 5 exchanges per level (pre-smoothing, residual, restriction, post-smoothing,
interpolation; 8 bytes per ghost), four allreductions; m the largest number of neighbour ranks,
g the largest ghost count, g_l = g (rows_l / rows_0)^(2/3) on AMG level l (a surface of the
level's rows, measured: hypre's statistics), alpha and beta the network's latency and bandwidth
(``--latency``, default 2 us, and ``--bandwidth``, default 10 GB/s: an InfiniBand HDR-class
cluster; these two are assumptions, not measured here). The coarse levels keep the fine level's
neighbour count m; in hypre they have more neighbours (denser coarse operators), so this is the
model's weakest part, and it errs on the fast side. Weak scaling keeps N / p fixed and widens
the cross-section (the thickness of an electrode is fixed): ``--weak``.

    ./scripts/env-run python3 benchmarks/parallel_model.py --n 64 --ranks 2 8 64 1024 [--weak]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI
from table import emit_row

sys.path.insert(0, str(Path(__file__).parent))


def partition(grid, nparts: int) -> dict:
    """Per-rank owned cells, ghost cells and neighbour ranks of the slab partition of ``grid``
    (all ranks computed here, serially, with the mesh builder's own function)."""
    from fem_assb.meshing.voxel_mesh import _local_part, _partition_starts

    active = np.flatnonzero(grid.material.ravel() >= 0)
    owned, ghosts, neighbours = [], [], []
    starts = _partition_starts(grid, active, nparts)
    for r in range(nparts):
        _, local, owners, *_ = _local_part(grid, active, r, nparts)
        n_owned = int(starts[r + 1] - starts[r])
        owned.append(n_owned)
        ghosts.append(local.size - n_owned)
        neighbours.append(np.unique(owners).size)
    return {
        "cells": active.size,
        "owned_max": max(owned),
        "ghost_max": max(ghosts),
        "neighbours_max": max(neighbours),
        "ghost_ratio": max(g / max(o, 1) for g, o in zip(ghosts, owned, strict=True)),
    }


def slab_estimate(shape, nparts: int) -> dict:
    """The same quantities for a full grid of ``shape`` without building it (weak scaling): a
    slab of m = N / p cells of a C-ordered grid (x planes of P = ny nz cells) has 2P ghosts and 2
    neighbours when m >= P (P and 1 on 2 ranks), else about 2m + 2 nz ghosts and up to 6
    neighbours (the slabs beside it in its plane, and the one or two slabs that cover its cells
    in each adjacent x plane). Checked against :func:`partition` in the table."""
    nx, ny, nz = shape
    n = nx * ny * nz
    m = -(-n // nparts)
    P = ny * nz
    if nparts == 1:
        g, k = 0, 0
    elif nparts == 2:
        g, k = P, 1
    elif m >= P:
        g, k = 2 * P, 2
    else:
        g, k = 2 * m + 2 * nz, 6
    return {"cells": n, "owned_max": m, "ghost_max": g, "neighbours_max": k, "ghost_ratio": g / m}


@contextlib.contextmanager
def captured_stdout():
    """hypre prints its statistics with C printf: capture file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+") as tmp:
        os.dup2(tmp.fileno(), 1)
        out = {"text": ""}
        try:
            yield out
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            out["text"] = tmp.read()


def serial_iteration(n: int) -> dict:
    """Serially on the benchmark cell, after one time step: seconds per BiCGStab iteration of
    the discharge's own solver and BoomerAMG's level count on the phi block."""
    from discharge_scaling import CELLS, benchmark_cell
    from petsc4py import PETSc

    from fem_assb.materials import get_system
    from fem_assb.solvers.time_stepping import StepControl
    from fem_assb.studies.discharge import CellSimulation, Operation, build_cell_mesh

    comm = MPI.COMM_SELF
    vm, _ = build_cell_mesh(benchmark_cell(n, comm, "solid"), comm)
    sim = CellSimulation(
        vm, get_system(CELLS["solid"]["preset"]), 298.15, linear_solver="iterative",
        control=StepControl(dt_max=120.0, dx_max=0.2, dU_max=0.05),
    )
    sim.run([Operation("discharge", current_density=CELLS["solid"]["current"], cutoff=3.0, duration=30.0)])
    newton = sim.newton
    newton._assemble_residual()
    newton._assemble_jacobian()
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(newton.A)
    ksp.setType("bcgs")
    pc = ksp.getPC()
    pc.setType("python")
    ctx = type(newton.ksp.getPC().getPythonContext())(newton.scale, newton.options.prefix + "phi_")
    pc.setPythonContext(ctx)
    db = PETSc.Options()
    with newton._options_active():
        db[newton.options.prefix + "phi_pc_hypre_boomeramg_print_statistics"] = 1
        with captured_stdout() as out:
            pc.setUp()
        db.delValue(newton.options.prefix + "phi_pc_hypre_boomeramg_print_statistics")
        table = out["text"].split("Operator Matrix Information", 1)[-1].split("Interpolation", 1)[0]
        rows = [int(r) for r in re.findall(r"^\s*\d+\s+(\d+)\s+\d+\s", table, flags=re.M)]
        y = newton.A.createVecRight()
        its = 30
        ksp.setTolerances(rtol=1e-30, atol=1e-300, max_it=its)
        ksp.setConvergenceTest(lambda *a: 0)  # exactly ``its`` iterations
        t0 = time.perf_counter()
        ksp.solve(newton.b, y)
        t_it = (time.perf_counter() - t0) / its
    cells = vm.mesh.topology.index_map(3).size_global
    return {
        "cells": cells,
        "t_it": t_it,
        "rows": rows,  # BoomerAMG's rows per level (hypre's statistics)
        "per_newton": sim.history.linear / max(sim.history.newton, 1),
    }


def model(t1: float, cells: int, part: dict, rows: list[int], latency: float, bandwidth: float,
          p: int) -> dict:
    """Seconds per BiCGStab iteration on p ranks (module docstring): compute, halo exchanges
    (two Jacobian products of 16 B per ghost cell; two AMG cycles on the phi block with 5
    exchanges of 8 B per ghost on each level, the level's ghosts g_0 (rows_l / rows_0)^(2/3)),
    four allreductions; and the parallel efficiency t1 / (p t)."""
    g0, m = part["ghost_max"], part["neighbours_max"]
    message = m * latency if p > 1 else 0.0
    halo = 2 * (message + 16.0 * g0 / bandwidth)
    for r in rows:
        halo += 2 * 5 * (message + 8.0 * g0 * (r / rows[0]) ** (2.0 / 3.0) / bandwidth)
    compute = t1 * part["owned_max"] / cells
    reduce = 4 * 2 * latency * math.log2(p) if p > 1 else 0.0
    t = compute + halo + reduce
    return {"compute": compute, "halo": halo, "reduce": reduce, "t_it": t, "efficiency": t1 / (p * t)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="benchmark cell of n^3 cathode voxels")
    ap.add_argument("--ranks", type=int, nargs="+", default=[2, 8, 64, 1024])
    ap.add_argument(
        "--weak", action="store_true", help="weak scaling: N/p fixed at the n^3 cell's on 2 ranks"
    )
    ap.add_argument("--latency", type=float, default=2e-6, help="network latency per message [s] (assumed)")
    ap.add_argument("--bandwidth", type=float, default=10e9, help="network bandwidth [B/s] (assumed)")
    args = ap.parse_args()
    if MPI.COMM_WORLD.size != 1:
        sys.exit("run serially: the partition of every rank is computed here")

    from discharge_scaling import benchmark_cell

    from fem_assb.meshing.virtual_cell_grid import virtual_cell_grid

    grid, _ = virtual_cell_grid(benchmark_cell(args.n, MPI.COMM_SELF, "solid"))
    meas = serial_iteration(args.n)
    amg_rows = meas["rows"]
    print(
        f"measured serially: {meas['cells']} cells, {meas['t_it'] * 1e3:.2f} ms per BiCGStab iteration, "
        f"BoomerAMG rows per level {amg_rows}, {meas['per_newton']:.1f} iterations per Newton iteration",
        flush=True,
    )
    cols = ["mode", "ranks", "cells", "owned_max", "ghost_max", "ghost_ratio", "neighbours_max",
            "compute_ms", "halo_ms", "reduce_ms", "t_it_ms", "efficiency"]
    print(" | ".join(cols))
    out = Path(__file__).parent / "results" / "parallel_model.csv"
    for p in args.ranks:
        rows = []
        if args.weak:
            scale = math.sqrt(p / 2)
            shape = (grid.shape[0], round(grid.shape[1] * scale), round(grid.shape[2] * scale))
            rows.append(("weak (estimate)", slab_estimate(shape, p), meas["t_it"] * p / 2))
        else:
            if p <= 1024 and grid.material.size <= 4e6:
                rows.append(("strong (partition)", partition(grid, p), meas["t_it"]))
            rows.append(("strong (estimate)", slab_estimate(grid.shape, p), meas["t_it"]))
        for mode, part, t1 in rows:
            m = model(t1, part["cells"], part, amg_rows, args.latency, args.bandwidth, p)
            emit_row(
                {"mode": mode, "ranks": p, **part, "compute_ms": m["compute"] * 1e3,
                 "halo_ms": m["halo"] * 1e3, "reduce_ms": m["reduce"] * 1e3, "t_it_ms": m["t_it"] * 1e3,
                 "efficiency": m["efficiency"]},
                cols, out,
            )


if __name__ == "__main__":
    main()

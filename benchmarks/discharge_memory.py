"""Memory of a discharge set-up by stage (issue 8): resident set size per rank after building the
image, the mesh, the simulation (forms, matrix, solver), the first Jacobian and residual, and
one Newton (SNES) solve, on the cathode of benchmarks/discharge_scaling.py (65 vol% NMC811 in
Li6PS5Cl, 0.5 um voxels, 20 um separator).

    ./scripts/env-run mpirun -n 2 python3 benchmarks/discharge_memory.py --size 100

Prints one row per stage (rank 0): current and peak resident MB of every rank and the growth
per voxel (sum over ranks). Where a peak is set shows which stage to shrink.
"""

from __future__ import annotations

import argparse
import resource

from mpi4py import MPI


def resident_mb() -> float:
    """Current resident set size (MB) of this process (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    from discharge_scaling import benchmark_cell

    from fem_assb.materials import get_system
    from fem_assb.studies.discharge import CellSimulation, build_cell_mesh

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64, help="cathode of size^3 voxels")
    n = ap.parse_args().size
    comm = MPI.COMM_WORLD
    voxels = n**3
    last = [None]

    def stage(name):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        rows = comm.gather((resident_mb(), peak), root=0)
        if comm.rank == 0:
            total = sum(r for r, _ in rows)
            grow = "" if last[0] is None else f"{(total - last[0]) * 1.048576e6 / voxels:8.0f}"
            last[0] = total
            ranks = " | ".join(f"{r:7.0f} | {p:7.0f}" for r, p in rows)
            print(f"{name:14s} | {ranks} | {grow}", flush=True)

    if comm.rank == 0:
        head = " | ".join(f"rss{i} MB | peak{i} MB" for i in range(comm.size))
        print(f"stage          | {head} | growth B/voxel", flush=True)
    stage("start")
    vcell = benchmark_cell(n, comm)
    stage("image")
    vmesh, _ = build_cell_mesh(vcell, comm)
    stage("mesh")
    system = get_system("NMC811_Li6PS5Cl")
    sim = CellSimulation(vmesh, system, 298.15, linear_solver="iterative", surface_iterations=0)
    stage("simulation")
    newton = sim.newton
    newton._assemble_jacobian()
    stage("jacobian")
    newton._assemble_residual()
    stage("residual")
    res = sim.quasi_static(10.0)  # a whole SNES solve: KSP and line-search vectors allocated
    assert res.converged, res.reason
    stage("newton solve")
    newton.destroy()


if __name__ == "__main__":
    main()

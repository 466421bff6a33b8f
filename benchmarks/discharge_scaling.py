"""Discharge scaling benchmark (issue 8): 65 vol% NMC811 in Li6PS5Cl cathodes of n^3 voxels
(0.5 um) at 1 mA/cm^2 to 3.0 V (step limits as in cases/demo.yaml); wall time, steps, Newton and
linear iterations, peak memory per voxel.

    ./scripts/env-run python3 benchmarks/discharge_scaling.py --sizes 32 64 100
    ./scripts/env-run mpirun -n 2 python3 benchmarks/discharge_scaling.py --sizes 32 64 100

``--electrolyte liquid`` (issue 17): the seed 001 LIB cathode instead, NMC811 | 1 M LiPF6 in
EC:EMC 3:7 (preset NMC811_LiPF6), 65 vol% CAM, 21 vol% CBD (``--cbd``), the rest liquid-filled
pores, 1 um voxels, a porous 20 um LE separator (porosity 0.5, effective conductivity 0.5 x
bulk), at 4 mA/cm^2 to 3.0 V:

    ./scripts/env-run mpirun -n 2 python3 benchmarks/discharge_scaling.py --sizes 64 --electrolyte liquid

``--electrolyte assb``: the solid-electrolyte twin of that cell, the same generated voxels with
CBD and pores replaced by Li6PS5Cl (NMC811_Li6PS5Cl, a dense 20 um SE separator) at the same
4 mA/cm^2: the reference of the liquid cell's cost (issue 17: at most 2x its time and memory per
voxel).

The row's ``*_s`` stage columns are wall seconds, the largest over the ranks
(``fem_assb.solvers.timers``): simulate (after the set-up), newton (the SNES solves), its parts
residual, jacobian (assembly), pc_setup (BoomerAMG set-ups), krylov (BiCGStab, pc_apply: its
preconditioner applications) and newton_other (the rest of the Newton loop). ``--petsc KEY=VALUE``
sets a PETSc option of the Newton solver, ``--tighter K`` divides the step limits by K.

Prints one table row per size (rank 0) and appends it to benchmarks/results/discharge_scaling.csv.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from mpi4py import MPI
from table import emit_row


def peak_memory_bytes(comm) -> float:
    """Sum over ranks of the peak resident set size (bytes; Linux reports kB)."""
    return comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0)


#: The two benchmark cells: materials preset, current density [A/m^2], voxel size.
CELLS = {
    "solid": {"preset": "NMC811_Li6PS5Cl", "current": 10.0, "voxel": 0.5e-6},
    "liquid": {"preset": "NMC811_LiPF6", "current": 40.0, "voxel": 1e-6},
    "assb": {"preset": "NMC811_Li6PS5Cl", "current": 40.0, "voxel": 1e-6},
}


def benchmark_cell(n: int, comm, electrolyte: str = "solid", cbd: float = 0.21):
    """The benchmark's virtual cell, generated on rank 0 and broadcast. solid: an n^3 voxel
    cathode (0.5 um, 65 vol% CAM, 5 um particles, seed 1) on a 20 um SE separator; liquid: 1 um
    voxels, 65 vol% CAM (5 um), ``cbd`` CBD (2 um), liquid pores, on a 20 um porous LE separator;
    assb: the liquid cell's voxels with CBD and LE replaced by SE, on a 20 um SE separator."""
    from fem_assb.structure.generate import generate_composite
    from fem_assb.structure.modify import replace_material
    from fem_assb.structure.virtual_cell import Separator, VirtualCell

    def generate():
        if electrolyte == "solid":  # the first round's benchmark cell
            return generate_composite(
                (n, n, n), "0.5 um", cam_fraction=0.65, se_fraction=0.35, d_cam="5 um", d_se="1.5 um", seed=1
            )
        return generate_composite(
            (n, n, n), "1 um", cam_fraction=0.65, se_fraction=0.0, cbd_fraction=cbd, d_cam="5 um",
            d_cbd="2 um", pore="LE", seed=1,
        )

    image = generate() if comm.rank == 0 else None
    if electrolyte == "assb" and image is not None:
        image = replace_material(replace_material(image, "CBD", "SE"), "LE", "SE")
    separator = Separator("LE", 20e-6, 0.5, 0.5) if electrolyte == "liquid" else Separator("SE", 20e-6)
    return VirtualCell(comm.bcast(image, root=0), separator)


def run(
    n: int, solver: str, comm, t_max: float | None, quiet: bool = False, electrolyte="solid", cbd=0.21,
    petsc_options=None, tight: float = 1.0,
):
    from fem_assb.materials import get_system
    from fem_assb.solvers.time_stepping import StepControl
    from fem_assb.solvers.timers import stage_table
    from fem_assb.studies.discharge import (
        CellSimulation,
        Operation,
        auto_surface_iterations,
        build_cell_mesh,
    )

    t0 = time.perf_counter()
    spec = CELLS[electrolyte]
    vm, info = build_cell_mesh(benchmark_cell(n, comm, electrolyte, cbd), comm)
    system = get_system(spec["preset"])
    surface, _ = auto_surface_iterations(
        system.cam, 298.15, spec["voxel"], n * spec["voxel"], 0.65, current_density=spec["current"]
    )
    sim = CellSimulation(
        vm,
        system,
        298.15,
        linear_solver=solver,
        surface_iterations=surface,
        control=StepControl(dt_max=120.0 / tight, dx_max=0.2 / tight, dU_max=0.05 / tight),
        petsc_options=petsc_options,
    )
    t_setup = time.perf_counter() - t0
    op = Operation("discharge", current_density=spec["current"], cutoff=3.0, duration=t_max)

    def on_step(s, rec):  # progress on rank 0 (stderr), every 5 steps
        if not quiet and comm.rank == 0 and s.history.steps % 5 == 0:
            print(
                f"  {n}^3: step {s.history.steps}, t {s.t:.0f} s, U {rec.voltage:.4f} V, "
                f"wall {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    t_sim = time.perf_counter()
    sim.run([op], on_step=on_step)
    wall = time.perf_counter() - t0
    h = sim.history
    voxels = n**3
    stages = stage_table({"simulate": wall - (t_sim - t0), **sim.stage_seconds()}, comm)
    return {
        "n": n,
        "electrolyte": electrolyte,
        "voxels": voxels,
        "ranks": comm.size,
        "solver": solver,
        "setup_s": t_setup,
        "wall_s": wall,
        "steps": h.steps,
        "newton": h.newton,
        "linear": h.linear,
        "rejected": h.rejected,
        "fallbacks": h.direct_fallbacks,
        "capacity_mAh_cm2": sim.q / 3.6e4,
        "final_V": h.voltage[-1],
        "stop": h.stop_reasons[-1],
        "bytes_per_voxel": peak_memory_bytes(comm) / voxels,
        **{f"{k}_s": stages[k] for k in STAGE_COLUMNS},
    }


#: The per-stage wall seconds of a row (largest over the ranks, solvers.timers): the
#: simulation after the set-up, the SNES solves in it and their parts.
STAGE_COLUMNS = (
    "simulate", "newton", "residual", "jacobian", "pc_setup", "krylov", "pc_apply", "pc_amg", "newton_other",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 100])
    ap.add_argument("--solver", default="iterative", choices=("direct", "iterative"))
    ap.add_argument("--t-max", type=float, default=None, help="stop after this simulated time (s)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--electrolyte", default="solid", choices=tuple(CELLS), help="the benchmark cell")
    ap.add_argument("--cbd", type=float, default=0.21, help="CBD volume fraction of the liquid cell")
    ap.add_argument(
        "--petsc", action="append", default=[], metavar="KEY=VALUE",
        help="a PETSc option of the Newton solver, without its prefix (numerics.petsc_options), e.g. "
        "phi_pc_hypre_boomeramg_strong_threshold=0.5; repeatable",
    )
    ap.add_argument(
        "--tighter", type=float, default=1.0, metavar="K",
        help="step limits (dt_max, max_stoichiometry_step, max_voltage_step) divided by K: the "
        "time-convergence check of a step-control change (issue 20: K = 10 at 32^3)",
    )
    args = ap.parse_args()
    if any("=" not in kv for kv in args.petsc):
        ap.error("--petsc takes KEY=VALUE")
    petsc = dict(kv.split("=", 1) for kv in args.petsc)
    comm = MPI.COMM_WORLD
    out = Path(__file__).parent / "results" / "discharge_scaling.csv"
    cols = (
        "n",
        "electrolyte",
        "voxels",
        "ranks",
        "solver",
        "setup_s",
        "wall_s",
        "steps",
        "newton",
        "linear",
        "rejected",
        "fallbacks",
        "capacity_mAh_cm2",
        "final_V",
        "stop",
        "bytes_per_voxel",
        *(f"{k}_s" for k in STAGE_COLUMNS),
    )
    if comm.rank == 0:
        print(" | ".join(cols), flush=True)
    # ascending: the peak resident size of the process (ru_maxrss) then belongs to the current size
    for n in sorted(args.sizes):
        row = run(
            n, args.solver, comm, args.t_max, args.quiet, args.electrolyte, args.cbd, petsc, args.tighter
        )
        if comm.rank == 0:
            emit_row(row, cols, out)


if __name__ == "__main__":
    main()

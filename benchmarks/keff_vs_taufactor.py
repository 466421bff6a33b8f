#!/usr/bin/env python3
"""fem-assb keff against TauFactor (CPU) on the same random structures: results, times, memory.

Run on the host with a Python that has TauFactor (a dependency of this benchmark only):

    python3 -m venv /var/cache/fem-assb/bench-venv
    /var/cache/fem-assb/bench-venv/bin/pip install torch==2.13.0   # the CPU wheel on local disk
    /var/cache/fem-assb/bench-venv/bin/pip install taufactor
    /var/cache/fem-assb/bench-venv/bin/python benchmarks/keff_vs_taufactor.py

fem-assb runs through ./fem-assb (serial and --np 2) inside its own environment; TauFactor runs
in a child process of the benchmark Python. Every run is a separate process, so the wall times
include start-up and the peak memory is that process's (fem-assb: summed over its ranks).

The two codes solve the same discrete problem: TauFactor's field is cell-centred, with the
boundary values applied through a padding layer whose conductance counts twice (a half voxel
to the face), i.e. the potential sits on the sample faces as in fem-assb's half-cell Dirichlet
terms, and D_rel = mean flux * Nx / (Ny Nz) / dV is kappa_eff / kappa_bulk. TauFactor stops at
a 1 % flux spread (its default), so its values carry a small iteration error.

``--plain`` adds the "before" variant: the mesh built by dolfinx.mesh.create_mesh (graph
partitioner, GPS reordering), integration domains found by DOLFINx per form, default
quadrature degree, a full matrix assembly per axis and hypre with default options.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV_PY = "/var/cache/fem-assb/bench-venv/bin/python"


# --------------------------------------------------------------------------- structures
def random_structure(n: int, porosity: float, seed: int, sigma: float = 2.0) -> np.ndarray:
    """Binary (uint8) n^3 image: a Gaussian-filtered (FFT, periodic) white noise thresholded so
    that the fraction of 1s (the conducting phase) is ``porosity``."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, n, n))
    k = np.fft.fftfreq(n)
    k2 = k[:, None, None] ** 2 + k[None, :, None] ** 2 + k[None, None, :] ** 2
    field = np.real(np.fft.ifftn(np.fft.fftn(noise) * np.exp(-2 * (np.pi * sigma) ** 2 * k2)))
    return (field < np.quantile(field, porosity)).astype(np.uint8)


#: Gaussian correlation lengths [voxels] of the "blobs" structure along x, y, z: blobs
#: elongated along z, as in TauFactor 2's large-volume benchmark (an anisotropic two-phase
#: volume with about 30 % of the percolating phase).
BLOB_SIGMA = (2.0, 2.0, 5.0)


def blob_structure(n: int, fraction: float, seed: int, sigma=BLOB_SIGMA) -> np.ndarray:
    """Binary (uint8) n^3 image of anisotropic blobs: white noise smoothed by a Gaussian of
    ``sigma`` voxels per axis (real FFT, periodic), thresholded so that the fraction of 1s is
    ``fraction``. Memory: about 4 float64 copies of the volume (4 GB at 500^3), freed before
    the solvers run (they read the image from disk)."""
    rng = np.random.default_rng(seed)
    field = rng.standard_normal((n, n, n), dtype=np.float32)
    spec = np.fft.rfftn(field)
    del field
    kx, kz = np.fft.fftfreq(n), np.fft.rfftfreq(n)
    for axis, (k, s) in enumerate(zip((kx, kx, kz), sigma, strict=True)):
        shape = [1, 1, 1]
        shape[axis] = k.size
        spec *= np.exp(-2 * (np.pi * s * k) ** 2).reshape(shape)
    field = np.fft.irfftn(spec, s=(n, n, n), axes=(0, 1, 2)).astype(np.float32)
    del spec
    threshold = np.quantile(field[:: max(1, n // 100)], fraction)  # a sub-sample: 1e6 values suffice
    return (field < threshold).astype(np.uint8)


# --------------------------------------------------------------------------- workers
def worker_taufactor(image: str, conv_crit: float, axis: int = 0) -> dict:
    """TauFactor along ``axis`` (its solver works along the first axis: the image is
    transposed so that ``axis`` comes first)."""
    import taufactor
    import torch

    img = np.ascontiguousarray(np.moveaxis(np.load(image), axis, 0))
    t0 = time.perf_counter()
    solver = taufactor.Solver(img, device="cpu")
    solver.solve(verbose=False, conv_crit=conv_crit)
    return {
        "relative_conductivity": float(solver.D_rel[0]),
        "tortuosity_factor": float(solver.tau[0]),
        "iterations": int(solver.iter),
        "time": time.perf_counter() - t0,
        "threads": torch.get_num_threads(),
    }


def worker_plain(image: str) -> dict:
    """The "before" variant, inside the fem-assb environment (see the module docstring)."""
    import basix.ufl
    import ufl
    from dolfinx import fem
    from dolfinx import mesh as dmesh
    from dolfinx.fem import petsc as fpetsc
    from mpi4py import MPI
    from petsc4py import PETSc

    from fem_assb.forms.transport import boundary_transmissibility, two_point_flux
    from fem_assb.meshing import voxel_mesh as vmod
    from fem_assb.structure.analysis import percolating

    comm = MPI.COMM_WORLD
    t = {}
    t0 = time.perf_counter()
    img = np.load(image)
    mask = percolating(img == 1, 0)
    grid = vmod.Grid.uniform(np.where(mask, 0, -1), 1e-6)
    active = np.flatnonzero(grid.material.ravel() >= 0)
    if comm.rank == 0:
        _, cells, points = vmod._cells_and_points(grid)
    else:
        cells, points = np.zeros((0, 8), np.int64), np.zeros((0, 3))
    part = dmesh.create_cell_partitioner(dmesh.GhostMode.shared_facet, 2) if comm.size > 1 else None
    msh = dmesh.create_mesh(
        comm,
        cells,
        ufl.Mesh(basix.ufl.element("Lagrange", "hexahedron", 1, shape=(3,))),
        points,
        partitioner=part,
    )
    vi = active[np.asarray(msh.topology.original_cell_index, dtype=np.int64)]
    ijk = np.unravel_index(vi, grid.shape)
    mat = grid.material.ravel()[vi]
    ft = vmod._tag_facets(msh, grid, vi, ijk, mat, mat, lambda a, b, c, d: np.ones_like(a))
    W = fem.functionspace(msh, ("DG", 0, (3,)))
    H = fem.Function(W)
    H.x.array[:] = 1e-6
    t["mesh"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    V = fem.functionspace(msh, ("DG", 0))
    u, v, uh = ufl.TrialFunction(V), ufl.TestFunction(V), fem.Function(V)
    n, k = ufl.FacetNormal(msh), fem.Constant(msh, 1.0)
    ds = ufl.Measure("ds", msh, subdomain_data=ft)
    dS = ufl.Measure("dS", msh, subdomain_data=ft)
    tb = boundary_transmissibility(k, H, n)
    a = fem.form(two_point_flux(u, k, v, H, n) * dS(1) + tb * u * v * (ds(vmod.XMIN) + ds(vmod.XMAX)))
    L = fem.form(tb * v * ds(vmod.XMIN))
    cur = fem.form(tb * (1 - uh) * ds(vmod.XMIN))
    t["forms"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    A = fpetsc.assemble_matrix(a)
    A.assemble()
    b = fpetsc.assemble_vector(L)
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    t["assemble"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setType("cg")
    ksp.getPC().setType("hypre")
    ksp.setTolerances(rtol=1e-10)
    ksp.solve(b, uh.x.petsc_vec)
    uh.x.scatter_forward()
    t["solve"] = time.perf_counter() - t0
    current = comm.allreduce(fem.assemble_scalar(cur), op=MPI.SUM)
    n0 = img.shape[0]
    return {
        "relative_conductivity": current * n0 * 1e-6 / (img.shape[1] * img.shape[2] * 1e-12),
        "timings": t,
        "iterations": ksp.getIterationNumber(),
    }


# --------------------------------------------------------------------------- runners
def _run(cmd, env=None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``cmd``; return (wall time [s], peak RSS of the largest process [bytes], result)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    res = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out[-2000:]}\n{err[-4000:]}")
    return wall, usage.ru_maxrss * 1024.0, res


def run_taufactor(py: str, image: Path, conv_crit: float, axes: str) -> dict:
    """One TauFactor process per axis (``axes``: "x" or "all"); wall times summed, peak memory
    the largest, x's values at the top level and every axis's under ``axes``."""
    runs = {}
    for a in ("x", "y", "z") if axes == "all" else ("x",):
        cmd = [py, __file__, "--worker", "taufactor", str(image), "--conv-crit", str(conv_crit)]
        wall, rss, res = _run(cmd + ["--tf-axis", str("xyz".index(a))])
        runs[a] = json.loads(res.stdout.strip().splitlines()[-1])
        runs[a].update(wall=wall, peak_memory_bytes=rss)
    out = dict(runs["x"])
    out.update(
        wall=sum(r["wall"] for r in runs.values()),
        peak_memory_bytes=max(r["peak_memory_bytes"] for r in runs.values()),
        axes={a: r["relative_conductivity"] for a, r in runs.items()},
    )
    return out


def run_fem_assb(image: Path, np_: int, tmp: Path, axes: str = "x", solver: str = "auto") -> dict:
    out_json = tmp / f"{image.stem}_np{np_}.json"
    cmd = [str(REPO / "fem-assb")] + (["--np", str(np_)] if np_ > 1 else [])
    cmd += ["keff", str(image), "--phase", "1", "--axis", axes, "--solver", solver, "--json", str(out_json)]
    env = dict(os.environ, FEM_ASSB_QUIET="1")
    wall, _, _ = _run(cmd, env=env)
    data = json.loads(out_json.read_text())
    x = data["axes"]["x"]
    return {
        "axes": {a: r["relative_conductivity"] for a, r in data["axes"].items()},
        "relative_conductivity": x["relative_conductivity"],
        "tortuosity_factor": x["tortuosity_factor"],
        "percolating_fraction": x["percolating_fraction"],
        "iterations": x["iterations"],
        "timings": x["timings"],
        "run_time": data["run_time_s"],
        "wall": wall,
        "peak_memory_bytes": data["peak_memory_bytes"],
    }


def run_plain(image: Path, np_: int) -> dict:
    cmd = [str(REPO / "scripts" / "env-run")] + (["mpirun", "-n", str(np_)] if np_ > 1 else [])
    cmd += ["python3", str(Path(__file__).resolve()), "--worker", "plain", str(image)]
    wall, rss, res = _run(cmd)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("{")][0]
    out = json.loads(line)
    out.update(wall=wall, peak_memory_bytes=rss * np_)
    return out


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 100, 128])
    p.add_argument("--porosities", type=float, nargs="+", default=[0.3, 0.5, 0.8])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--conv-crit", type=float, default=1e-2, help="TauFactor's convergence criterion (default 1e-2)"
    )
    p.add_argument(
        "--taufactor-python",
        default=None,
        help=f"Python with taufactor (default: this one, else {DEFAULT_VENV_PY})",
    )
    p.add_argument(
        "--structure",
        choices=["noise", "blobs"],
        default="noise",
        help="noise: isotropic Gaussian-filtered noise (sigma 2 voxels); blobs: anisotropic blobs "
        f"(sigma {BLOB_SIGMA} voxels), the 500^3 volume of issue 20 with --sizes 500 --porosities 0.3",
    )
    p.add_argument("--axis", choices=["x", "all"], default="x", help="solve along x only or x, y and z")
    p.add_argument("--solver", default="auto", help="fem-assb keff --solver (default auto)")
    p.add_argument("--plain", action="store_true", help="also run the plain 'before' variant")
    p.add_argument("--no-taufactor", action="store_true")
    p.add_argument("--json", help="write all results to this JSON file")
    p.add_argument("--worker", choices=["taufactor", "plain"], help=argparse.SUPPRESS)
    p.add_argument("--tf-axis", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("image", nargs="?", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker == "taufactor":
        print(json.dumps(worker_taufactor(args.image, args.conv_crit, args.tf_axis)))
        return 0
    if args.worker == "plain":
        res = worker_plain(args.image)
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(res), flush=True)
        return 0

    py = args.taufactor_python
    if py is None:
        try:
            import taufactor  # noqa: F401

            py = sys.executable
        except ImportError:
            py = DEFAULT_VENV_PY
    rows = []
    with tempfile.TemporaryDirectory(prefix="keff-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for n in args.sizes:
            for por in args.porosities:
                for seed in args.seeds:
                    make = blob_structure if args.structure == "blobs" else random_structure
                    img = make(n, por, seed)
                    path = tmp / f"r{n}_p{por:g}_s{seed}.npy"
                    np.save(path, img)
                    del img
                    row = {"n": n, "porosity": por, "seed": seed, "voxels": n**3}
                    if not args.no_taufactor:
                        row["taufactor"] = run_taufactor(py, path, args.conv_crit, args.axis)
                    for r in args.ranks:
                        row[f"fem_assb_np{r}"] = run_fem_assb(path, r, tmp, args.axis, args.solver)
                        if args.plain:
                            row[f"plain_np{r}"] = run_plain(path, r)
                    rows.append(row)
                    print_row(row, args.ranks, args.plain)
    print_summary(rows, args.ranks)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


_HEADER_DONE = False


def print_row(row, ranks, plain) -> None:
    global _HEADER_DONE
    if not _HEADER_DONE:
        print(
            f"{'n':>4} {'eps':>4} {'seed':>4} {'perc':>6} {'TF kappa_rel':>12} {'FA kappa_rel':>12} "
            f"{'diff':>9} {'np2-np1':>9} | {'TF s':>6} "
            + " ".join(f"{'FA' + str(r) + ' s':>7} {'(run)':>6}" for r in ranks)
            + (" " + " ".join(f"{'plain' + str(r) + ' s':>8}" for r in ranks) if plain else "")
            + f" | {'TF B/vox':>8} "
            + " ".join(f"{'FA' + str(r) + ' B/vox':>9}" for r in ranks)
            + f" | {'ratio FA' + str(ranks[-1]) + '/TF':>12}",
            flush=True,
        )
        _HEADER_DONE = True
    tf = row.get("taufactor")
    fa = [row[f"fem_assb_np{r}"] for r in ranks]
    nvox = row["voxels"]
    k_tf = tf["relative_conductivity"] if tf else float("nan")
    k_fa = fa[0]["relative_conductivity"]
    # the largest relative difference over the solved axes (x only unless --axis all)
    diffs = [fa[0]["axes"][a] / k - 1 for a, k in tf["axes"].items() if k > 0] if tf else []
    diff = max(diffs, key=abs) if diffs else float("nan")
    mpi = (fa[-1]["relative_conductivity"] - k_fa) / k_fa if len(fa) > 1 and k_fa > 0 else 0.0
    line = (
        f"{row['n']:>4} {row['porosity']:>4.2f} {row['seed']:>4} {fa[0]['percolating_fraction']:>6.4f} "
        f"{k_tf:>12.6f} {k_fa:>12.6f} {diff:>+9.2e} {mpi:>+9.1e} | "
        f"{(tf['wall'] if tf else float('nan')):>6.1f} "
        + " ".join(f"{f['wall']:>7.1f} {f['run_time']:>6.1f}" for f in fa)
    )
    if plain:
        line += " " + " ".join(f"{row[f'plain_np{r}']['wall']:>8.1f}" for r in ranks)
    line += (
        f" | {(tf['peak_memory_bytes'] / nvox if tf else float('nan')):>8.0f} "
        + " ".join(f"{f['peak_memory_bytes'] / nvox:>9.0f}" for f in fa)
        + f" | {(fa[-1]['wall'] / tf['wall'] if tf else float('nan')):>12.2f}"
    )
    print(line, flush=True)


def print_summary(rows, ranks) -> None:
    diffs = [
        abs(
            r[f"fem_assb_np{ranks[0]}"]["relative_conductivity"] / r["taufactor"]["relative_conductivity"] - 1
        )
        for r in rows
        if "taufactor" in r and r["taufactor"]["relative_conductivity"] > 0
    ]
    if diffs:
        print(f"largest |fem-assb - TauFactor| / TauFactor: {max(diffs):.2e} over {len(diffs)} structures")
    for r in ranks:
        key = f"fem_assb_np{r}"
        t = {}
        for row in rows:
            for phase, v in row[key]["timings"].items():
                t.setdefault(row["n"], {}).setdefault(phase, []).append(v)
        for n, phases in t.items():
            print(
                f"fem-assb np{r} n={n} mean timings [s]: "
                + ", ".join(f"{ph} {np.mean(v):.2f}" for ph, v in phases.items())
            )


if __name__ == "__main__":
    sys.exit(main())

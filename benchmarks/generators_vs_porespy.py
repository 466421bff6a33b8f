"""fem-assb composite generator vs PoreSpy: volume fractions, SE connectivity and tortuosity trends.

Run with the PoreSpy venv on the host (PoreSpy is not part of the fem-assb environment):

    python3 -m venv /var/cache/fem-assb/porespy-venv
    /var/cache/fem-assb/porespy-venv/bin/pip install porespy openpnm pyamg
    /var/cache/fem-assb/porespy-venv/bin/python benchmarks/generators_vs_porespy.py [--n 80] [--seeds 2]

fem-assb runs through ./fem-assb (its own environment) as a subprocess:
- `fem-assb generate composite` builds CAM/SE composites at SVF_CAM = 0.4 ... 0.8 (d_CAM = 2 um,
  d_SE = 1.41 um, voxel 0.1 um, the seed 002 Fig. 2 setting), fully dense and at density 0.93;
- PoreSpy builds the same fully dense compositions as overlapping CAM spheres (radius of
  d_CAM / 2, `porespy.generators.overlapping_spheres`) with the SE filling the rest;
- both are measured the same way: achieved fractions, SE connectivity by `fem-assb analyze`
  (seed 002 Eq. 4: SE voxels connected to the separator face x = 0), and the SE tortuosity
  factor tau = eps_eff D0 / D_eff and D_eff / D0 along x from `porespy.simulations.tortuosity_fd`,
  cross-checked by `fem-assb keff` (kappa_eff / kappa of the SE along x, finite elements);
- porosity accuracy: achieved vs target porosity for both generators.
The table is printed as Markdown (docs/generators.md records one run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
H_UM = 0.1
D_CAM_UM, D_SE_UM = 2.0, 1.41


def fem_assb(*args) -> str:
    out = subprocess.run([str(ROOT / "fem-assb"), *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"fem-assb {' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def ours(tmp: Path, n: int, svf: float, density: float, seed: int) -> tuple[np.ndarray, float]:
    path = tmp / f"ours_{svf}_{density}_{seed}.npy"
    js = tmp / "ours.json"
    fem_assb(
        "generate",
        "composite",
        "--shape",
        f"{n},{n},{n}",
        "--voxel-size",
        f"{H_UM}um",
        "--svf-cam",
        svf,
        "--density",
        density,
        "--d-cam",
        f"{D_CAM_UM}um",
        "--d-se",
        f"{D_SE_UM}um",
        "--seed",
        seed,
        "-o",
        path,
        "--no-png",
        "--json",
        js,
    )
    return np.load(path), float(json.loads(js.read_text())["seconds"])  # generation time, without start-up


def theirs(tmp: Path, n: int, svf: float, seed: int) -> tuple[np.ndarray, float]:
    import porespy as ps

    t0 = time.perf_counter()
    void = ps.generators.overlapping_spheres(
        [n, n, n], r=int(round(D_CAM_UM / 2 / H_UM)), porosity=1 - svf, seed=seed
    )
    elapsed = time.perf_counter() - t0
    labels = np.where(void, 2, 1).astype(np.uint8)  # void of the sphere packing = SE
    return labels, elapsed


def connectivity_by_fem_assb(tmp: Path, labels: np.ndarray, tag: str) -> float:
    path = tmp / f"{tag}.npy"
    np.save(path, labels)
    js = tmp / f"{tag}.json"
    fem_assb("analyze", path, "--labels", "default", "--voxel-size", f"{H_UM}um", "--json", js)
    return float(json.loads(js.read_text())["connectivity"]["SE"])


def keff_by_fem_assb(tmp: Path, tag: str) -> float:
    """kappa_eff / kappa of the SE along x from `fem-assb keff` (finite elements on the voxel mesh)."""
    js = tmp / f"{tag}.keff.json"
    fem_assb(
        "keff",
        tmp / f"{tag}.npy",
        "--phase",
        "SE",
        "--labels",
        "default",
        "--voxel-size",
        f"{H_UM}um",
        "--axis",
        "x",
        "--json",
        js,
    )
    return float(json.loads(js.read_text())["axes"]["x"]["relative_conductivity"])


def tortuosity(se: np.ndarray) -> tuple[float, float]:
    """(tau, D_eff / D0) of the SE along x (PoreSpy finite differences); (inf, 0) without a path."""
    import porespy as ps

    try:
        r = ps.simulations.tortuosity_fd(se, axis=0)
    except Exception:  # no percolating path
        return float("inf"), 0.0
    return float(r.tortuosity), float(1.0 / r.formation_factor)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=80, help="voxels per edge (default 80 = 8 um)")
    ap.add_argument("--seeds", type=int, default=2, help="structures per point (default 2)")
    ap.add_argument("--svf", default="0.4,0.5,0.6,0.7,0.8", help="SVF_CAM values")
    ap.add_argument("--no-keff", dest="keff", action="store_false", help="skip the fem-assb keff cross-check")
    args = ap.parse_args()
    svfs = [float(s) for s in args.svf.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for svf in svfs:
            for gen in ("fem-assb dense", "fem-assb density 0.93", "PoreSpy overlapping spheres"):
                acc = []
                for seed in range(args.seeds):
                    if gen.startswith("PoreSpy"):
                        lab, sec = theirs(tmp, args.n, svf, seed + 1)
                        density = 1.0
                    else:
                        density = 1.0 if "dense" in gen else 0.93
                        lab, sec = ours(tmp, args.n, svf, density, seed + 1)
                    f_cam, f_se = np.mean(lab == 1), np.mean(lab == 2)
                    conn = connectivity_by_fem_assb(tmp, lab, f"c{seed}")
                    tau, deff = tortuosity(lab == 2)
                    keff = keff_by_fem_assb(tmp, f"c{seed}") if args.keff else float("nan")
                    acc.append(
                        (
                            svf * density,
                            f_cam,
                            (1 - svf) * density,
                            f_se,
                            1 - density,
                            np.mean(lab == 0),
                            conn,
                            tau,
                            deff,
                            keff,
                            sec,
                        )
                    )
                a = np.array(acc)
                mean = a.mean(axis=0)
                taus = a[:, 7][np.isfinite(a[:, 7])]
                mean[7] = taus.mean() if taus.size else np.inf  # tau over the seeds whose SE spans x
                rows.append((svf, gen, *mean, taus.size))
                print(f"done SVF {svf} {gen}", file=sys.stderr, flush=True)
    print(
        f"\n{args.n}^3 voxels of {H_UM} um, d_CAM {D_CAM_UM} um, d_SE {D_SE_UM} um, "
        f"mean of {args.seeds} seeds\n"
    )
    print(
        "| SVF_CAM | generator | CAM target / got | SE target / got | pore target / got | SE connectivity "
        "| tau_SE (x, PoreSpy) | D_eff/D0 SE (PoreSpy FD) | kappa_eff/kappa SE (fem-assb keff) "
        "| Bruggeman eps^1.5 | generation [s] |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for svf, gen, tc, fc, ts, fs, tp, fp, conn, tau, deff, keff, sec, n_path in rows:
        tau_s = "no path" if not np.isfinite(tau) else f"{tau:.2f}"
        if 0 < n_path < args.seeds:
            tau_s += f" ({n_path} of {args.seeds} span x)"
        print(
            f"| {svf:.2f} | {gen} | {tc:.3f} / {fc:.3f} | {ts:.3f} / {fs:.3f} | {tp:.3f} / {fp:.3f} "
            f"| {conn:.3f} "
            f"| {tau_s} | {deff:.4f} | {keff:.4f} | {fs**1.5:.4f} | {sec:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

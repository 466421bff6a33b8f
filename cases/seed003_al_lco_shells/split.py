"""Seed 003 Fig. 8: the capacity loss of each Al-LCO shell split into lost sites and kinetics.

    python3 split.py results/seed003_al_lco_shells/sweep.csv [out.csv] [out.png]

From the sweep table (capacity_mAh_cm2, normalized_capacity = C / C_theo per point; the first point
is the pristine 0 nm cell, C_theo,0):
    lost sites = 1 - C_theo / C_theo,0                      (Al takes Li sites: c_max 75 %)
    kinetics   = (C_theo - C) / C_theo,0 - kinetics of 0 nm   (the slower Al-LCO, beyond pristine)
    total      = 1 - C / C_theo,0 - kinetics of 0 nm        (the loss caused by the shell)
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

SHELL_NM = ["0", "480", "720", "960", "1200", "all"]
#: seed 003 section 4.3.3 for the whole CAM as Al-LCO with the DFT D (loss relative to pristine)
PAPER_ALL = {"lost_sites": 0.25, "kinetics": 0.46, "total": 0.71}
PAPER_FRACTION = ["0", "32", "58", "67", "80", "100"]  # % of the LCO that is Al-LCO (paper)


def split(rows):
    cap = [float(r["capacity_mAh_cm2"]) for r in rows]
    theo = [c / float(r["normalized_capacity"]) for c, r in zip(cap, rows, strict=True)]
    kin0 = (theo[0] - cap[0]) / theo[0]
    out = []
    for k, (c, t) in enumerate(zip(cap, theo, strict=True)):
        out.append(
            {
                "shell_nm": SHELL_NM[k] if k < len(SHELL_NM) else str(k),
                "al_lco_fraction_paper_percent": PAPER_FRACTION[k] if k < len(PAPER_FRACTION) else "",
                "capacity_mAh_cm2": c,
                "theoretical_capacity_mAh_cm2": t,
                "normalized_to_pristine": c / theo[0],
                "lost_sites": 1.0 - t / theo[0],
                "kinetics": (t - c) / theo[0] - kin0,
                "total_loss": 1.0 - c / theo[0] - kin0,
                "pristine_kinetic_loss": kin0,
            }
        )
    return out


def main(argv):
    table = Path(argv[1])
    out = Path(argv[2]) if len(argv) > 2 else table.with_name("fig8_split.csv")
    png = Path(argv[3]) if len(argv) > 3 else table.with_name("fig8_split.png")
    rows = split(list(csv.DictReader(table.open())))
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(
            f"{r['shell_nm']:>5} nm: C/C_theo,0 = {r['normalized_to_pristine']:.3f}, lost sites "
            f"{r['lost_sites']:.3f}, kinetics {r['kinetics']:.3f}, total {r['total_loss']:.3f}"
        )
    print(f"paper, all Al-LCO (DFT D): lost sites {PAPER_ALL['lost_sites']}, kinetics {PAPER_ALL['kinetics']}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    x = range(len(rows))
    lost = [r["lost_sites"] for r in rows]
    kin = [r["kinetics"] for r in rows]
    ax.bar(x, lost, label="lost Li sites")
    ax.bar(x, kin, bottom=lost, label="kinetics (beyond pristine)")
    ax.set_xticks(list(x), [f"{r['shell_nm']}" for r in rows])
    ax.set_xlabel("Al-LCO shell thickness [nm]")
    ax.set_ylabel("capacity loss / C_theo (0 nm)")
    last = len(rows) - 1
    ax.plot([last], [PAPER_ALL["total"]], "k_", markersize=30, mew=2, label="paper, all Al-LCO: total")
    ax.plot([last], [PAPER_ALL["lost_sites"]], "k_", markersize=30, mew=1, ls="none")
    ax.set_title("seed 003 Fig. 8: Al-LCO shells (reduced resolution)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"wrote {out} and {png}")


if __name__ == "__main__":
    main(sys.argv)

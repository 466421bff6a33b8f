"""The figure of docs/studies/seed003_film.md: normalized capacity against R_RF and D_RF on log axes.

The study report's own plots (`fem-assb study`, fem_assb/studies/report.py) draw capacity against
the swept value on a linear axis, which squeezes five decades of kappa_se or D_cam into one point;
this script draws the same sweep.csv numbers against R_RF = l_se / kappa_se and D_RF, log-scaled:

    ./scripts/env-run python3 docs/studies/seed003_film_plot.py /tmp/studyruns/seed003_film \
        docs/studies/seed003_film.png

A failed point (D_RF = 1e-14 cm^2/s: the film cannot pass the applied current at all, the run stops
before its first step) is drawn as a capacity of 0 with an open marker.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

L_SE_CM = 1e-5  # the case's l_se = 100 nm, in cm: R_RF [Ohm cm^2] = L_SE_CM / kappa_se [S/cm]


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _number(text: str) -> float:
    return float(text.split()[0])


def main(folder: str, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(folder)
    main_rows = _rows(out / "main" / "sweep.csv")
    diff_rows = _rows(out / "diffusion" / "sweep.csv")
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    for current, marker in (("0.1 mA/cm^2", "o"), ("2 mA/cm^2", "s")):
        pts = sorted(
            (L_SE_CM / _number(r["materials.film.kappa_se"]), float(r["normalized_capacity"] or "nan"))
            for r in main_rows
            if r["operation.steps.0.current_density"] == current
        )
        a.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, ms=4, label=f"ours, {current}")
    a.axvline(1e4, color="0.6", ls=":", lw=1)
    a.axvline(1e3, color="0.6", ls="--", lw=1)
    a.text(1e4, 0.02, " 003: flat to 10 k\n (0.1 mA/cm$^2$)", fontsize=6.5, color="0.35")
    a.text(1e3, 0.2, "003: falls from\n1 k (2 mA/cm$^2$) ", fontsize=6.5, color="0.35", ha="right")
    a.set_xscale("log")
    a.set_xlabel(r"R$_{RF}$ = l$_{se}$ / $\kappa_{se}$ ($\Omega$ cm$^2$)")
    a.set_ylabel("normalized capacity C / C$_{theo}$")
    a.set_title("ohmic film ([003] Fig. 4c)", fontsize=9)
    a.set_ylim(0, 1)
    a.grid(alpha=0.3)
    a.legend(fontsize=7, loc="lower left")
    ran, failed = [], []
    for r in diff_rows:
        d = _number(r["materials.film.D_cam"])
        (ran if r["status"] == "ok" else failed).append((d, float(r["normalized_capacity"] or 0.0)))
    ran.sort()
    b.plot([p[0] for p in ran], [p[1] for p in ran], marker="o", ms=4, label="ours, 0.1 mA/cm^2")
    if failed:
        b.plot(
            [p[0] for p in failed],
            [0.0] * len(failed),
            ls="none",
            marker="o",
            mfc="none",
            color="C3",
            label="film cannot pass 0.1 mA/cm$^2$ (no discharge)",
        )
    b.axvline(1e-12, color="0.6", ls="--", lw=1)
    b.text(1e-12, 0.9, " 003: not much\n below 1e-12", fontsize=6.5, color="0.35")
    b.text(1e-14, 0.06, "003: nearly 0 ", fontsize=6.5, color="0.35", ha="right")
    b.set_xscale("log")
    b.invert_xaxis()
    b.set_xlabel(r"D$_{RF}$ (cm$^2$/s), l$_{cam}$ = 100 nm")
    b.set_title("CAM-side film ([003] Fig. 5c)", fontsize=9)
    b.set_ylim(0, 1)
    b.grid(alpha=0.3)
    b.legend(fontsize=7, loc="lower left")
    fig.suptitle("Resistive film, LCO | LLZO:Ta HT composite (HT1, 100 degC, to 3.4 V)", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=80)


if __name__ == "__main__":
    main(*sys.argv[1:3])

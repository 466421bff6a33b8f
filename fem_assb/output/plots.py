"""PNG plots (matplotlib, Agg), written atomically on rank 0."""

from __future__ import annotations

import numpy as np

from fem_assb.output.atomic import atomic_path
from fem_assb.parallel import rank


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def voltage_curve(path, capacity_mah_cm2, voltage, title: str = "") -> None:
    """Cell voltage (V) over delivered capacity (mAh/cm^2)."""
    if rank() != 0:
        return
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(capacity_mah_cm2, voltage, "-", lw=1.5)
    ax.set_xlabel("capacity (mAh/cm$^2$)")
    ax.set_ylabel("cell voltage (V)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def utilization_plots(path, x_um, profile, hist_frac, hist_edges) -> None:
    """Mean utilization along x and the per-voxel histogram ([002] Fig. 5a)."""
    if rank() != 0:
        return
    plt = _figure()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(x_um, profile, "-o", ms=3)
    a.set_xlabel("x from separator (um)")
    a.set_ylabel("mean CAM utilization (-)")
    a.set_ylim(0, 1)
    a.grid(alpha=0.3)
    centres = 0.5 * (np.asarray(hist_edges[1:]) + np.asarray(hist_edges[:-1]))
    b.bar(centres, 100 * np.asarray(hist_frac), width=np.diff(hist_edges), edgecolor="k", lw=0.3)
    b.set_xlabel("CAM utilization (-)")
    b.set_ylabel("voxels (%)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)

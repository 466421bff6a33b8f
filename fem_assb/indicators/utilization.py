"""CAM utilization (MODEL §7, [000] Eq. S4, [002] Fig. 5): eta = (c - c0) / (c_max - c0).

Per voxel (histograms) and the mean over each slice along x (profiles). numpy only.
"""

from __future__ import annotations

import numpy as np


def utilization(x, x0: float) -> np.ndarray:
    """Utilization of stoichiometries ``x`` for the initial stoichiometry x0 (both c / c_max)."""
    return (np.asarray(x, dtype=float) - x0) / (1.0 - x0)


def profile(values, ix, nx: int) -> np.ndarray:
    """Mean of ``values`` over the cells of each x index 0..nx-1 (NaN where a slice has none)."""
    values, ix = np.asarray(values, float), np.asarray(ix, int)
    s = np.bincount(ix, weights=values, minlength=nx)
    n = np.bincount(ix, minlength=nx)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def histogram(values, bins: int = 50, value_range=(0.0, 1.0)):
    """Counts and bin edges of the per-voxel utilization (fraction of voxels per bin)."""
    counts, edges = np.histogram(np.clip(values, *value_range), bins=bins, range=value_range)
    total = max(int(counts.sum()), 1)
    return counts / total, edges

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


def structure_overview(image, summary: dict, path) -> None:
    """Fraction profiles along x and the mid-plane (x-y at z = nz/2) slice of a VoxelImage, to a PNG."""
    plt = _figure()
    from matplotlib.colors import ListedColormap

    from fem_assb.structure.image import MATERIAL_CLASSES

    prof = summary["profiles"]
    x = np.array(prof["x_m"]) * 1e6
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for k in MATERIAL_CLASSES:
        if k in prof and max(prof[k]) > 0:
            a1.plot(x, prof[k], label=k)
    a1.set_xlabel("x [um] (separator -> collector)")
    a1.set_ylabel("volume fraction")
    a1.legend()
    codes = np.zeros(image.shape[:2], int)
    sl = image.labels[:, :, image.shape[2] // 2]
    for i, k in enumerate(MATERIAL_CLASSES):
        vals = [v for v, m in image.label_map.materials.items() if m.kind == k]
        codes[np.isin(sl, vals)] = i
    h = image.voxel_size * 1e6
    cmap = ListedColormap(plt.cm.tab10.colors[: len(MATERIAL_CLASSES)])
    im = a2.imshow(
        codes.T,
        origin="lower",
        cmap=cmap,
        vmin=-0.5,
        vmax=len(MATERIAL_CLASSES) - 0.5,
        interpolation="nearest",
        extent=(0, image.shape[0] * h, 0, image.shape[1] * h),
    )
    a2.set_xlabel("x [um]")
    a2.set_ylabel("y [um]")
    a2.set_title("mid-plane z = nz/2")
    cb = fig.colorbar(im, ax=a2, ticks=range(len(MATERIAL_CLASSES)))
    cb.set_ticklabels(MATERIAL_CLASSES)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def grain_ids_slice(image, ids, path) -> None:
    """Grain IDs (0 = not SE, grey) on the x-y mid-plane slice, to a PNG."""
    plt = _figure()
    from matplotlib.colors import ListedColormap

    k = max(int(ids.max()), 1)
    sl = ids[:, :, ids.shape[2] // 2].T
    colours = [(0.85, 0.85, 0.85)] + list(plt.cm.tab20.colors[:k]) if k <= 20 else None
    cmap = ListedColormap(colours) if colours else "nipy_spectral"
    h = image.voxel_size * 1e6
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(
        np.ma.asarray(sl),
        origin="lower",
        cmap=cmap,
        vmin=-0.5,
        vmax=k + 0.5,
        interpolation="nearest",
        extent=(0, ids.shape[0] * h, 0, ids.shape[1] * h),
    )
    ax.set_xlabel("x [um]")
    ax.set_ylabel("y [um]")
    ax.set_title("SE grain IDs, mid-plane z = nz/2 (0 = other phases)")
    fig.colorbar(im, ax=ax, ticks=range(k + 1))
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def material_functions(system, path) -> None:
    """U0(x), sigma(x), D(x) of the CAM (and kappa, D, t+, TDF of a liquid) of a System, to a PNG."""
    plt = _figure()

    T = system.temperature
    cam, el = system.cam, system.electrolyte
    panels = [
        ("U0", cam.U0, "x", "V", False),
        ("sigma", cam.sigma, "x", "S/m", True),
        ("D_s", cam.D, "x", "m^2/s", True),
    ]
    if el.kind == "liquid":
        panels += [
            ("kappa", el.kappa, "c", "S/m", False),
            ("D_e", el.D, "c", "m^2/s", False),
            ("t+", el.t_plus, "c", "-", False),
            ("TDF", el.tdf, "c", "-", False),
        ]
    ncol = min(len(panels), 4)
    nrow = (len(panels) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), squeeze=False)
    for ax, (label, fn, var, unit, logy) in zip(axes.flat, panels, strict=False):
        if var == "x":
            v = np.linspace(0.0, 1.0, 401)
            v0, xlabel, scale = cam.x0, "x = c_s / c_max", 1.0
        else:
            v = np.linspace(0.05 * el.c0, 2.5 * el.c0, 401)
            v0, xlabel, scale = el.c0, "c_e [mol/L]", 1e-3
        y = fn.numpy(v, T)
        lo, hi = fn.valid
        inside = (v >= lo) & (v <= hi)
        ax.plot(v * scale, y, color="0.6", lw=1, label="extension")
        ax.plot(v[inside] * scale, y[inside], color="C0", lw=2, label="valid range")
        ax.plot([v0 * scale], [fn.value_at(v0, T)], "o", color="C3", label="initial")
        if logy and np.all(y > 0):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{label} [{unit}]")
        ax.set_title(fn.name, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{system.name} at {T:.2f} K", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)

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


def _rank(comm) -> int:
    return comm.rank if comm is not None else rank()


def _save(fig, path):
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def voltage_curve(path, capacity_mah_cm2, voltage, title: str = "", comm=None) -> None:
    """Cell voltage (V) over delivered capacity (mAh/cm^2), on rank 0 of ``comm`` (default
    COMM_WORLD)."""
    if _rank(comm) != 0:
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


def utilization_plots(path, x_um, profile, hist_frac, hist_edges, comm=None) -> None:
    """Mean utilization along x and the per-voxel histogram ([002] Fig. 5a), on rank 0 of
    ``comm`` (default COMM_WORLD)."""
    if _rank(comm) != 0:
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


def sweep_curves(path, curves, title: str = "") -> None:
    """The discharge curves of a sweep in one plot: ``curves`` = [(label, capacity [mAh/cm^2],
    voltage [V])], one per point (the caller writes on one rank)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, max(len(curves), 1)))
    for (label, q, v), c in zip(curves, colours, strict=False):
        ax.plot(q, v, "-", lw=1.5, color=c, label=label)
    ax.set_xlabel("capacity (mAh/cm$^2$)")
    ax.set_ylabel("cell voltage (V)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def sweep_indicators(path, x, series, xlabel: str, xticks=None, title: str = "") -> None:
    """Capacity (mAh/cm^2) and energy density (Wh/kg) against a swept value, side by side.

    x: positions of the values; series: [(label, capacity, energy density)] each over x (NaN, a
    failed point, is left out; one series per value of a grid's further parameters, label ""
    for a one-parameter sweep); xticks: tick labels at x for values that are not numbers (the
    caller writes on one rank)."""
    plt = _figure()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for label, cap, energy in series:
        a.plot(x, cap, "-o", ms=4, label=label or None)
        b.plot(x, energy, "-o", ms=4, label=label or None)
    for ax, ylabel in ((a, "capacity (mAh/cm$^2$)"), (b, "energy density (Wh/kg)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if xticks is not None:
            ax.set_xticks(x, xticks, rotation=30, ha="right", fontsize=7)
    if any(label for label, _, _ in series):
        a.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _log_spaced(xs) -> bool:
    """True where the swept values are positive and span two decades or more (a log axis)."""
    import numpy as np

    v = np.concatenate([np.asarray(x, dtype=float).ravel() for x in xs]) if xs else np.zeros(0)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0) and v.max() / v.min() >= 100.0)


def study_indicators(
    path, series, xlabel: str, xticks=None, title: str = "", dpi: int = 80, ylabels=None
) -> None:
    """A seed study's two indicators (default capacity in mAh/cm^2 and energy density in Wh/kg;
    ``ylabels`` their axis labels) against the swept value, side by side, several variants in
    one plot (docs/studies/): ``series`` [(label, x, first, second, linestyle)], NaN (a failed
    point) left out; ``xticks`` tick labels at x for values that are not numbers. Small
    (``dpi``) for the committed reports (the caller writes on one rank)."""
    plt = _figure()
    labelled = any(label for label, *_ in series)
    rows = -(-len(series) // 2) if labelled else 0  # legend rows below the panels
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2 + 0.16 * rows))
    colors = {}
    for label, x, cap, energy, style in series:
        key = label.split(" | ")[-1]
        kw = {"ls": style, "marker": "o", "ms": 3.5, "label": label or None}
        if key in colors:
            kw["color"] = colors[key]
        (line,) = a.plot(x, cap, **kw)
        colors.setdefault(key, line.get_color())
        b.plot(x, energy, **{**kw, "color": line.get_color()})
    ylabels = ylabels or ("capacity (mAh/cm$^2$)", "energy density (Wh/kg)")
    for ax, ylabel in zip((a, b), ylabels, strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if xticks is not None:
            ax.set_xticks(list(range(len(xticks))), xticks, rotation=20, ha="right", fontsize=7)
        elif _log_spaced([x for _, x, *_ in series]):
            ax.set_xscale("log")  # e.g. a film resistance from 1 to 1e5 Ohm cm^2
    fig.suptitle(title, fontsize=9)
    if labelled:
        handles, labels = a.get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=6.5, frameon=False)
        fig.tight_layout(rect=(0, (0.16 * rows + 0.1) / (3.2 + 0.16 * rows), 1, 1))
    else:
        fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)


def sweep_map(path, capacity, energy, ticks_a, ticks_b, label_a: str, label_b: str, title: str = "") -> None:
    """Capacity (mAh/cm^2) and energy density (Wh/kg) as colour maps over a grid of two swept
    parameters: ``capacity``, ``energy`` of shape (len(ticks_a), len(ticks_b)); parameter a on
    the vertical axis, b on the horizontal, one cell per value (NaN: a failed point, grey). Each
    cell is annotated with its number (the caller writes on one rank)."""
    plt = _figure()
    import matplotlib

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    panels = ((axes[0], capacity, "capacity (mAh/cm$^2$)"), (axes[1], energy, "energy density (Wh/kg)"))
    for ax, data, name in panels:
        data = np.asarray(data, dtype=float)
        cmap = matplotlib.colormaps["viridis"].copy()
        cmap.set_bad("0.8")
        im = ax.imshow(np.ma.masked_invalid(data), origin="lower", cmap=cmap, aspect="auto")
        ax.set_xticks(range(len(ticks_b)), ticks_b, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(ticks_a)), ticks_a, fontsize=7)
        ax.set_xlabel(label_b)
        ax.set_ylabel(label_a)
        for (i, j), v in np.ndenumerate(data):
            text = "failed" if np.isnan(v) else f"{v:.3g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="w")
        fig.colorbar(im, ax=ax, label=name)
    fig.suptitle(title, fontsize=9)
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


def _decade_marks(f):
    """Indices of the frequencies closest to each power of ten inside the range (Hz)."""
    f = np.asarray(f, dtype=float)
    lf = np.log10(f)
    marks = []
    for dec in range(int(np.ceil(lf.min() - 1e-9)), int(np.floor(lf.max() + 1e-9)) + 1):
        k = int(np.argmin(np.abs(lf - dec)))
        if abs(lf[k] - dec) < 0.5 / max(len(f), 1) + 0.05:
            marks.append((k, dec))
    return marks


def nyquist(path, frequency_hz, z_ohm_cm2, title: str = "", comm=None) -> None:
    """Nyquist plot of an impedance spectrum: -Z_imag over Z_real (Ohm cm^2), equal axes, the
    frequencies at each decade marked (10^k Hz); on rank 0 of ``comm``."""
    if _rank(comm) != 0:
        return
    plt = _figure()
    z = np.asarray(z_ohm_cm2)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot(z.real, -z.imag, "-o", ms=2.5, lw=1.2)
    span = max(np.ptp(z.real), np.ptp(z.imag), 1e-300)
    labelled = []
    for k, dec in _decade_marks(frequency_hz):
        ax.plot(z[k].real, -z[k].imag, "s", color="C3", ms=5)
        if all(abs(z[k] - z[j]) > 0.04 * span for j in labelled):  # no labels on top of each other
            ax.annotate(f"$10^{{{dec}}}$ Hz", (z[k].real, -z[k].imag), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
            labelled.append(k)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(r"$Z_\mathrm{real}$ ($\Omega$ cm$^2$)")
    ax.set_ylabel(r"$-Z_\mathrm{imag}$ ($\Omega$ cm$^2$)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def bode(path, frequency_hz, z_ohm_cm2, title: str = "", comm=None) -> None:
    """Bode plot of an impedance spectrum: |Z| (Ohm cm^2, log) and the phase (deg) over the
    frequency (Hz, log); on rank 0 of ``comm``."""
    if _rank(comm) != 0:
        return
    plt = _figure()
    z = np.asarray(z_ohm_cm2)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 5.5), sharex=True)
    a1.loglog(frequency_hz, np.abs(z), "-o", ms=2.5, lw=1.2)
    a1.set_ylabel(r"$|Z|$ ($\Omega$ cm$^2$)")
    a1.set_title(title)
    a2.semilogx(frequency_hz, np.degrees(np.angle(z)), "-o", ms=2.5, lw=1.2, color="C1")
    a2.set_ylabel("phase (deg)")
    a2.set_xlabel("frequency (Hz)")
    for a in (a1, a2):
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)

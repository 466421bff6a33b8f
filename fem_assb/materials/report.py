"""Human-readable views of a material system: the parameter table and a PNG of its functions."""

from __future__ import annotations

import textwrap

import numpy as np

from fem_assb.materials.system import System


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def parameter_table(system: System, width: int = 110) -> str:
    """The table of every parameter (SI value at initial conditions, unit, source) plus notes."""
    lines = [f"{system.name}: {system.description}", f"sources: {'; '.join(system.sources)}", ""]
    head = f"{'parameter':<26} {'value (SI)':>14}  {'unit':<16} source"
    lines += [head, "-" * len(head)]
    notes = []
    for row in system.rows:
        src = row.source or ""
        if row.note:
            notes.append((row.path, row.note))
            src += f" [note {len(notes)}]"
        first, *rest = textwrap.wrap(src, max(30, width - 60)) or [""]
        lines.append(f"{row.path:<26} {format_value(row.value):>14}  {row.unit:<16} {first}")
        lines += [" " * 60 + r for r in rest]
    if notes:
        lines += ["", "notes (functional parameters: value at initial conditions; valid range; assumptions):"]
        for k, (path, note) in enumerate(notes, 1):
            lines += textwrap.wrap(f"[{k}] {path}: {note}", width, subsequent_indent="    ")
    return "\n".join(lines)


def plot_functions(system: System, path) -> None:
    """Write a PNG of U0(x), sigma(x), D(x) of the CAM (and kappa, D, t+, TDF of a liquid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fem_assb.output.atomic import atomic_path

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
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)

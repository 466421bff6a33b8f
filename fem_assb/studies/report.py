"""The markdown report of a seed study (`fem-assb study NAME`; docs/studies.md, "Seed studies").

Everything in the report is read back from the study's output folder, so it can be written again
without running anything (`fem-assb study NAME --report-only`):

- ``study.json`` (written by the command): the command line, ranks, wall time, load average;
- per variant ``<variant>/sweep.csv`` (the rows: swept values as written and the indicators) and
  ``<variant>/sweep.json`` (parameters, values, the sweep's wall time), and each point's
  ``summary.json`` for the numbers sweep.csv does not list (theoretical capacity, cells).

The report (``<NAME>.md`` beside ``<NAME>_<k>.png``, so that both can be copied into docs/studies/
as they are): the title and source, the resolution, the measured wall time, the command that
reproduces it, the comparison with the paper's numbers (:class:`fem_assb.case.study.Comparison`:
ours computed by :func:`our_number`), the notes (deviations from the paper), the table of every
point and the plots. Written on one rank (the caller's), each file atomically.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fem_assb.errors import InputError

#: The entries of each point's summary.json read beside sweep.csv: the theoretical capacity
#: (mAh/cm^2) and the electrolyte fraction in clusters cut off from the separator (removed before
#: meshing: a structure whose ionic network does not percolate shows here).
SUMMARY_ENTRIES = ("theoretical_capacity_mAh_cm2", "removed_electrolyte_fraction")
#: The columns of the points' table: (sweep.csv column, heading, format).
TABLE = (
    ("capacity_mAh_cm2", "mAh/cm²", ".4g"),
    ("theoretical_capacity_mAh_cm2", "C_theo mAh/cm²", ".4g"),
    ("normalized_capacity", "C/C_theo", ".3f"),
    ("gravimetric_capacity_mAh_g", "mAh/g", ".4g"),
    ("energy_density_Wh_kg", "Wh/kg", ".4g"),
    ("final_voltage_V", "V end", ".3f"),
    ("removed_electrolyte_fraction", "SE cut off", ".2f"),
    ("wall_time_s", "wall s", ".1f"),
)


@dataclass
class VariantResult:
    """A variant's sweep read back: ``parameters`` and ``values`` (as written, sweep.json),
    ``rows`` (sweep.csv, numbers as float, plus the summary.json extras), ``index`` per row its
    value index per parameter, ``summary`` sweep.json."""

    name: str
    label: str
    parameters: list[str]
    values: list[list[str]]
    rows: list[dict]
    index: list[tuple[int, ...]]
    summary: dict


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def read_variant(folder: Path, name: str, label: str) -> VariantResult:
    """The sweep in ``folder`` (sweep.csv, sweep.json and the points' summary.json)."""
    from fem_assb.case.study import METRIC_UNITS

    summary_path, table_path = folder / "sweep.json", folder / "sweep.csv"
    if not table_path.is_file() or not summary_path.is_file():
        raise InputError(
            f"no sweep results in {folder} (sweep.csv and sweep.json); run the study first "
            "(without --report-only)."
        )
    summary = json.loads(summary_path.read_text())
    params = list(summary["parameters"])
    values = [list(v) for v in summary["values"]]
    shape = tuple(len(v) for v in values)
    rows, index = [], []
    with table_path.open(newline="") as f:
        for raw in csv.DictReader(f):
            row = dict(raw)
            for key in (*METRIC_UNITS, "wall_time_s"):
                if key in row:
                    row[key] = _float(row[key])
            point = (
                json.loads((folder / row["folder"] / "summary.json").read_text())
                if (folder / row["folder"] / "summary.json").is_file()
                else {}
            )
            for key in SUMMARY_ENTRIES:  # numbers of the point's summary.json beside sweep.csv's
                row[key] = _float(point.get(key)) if row["status"] == "ok" else float("nan")
            row["cells"] = point.get("cells")
            idx = tuple(int(i) for i in np.unravel_index(int(row["point"]), shape))
            for p, k in zip(params, idx, strict=True):
                if row[p] != values[params.index(p)][k]:
                    raise InputError(
                        f"{table_path}: point {row['point']} has {p} = {row[p]!r}, but sweep.json lists "
                        f"{values[params.index(p)][k]!r} there; the folder holds another sweep's files."
                    )
            rows.append(row)
            index.append(idx)
    return VariantResult(name, label, params, values, rows, index, summary)


def our_number(ours, result: VariantResult, sweep) -> tuple[float | str, str]:
    """(value, text) of a comparison's ``ours`` (:class:`fem_assb.case.study.Ours`) on the rows of
    ``result``; ``sweep`` is the variant's resolved :class:`~fem_assb.case.schema.Sweep` (to find
    the values of ``where`` / ``minus``). A value that cannot be computed (failed points) is NaN
    with its reason as text."""
    from fem_assb.case.study import METRIC_UNITS, point_index

    params = result.parameters

    def wanted(sel: dict) -> dict[int, int]:
        out = {}
        for p, v in sel.items():
            a = params.index(p)
            out[a] = point_index(sweep.values[a], sweep.values_si[a], v)
        return out

    where, minus = wanted(ours.where), wanted(ours.minus)
    by_index = dict(zip(result.index, result.rows, strict=True))
    picked = []
    for idx, row in by_index.items():
        if any(idx[a] != k for a, k in where.items()):
            continue
        value = row[ours.metric]
        if minus:
            ref_idx = tuple(minus.get(a, k) for a, k in enumerate(idx))
            ref = by_index[ref_idx][ours.metric]
            value = 100.0 * (value - ref) / ref if ours.relative else value - ref
        picked.append((idx, value))
    unit = "%" if ours.relative else METRIC_UNITS[ours.metric]
    good = [(i, v) for i, v in picked if math.isfinite(v)]
    if not good:
        return float("nan"), "- (no point ran)"
    if len(good) < len(picked):
        note = f" ({len(picked) - len(good)} of {len(picked)} points failed)"
    else:
        note = ""
    if ours.reduce == "value":
        v = good[0][1]
        return v, f"{v:.4g}{' ' + unit if unit else ''}{note}"
    pick = max if ours.reduce in ("max", "argmax") else min
    idx, v = pick(good, key=lambda t: t[1])
    if ours.reduce in ("max", "min"):
        at = ", ".join(
            f"{_short(params[a])} = {result.values[a][k]}" for a, k in enumerate(idx) if a not in where
        )
        return v, f"{v:.4g}{' ' + unit if unit else ''} (at {at}){note}"
    a = params.index(ours.over)
    return result.values[a][idx[a]], f"{result.values[a][idx[a]]} ({v:.4g}{' ' + unit if unit else ''}){note}"


def _resumed_note(sweep_summary: dict) -> str:
    """' (of a resumed run: K point(s) were complete before it)' for a resumed sweep, else ''."""
    resumed = sweep_summary.get("resumed")
    if not resumed:
        return ""
    return f" (of a resumed run: {resumed.get('done', 0)} point(s) were complete before it)"


def _short(parameter: str) -> str:
    from fem_assb.studies.sweep import _short as short

    return short(parameter)


def resolution(case) -> str:
    """The structure's resolution as text (shape, voxel size, size in um; the modifications)."""
    from fem_assb.units import to_si

    st = case.structure
    if st.generator is not None:
        g = st.generator
        h = to_si(g.get("voxel_size"), "m", name="voxel_size")
        shape = [int(n) for n in g["shape"]]
        size = " x ".join(f"{n * h * 1e6:.4g}" for n in shape)
        text = (
            f"generated ({g.get('kind', 'composite')}): {' x '.join(map(str, shape))} voxels of "
            f"{h * 1e6:.4g} um ({size} um)"
        )
    else:
        text = f"image {Path(st.image).name}" + (
            f", voxel {st.voxel_size * 1e6:.4g} um" if st.voxel_size else ""
        )
    if st.modify:
        text += "; modified: " + ", ".join(op.name for op in st.modify)
    return text


def _display_path(path) -> str:
    """``path`` relative to the working directory when it is below it, else as it is."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cells(result: VariantResult) -> str:
    cells = [r["cells"] for r in result.rows if isinstance(r.get("cells"), int)]
    if not cells:
        return "-"
    return f"{min(cells)}" if min(cells) == max(cells) else f"{min(cells)} to {max(cells)}"


def _fmt(v, fmt: str) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def write_report(case, out: Path, name: str, run: dict) -> list[Path]:
    """Write ``out/<name>.md`` and its PNGs (one per group of variants sweeping the same
    parameters) from the study's outputs in ``out``; ``case`` is the loaded study case, ``run``
    the contents of study.json. Returns the files written (one rank, atomically)."""
    from fem_assb.atomic import write_text
    from fem_assb.case.study import MAIN

    study = case.study
    results = {
        v.name: read_variant(out / v.name, v.name, v.label) for v in study.variants if (out / v.name).is_dir()
    }
    missing = [v.name for v in study.variants if v.name not in results]
    if MAIN in missing:
        raise InputError(
            f"no results of the study in {out} (no {MAIN}/sweep.csv); run the study first: "
            f"fem-assb study {name} -o {out}"
        )
    where = _display_path(case.path) if case.path is not None else f"{name}.yaml"
    lines = [f"# {study.title}", "", f"Source: {study.source}. Case: `{where}`.", ""]
    if case.description:
        lines += [case.description, ""]
    lines += ["## How it was run", ""]
    for v in study.variants:
        if v.name not in results:
            lines.append(f"- **{v.label}** (`{v.name}`): not run")
            continue
        r = results[v.name]
        s = r.summary
        failed = s.get("failed", 0)
        lines.append(
            f"- **{v.label}** (`{v.name}`): {resolution(v.case)}; {_cells(r)} cells per point (with the "
            f"separator); {s.get('points')} points ({failed} failed"
            + (", incomplete" if not s.get("complete", True) else "")
            + f"), sweep wall time {s.get('wall_time_s', float('nan')):.0f} s"
            + _resumed_note(s)
            + f" on {s.get('ranks')} rank(s), {s.get('concurrent')} point(s) at once"
        )
    lines.append("")
    total = run.get("wall_time_s")
    load = run.get("load_average")
    lines.append(
        ("Measured wall time of this (resumed) run of the study" if run.get("resumed") else
         "Measured wall time of the whole study")
        + f": **{_fmt(total, '.0f')} s** "
        f"({_fmt(total / 60 if total else None, '.1f')} min)"
        + (f" on {run.get('ranks')} MPI rank(s)" if run.get("ranks") else "")
        + (f", load average {load[0]:.1f} at the start and {load[1]:.1f} at the end" if load else "")
        + (f" ({run['machine']})" if run.get("machine") else "")
        + "."
    )
    if run.get("resumed"):
        lines.append("Resumed (`--resume`): the wall times of points run before the resume are those runs'.")
    lines += ["", "Reproduce:", "", "```sh", run.get("command", f"./fem-assb --np 2 study {name}"), "```", ""]
    lines += ["## Ours beside the paper", "", "| quantity | paper | source | ours |", "|---|---|---|---|"]
    for comp in study.paper:
        ours = "-"
        if comp.ours is not None:
            if comp.ours.variant in results:
                sweep = study.variant(comp.ours.variant).case.operation.sweep
                _, ours = our_number(comp.ours, results[comp.ours.variant], sweep)
            else:
                ours = "- (variant not run)"
        lines.append(f"| {comp.quantity} | {comp.value} | {comp.figure} | {ours} |")
    lines.append("")
    if study.notes:
        lines += ["## Notes and deviations", ""] + [f"- {n}" for n in study.notes] + [""]
    files = []
    groups: dict[tuple, list[VariantResult]] = {}
    for r in results.values():  # one plot per swept parameters (and categories, when not numbers)
        _, _, ticks = _axis(r.parameters[0], r.values[0])
        groups.setdefault((tuple(r.parameters), tuple(ticks or ())), []).append(r)
    lines += ["## Results", ""]
    for k, members in enumerate(groups.values()):
        png = out / f"{name}_{k}.png"
        _plot(png, members, study.title, study.plot)
        files.append(png)
        lines += [f"![{', '.join(m.label for m in members)}]({png.name})", ""]
    for r in results.values():
        lines += [f"### {r.label} (`{r.name}`)", ""]
        head = [_short(p) for p in r.parameters] + [h for _, h, _ in TABLE] + ["status"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in r.rows:
            cells = [row[p] for p in r.parameters] + [_fmt(row.get(c), f) for c, _, f in TABLE]
            cells.append(row["status"] + (f": {row['error']}" if row.get("error") else ""))
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    report = out / f"{name}.md"
    write_text(report, "\n".join(lines).rstrip() + "\n")
    return [report, *files]


def _axis(parameter: str, values: list[str]):
    """(positions, label, tick labels or None) of a swept parameter's values as written in
    sweep.json: quantities on a numeric axis (:func:`fem_assb.studies.sweep.axis_of`), sections
    and lists (written as JSON, e.g. structure.modify) as categories with short tick labels."""
    from fem_assb.studies.sweep import axis_of

    if any(str(v).lstrip().startswith(("[", "{")) for v in values):
        strip = str.maketrans("", "", '[]{}"')
        ticks = [str(v).translate(strip).replace(",", ", ") or "none" for v in values]
        return np.arange(len(values), dtype=float), _short(parameter), ticks
    return axis_of(parameter, values)


def _plot(path: Path, members: list[VariantResult], title: str, metrics) -> None:
    """The two ``metrics`` (study.plot) against the first swept parameter, a line per value of
    the others, solid for the first variant of the group and dashed, dotted for the next."""
    from fem_assb.case.study import METRIC_UNITS
    from fem_assb.output import plots

    first = members[0]
    x, xlabel, xticks = _axis(first.parameters[0], first.values[0])
    series = []
    for m, r in enumerate(members):
        style = ("-", "--", ":", "-.")[m % 4]
        shape = tuple(len(v) for v in r.values)
        cap = np.full(shape, np.nan)
        energy = np.full(shape, np.nan)
        for idx, row in zip(r.index, r.rows, strict=True):
            cap[idx] = row[metrics[0]]
            energy[idx] = row[metrics[1]]
        xs, _, _ = _axis(r.parameters[0], r.values[0])
        others = [range(n) for n in shape[1:]]
        for ks in np.ndindex(*[len(o) for o in others]) if others else [()]:
            label = ", ".join(
                f"{_short(r.parameters[a + 1])} = {r.values[a + 1][k]}" for a, k in enumerate(ks)
            )
            if len(members) > 1:
                label = f"{r.label} | {label}" if label else r.label
            sel = (slice(None), *ks)
            series.append((label, xs, cap[sel], energy[sel], style))
    ylabels = [f"{m}" + (f" ({METRIC_UNITS[m]})" if METRIC_UNITS[m] else "") for m in metrics]
    plots.study_indicators(path, series, xlabel, xticks=xticks, title=title, ylabels=ylabels)

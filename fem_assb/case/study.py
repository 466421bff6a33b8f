"""The ``study:`` section of a case: a seed study as data (docs/studies.md, "Seed studies").

A study case is a case with a sweep (``operation.sweep``) and a ``study`` section that says what
the study reproduces and how our numbers are read off the sweep for the comparison with the
paper's (:mod:`fem_assb.studies.report`); `fem-assb study NAME` runs it (cases/studies/).

    study:
      title: Two-layer ASSB cathodes
      source: "[001] Fig. 8, [000] Fig. S5"
      label: 60 vol% CAM at the separator on 70 vol%   # the case as written (variant "main")
      notes: [a deviation from the paper, stated in the report]
      ranks_per_point: 1                # MPI ranks per sweep point (concurrent = ranks / this)
      plot: [capacity_mAh_cm2, energy_density_Wh_kg]   # the report's plotted indicators
      variants:                         # further sweeps: the case with entries replaced
        - name: reversed
          label: 70 vol% at the separator on 60 vol%
          set: {structure.generator.reverse: true}
          sweep: {...}                  # optional: replaces operation.sweep for this variant
      paper:                            # the paper's numbers, and ours beside them
        - quantity: capacity optimum f_L60 at 4 mA/cm^2
          figure: "[001] Fig. 8c"
          value: 0.5                    # as the paper gives it (a number or text with its unit)
          ours: {metric: capacity_mAh_cm2, reduce: argmax, over: structure.generator.f_first,
                 where: {operation.steps.0.current_density: 4 mA/cm^2}}

``ours`` (all keys but ``metric`` optional): ``variant`` (default main); ``where`` {swept
parameter: value} selects points; ``minus`` {swept parameter: value} subtracts, point by point,
the metric of the point with those values instead (``relative: true``: in % of it); ``reduce``
value (exactly one point selected), max, min, argmax or argmin (``over``: the swept parameter
whose value is reported). Everything is checked here, at load time, against the points of the
variant's sweep: a comparison that cannot be computed fails before anything runs.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from fem_assb.errors import InputError, did_you_mean

STUDY_KEYS = ("title", "source", "label", "notes", "ranks_per_point", "variants", "paper", "plot")
#: The two indicators the report plots unless ``study.plot`` names others.
PLOT = ("capacity_mAh_cm2", "energy_density_Wh_kg")
VARIANT_KEYS = ("name", "label", "set", "sweep")
PAPER_KEYS = ("quantity", "figure", "value", "ours")
OURS_KEYS = ("metric", "variant", "where", "minus", "relative", "reduce", "over")
REDUCE = ("value", "max", "min", "argmax", "argmin")
#: Per-point numbers a comparison may use: sweep.csv's indicators (fem_assb.studies.sweep.METRICS)
#: and these entries of each point's summary.json. {name: unit shown in the report}.
METRIC_UNITS = {
    "capacity_mAh_cm2": "mAh/cm^2",
    "normalized_capacity": "",
    "gravimetric_capacity_mAh_g": "mAh/g",
    "energy_density_Wh_kg": "Wh/kg",
    "mean_utilization": "",
    "final_voltage_V": "V",
    "theoretical_capacity_mAh_cm2": "mAh/cm^2",
    "removed_electrolyte_fraction": "",
}
MAIN = "main"


@dataclass
class Variant:
    """One sweep of a study: ``name`` (its output subfolder), ``label``, ``changes`` ({dotted
    path: value} as written; {} for the case as written) and ``case`` (resolved, with its sweep)."""

    name: str
    label: str
    changes: dict
    case: object = field(repr=False)


@dataclass
class Ours:
    """How our number of a comparison is computed from a variant's points (module docstring)."""

    metric: str
    variant: str = MAIN
    where: dict = field(default_factory=dict)
    minus: dict = field(default_factory=dict)
    relative: bool = False
    reduce: str = "value"
    over: str | None = None


@dataclass
class Comparison:
    """A number of the paper (``value`` as written, from ``figure``) and, with ``ours``, ours."""

    quantity: str
    figure: str
    value: object
    ours: Ours | None = None


@dataclass
class Study:
    """The resolved ``study:`` section. ``variants[0]`` is the case as written (:data:`MAIN`)."""

    title: str
    source: str
    variants: list[Variant]
    paper: list[Comparison]
    notes: list[str] = field(default_factory=list)
    ranks_per_point: int = 1
    plot: tuple = PLOT

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


def _text(value, where: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
        raise InputError(f"{where} must be a non-empty text, got {value!r}.")
    return str(value).strip()


def resolve_study(raw: dict, base_dir: Path | None, name: str, resolve_case) -> Study:
    """The ``study`` section of the case dict ``raw`` (whose other sections resolve to ``case``
    with a sweep); ``resolve_case(raw, base_dir, path, default_name)`` resolves the variants."""
    from fem_assb.case.load import _set_path, check_keys

    spec = raw["study"]
    if not isinstance(spec, dict):
        raise InputError("study must be a mapping {title, source, paper: [...], ...}; see docs/studies.md.")
    check_keys(spec, STUDY_KEYS, "study")
    for key in ("title", "source", "paper"):
        if key not in spec:
            raise InputError(f"study needs {key!r} (docs/studies.md, 'Seed studies').")
    op = raw.get("operation") or {}
    if not isinstance(op, dict) or "sweep" not in op:
        raise InputError(
            "study: the case has no operation.sweep; a study runs a sweep (give operation.sweep)."
        )
    sweep = op["sweep"]
    if isinstance(sweep, dict) and "concurrent" in sweep:
        raise InputError(
            "operation.sweep.concurrent has no effect in a study: `fem-assb study` runs "
            "(MPI ranks / study.ranks_per_point) points at once; remove it (or set "
            "study.ranks_per_point)."
        )
    rpp = spec.get("ranks_per_point", 1)
    if isinstance(rpp, bool) or not isinstance(rpp, int) or rpp < 1:
        raise InputError(f"study.ranks_per_point = {rpp!r} must be an integer >= 1.")
    notes = spec.get("notes") or []
    if not isinstance(notes, list):
        notes = [notes]
    notes = [_text(n, "study.notes[]") for n in notes]
    base = {k: v for k, v in raw.items() if k != "study"}
    variants = [Variant(MAIN, _text(spec.get("label", "as written"), "study.label"), {}, None)]
    entries = spec.get("variants") or []
    if not isinstance(entries, list):
        raise InputError("study.variants must be a list of {name, label, set: {PATH: VALUE}, sweep}.")
    for k, entry in enumerate(entries):
        where = f"study.variants[{k}]"
        check_keys(entry, VARIANT_KEYS, where)
        vname = _text(entry.get("name", ""), f"{where}.name")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", vname):
            raise InputError(
                f"{where}.name = {vname!r} must be a plain name (letters, digits, _ . -): its folder."
            )
        if vname in [v.name for v in variants]:
            raise InputError(f"{where}.name = {vname!r} is given twice ({MAIN!r} is the case as written).")
        changes = entry.get("set") or {}
        if not isinstance(changes, dict) or not (changes or "sweep" in entry):
            raise InputError(f"{where} needs set: {{PATH: VALUE, ...}} (or a sweep of its own).")
        sub = copy.deepcopy(base)
        for path, value in changes.items():
            if str(path).split(".")[0] not in ("structure", "cell", "materials", "operation", "numerics"):
                raise InputError(
                    f"{where}.set: {path!r} must start with structure, cell, materials, operation "
                    "or numerics."
                )
            if str(path).startswith("operation.sweep"):
                raise InputError(f"{where}.set: give the variant's sweep as {where}.sweep, not in set.")
            _set_path(sub, str(path), copy.deepcopy(value))
        if "sweep" in entry:
            if isinstance(entry["sweep"], dict) and "concurrent" in entry["sweep"]:
                raise InputError(f"{where}.sweep.concurrent has no effect in a study; remove it.")
            sub.setdefault("operation", {})["sweep"] = copy.deepcopy(entry["sweep"])
        try:
            case = resolve_case(sub, base_dir=base_dir, path=None, default_name=f"{name}_{vname}")
        except InputError as err:
            raise type(err)(f"{where} ({vname}): {err}") from None
        label = _text(entry.get("label", vname), f"{where}.label")
        variants.append(Variant(vname, label, dict(changes), case))
    paper = spec["paper"]
    if not isinstance(paper, list) or not paper:
        raise InputError("study.paper must be a non-empty list of {quantity, figure, value, ours}.")
    return Study(
        title=_text(spec["title"], "study.title"),
        source=_text(spec["source"], "study.source"),
        variants=variants,
        paper=[_comparison(e, f"study.paper[{k}]") for k, e in enumerate(paper)],
        notes=notes,
        ranks_per_point=rpp,
        plot=_plot_metrics(spec.get("plot", list(PLOT))),
    )


def _plot_metrics(value) -> tuple:
    """study.plot: the two indicators of the report's plots (of :data:`METRIC_UNITS`)."""
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"study.plot must list two indicators, e.g. {list(PLOT)}; got {value!r}.")
    for m in value:
        if m not in METRIC_UNITS:
            raise InputError(
                f"study.plot: {m!r} is unknown{did_you_mean(m, METRIC_UNITS)}; use {', '.join(METRIC_UNITS)}."
            )
    return tuple(value)


def check_comparisons(study: Study) -> None:
    """Every comparison's ``ours`` against the points of its variant (after the main case is set)."""
    for k, comp in enumerate(study.paper):
        if comp.ours is not None:
            _check_ours(comp.ours, study, f"study.paper[{k}].ours")


def _comparison(entry, where: str) -> Comparison:
    from fem_assb.case.load import check_keys

    check_keys(entry, PAPER_KEYS, where)
    for key in ("quantity", "figure", "value"):
        if key not in entry:
            raise InputError(f"{where} needs {key!r}.")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{where}.value = {value!r} must be a number or a text (e.g. '72 %', '14 Wh/kg').")
    ours = None
    if entry.get("ours") is not None:
        o = entry["ours"]
        check_keys(o, OURS_KEYS, f"{where}.ours")
        if "metric" not in o:
            raise InputError(f"{where}.ours needs metric ({', '.join(METRIC_UNITS)}).")
        metric = str(o["metric"])
        if metric not in METRIC_UNITS:
            raise InputError(
                f"{where}.ours.metric {metric!r} is unknown{did_you_mean(metric, METRIC_UNITS)}; "
                f"use one of {', '.join(METRIC_UNITS)}."
            )
        reduce = str(o.get("reduce", "value"))
        if reduce not in REDUCE:
            raise InputError(
                f"{where}.ours.reduce {reduce!r} is unknown{did_you_mean(reduce, REDUCE)}; use one of "
                f"{', '.join(REDUCE)}."
            )
        over = o.get("over")
        if reduce.startswith("arg") and over is None:
            raise InputError(f"{where}.ours.reduce = {reduce} needs over: the swept parameter to report.")
        if over is not None and not reduce.startswith("arg"):
            raise InputError(
                f"{where}.ours.over has no effect with reduce = {reduce}; remove it (or use argmax)."
            )
        relative = o.get("relative", False)
        if not isinstance(relative, bool):
            raise InputError(f"{where}.ours.relative = {relative!r} must be true or false.")
        if relative and not o.get("minus"):
            raise InputError(f"{where}.ours.relative has no effect without minus (the reference points).")
        for key in ("where", "minus"):
            if not isinstance(o.get(key) or {}, dict):
                raise InputError(f"{where}.ours.{key} must be a mapping {{swept parameter: value}}.")
        ours = Ours(
            metric=metric,
            variant=_text(o.get("variant", MAIN), f"{where}.ours.variant"),
            where=dict(o.get("where") or {}),
            minus=dict(o.get("minus") or {}),
            relative=relative,
            reduce=reduce,
            over=None if over is None else str(over),
        )
    return Comparison(
        _text(entry["quantity"], f"{where}.quantity"), _text(entry["figure"], f"{where}.figure"), value, ours
    )


def _check_ours(ours: Ours, study: Study, where: str) -> None:
    names = [v.name for v in study.variants]
    if ours.variant not in names:
        raise InputError(
            f"{where}.variant {ours.variant!r} is unknown{did_you_mean(ours.variant, names)}; "
            f"variants: {', '.join(names)}."
        )
    sweep = study.variant(ours.variant).case.operation.sweep
    params = list(sweep.parameters)
    for key, sel in (("where", ours.where), ("minus", ours.minus)):
        for p, value in sel.items():
            if p not in params:
                raise InputError(
                    f"{where}.{key}: {p!r} is not swept in variant {ours.variant}{did_you_mean(p, params)}; "
                    f"swept: {', '.join(params)}."
                )
            axis = params.index(p)
            if point_index(sweep.values[axis], sweep.values_si[axis], value) is None:
                raise InputError(
                    f"{where}.{key}: {p} = {value!r} is not one of the swept values {sweep.values[axis]}."
                )
    if ours.over is not None and ours.over not in params:
        raise InputError(
            f"{where}.over {ours.over!r} is not swept{did_you_mean(ours.over, params)}; "
            f"swept: {', '.join(params)}."
        )
    free = [p for p in params if p not in ours.where]
    if ours.reduce == "value" and free:
        raise InputError(
            f"{where}: reduce = value needs one point; where leaves {', '.join(free)} free (give it a "
            "value there, or reduce with max, min, argmax, argmin)."
        )


def point_index(values, values_si, value) -> int | None:
    """The index of ``value`` among a swept parameter's ``values`` (a quantity compared in SI to
    1e-9 relative, anything else as written), None if absent."""
    from fem_assb.case.load import _si_or_none

    si = _si_or_none(value)
    for k, (v, s) in enumerate(zip(values, values_si, strict=True)):
        if si is not None and s is not None:
            if abs(si - s) <= 1e-9 * max(abs(si), abs(s), 1e-300):
                return k
        elif str(v) == str(value) or v == value:
            return k
    return None

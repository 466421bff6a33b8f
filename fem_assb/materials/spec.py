"""Parameter specifications with units -> SI floats or Functionals (with clear errors).

A parameter is written as one of:

- a quantity with units: ``"0.7 mS/cm"`` (a functional parameter becomes a constant function);
- ``{value: "0.7 mS/cm", arrhenius: {E_A: "0.3 eV", T_ref: "298.15 K"}}``;
- ``{model: NAME, value: "<value at initial conditions>"}`` (a registered published form);
- ``{expr: "1e-2 * exp(-5 * x)", unit: "S/cm"}`` (a formula of x or c, and T);
- ``{table: {x: [...], value: [...]}, unit: "S/cm"}`` or ``{csv: "file.csv", unit: ...}``
  (monotone piecewise-linear; options ``interpolate: linear|log``, ``extension: constant|linear``);

each optionally with ``source: "..."`` and ``arrhenius``. Electrolyte functions are of ``c``;
formulas and tables take c in ``c_unit`` (default mol/L, as the published fits).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from fem_assb.errors import InputError, did_you_mean
from fem_assb.materials.functional import (
    T_REF,
    Functional,
    arrhenius_factor,
    constant,
    expression,
    table,
    with_arrhenius,
)
from fem_assb.units import quantity, registry, to_si

FUNCTIONAL_KEYS = {
    "value",
    "model",
    "expr",
    "table",
    "csv",
    "unit",
    "c_unit",
    "interpolate",
    "extension",
    "arrhenius",
    "source",
}
CONSTANT_KEYS = {"value", "arrhenius", "source"}
ARRHENIUS_KEYS = {"E_A", "T_ref"}


def check_keys(mapping: dict, known, where: str) -> None:
    """Reject unknown keys of ``mapping`` with the nearest valid name."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where} must be a mapping (key: value), got {type(mapping).__name__}.")
    for key in mapping:
        if key not in known:
            raise InputError(
                f"unknown key {key!r} in {where}{did_you_mean(key, known)}; "
                f"valid keys: {', '.join(sorted(known))}."
            )


def energy_per_mol(value, name: str) -> float:
    """An activation energy in J/mol; ``"0.3 eV"`` (per particle) is multiplied by N_A."""
    q = quantity(value, name=name)
    ureg = registry()
    if q.unitless:
        raise InputError(f"{name} = {value!r} has no unit; write e.g. '30 kJ/mol' or '0.3 eV'.")
    if q.check("[energy]"):
        if "electron_volt" not in str(q.units):
            raise InputError(
                f"{name} = {value!r} is an energy, not an energy per mole; write e.g. '30 kJ/mol' "
                "(or per particle in eV, e.g. '0.3 eV')."
            )
        q = q * ureg.avogadro_constant
    try:
        out = float(q.to("J/mol").magnitude)
    except Exception:
        raise InputError(f"{name} = {value!r} is not an energy (J/mol, kJ/mol or eV).") from None
    if not (math.isfinite(out) and out >= 0):
        raise InputError(f"{name} = {value!r} must be a finite activation energy >= 0.")
    return out


def temperature(value, name: str = "temperature") -> float:
    """A temperature in K (accepts '25 degC', '298.15 K')."""
    q = quantity(value, name=name)
    if q.unitless:
        raise InputError(f"{name} = {value!r} has no unit; write e.g. '298.15 K' or '25 degC'.")
    try:
        out = float(q.to("K").magnitude)
    except Exception:
        raise InputError(f"{name} = {value!r} is not a temperature (K or degC).") from None
    if not (math.isfinite(out) and out > 0):
        raise InputError(f"{name} = {value!r} must be an absolute temperature above 0 K.")
    return out


def arrhenius(spec, name: str) -> tuple[float, float]:
    """(E_A [J/mol], T_ref [K]) from ``{E_A: ..., T_ref: ...}`` (T_ref defaults to 298.15 K)."""
    check_keys(spec, ARRHENIUS_KEYS, f"{name}.arrhenius")
    if "E_A" not in spec:
        raise InputError(f"{name}.arrhenius needs E_A (activation energy, e.g. '30 kJ/mol' or '0.3 eV').")
    E_A = energy_per_mol(spec["E_A"], f"{name}.arrhenius.E_A")
    T_ref = temperature(spec.get("T_ref", "298.15 K"), f"{name}.arrhenius.T_ref")
    return E_A, T_ref


def positive(value: float, name: str, *, allow_zero: bool = False, upper: float | None = None) -> float:
    """Reject NaN, negative (or zero) values and values above ``upper``."""
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if upper is not None:
        ok = ok and value <= upper
    if not ok:
        rng = f"{'>= 0' if allow_zero else '> 0'}" + (f" and <= {upper}" if upper is not None else "")
        raise InputError(f"{name} = {value} makes no sense here; it must be a finite number {rng}.")
    return value


def constant_value(spec, unit: str, name: str, T: float) -> float:
    """A constant parameter in SI, with optional Arrhenius evaluated at T [K]."""
    if isinstance(spec, dict):
        check_keys(spec, CONSTANT_KEYS, name)
        if "value" not in spec:
            raise InputError(
                f"{name} is a constant: give 'value: <number> {unit}' (no model, formula or table)."
            )
        value = _si(spec["value"], unit, name)
        if "arrhenius" in spec:
            E_A, T_ref = arrhenius(spec["arrhenius"], name)
            value *= float(arrhenius_factor(T, E_A, T_ref, np))
        return value
    return _si(spec, unit, name)


def _si(value, unit: str, name: str) -> float:
    if isinstance(value, str) and not value.strip():
        raise InputError(f"{name} is empty; give a number with a unit ({unit}).")
    if isinstance(value, float) and math.isnan(value):
        raise InputError(f"{name} is NaN; give a finite number with a unit ({unit}).")
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf"):
        raise InputError(f"{name} = {value!r} is not a finite number.")
    return to_si(value, unit, name=name)


def functional(
    spec,
    unit: str,
    variable: str,
    name: str,
    *,
    v0: float,
    T0: float = T_REF,
    base_dir: Path | None = None,
    default: dict | None = None,
) -> Functional:
    """A Functional from ``spec`` (see module doc). ``v0``: the variable at initial conditions (SI).

    ``default``: the preset's spec; an override with only ``arrhenius`` / ``source`` keys adds
    them to it, so ``{arrhenius: {...}}`` makes a preset function temperature dependent.
    """
    from fem_assb.materials.published import build_model

    if isinstance(spec, dict) and default is not None and set(spec) <= {"arrhenius", "source"}:
        base = dict(default) if isinstance(default, dict) else {"value": default}
        base.pop("arrhenius", None)
        spec = {**base, **spec}
    if not isinstance(spec, dict):
        fn = constant(_si(spec, unit, name), unit, variable)
        return fn.with_meta(source="constant (case file)")
    check_keys(spec, FUNCTIONAL_KEYS, name)
    kinds = [k for k in ("model", "expr", "table", "csv") if k in spec]
    if len(kinds) > 1:
        raise InputError(f"{name}: give only one of model, expr, table, csv (got {', '.join(kinds)}).")
    value0 = _si(spec["value"], unit, f"{name}.value") if "value" in spec else None
    if not kinds:
        if value0 is None:
            raise InputError(f"{name} needs 'value', 'model', 'expr', 'table' or 'csv'.")
        fn = constant(value0, unit, variable)
    elif kinds[0] == "model":
        fn = build_model(str(spec["model"]), name.split(".")[-1], unit, variable, value0, v0, T0)
        if fn.variable != variable:
            raise InputError(
                f"model {spec['model']!r} is a function of {fn.variable}, but {name} is a function "
                f"of {variable}."
            )
    elif kinds[0] == "expr":
        fn = expression(
            spec["expr"], variable, _var_scale(spec, variable, name), _out_scale(spec, unit, name), unit
        )
    else:
        xs, ys = _table_columns(spec, variable, name, base_dir)
        xs = xs / _var_scale(spec, variable, name)
        fn = table(
            xs,
            ys * _out_scale(spec, unit, name),
            unit,
            variable,
            interpolate=spec.get("interpolate", "linear"),
            extension=spec.get("extension", "constant"),
            source=f"table ({spec['csv']})" if "csv" in spec else "table (case file)",
        )
    if "source" in spec:
        fn = fn.with_meta(source=str(spec["source"]) + (f"; {fn.source}" if fn.source else ""))
    if "arrhenius" in spec:
        E_A, T_ref = arrhenius(spec["arrhenius"], name)
        fn = with_arrhenius(fn, E_A, T_ref)
    return fn


def _var_scale(spec, variable, name) -> float:
    """SI variable -> the variable's unit in the formula/table (c: c_unit, default mol/L)."""
    if variable == "x":
        if "c_unit" in spec:
            raise InputError(f"{name} is a function of the stoichiometry x (dimensionless); remove c_unit.")
        return 1.0
    return 1.0 / to_si(f"1 {spec.get('c_unit', 'mol/L')}", "mol/m^3", name=f"{name}.c_unit")


def _out_scale(spec, unit, name) -> float:
    if "unit" not in spec:
        if registry().Quantity(1.0, unit).unitless:
            return 1.0
        raise InputError(f"{name}: a formula or table needs 'unit' (its values' unit, e.g. '{unit}').")
    return to_si(f"1 {spec['unit']}", unit, name=f"{name}.unit")


def _table_columns(spec, variable, name, base_dir):
    if "table" in spec:
        tab = spec["table"]
        if isinstance(tab, dict):
            check_keys(tab, {variable, "value"}, f"{name}.table")
            if variable not in tab or "value" not in tab:
                raise InputError(f"{name}.table needs the lists '{variable}' and 'value'.")
            xs, ys = tab[variable], tab["value"]
        elif isinstance(tab, list) and all(isinstance(r, (list, tuple)) and len(r) == 2 for r in tab):
            xs, ys = [r[0] for r in tab], [r[1] for r in tab]
        else:
            raise InputError(
                f"{name}.table must be {{{variable}: [...], value: [...]}} or a list of "
                f"[{variable}, value] pairs."
            )
        try:
            return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        except (TypeError, ValueError):
            raise InputError(
                f"{name}.table entries must be plain numbers (the unit goes in 'unit')."
            ) from None
    path = Path(str(spec["csv"]))
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise InputError(
            f"{name}: the table file {str(path)!r} does not exist (paths are relative to the case file)."
        )
    rows = []
    with open(path, newline="") as fh:
        for k, row in enumerate(csv.reader(fh)):
            if not row or row[0].strip().startswith("#"):
                continue
            try:
                rows.append([float(row[0]), float(row[1])])
            except (ValueError, IndexError):
                if rows or k > 0:
                    raise InputError(f"{path}: line {k + 1} is not two numbers: {row!r}.") from None
                # the first line may be a header
    if len(rows) < 2:
        raise InputError(f"{path}: needs at least two rows of '{variable}, value'.")
    arr = np.asarray(rows)
    return arr[:, 0], arr[:, 1]

"""A resolved material system (SI floats and Functionals) built from a preset plus overrides.

    s = build_system("NMC811_Li6PS5Cl", overrides={"cam": {"D": "1e-12 cm^2/s"}}, temperature=None)

Sections and their parameters (SI units):

    cam            material, c_max, c0 [mol/m^3], alpha [-], i00 [A m^2.5 mol^-1.5], density [kg/m^3],
                   U0(x,T,m) [V], sigma(x,T,m) [S/m], D(x,T,m) [m^2/s]
    cams           CAM-class label name -> a CAM section as above (further CAM materials of one
                   cell, each entry {preset: <presets.CAM_SETS name>, <cam overrides>}; System.cams)
    electrolyte    kind (solid|liquid), material, c0 [mol/m^3], density [kg/m^3], kappa(c,T,m) [S/m],
                   D(c,T,m) [m^2/s], t_plus(c,T,m) [-], tdf(c,T,m) [-]
    anode          material, U0 [V], i0 [A/m^2], alpha [-], sigma [S/m], density [kg/m^3], capacity [C/kg]
    separator      material (SE|LE), porosity [-], kappa_factor [-], D_factor [-], thickness [m]
    cbd            porosity, kappa_factor, D_factor [-], density [kg/m^3] (solid) (liquid systems)
    grain_boundary i_GB0 [A/m^2], C_GB [F/m^2]                               (or None)
    film           l_cam [m], sigma_cam [S/m], D_cam [m^2/s], l_se [m], kappa_se [S/m], E_A [J/mol]
    double_layer   cathode, anode [F/m^2]                                    (or None)
    operation      the seed's operating conditions: current_density [A/m^2], cutoff_voltage [V],
                   max_voltage [V], cathode_thickness [m] (where the seed gives them)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fem_assb.constants import FARADAY
from fem_assb.constants import GAS_CONSTANT as R_GAS
from fem_assb.errors import InputError
from fem_assb.materials import spec as S
from fem_assb.materials.functional import Functional, arrhenius_factor, constant

# parameter -> (SI unit, kind); kind: "pos" (> 0), "nonneg" (>= 0), "unit" (0 < v <= 1),
# "frac" (0 <= v <= 1), "any", "f:<var>:<check>" (functional of x or c), "str"
SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "cam": {
        "material": ("", "str"),
        "c_max": ("mol/m^3", "pos"),
        "c0": ("mol/m^3", "pos"),
        "alpha": ("1", "open"),
        "i00": ("A*m^2.5/mol^1.5", "pos"),
        "density": ("kg/m^3", "pos"),
        "U0": ("V", "f:x:any"),
        "sigma": ("S/m", "f:x:pos"),
        "D": ("m^2/s", "f:x:pos"),
    },
    "electrolyte": {
        "kind": ("", "str"),
        "material": ("", "str"),
        "c0": ("mol/m^3", "pos"),
        "density": ("kg/m^3", "pos"),
        "kappa": ("S/m", "f:c:pos"),
        "D": ("m^2/s", "f:c:pos"),
        "t_plus": ("1", "f:c:any"),
        "tdf": ("1", "f:c:pos"),
    },
    "anode": {
        "material": ("", "str"),
        "U0": ("V", "any"),
        "i0": ("A/m^2", "pos"),
        "alpha": ("1", "open"),
        "sigma": ("S/m", "pos"),
        "density": ("kg/m^3", "pos"),
        "capacity": ("C/kg", "pos"),
    },
    "separator": {
        "material": ("", "str"),
        "porosity": ("1", "frac"),
        "kappa_factor": ("1", "unit"),
        "D_factor": ("1", "unit"),
        "thickness": ("m", "pos"),
    },
    "cbd": {
        "porosity": ("1", "unit"),
        "kappa_factor": ("1", "unit"),
        "D_factor": ("1", "unit"),
        "density": ("kg/m^3", "pos"),
    },
    "grain_boundary": {"i_GB0": ("A/m^2", "pos"), "C_GB": ("F/m^2", "nonneg")},
    "film": {
        "l_cam": ("m", "nonneg"),
        "sigma_cam": ("S/m", "pos"),
        "D_cam": ("m^2/s", "pos"),
        "l_se": ("m", "nonneg"),
        "kappa_se": ("S/m", "pos"),
    },
    "double_layer": {"cathode": ("F/m^2", "nonneg"), "anode": ("F/m^2", "nonneg")},
    "operation": {
        "current_density": ("A/m^2", "pos"),
        "cutoff_voltage": ("V", "pos"),
        "max_voltage": ("V", "pos"),
        "cathode_thickness": ("m", "pos"),
    },
}
REQUIRED = {
    "cam": ("material", "c_max", "c0", "alpha", "i00", "density", "U0", "sigma", "D"),
    "electrolyte": ("kind", "material", "c0", "kappa", "density"),
    "anode": ("i0", "sigma", "density", "capacity"),
    "separator": ("material", "thickness"),
    "cbd": ("porosity", "kappa_factor", "density"),
    "grain_boundary": ("i_GB0",),  # C_GB optional: no GB capacitance without it
    "film": ("l_cam", "sigma_cam", "D_cam", "l_se", "kappa_se"),
}
OPTIONAL_SECTIONS = ("cbd", "grain_boundary", "film", "double_layer", "operation")
TOP_KEYS = {"description", "sources", "temperature", "cams"} | set(SCHEMA)


class Section:
    """Attribute access to one resolved section (floats, strings and Functionals)."""

    def __init__(self, name: str, values: dict):
        self._name = name
        self.__dict__.update(values)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __repr__(self):
        return f"{self._name}({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"


class CAM(Section):
    @property
    def x0(self) -> float:
        """Initial stoichiometry c0 / c_max [-]."""
        return self.c0 / self.c_max


class Film(Section):
    def resistance(self) -> float:
        """R_RF = l_cam / sigma_cam + l_se / kappa_se [Ohm m^2] ([003] Eqs. 6, 7, 10)."""
        return self.l_cam / self.sigma_cam + self.l_se / self.kappa_se

    def D_at(self, T: float) -> float:
        """D_cam at T [K] by the Arrhenius law of [003] Eq. 11 (D_cam is the value at T_ref)."""
        return self.D_cam * float(arrhenius_factor(T, self.E_A, self.T_ref, np))


@dataclass
class Row:
    """One line of the parameter table: path, SI value (at initial conditions), unit, source, note."""

    path: str
    value: object
    unit: str
    source: str = ""
    note: str = ""


@dataclass
class System:
    """A material system in SI. ``rows``: the parameter table with sources (``materials show``)."""

    name: str
    description: str
    sources: list[str]
    temperature: float
    cam: CAM
    electrolyte: Section
    anode: Section
    separator: Section
    cbd: Section | None = None
    grain_boundary: Section | None = None
    film: Film | None = None
    double_layer: Section | None = None
    operation: Section | None = None
    rows: list[Row] = field(default_factory=list)
    #: further CAM materials: CAM-class label name -> its CAM parameters (``materials.cams``)
    cams: dict[str, CAM] = field(default_factory=dict)

    def cam_of(self, label: str | None = None) -> CAM:
        """The CAM parameters of a CAM-class label name: its ``cams`` entry, else ``cam``."""
        return self.cams.get(label, self.cam) if label is not None else self.cam

    def exchange_current_density(self, x: float | None = None) -> float:
        """i0 [A/m^2] of the CAM | electrolyte interface (MODEL.md §3) at the stoichiometry x
        (default: x0, the initial conditions), the electrolyte's c0 and the system temperature;
        the same function as the cell forms (materials.kinetics, regularized at saturation)."""
        from fem_assb.materials.kinetics import exchange_current_density

        c = self.cam
        c_s = c.c0 if x is None else float(x) * c.c_max
        return float(exchange_current_density(c.i00, c.alpha, self.electrolyte.c0, c_s, c.c_max, np))

    def initial_ocv(self) -> float:
        """U0 of the CAM at x0 and the system temperature [V]."""
        return self.cam.U0.value_at(self.cam.x0, self.temperature)


def merge(preset: dict, overrides: dict | None) -> dict:
    """The preset dict with override sections merged in (None removes an optional section)."""
    out = copy.deepcopy(preset)
    if not overrides:
        return out
    S.check_keys(overrides, TOP_KEYS - {"description", "sources"}, "materials")
    for key, value in overrides.items():
        if key == "temperature":
            out["temperature"] = value
            continue
        if key == "cams":  # resolved per label by cam_sets (each entry names its own base)
            if value is not None and not isinstance(value, dict):
                raise InputError(
                    "materials.cams must map CAM labels of the structure to parameter sets, e.g. "
                    "cams: {AL_LCO: {preset: Al-LCO}}."
                )
            out["cams"] = {**(out.get("cams") or {}), **(value or {})}
            continue
        if value is None:
            if key not in OPTIONAL_SECTIONS:
                raise InputError(
                    f"materials.{key} cannot be removed; only {', '.join(OPTIONAL_SECTIONS)} can."
                )
            out[key] = None
            continue
        S.check_keys(value, SCHEMA[key], f"materials.{key}")
        section = dict(out.get(key) or {})
        for param, pspec in value.items():
            if isinstance(pspec, dict) and set(pspec) <= {"arrhenius", "source"} and param in section:
                pspec = {"_base": section[param], **pspec}
            section[param] = {"_override": pspec}
        out[key] = section
    return out


def build_system(
    name: str, data: dict, *, temperature: float | None = None, base_dir: Path | None = None
) -> System:
    """Resolve a (merged) preset dict into a :class:`System` at ``temperature`` [K]."""
    rows: list[Row] = []
    T = temperature if temperature is not None else S.temperature(_plain(data["temperature"]))
    S.positive(T, "temperature")
    rows.append(
        Row(
            "temperature",
            T,
            "K",
            _source(data["temperature"])
            if temperature is None
            else "set by the caller (case operation.temperature)",
        )
    )
    resolved: dict[str, object] = {}
    for section in ("cam", "electrolyte", "anode", "separator", *OPTIONAL_SECTIONS):
        sdata = data.get(section)
        if sdata is None:
            if section not in OPTIONAL_SECTIONS:
                raise InputError(f"material system {name!r} has no {section} section.")
            resolved[section] = None
            continue
        resolved[section] = _resolve_section(section, sdata, section, T, base_dir, rows)
    _complete(resolved, rows, T, data)
    _check_consistency(name, resolved, T)
    sections = {k: (None if v is None else _section_class(k)(k, v)) for k, v in resolved.items()}
    cams = {
        label: CAM("cam", _resolve_section("cam", sdata, f"cams.{label}", T, base_dir, rows))
        for label, sdata in cam_sets(data).items()
    }
    return System(
        name=name,
        description=str(data.get("description", "")),
        sources=list(data.get("sources", [])),
        temperature=T,
        rows=rows,
        cams=cams,
        **sections,
    )


def _resolve_section(section: str, sdata: dict, prefix: str, T, base_dir, rows) -> dict:
    """The SI values of one section's (merged) data; ``prefix``: the parameter paths' start in
    messages and rows (``cam``, ``cams.AL_LCO``)."""
    missing = [k for k in REQUIRED.get(section, ()) if k not in sdata]
    if missing:
        raise InputError(f"materials.{prefix} misses {', '.join(missing)}; give them with units.")
    values = {}
    cam_x0 = None
    if section == "cam":
        c0 = _const(sdata["c0"], "mol/m^3", f"{prefix}.c0", T, rows, "pos")
        c_max = _const(sdata["c_max"], "mol/m^3", f"{prefix}.c_max", T, rows, "pos")
        if not c0 < c_max:
            raise InputError(
                f"{prefix}.c0 = {c0:g} mol/m^3 must be below {prefix}.c_max = {c_max:g} mol/m^3 "
                f"(the initial stoichiometry x0 = c0/c_max must lie in (0, 1))."
            )
        values.update(c0=c0, c_max=c_max)
        cam_x0 = c0 / c_max
    for param, (unit, kind) in SCHEMA[section].items():
        if param in values or param not in sdata:
            continue
        path = f"{prefix}.{param}"
        pspec = sdata[param]
        if kind == "str":
            values[param] = str(_plain(pspec))
            rows.append(Row(path, values[param], "", _source(pspec)))
        elif kind.startswith("f:"):
            _, var, check = kind.split(":")
            v0 = cam_x0 if var == "x" else values.get("c0")
            values[param] = _functional(pspec, unit, var, path, v0, T, base_dir, rows, check)
        else:
            values[param] = _const(pspec, unit, path, T, rows, kind)
    return values


#: Keys of one entry of ``materials.cams`` besides the cam parameters of SCHEMA["cam"].
CAM_SET_KEYS = ("preset",)


def cam_sets(data: dict) -> dict[str, dict]:
    """The merged data of each further CAM material of a (merged) system dict: ``data["cams"]``
    maps a CAM-class label name of the structure to an entry ``{preset: NAME, <cam parameter>:
    ...}``. The entry starts from the CAM parameter set ``preset`` (:data:`presets.CAM_SETS`) or,
    without one, from the system's own ``cam`` section, and its parameters override that base
    exactly as a case's ``materials.cam`` overrides a preset's."""
    from fem_assb.errors import did_you_mean
    from fem_assb.materials.presets import CAM_SETS

    out = {}
    for label, entry in (data.get("cams") or {}).items():
        where = f"materials.cams.{label}"
        if not isinstance(entry, dict):
            raise InputError(
                f"{where} must be a mapping, e.g. {{preset: Al-LCO}} or cam parameters with units; "
                f"got {entry!r}."
            )
        S.check_keys(entry, (*CAM_SET_KEYS, *SCHEMA["cam"]), where)
        preset = entry.get("preset")
        if preset is None:
            base = data["cam"]
        elif str(preset) in CAM_SETS:
            base = CAM_SETS[str(preset)]
        else:
            raise InputError(
                f"{where}.preset: unknown CAM parameter set {preset!r}{did_you_mean(str(preset), CAM_SETS)}; "
                f"known: {', '.join(CAM_SETS)} (or leave preset out to start from materials.cam)."
            )
        section = dict(base)
        for param, pspec in entry.items():
            if param in CAM_SET_KEYS:
                continue
            if isinstance(pspec, dict) and set(pspec) <= {"arrhenius", "source"} and param in section:
                pspec = {"_base": section[param], **pspec}
            section[param] = {"_override": pspec}
        out[str(label)] = section
    return out


def _section_class(name):
    return {"cam": CAM, "film": Film}.get(name, Section)


def _plain(pspec):
    """The user's spec without the merge markers."""
    while isinstance(pspec, dict) and "_override" in pspec:
        pspec = pspec["_override"]
    if isinstance(pspec, dict) and "value" in pspec and set(pspec) <= {"value", "source"}:
        return pspec["value"]
    return pspec


def _unwrap(pspec):
    """(spec, default spec, is_override) with merge markers removed."""
    if isinstance(pspec, dict) and "_override" in pspec:
        inner = pspec["_override"]
        if isinstance(inner, dict) and "_base" in inner:
            base = _unwrap(inner["_base"])[0]
            return {k: v for k, v in inner.items() if k != "_base"}, base, True
        return inner, None, True
    return pspec, None, False


def _source(pspec) -> str:
    spec, base, override = _unwrap(pspec)
    if override:
        extra = spec.get("source") if isinstance(spec, dict) else None
        return "override (case file)" + (f": {extra}" if extra else "")
    return str(spec.get("source", "")) if isinstance(spec, dict) else ""


def _const(pspec, unit, path, T, rows, kind) -> float:
    spec, base, _ = _unwrap(pspec)
    if base is not None:  # e.g. an arrhenius block added to a preset constant
        spec = {**(base if isinstance(base, dict) else {"value": base}), **spec}
    value = S.constant_value(spec, unit, path, T)
    _check_value(value, path, kind)
    note = ""
    if isinstance(spec, dict) and "arrhenius" in spec:
        E_A, T_ref = S.arrhenius(spec["arrhenius"], path)
        note = f"Arrhenius E_A = {E_A / 1e3:.4g} kJ/mol, T_ref = {T_ref:.2f} K; value at {T:.2f} K"
    rows.append(Row(path, value, unit, _source(pspec), note))
    return value


def _check_value(value, path, kind):
    if kind == "pos":
        S.positive(value, path)
    elif kind == "nonneg":
        S.positive(value, path, allow_zero=True)
    elif kind == "unit":
        S.positive(value, path, upper=1.0)
    elif kind == "frac":
        S.positive(value, path, allow_zero=True, upper=1.0)
    elif kind == "open":
        if not (math.isfinite(value) and 0 < value < 1):
            raise InputError(
                f"{path} = {value} makes no sense; a symmetry factor lies strictly between 0 and 1."
            )
    elif not math.isfinite(value):
        raise InputError(f"{path} = {value} is not a finite number.")


def _functional(pspec, unit, var, path, v0, T, base_dir, rows, check) -> Functional:
    spec, base, _ = _unwrap(pspec)
    if spec is None:
        raise InputError(f"{path} is empty; give a value with units, a model, a formula or a table.")
    fn = S.functional(
        spec, unit, var, path, v0=v0 if v0 is not None else 0.5, T0=T, base_dir=base_dir, default=base
    )
    _, _, override = _unwrap(pspec)
    src = f"override (case file); {fn.source}" if override else fn.source
    lo, hi = fn.valid
    if v0 is not None and not (lo <= v0 <= hi):
        what = "stoichiometry x0 = c0/c_max" if var == "x" else "electrolyte concentration c0"
        unit_v = "" if var == "x" else " mol/m^3"
        raise InputError(
            f"{path}: the initial {what} = {v0:.6g}{unit_v} lies outside the valid range "
            f"[{lo:.6g}, {hi:.6g}]{unit_v} of {fn.name}; change c0 or give a function valid there."
        )
    # values must be finite (and positive where required) on the valid range and at v0
    grid = _probe_grid(fn, var, v0)
    vals = fn.numpy(grid, T)
    if not np.all(np.isfinite(vals)):
        bad = grid[~np.isfinite(vals)][0]
        raise InputError(
            f"{path} ({fn.name}) is NaN or infinite at {var} = {bad:.6g}; check the formula or table."
        )
    if check == "pos" and np.any(vals <= 0):
        bad = grid[vals <= 0][0]
        raise InputError(
            f"{path} ({fn.name}) = {vals[vals <= 0][0]:.4g} {unit} at {var} = {bad:.6g}; "
            f"it must be positive there."
        )
    note = "" if fn.name == "constant" else fn.name
    if math.isfinite(lo) or math.isfinite(hi):
        note += f"; valid {var} in [{lo:.4g}, {hi:.4g}]"
    if fn.assumption:
        note += f"; ASSUMPTION: {fn.assumption}"
    at = fn.value_at(v0, T) if v0 is not None else None
    rows.append(Row(path, at, unit, src, note))
    return fn


def _probe_grid(fn, var, v0):
    lo, hi = fn.valid
    if var == "x":
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    else:
        lo = max(lo, 0.0 if v0 is None else 0.05 * v0)
        hi = min(hi, 3.0 * (v0 or 1000.0))
    pts = np.linspace(lo, hi, 201) if hi > lo else np.array([lo])
    return pts if v0 is None else np.sort(np.append(pts, v0))


def _complete(res: dict, rows: list[Row], T: float, data: dict) -> None:
    """Fill the documented defaults: solid t+ = 1, separator factors, film E_A."""
    el = res["electrolyte"]
    if el["kind"] not in ("solid", "liquid"):
        raise InputError(f"electrolyte.kind = {el['kind']!r}; use 'solid' or 'liquid'.")
    if el["kind"] == "liquid":
        missing = [k for k in ("D", "t_plus", "tdf") if k not in el]
        if missing:
            raise InputError(
                f"a liquid electrolyte needs {', '.join(missing)} (functions of c or constants)."
            )
    else:
        el.setdefault("t_plus", constant(1.0, "1", "c"))
        el.setdefault("D", None)
        el.setdefault("tdf", None)
    an = res["anode"]
    an.setdefault("U0", 0.0)
    an.setdefault("alpha", 0.5)
    an.setdefault("material", "Li metal")
    sep = res["separator"]
    if sep["material"] not in ("SE", "LE"):
        raise InputError(
            f"separator.material = {sep['material']!r}; use 'SE' (dense) or 'LE' (porous, liquid)."
        )
    sep.setdefault("porosity", 0.0 if sep["material"] == "SE" else 0.5)
    sep.setdefault("kappa_factor", 1.0 if sep["material"] == "SE" else 0.5)
    sep.setdefault("D_factor", sep["kappa_factor"])
    sep["kind"] = "dense" if sep["material"] == "SE" else "porous"
    if res.get("cbd") is not None:
        res["cbd"].setdefault("D_factor", res["cbd"]["kappa_factor"])
    film = res.get("film")
    if film is not None:
        arr = _film_arrhenius(data["film"])
        film["E_A"] = arr[0] if arr else 0.0
        film["T_ref"] = T  # D_cam is stored at the system temperature
        rows.append(Row("film.E_A", film["E_A"], "J/mol", "Arrhenius of film.D_cam ([003] Eq. 11)"))


def _film_arrhenius(data_film) -> tuple[float, float] | None:
    spec, base, _ = _unwrap(data_film.get("D_cam"))
    if base is not None and isinstance(base, dict):
        spec = {**base, **spec}
    if isinstance(spec, dict) and "arrhenius" in spec:
        return S.arrhenius(spec["arrhenius"], "film.D_cam")
    return None


def _check_consistency(name: str, res: dict, T: float) -> None:
    el, sep = res["electrolyte"], res["separator"]
    if el["kind"] == "solid" and sep["material"] != "SE":
        raise InputError(f"{name}: a solid electrolyte needs a dense separator (separator.material: SE).")
    if el["kind"] == "liquid" and sep["material"] != "LE":
        raise InputError(f"{name}: a liquid electrolyte needs a porous separator (separator.material: LE).")
    if sep["material"] == "LE" and not sep["porosity"] > 0:
        raise InputError("separator.porosity must be > 0 for a porous (LE) separator.")
    if res.get("cbd") is not None and el["kind"] != "liquid":
        raise InputError(
            f"{name}: a CBD section needs a liquid electrolyte (the ASSB cases are binder-free)."
        )


__all__ = ["System", "Row", "build_system", "merge", "FARADAY", "R_GAS"]

"""Functional parameters: a value as a function of one state variable and T, for numpy and UFL.

A :class:`Functional` wraps ``f(v, T, m)`` where ``v`` is the CAM stoichiometry x = c_s/c_max
(``variable = "x"``) or the electrolyte concentration c [mol/m^3] (``variable = "c"``), T is
the temperature [K] and ``m`` the math namespace (``numpy``, ``ufl`` or
:mod:`fem_assb.materials.mathns`). Results are SI (``unit``). The same definition serves both
back ends; see :mod:`fem_assb.materials.mathns`.

Building blocks (each written once): :func:`constant`, :func:`scaled` (a published shape
scaled to a table value at initial conditions), :func:`with_arrhenius` (MODEL.md §3, [003]
Eq. 11), :func:`bounded` (evaluate inside the valid range, extend outside), :func:`table`
(monotone piecewise-linear interpolation, UFL-safe) and :func:`expression` (a user formula).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from fem_assb.constants import FARADAY  # noqa: F401  (re-exported: fem_assb.materials.FARADAY)
from fem_assb.constants import GAS_CONSTANT as R_GAS  # J/(mol K)
from fem_assb.errors import InputError
from fem_assb.materials import mathns

#: Reference temperature [K] of the tabulated parameters and of the Arrhenius laws.
T_REF = 298.15


@dataclass(frozen=True)
class Functional:
    """A functional parameter ``f(v, T, m)`` with its unit, valid range and provenance.

    ``valid``: (lo, hi) range of ``v`` where the formula is trusted (SI: x [-] or c [mol/m^3]);
    outside it the value is extended as documented by ``extension``. ``assumption``: text that
    says what is assumed rather than published (None for a published fit used as printed).
    """

    f: Callable
    unit: str
    variable: str = "x"
    valid: tuple[float, float] = (-math.inf, math.inf)
    name: str = "function"
    source: str = ""
    assumption: str | None = None
    extension: str = "none"

    def __call__(self, v, T, m=None):
        return self.f(v, T, mathns.of(m, like=v))

    def numpy(self, v, T=T_REF):
        """Evaluate with numpy on floats or arrays (returns an ndarray broadcast to ``v``)."""
        v = np.asarray(v, dtype=float)
        return np.broadcast_to(np.asarray(self.f(v, T, mathns.of("numpy")), dtype=float), v.shape).copy()

    def value_at(self, v, T=T_REF) -> float:
        return float(self.numpy(float(v), T))

    def is_constant(self) -> bool:
        return self.name == "constant"

    def with_meta(self, **kw) -> Functional:
        return replace(self, **kw)


def constant(value: float, unit: str, variable: str = "x", source: str = "") -> Functional:
    """A constant functional parameter (the value for every v and T)."""
    value = float(value)

    def f(v, T, m):
        return value + 0.0 * v

    return Functional(f, unit, variable, name="constant", source=source)


def scaled(shape: Functional, value0: float, v0: float, T0: float = T_REF, **meta) -> Functional:
    """``shape`` multiplied so that its value at (v0, T0) equals ``value0``."""
    ref = shape.value_at(v0, T0)
    if not (math.isfinite(ref) and ref != 0):
        raise InputError(f"cannot scale {shape.name}: its value at {v0} is {ref}.")
    factor = value0 / ref
    g = shape.f

    def f(v, T, m):
        return factor * g(v, T, m)

    return replace(shape, f=f, **meta)


def arrhenius_factor(T, E_A: float, T_ref: float, m):
    """exp(-E_A/R (1/T - 1/T_ref)): the Arrhenius law of any rate ([003] Eq. 11, MODEL.md §3)."""
    return m.exp(-E_A / R_GAS * (1.0 / T - 1.0 / T_ref))


def with_arrhenius(fn: Functional, E_A: float, T_ref: float) -> Functional:
    """``fn`` times the Arrhenius factor: equal to ``fn`` at T_ref, activation energy E_A [J/mol]."""
    g = fn.f

    def f(v, T, m):
        return g(v, T, m) * arrhenius_factor(T, E_A, T_ref, m)

    note = f"Arrhenius: E_A = {E_A:.4g} J/mol, T_ref = {T_ref:.2f} K"
    return replace(fn, f=f, name=f"{fn.name} x arrhenius", source=(fn.source + "; " + note).strip("; "))


def bounded(fn: Functional, lo: float, hi: float, extension: str = "constant") -> Functional:
    """Evaluate ``fn`` inside [lo, hi]; outside, extend as ``"constant"`` (clamp) or ``"linear"``.

    The linear extension continues the end slopes (one-sided differences over 1e-4 of the range,
    at T_REF), so an open-circuit potential stays monotone, finite and differentiable beyond its
    valid range (Newton may step outside it transiently). UFL-safe (max/min only).
    """
    if extension not in ("constant", "linear"):
        raise InputError(f"extension must be 'constant' or 'linear', got {extension!r}.")
    g = fn.f
    if extension == "linear":
        npm = mathns.of("numpy")
        h = 1e-4 * (hi - lo)
        s_lo = float((g(lo + h, T_REF, npm) - g(lo, T_REF, npm)) / h)
        s_hi = float((g(hi, T_REF, npm) - g(hi - h, T_REF, npm)) / h)
    else:
        s_lo = s_hi = 0.0

    def f(v, T, m):
        inner = g(m.clip(v, lo, hi), T, m)
        if extension == "constant":
            return inner
        return inner + s_lo * m.min_value(v - lo, 0.0) + s_hi * m.max_value(v - hi, 0.0)

    return replace(fn, f=f, valid=(lo, hi), extension=extension)


def table(
    xs,
    ys,
    unit: str,
    variable: str = "x",
    interpolate: str = "linear",
    extension: str = "constant",
    name: str = "table",
    source: str = "",
) -> Functional:
    """Piecewise-linear interpolation of (xs, ys), monotone (no overshoot), numpy and UFL.

    Written as a sum of ramps, ``y0 + sum_k (s_k - s_{k-1}) max(v - x_k, 0)``, so the UFL
    expression grows linearly with the number of points (no nested conditionals).
    ``interpolate = "log"`` interpolates log(y) (for values spanning decades; y > 0).
    Outside [x0, xn] the value is held constant (``extension="constant"``) or the end slopes
    continue (``"linear"``).
    """
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < 2:
        raise InputError(f"a table needs two columns of equal length >= 2; got {xs.shape} and {ys.shape}.")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise InputError("a table contains NaN or infinite values; every entry must be a finite number.")
    if np.any(np.diff(xs) <= 0):
        k = int(np.argmax(np.diff(xs) <= 0))
        raise InputError(
            f"table {variable} values must increase strictly; entry {k + 1} ({xs[k + 1]}) does not exceed "
            f"entry {k} ({xs[k]}). Sort the rows and remove duplicates."
        )
    if interpolate not in ("linear", "log"):
        raise InputError(f"interpolate must be 'linear' or 'log', got {interpolate!r}.")
    if extension not in ("constant", "linear"):
        raise InputError(f"extension must be 'constant' or 'linear', got {extension!r}.")
    if interpolate == "log":
        if np.any(ys <= 0):
            raise InputError("interpolate: log needs positive table values.")
        ys = np.log(ys)
    slopes = np.diff(ys) / np.diff(xs)
    jumps = np.diff(np.concatenate([[0.0], slopes]))  # slope change at x_0 .. x_{n-2}
    x0, xn, y0 = float(xs[0]), float(xs[-1]), float(ys[0])
    knots = [(float(a), float(b)) for a, b in zip(xs[:-1], jumps, strict=True)]
    s_first, s_last = float(slopes[0]), float(slopes[-1])

    def f(v, T, m):
        vc = m.clip(v, x0, xn)
        out = y0 + 0.0 * v
        for xk, dk in knots:
            out = out + dk * m.max_value(vc - xk, 0.0)
        if extension == "linear":
            out = out + s_first * m.min_value(v - x0, 0.0) + s_last * m.max_value(v - xn, 0.0)
        return m.exp(out) if interpolate == "log" else out

    return Functional(f, unit, variable, valid=(x0, xn), name=name, source=source, extension=extension)


_FUNCS = {
    "exp": "exp",
    "log": "log",
    "ln": "log",
    "tanh": "tanh",
    "sqrt": "sqrt",
    "min": "min_value",
    "max": "max_value",
    "clip": "clip",
}


def expression(
    text: str, variable: str, scale_v: float, scale_out: float, unit: str, source: str = ""
) -> Functional:
    """A user formula of ``x`` (or ``c``) and ``T`` such as ``"1e-2 * exp(-5 * x)"``.

    ``scale_v`` converts the SI variable to the unit the formula is written in (e.g. 1e-3 for c
    in mol/L); ``scale_out`` converts the formula's result to SI. Allowed: numbers, + - * / **,
    the names x (or c) and T, and exp, log (= ln), tanh, sqrt, min, max, clip.
    """
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"expression {text!r} is not a valid formula ({exc.msg}).") from None
    allowed_names = {variable, "T"} | set(_FUNCS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in allowed_names:
            raise InputError(
                f"expression {text!r} uses the unknown name {node.id!r}; allowed are {variable}, T and "
                f"{', '.join(sorted(_FUNCS))}."
            )
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise InputError(
                f"expression {text!r}: only the functions {', '.join(sorted(_FUNCS))} may be called."
            )
        if not isinstance(
            node,
            (
                ast.Expression,
                ast.BinOp,
                ast.UnaryOp,
                ast.Call,
                ast.Name,
                ast.Load,
                ast.Constant,
                ast.operator,
                ast.unaryop,
            ),
        ):
            raise InputError(f"expression {text!r} contains {type(node).__name__}; use arithmetic only.")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise InputError(f"expression {text!r} contains the non-number {node.value!r}.")
    code = compile(tree, "<expression>", "eval")

    def f(v, T, m):
        names = {k: getattr(m, attr) for k, attr in _FUNCS.items()}
        names[variable] = v * scale_v
        names["T"] = T
        return scale_out * eval(code, {"__builtins__": {}}, names)  # noqa: S307 - AST checked above

    fn = Functional(
        f, unit, "x" if variable == "x" else "c", name="expression", source=source or f"expression {text}"
    )
    probe = fn.numpy(np.linspace(0.05, 0.95, 5) / (scale_v if variable == "c" else 1.0), T_REF)
    if not np.all(np.isfinite(probe)):
        raise InputError(f"expression {text!r} gives NaN or infinite values; check it on its range.")
    return fn

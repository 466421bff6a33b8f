"""One math namespace for numpy arrays and UFL expressions.

Every functional parameter is written once as ``def f(x, T, m)``; ``m`` is the ``numpy``
module, the ``ufl`` module, or one of the namespaces below. :func:`of` turns the module into
a namespace with the same names for both back ends:

    exp, log, tanh, sqrt, max_value, min_value, clip, where(cond_gt_a, b, then, else_), pow

Clipping is UFL-safe (``ufl.max_value`` / ``ufl.min_value`` are conditionals), so a formula
that clips before a square root or a power never yields NaN in either back end.
"""

from __future__ import annotations

import types


class NumpyMath:
    """numpy back end (float or ndarray in, the same out)."""

    name = "numpy"

    def __init__(self):
        import numpy as np

        self.np = np

    def exp(self, a):
        return self.np.exp(a)

    def log(self, a):
        return self.np.log(a)

    def tanh(self, a):
        return self.np.tanh(a)

    def sqrt(self, a):
        return self.np.sqrt(a)

    def max_value(self, a, b):
        return self.np.maximum(a, b)

    def min_value(self, a, b):
        return self.np.minimum(a, b)

    def clip(self, a, lo, hi):
        return self.np.minimum(self.np.maximum(a, lo), hi)

    def where_gt(self, a, b, then, else_):
        """``then`` where a > b, else ``else_`` (both evaluated)."""
        return self.np.where(self.np.asarray(a) > b, then, else_)

    def pow(self, a, p):
        return self.np.power(a, p)


class UflMath:
    """UFL back end: the same operations as UFL expressions."""

    name = "ufl"

    def __init__(self):
        import ufl

        self.ufl = ufl

    def exp(self, a):
        return self.ufl.exp(a)

    def log(self, a):
        return self.ufl.ln(a)

    def tanh(self, a):
        return self.ufl.tanh(a)

    def sqrt(self, a):
        return self.ufl.sqrt(a)

    def max_value(self, a, b):
        return self.ufl.max_value(a, b)

    def min_value(self, a, b):
        return self.ufl.min_value(a, b)

    def clip(self, a, lo, hi):
        return self.ufl.min_value(self.ufl.max_value(a, lo), hi)

    def where_gt(self, a, b, then, else_):
        return self.ufl.conditional(self.ufl.gt(a, b), then, else_)

    def pow(self, a, p):
        return a**p


_CACHE: dict[str, object] = {}


def of(m=None, like=None):
    """The namespace for ``m`` (``numpy``, ``ufl``, a namespace, or None = guess from ``like``)."""
    if isinstance(m, (NumpyMath, UflMath)):
        return m
    if m is None:
        m = "ufl" if _is_ufl(like) else "numpy"
    elif isinstance(m, types.ModuleType):
        m = m.__name__.split(".")[0]
    if m not in ("numpy", "ufl"):
        raise TypeError(f"math namespace must be numpy or ufl, got {m!r}")
    if m not in _CACHE:
        _CACHE[m] = NumpyMath() if m == "numpy" else UflMath()
    return _CACHE[m]


def _is_ufl(value) -> bool:
    return type(value).__module__.split(".")[0] == "ufl" or "dolfinx" in type(value).__module__

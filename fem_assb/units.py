"""Quantities with units at the edge of the code; SI floats inside.

Inputs such as ``"0.5 um"``, ``"1 mA/cm^2"`` or ``"0.036662 mol/cm^3"`` are parsed with
pint and converted to SI. A bare number is accepted only where the caller says which unit
it is in (``default_unit``); otherwise a missing unit is an error that shows how to write it.
"""

from __future__ import annotations

import functools
import math
import numbers

from fem_assb.errors import InputError


@functools.lru_cache(maxsize=1)
def registry():
    """The shared pint UnitRegistry (``um`` for micrometre and ``Ohm`` for ohm are accepted)."""
    import pint

    ureg = pint.UnitRegistry()
    ureg.define("um = micrometer")
    ureg.define("Ohm = ohm")  # as the seed papers write it (Ohm cm^2)
    return ureg


def quantity(value, *, name: str = "value"):
    """Parse ``value`` (string, number or Quantity) into a pint Quantity."""
    ureg = registry()
    if isinstance(value, bool):
        raise InputError(f"{name} = {value!r} must be a number with a unit, not a boolean.")
    if isinstance(value, numbers.Real):
        return ureg.Quantity(float(value))
    if isinstance(value, str):
        try:
            q = ureg.Quantity(value.strip())
        except Exception as exc:  # pint raises several error types
            raise InputError(f"{name} = {value!r} is not a quantity with units ({exc}).") from None
        return q if isinstance(q, ureg.Quantity) else ureg.Quantity(float(q))
    if isinstance(value, ureg.Quantity):
        return value
    raise InputError(f"{name} = {value!r} must be a number or a string with a unit.")


#: Units a "has no unit" message suggests for an SI unit (the units the seed papers write).
_EXAMPLE_UNIT = {"m": "um", "A/m^2": "mA/cm^2", "S/m": "mS/cm", "mol/m^3": "mol/cm^3", "m^2/s": "cm^2/s"}


def to_si(value, unit: str, *, name: str = "value", default_unit: str | None = None) -> float:
    """Convert ``value`` to a float in the SI unit ``unit`` (e.g. ``"m"``, ``"A/m^2"``).

    A value without a unit is taken in ``default_unit`` when given, else it is an error
    (unless ``unit`` itself is dimensionless).
    """
    ureg = registry()
    q = quantity(value, name=name)
    if not math.isfinite(q.magnitude):
        raise InputError(f"{name} = {value!r} is not a finite number.")
    target = ureg.Quantity(1.0, unit)
    if q.unitless and not target.unitless:
        if default_unit is None:
            raise InputError(
                f"{name} = {value!r} has no unit; give a unit, e.g. '{q.magnitude:g} "
                f"{_EXAMPLE_UNIT.get(unit, unit)}'."
            )
        q = ureg.Quantity(q.magnitude, default_unit)
    try:
        out = float(q.to(unit).magnitude)
    except Exception:
        raise InputError(
            f"{name} = {value!r} has inconsistent units: it is {q.dimensionality}, "
            f"expected {target.dimensionality} (for example '{unit}')."
        ) from None
    if not math.isfinite(out):
        raise InputError(f"{name} = {value!r} is not a finite number.")
    return out

"""YAML simulation cases with units: schema (dataclasses) and loader with validation.

    from fem_assb.case import load_case
    case = load_case("cases/demo.yaml")      # -> Case (SI), or InputError with the fix

See docs/cases.md.
"""

from fem_assb.case.load import load_case, resolve_case
from fem_assb.case.schema import Case, Cell, Numerics, Operation, Outputs, Step, Structure, Sweep

__all__ = [
    "load_case",
    "resolve_case",
    "Case",
    "Cell",
    "Numerics",
    "Operation",
    "Outputs",
    "Step",
    "Structure",
    "Sweep",
]

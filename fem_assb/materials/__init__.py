"""Material parameter sets (presets of the seed papers), functional parameters and overrides.

    from fem_assb.materials import get_system, list_systems
    s = get_system("NMC811_Li6PS5Cl")
    s.cam.c_max            # mol/m^3 (SI floats everywhere)
    s.cam.U0(x, T, numpy)  # or ufl: the same definition evaluates in both
    s = get_system("LCO_LLZO", overrides={"electrolyte": {"kappa": "1e-3 S/cm"}}, temperature=330.0)

See docs/materials.md for the presets, their sources and the override syntax.
"""

from __future__ import annotations

from pathlib import Path

from fem_assb.errors import InputError
from fem_assb.materials.functional import FARADAY, R_GAS, Functional
from fem_assb.materials.kinetics import exchange_current_density
from fem_assb.materials.presets import SYSTEMS
from fem_assb.materials.spec import did_you_mean
from fem_assb.materials.system import Row, System, build_system, merge


def list_systems() -> list[str]:
    """Names of the built-in material systems."""
    return list(SYSTEMS)


def get_system(
    name: str,
    overrides: dict | None = None,
    temperature: float | None = None,
    base_dir: str | Path | None = None,
) -> System:
    """The material system ``name`` in SI, with ``overrides`` (a ``materials`` section of a case
    without ``preset``) applied, at ``temperature`` [K] (default: the preset's temperature).
    ``base_dir``: folder that CSV table paths are relative to."""
    if name not in SYSTEMS:
        raise InputError(
            f"unknown material system {name!r}{did_you_mean(name, SYSTEMS)}; "
            f"known: {', '.join(SYSTEMS)} (see `fem-assb materials list`)."
        )
    data = merge(SYSTEMS[name], overrides)
    return build_system(name, data, temperature=temperature, base_dir=Path(base_dir) if base_dir else None)


__all__ = [
    "get_system",
    "list_systems",
    "System",
    "Row",
    "Functional",
    "exchange_current_density",
    "FARADAY",
    "R_GAS",
]

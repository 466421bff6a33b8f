"""Physical constants: CODATA 2018 values, defined once (fem_assb.constants)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fem_assb import constants


def test_codata_2018_values():
    # The printed (truncated) CODATA 2018 values; F = N_A e and R = N_A k_B are exact.
    assert constants.FARADAY == pytest.approx(96485.33212, rel=1e-10)
    assert constants.GAS_CONSTANT == pytest.approx(8.314462618, rel=1e-10)
    assert constants.FARADAY == constants.AVOGADRO * constants.ELEMENTARY_CHARGE
    assert constants.GAS_CONSTANT == constants.AVOGADRO * constants.BOLTZMANN


def test_constants_are_defined_once():
    """No module of the package writes F or R as a number or defines them again."""
    root = Path(constants.__file__).parent
    pattern = re.compile(r"96485\.\d|8\.31446|^\s*(FARADAY|GAS_CONSTANT|R_GAS)\s*=", re.M)
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "constants.py" and pattern.search(p.read_text())
    ]
    assert offenders == []


def test_the_layers_share_the_constants():
    from fem_assb.forms import interface, transport
    from fem_assb.indicators import capacity
    from fem_assb.materials import functional

    for mod in (interface, capacity, functional):
        assert mod.FARADAY is constants.FARADAY
    assert transport.R_GAS is constants.GAS_CONSTANT
    assert functional.R_GAS is constants.GAS_CONSTANT

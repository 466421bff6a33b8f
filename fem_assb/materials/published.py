"""Published functional forms (PARAMETERS.md) and the documented assumptions built on them.

Each form is written once as ``f(v, T, m)`` (v: stoichiometry x = c_s/c_max, or electrolyte
concentration c in mol/m^3; T in K; m the math namespace) and registered in :data:`MODELS`
with its source, valid range, and, where it is an assumption rather than a published fit, a
statement saying so. Presets and user overrides pick a form by its model name.

A model factory takes the table value at initial conditions (``value0`` in SI, at ``v0`` and
``T0``) where the form is a shape scaled to the seed's value; forms used as published ignore it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fem_assb.constants import FARADAY
from fem_assb.constants import GAS_CONSTANT as R_GAS
from fem_assb.errors import InputError, did_you_mean
from fem_assb.materials.functional import T_REF, Functional, bounded, constant, scaled, table

# ---------------------------------------------------------------------------------------------
# Open-circuit potentials U0(x) [V vs Li/Li+]


def u0_nmc811_chen2020(x, T, m):
    """NMC811 OCP, Chen et al., JES 167 (2020) 080534 (LG M50 positive electrode) [V]."""
    return (
        -0.8090 * x
        + 4.4875
        - 0.0428 * m.tanh(18.5138 * (x - 0.5542))
        - 17.7326 * m.tanh(15.7890 * (x - 0.3117))
        + 17.5842 * m.tanh(15.9308 * (x - 0.3120))
    )


def u0_lco_ramadass2004(y, T, m):
    """LCO OCP, Ramadass et al., JES 151 (2004) A196, as a function of y [V] (singular near
    y = 0.4226 and 1.0043; valid only for about 0.45 < y < 0.99)."""
    y2 = y * y
    y4, y6, y8, y10 = y2 * y2, y2 * y2 * y2, y2**4, y2**5
    num = -4.656 + 88.669 * y2 - 401.119 * y4 + 342.909 * y6 - 462.471 * y8 + 433.434 * y10
    den = -1.0 + 18.933 * y2 - 79.532 * y4 + 37.311 * y6 - 73.083 * y8 + 95.96 * y10
    return num / den


#: NMC622 MSMR parameters (U0_j [V], X_j [-], omega_j [-]), Verbrugge et al., JES 164 (2017) E3243.
MSMR_NMC622 = (
    (3.62274, 0.13442, 0.96710),
    (3.72645, 0.32460, 1.39712),
    (3.90575, 0.21118, 3.50500),
    (4.22955, 0.32980, 5.52757),
)


def x_of_u_msmr(U, T, params=MSMR_NMC622):
    """MSMR inverse form x(U) = sum_j X_j / (1 + exp(F (U - U0_j) / (omega_j R T))) (numpy)."""
    U = np.asarray(U, dtype=float)
    return sum(X / (1.0 + np.exp(FARADAY * (U - U0) / (w * R_GAS * T))) for U0, X, w in params)


# ---------------------------------------------------------------------------------------------
# CAM transport sigma(x) [S/m], D(x) [m^2/s]

# Seed 004 end points (x = 0.4 and x = 1) of NMC622, in SI: sigma 2e-2 -> 1.6e-6 S/cm,
# D 1.83e-11 -> 3.10e-12 cm^2/s.
NMC622_SIGMA_ENDS = (0.4, 2e-2 * 1e2, 1.0, 1.6e-6 * 1e2)
NMC622_D_ENDS = (0.4, 1.83e-11 * 1e-4, 1.0, 3.10e-12 * 1e-4)


def _loglinear(ends):
    x_a, y_a, x_b, y_b = ends
    k = math.log(y_b / y_a) / (x_b - x_a)

    def f(x, T, m):
        return y_a * m.exp(k * (x - x_a))

    return f


sigma_nmc622_loglinear = _loglinear(NMC622_SIGMA_ENDS)
D_nmc622_loglinear = _loglinear(NMC622_D_ENDS)


def D_nmc811_oregan2022(x, T, m):
    """NMC811 chemical diffusivity, O'Regan et al., Electrochim. Acta 425 (2022) 140700 [m^2/s]:
    2.7 * 10^(c0 + sum_k a_k exp(-(x - b_k)^2 / c_k)) * exp(1449 (1/298.15 - 1/T))."""
    a = (-0.9231, -0.4066, -0.993)
    b = (0.3216, 0.4532, 0.8098)
    c = (0.002534, 0.003926, 0.09924)
    expo = -13.96 + sum(ak * m.exp(-((x - bk) ** 2) / ck) for ak, bk, ck in zip(a, b, c, strict=True))
    return 2.7 * m.exp(math.log(10.0) * expo) * m.exp(1449.0 * (1.0 / T_REF - 1.0 / T))


# ---------------------------------------------------------------------------------------------
# Liquid electrolyte, 1 M LiPF6 in EC:EMC 3:7 (c in mol/m^3 in, formulas in mol/L)


def kappa_nyman2008(c, T, m):
    """Nyman et al., Electrochim. Acta 53 (2008) 6356: 0.1297 c^3 - 2.51 c^1.5 + 3.329 c [S/m]."""
    cl = c * 1e-3
    return 0.1297 * cl**3 - 2.51 * cl**1.5 + 3.329 * cl


def D_nyman2008(c, T, m):
    """Nyman et al. (2008): 8.794e-11 c^2 - 3.972e-10 c + 4.862e-10 [m^2/s] (c in mol/L)."""
    cl = c * 1e-3
    return 8.794e-11 * cl**2 - 3.972e-10 * cl + 4.862e-10


def _landesfeind(p):
    def f(c, T, m):
        cl = c * 1e-3
        return (
            p[0]
            + p[1] * cl
            + p[2] * T
            + p[3] * cl**2
            + p[4] * cl * T
            + p[5] * T**2
            + p[6] * cl**3
            + p[7] * cl**2 * T
            + p[8] * cl * T**2
        )

    return f


#: Landesfeind & Gasteiger, JES 166 (2019) A3079, LiPF6 in EC:EMC 3:7 (c in mol/L, T in K).
t_plus_landesfeind2019 = _landesfeind(
    (-12.8, -6.12, 8.21e-2, 9.04e-1, 3.18e-2, -1.27e-4, 1.75e-2, -3.12e-3, -3.96e-5)
)
tdf_landesfeind2019 = _landesfeind((25.7, -45.1, -0.177, 1.94, 0.295, 3.08e-4, 0.259, -9.46e-3, -4.54e-4))


# ---------------------------------------------------------------------------------------------
# The registry of named models


@dataclass(frozen=True)
class Model:
    """A named functional form: ``build(value0, v0, T0) -> Functional`` and what it applies to."""

    name: str
    parameter: str  # "U0", "sigma", "D" (CAM) or "kappa", "D_e", "t_plus", "tdf" (electrolyte)
    build: Callable
    summary: str
    needs_value0: bool = False


def _nmc811_u0(value0, v0, T0):
    fn = Functional(
        u0_nmc811_chen2020,
        "V",
        "x",
        name="nmc811_chen2020",
        source="Chen et al., JES 167 (2020) 080534 (fit range x = 0.2661-0.9059)",
        assumption=(
            "used beyond the measured range x = 0.2661-0.9059 down to x = 0.2 (the seed "
            "starts at x0 = 0.231, where the fit gives 4.39 V while the seed quotes 4.2 V) and "
            "up to x = 1; it never reaches 3.0 V (U(1) = 3.49 V), so the end of discharge "
            "comes from surface saturation (i0 -> 0 as c_s -> c_max)"
        ),
    )
    return bounded(fn, 0.2, 1.0, "linear")


def _lco_u0(stretch):
    def build(value0, v0, T0):
        def f(x, T, m):
            return u0_lco_ramadass2004(stretch * x, T, m)

        name = "lco_ramadass2004" + ("" if stretch == 1.0 else "_stretched")
        note = (
            "y = x (default: fits the seeds' normalized capacities near 0.9, 002 Fig. 4a)"
            if stretch == 1.0
            else "y = 1.13 x as in PyBaMM (reaches 3.4 V near x = 0.875)"
        )
        fn = Functional(
            f,
            "V",
            "x",
            name=name,
            source=f"Ramadass et al., JES 151 (2004) A196, {note}",
            assumption=(
                "the rational fit is singular outside 0.45 < y < 0.99; beyond that range it is "
                "continued linearly with its end slopes (monotone, finite)"
            ),
        )
        return bounded(fn, 0.45 / stretch, 0.99 / stretch, "linear")

    return build


def _nmc622_u0(value0, v0, T0):
    U = np.linspace(4.55, 3.35, 97)  # uniform in U: dense where U(x) is steep (x -> 1)
    xs = x_of_u_msmr(U, T_REF)
    return table(
        xs,
        U,
        "V",
        "x",
        extension="linear",
        name="nmc622_msmr_verbrugge2017",
        source=(
            "Verbrugge et al., JES 164 (2017) E3243 (MSMR, inverse form x(U)), tabulated once at "
            "298.15 K on 97 points (3.35-4.55 V) and interpolated piecewise-linearly"
        ),
    )


def _with_assumption(fn: Functional, text: str) -> Functional:
    return fn.with_meta(assumption=text)


def _nmc622_loglinear(law, unit: str, name: str, source: str):
    """Builder of a seed 004 NMC622 log-linear law (sigma or D): bounded at x = 0.4, optionally
    scaled to a table value at initial conditions."""

    def build(value0, v0, T0):
        fn = Functional(
            law,
            unit,
            "x",
            name=name,
            source=source,
            assumption=(
                "log-linear interpolation between the two published end points (no fit was "
                "published); held at the x = 0.4 value below x = 0.4"
            ),
        )
        fn = bounded(fn, 0.4, 1.0, "constant").with_meta(valid=(0.0, 1.0))
        return fn if value0 is None else scaled(fn, value0, v0, T0)

    return build


_nmc622_sigma = _nmc622_loglinear(
    sigma_nmc622_loglinear,
    "S/m",
    "nmc622_sigma_loglinear",
    "seed 004 text (Noh 2013, Amin 2016, Zhou): 2e-2 S/cm at x = 0.4, 1.6e-6 S/cm at x = 1",
)
_nmc622_D = _nmc622_loglinear(
    D_nmc622_loglinear,
    "m^2/s",
    "nmc622_D_loglinear",
    "seed 004 text: 1.83e-11 cm^2/s at x = 0.4, 3.10e-12 cm^2/s at x = 1",
)


def _nmc811_sigma(value0, v0, T0):
    base = _nmc622_sigma(None, None, None)
    fn = scaled(
        base,
        value0,
        v0,
        T0,
        name="nmc811_sigma_nmc622_trend",
        source="seed table value at initial conditions; shape: NMC622 trend of seed 004",
        assumption=(
            "no published sigma(x) of NMC811 was found: the NMC622 log-linear trend of seed 004 "
            "(constant below x = 0.4) scaled to the seed value at x0; it falls about 4 decades "
            "towards x = 1, so at high lithiation electronic transport in the CAM can limit "
            "the capacity; override with a constant to use the table value throughout"
        ),
    )
    return fn


def _nmc811_D(value0, v0, T0):
    fn = Functional(
        D_nmc811_oregan2022,
        "m^2/s",
        "x",
        name="nmc811_D_oregan2022_scaled",
        source="O'Regan et al., Electrochim. Acta 425 (2022) 140700 (shape, with its 1449 K Arrhenius term)",
        assumption=(
            "the published shape scaled so that D(x0) equals the seed table value (the seeds' "
            "values are effective and differ by 10-300x from the fit)"
        ),
    )
    fn = bounded(fn, 0.0, 1.0, "constant")
    return scaled(fn, value0, v0, T0)


def _constant_model(param, unit, variable):
    def build(value0, v0, T0):
        if value0 is None:
            raise InputError(f"the constant model of {param} needs a value.")
        fn = constant(value0, unit, variable)
        return fn.with_meta(
            name="seed_constant",
            assumption=(
                "held at the seed's value at initial conditions (marked functional, but no function given)"
            ),
        )

    return build


def _nyman_kappa(value0, v0, T0):
    fn = Functional(
        kappa_nyman2008,
        "S/m",
        "c",
        name="kappa_nyman2008",
        source="Nyman et al., Electrochim. Acta 53 (2008) 6356 (measured about 0.2-2 mol/L)",
    )
    fn = bounded(fn, 50.0, 2500.0, "constant")  # mol/m^3: keeps c^1.5 real and kappa > 0
    if value0 is None:
        return fn
    return scaled(
        fn, value0, v0, T0, assumption="scaled by 0.991 so that kappa(1 M) equals the seed's 9.4e-3 S/cm"
    )


def _nyman_D(value0, v0, T0):
    fn = Functional(
        D_nyman2008,
        "m^2/s",
        "c",
        name="D_nyman2008",
        source="Nyman et al., Electrochim. Acta 53 (2008) 6356 (measured about 0.2-2 mol/L)",
    )
    fn = bounded(fn, 50.0, 2500.0, "constant")
    if value0 is None:
        return fn
    return scaled(
        fn,
        value0,
        v0,
        T0,
        assumption=(
            "the seed cites Nyman but gives 3.79e-6 cm^2/s at 1 M, 2.1x the fit (1.77e-6 cm^2/s): "
            "Nyman's shape scaled to the seed value"
        ),
    )


def _landesfeind_model(f, name):
    def build(value0, v0, T0):
        fn = Functional(
            f,
            "1",
            "c",
            name=name,
            source=(
                "Landesfeind & Gasteiger, JES 166 (2019) A3079, LiPF6 in EC:EMC 3:7 "
                "(fit range about 0.1-2 mol/L, 263-323 K)"
            ),
        )
        return bounded(fn, 100.0, 2000.0, "constant")

    return build


MODELS: dict[str, Model] = {}


def _register(name, parameter, build, summary, needs_value0=False):
    MODELS[name] = Model(name, parameter, build, summary, needs_value0)


_register("nmc811_chen2020", "U0", _nmc811_u0, "NMC811 OCP fit of Chen et al. 2020")
_register("lco_ramadass2004", "U0", _lco_u0(1.0), "LCO OCP of Ramadass et al. 2004 with y = x (default)")
_register(
    "lco_ramadass2004_stretched", "U0", _lco_u0(1.13), "LCO OCP of Ramadass 2004 with y = 1.13 x (PyBaMM)"
)
_register(
    "nmc622_msmr_verbrugge2017", "U0", _nmc622_u0, "NMC622 MSMR OCP of Verbrugge et al. 2017, tabulated"
)
_register("nmc811_sigma_nmc622_trend", "sigma", _nmc811_sigma, "NMC622 trend scaled to the seed value", True)
_register("nmc622_sigma_loglinear", "sigma", _nmc622_sigma, "log-linear between seed 004 end points")
_register("nmc622_D_loglinear", "D", _nmc622_D, "log-linear between seed 004 end points")
_register("nmc811_D_oregan2022_scaled", "D", _nmc811_D, "O'Regan 2022 shape scaled to the seed value", True)
_register("seed_constant", "*", None, "the seed's value at initial conditions, held constant", True)
_register("kappa_nyman2008", "kappa", _nyman_kappa, "Nyman 2008 conductivity (scaled to the seed at 1 M)")
_register("D_nyman2008", "D", _nyman_D, "Nyman 2008 diffusivity (scaled to the seed at 1 M)")
_register(
    "t_plus_landesfeind2019",
    "t_plus",
    _landesfeind_model(t_plus_landesfeind2019, "t_plus_landesfeind2019"),
    "Landesfeind & Gasteiger 2019 transference number",
)
_register(
    "tdf_landesfeind2019",
    "tdf",
    _landesfeind_model(tdf_landesfeind2019, "tdf_landesfeind2019"),
    "Landesfeind & Gasteiger 2019 thermodynamic factor",
)


def build_model(name: str, parameter: str, unit: str, variable: str, value0, v0, T0) -> Functional:
    """The Functional of model ``name`` for ``parameter`` (value0 in SI at v0, T0 where needed)."""
    if name not in MODELS:
        raise InputError(
            f"unknown model {name!r} for {parameter}{did_you_mean(name, MODELS)}; "
            f"known models: {', '.join(sorted(MODELS))}."
        )
    model = MODELS[name]
    if model.parameter not in ("*", parameter):
        ok = [k for k, v in MODELS.items() if v.parameter in ("*", parameter)]
        raise InputError(
            f"model {name!r} describes {model.parameter}, not {parameter}; use one of {', '.join(ok)}."
        )
    if model.needs_value0 and value0 is None:
        raise InputError(
            f"model {name!r} needs the value at initial conditions: add 'value: <number> {unit}'."
        )
    if name == "seed_constant":
        return _constant_model(parameter, unit, variable)(value0, v0, T0)
    return model.build(value0, v0, T0)

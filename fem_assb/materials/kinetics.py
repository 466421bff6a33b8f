"""Exchange-current density of intercalation (MODEL.md §3), written once for numpy and UFL.

    i0 = i00 * c_e^alpha * c_s^alpha * (c_max - c_s)^(1 - alpha)

All concentrations in mol/m^3 and i00 in A m^2.5 mol^-1.5 give i0 in A/m^2 (SI). The
seeds print i00 in A cm^2.5 / mol^1.5 with concentrations in mol/cm^3; 1 A cm^2.5 mol^-1.5
= 1e-5 A m^2.5 mol^-1.5. The same function serves ``System.exchange_current_density()``, the
cell forms (:func:`fem_assb.forms.interface.intercalation_current`) and the 0D estimates of
the solver's initial guess, so they agree at every c_s, saturation included.
"""

from __future__ import annotations

from fem_assb.materials import mathns

#: Width (fraction of c_max) of the linear regularization of the vacancy factor at saturation.
SATURATION_WIDTH = 1e-6
#: Lower clip (fraction of c_max) of c_s and c_e in their powers (never NaN below 0).
CONCENTRATION_FLOOR = 1e-9


def exchange_current_density(
    i00,
    alpha,
    c_e,
    c_s,
    c_max,
    m=None,
    *,
    vacancy=None,
    occupancy=None,
    eps=CONCENTRATION_FLOOR,
    width=SATURATION_WIDTH,
):
    """i0 [A/m^2] from i00 [A m^2.5 mol^-1.5], alpha [-], c_e, c_s, c_max [mol/m^3] (MODEL §3).

    m: numpy, ufl or a :mod:`fem_assb.materials.mathns` namespace (None: guessed from c_s).
    c_s^alpha and c_e^alpha use c_s clipped to [eps c_max, c_max] and c_e floored at eps c_max.
    The vacancy factor w^(1 - alpha), w = c_max - c_s, is taken as
    w (w^2 + (width c_max)^2)^(-alpha/2): the same to 0.25 % for w > 10 width c_max (to 4e-13
    at x = 0.23), but linear through w = 0, so i0 vanishes at saturation with a finite
    derivative and changes sign beyond it (a cell pushed past c_max by a Newton step sheds Li
    instead of taking more). A floor on w instead let full cells keep lithiating at large
    overpotentials and Newton stalled at x = 1 (32^3 cathode at the end of discharge,
    docs/discharge.md). ``vacancy``: the factor (c_max - c_s)^(1 - alpha) when the caller has it
    in another form (the surface iteration of intercalation_current); ``occupancy``: the factor
    c_s^alpha likewise, unclipped (the resistive-film law, whose variable resolves c_s -> 0).
    """
    m = mathns.of(m, like=c_s)
    cs = m.clip(c_s, eps * c_max, c_max)
    ce = m.max_value(c_e, eps * c_max)
    if vacancy is None:
        w = c_max - c_s
        vacancy = w * (w * w + (width * c_max) ** 2) ** (-alpha / 2.0)
    if occupancy is None:
        occupancy = cs**alpha
    return i00 * ce**alpha * occupancy * vacancy

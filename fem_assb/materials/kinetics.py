"""Exchange-current density of intercalation (MODEL.md §3), for numpy and UFL.

    i0 = i00 * c_e^alpha * c_s^alpha * (c_max - c_s)^(1 - alpha)

All concentrations in mol/m^3 and i00 in A m^2.5 mol^-1.5 give i0 in A/m^2 (SI). The
seeds print i00 in A cm^2.5 / mol^1.5 with concentrations in mol/cm^3; 1 A cm^2.5 mol^-1.5
= 1e-5 A m^2.5 mol^-1.5. c_s is clipped into [eps, c_max - eps] (eps = 1e-9 c_max) before the
powers, so i0 stays finite and real (never NaN) when Newton steps beyond the bounds.
"""

from __future__ import annotations

from fem_assb.materials import mathns


def exchange_current_density(i00, alpha, c_e, c_s, c_max, m=None):
    """i0 [A/m^2] from i00 [A m^2.5 mol^-1.5], alpha [-], c_e, c_s, c_max [mol/m^3]."""
    m = mathns.of(m, like=c_s)
    eps = 1e-9 * c_max
    cs = m.clip(c_s, eps, c_max - eps)
    ce = m.max_value(c_e, eps)
    return i00 * m.pow(ce, alpha) * m.pow(cs, alpha) * m.pow(c_max - cs, 1.0 - alpha)

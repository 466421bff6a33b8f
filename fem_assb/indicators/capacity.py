"""Capacity indicators (MODEL §7): theoretical, delivered, normalized and gravimetric.

Conventions: charge in C per m^2 of cell cross-section internally; reported in mAh/cm^2
(1 mAh/cm^2 = 36 C/m^2) and mAh/g.
"""

from __future__ import annotations

from fem_assb.constants import FARADAY  # C/mol

C_PER_M2_PER_MAH_PER_CM2 = 3.6e4  # 1 mAh/cm^2 = 3.6 C / 1e-4 m^2 = 3.6e4 C/m^2


def theoretical_capacity(c_max: float, c0: float, cam_volume: float, area: float) -> float:
    """C_theo = (c_max - c0) F V_CAM / A in C/m^2 ([000] Eq. S2); c in mol/m^3, V in m^3, A in m^2."""
    return (c_max - c0) * FARADAY * cam_volume / area


def mah_per_cm2(q: float) -> float:
    """C/m^2 -> mAh/cm^2."""
    return q / C_PER_M2_PER_MAH_PER_CM2


def gravimetric_capacity(q: float, area: float, cam_volume: float, cam_density: float) -> float:
    """C_grav = C / (V_CAM rho_CAM) in mAh/g; q in C/m^2, area m^2, V m^3, density kg/m^3."""
    return q * area / 3.6 / (cam_volume * cam_density * 1e3)

"""Gravimetric energy density of the cell ([000] Eq. S3, [002] Eqs. 9 and 10; MODEL §7).

E_grav = integral(i U dt) / (m_An + m_Sep + m_Ca); masses per cross-section from the voxel
volumes and densities; the anode mass is Li matched to the theoretical capacity (n/p = 1) at
3861 mAh/g.
"""

from __future__ import annotations

import numpy as np

LI_SPECIFIC_CAPACITY = 3861.0 * 3.6  # C/g (3861 mAh/g)


def delivered_energy(t, voltage, current) -> float:
    """integral(i U dt) in J/m^2 (trapezoid over accepted points; t s, U V, i A/m^2)."""
    t, u, i = (np.asarray(a, dtype=float) for a in (t, voltage, current))
    if t.size < 2:
        return 0.0
    p = u * i
    return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))


def cell_masses(
    *,
    q_theo: float,
    cam_volume: float,
    se_volume: float,
    separator_volume: float,
    area: float,
    cam_density: float,
    se_density: float,
    cbd_mass: float = 0.0,
) -> dict:
    """Masses per cross-section (g/m^2): anode (Li, n/p = 1), separator, cathode (CAM + the
    cathode's electrolyte + the carbon-binder domain).

    q_theo in C/m^2; volumes in m^3 over ``area`` m^2; densities in kg/m^3; cbd_mass in kg (the
    CBD's solid and the electrolyte in its pores, :func:`cbd_bulk_density`).
    """
    m_an = q_theo / LI_SPECIFIC_CAPACITY
    m_sep = separator_volume * se_density * 1e3 / area
    m_ca = (cam_volume * cam_density + se_volume * se_density + cbd_mass) * 1e3 / area
    return {"anode": m_an, "separator": m_sep, "cathode": m_ca}


def cbd_bulk_density(solid_density: float, porosity: float, electrolyte_density: float) -> float:
    """Bulk density of the homogenized carbon-binder domain [kg/m^3]: its solid (carbon black and
    binder, ``solid_density``) over 1 - porosity and the liquid electrolyte in its pores over the
    porosity (MODEL §2: the CBD as a porous medium soaked with the electrolyte)."""
    return (1.0 - porosity) * solid_density + porosity * electrolyte_density


def energy_density(energy: float, masses: dict) -> float:
    """E_grav in Wh/kg from the energy (J/m^2) and masses (g/m^2)."""
    total = sum(masses.values())
    return energy / (3.6 * total) if total > 0 else float("nan")  # (J/m^2 / 3600) / (g/m^2 / 1000)

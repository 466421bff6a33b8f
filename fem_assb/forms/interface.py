"""Interface laws (MODEL.md §3), each written once, in UFL.

- :func:`butler_volmer`: i = i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)], f = F / (R T).
- :func:`exchange_current_cam`: i0 = i00 c_e^alpha c_s^alpha (c_max - c_s)^(1 - alpha), with c_s
  clipped into [0, c_max] inside the powers (never NaN, i0 -> 0 at saturation).
- :func:`intercalation_current`: CAM | electrolyte current density with the half-cell correction
  of the CAM surface concentration (DESIGN §3a), c_surf = c_s - i * (h_s / 2) / (F D_s), solved
  by a few Newton iterations written into the UFL expression (the law is implicit in i).
Sign: a positive current is anodic (Li leaves the solid as Li+), flowing from solid to electrolyte.
"""

from __future__ import annotations

import ufl

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)


def butler_volmer(eta, i0, alpha, f):
    """Butler-Volmer current density (A/m^2) for overpotential ``eta`` (V), i0 (A/m^2),
    transfer coefficient ``alpha`` and f = F/(RT) (1/V) (MODEL §3)."""
    return i0 * (ufl.exp(alpha * f * eta) - ufl.exp(-(1.0 - alpha) * f * eta))


def exchange_current_cam(c_e, c_s, c_max, i00, alpha, eps=1e-9):
    """Exchange current density (A/m^2) at CAM | electrolyte (MODEL §3).

    c_e, c_s, c_max in mol/m^3; i00 in A m^2.5 mol^-1.5. c_s is clipped to
    [eps c_max, (1 - eps) c_max] inside the powers, so i0 stays finite and positive.
    """
    cs = ufl.min_value(ufl.max_value(c_s, eps * c_max), (1.0 - eps) * c_max)
    return i00 * c_e**alpha * cs**alpha * (c_max - cs) ** (1.0 - alpha)


def intercalation_current(eta0, c_cell, c_e, h_s, cam, T, m=ufl, surface_iterations: int = 4):
    """CAM | electrolyte current density (A/m^2), MODEL §3, with the half-cell surface correction.

    eta0 = phi_s - phi_e (V, cell values); c_cell: CAM cell concentration (mol/m^3); c_e
    (mol/m^3); h_s: CAM cell extent normal to the facet (m); ``cam``: the CAM parameters
    (U0(x, T, m), D(x, T, m), c_max, i00, alpha); T (K).
    The surface concentration c_surf solves c_surf = c_cell - i(c_surf) h_s / (2 F D(c_cell))
    (DESIGN §3a). It is found by ``surface_iterations`` Newton steps (0 = no correction) on the
    variable s = sqrt(c_max - c_surf): near saturation i is linear in s (i0 ~ s for alpha = 0.5),
    so the iteration stays well conditioned where i0 -> 0 and c_surf never exceeds c_max.
    """
    f = FARADAY / (GAS_CONSTANT * T)
    c_max, alpha = cam.c_max, cam.alpha

    def current(s):
        """i at the surface gap s = sqrt(c_max - c_surf) >= 0."""
        c_s = c_max - s * s
        c_pos = ufl.max_value(c_s, 1e-12 * c_max)
        i0 = cam.i00 * c_e**alpha * c_pos**alpha * abs(s) ** (2.0 * (1.0 - alpha))
        return butler_volmer(eta0 - cam.U0(c_s / c_max, T, m), i0, alpha, f)

    s = ufl.sqrt(ufl.max_value(c_max - c_cell, 1e-10 * c_max))  # finite derivative at a full cell
    if surface_iterations <= 0:
        return current(s)
    x_cell = ufl.min_value(ufl.max_value(c_cell / c_max, 1e-9), 1.0 - 1e-9)
    a = h_s / (2.0 * FARADAY * cam.D(x_cell, T, m))  # mol/m^3 per A/m^2
    for _ in range(surface_iterations):
        v = ufl.variable(s)
        g = c_max - v * v - c_cell + a * current(v)
        s = ufl.min_value(ufl.max_value(v - g / ufl.diff(g, v), 0.0), ufl.sqrt(c_max))
    return current(s)


def metal_current(eta, i0, T, alpha=0.5):
    """Li metal | electrolyte current density (A/m^2): Butler-Volmer with constant i0 (A/m^2),
    eta = phi_s - phi_e - 0 (Li is the reference electrode), MODEL §3."""
    return butler_volmer(eta, i0, alpha, FARADAY / (GAS_CONSTANT * T))

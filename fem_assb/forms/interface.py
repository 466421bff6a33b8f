"""Interface laws (MODEL.md §3), each written once, in UFL (numpy where noted).

- :func:`butler_volmer`: i = i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)], f = F / (R T).
- the exchange current i0 = i00 c_e^alpha c_s^alpha (c_max - c_s)^(1 - alpha) is
  :func:`fem_assb.materials.kinetics.exchange_current_density` (never NaN, i0 -> 0 at
  saturation with a finite derivative), shared with ``System.exchange_current_density()``.
- :func:`intercalation_current`: CAM | electrolyte current density with the half-cell correction
  of the CAM surface concentration (DESIGN §3a), c_surf = c_s - i * (h_s / 2) / (F D_s), solved
  by a few Newton iterations written into the UFL expression (the law is implicit in i).
- :func:`metal_current`: Li metal | electrolyte, Butler-Volmer with the anode's i0, alpha, U0.
- :func:`butler_volmer_overpotential`, :func:`metal_overpotential`,
  :func:`overpotential_estimate`: the inverse laws (numpy) for the solver's initial guess.
Sign: a positive current is anodic (Li leaves the solid as Li+), flowing from solid to electrolyte.
"""

from __future__ import annotations

import numpy as np
import ufl

from fem_assb.constants import FARADAY, GAS_CONSTANT  # noqa: F401  (re-exported for studies)
from fem_assb.materials import mathns
from fem_assb.materials.kinetics import exchange_current_density


def butler_volmer(eta, i0, alpha, f, m=ufl):
    """Butler-Volmer current density (A/m^2) for overpotential ``eta`` (V), i0 (A/m^2),
    transfer coefficient ``alpha`` and f = F/(RT) (1/V) (MODEL §3):

        i = i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)]

    m: ufl (default) or numpy (fem_assb.materials.mathns)."""
    m = mathns.of(m)
    return i0 * (m.exp(alpha * f * eta) - m.exp(-(1.0 - alpha) * f * eta))


def butler_volmer_overpotential(i, i0, alpha, f):
    """The inverse of :func:`butler_volmer` (numpy): the overpotential eta (V) at which the law
    gives the current density ``i`` (A/m^2); i0 (A/m^2), alpha, f = F/(RT) (1/V).

    alpha = 0.5: eta = 2/f arcsinh(i / (2 i0)) exactly. Otherwise bisection on the bracket
    0 <= eta <= ln(1 + i/i0) / (alpha f) (i > 0; the mirror with 1 - alpha for i < 0), which
    holds because i(eta) >= i0 (exp(alpha f eta) - 1), then two Newton steps.
    """
    i = np.asarray(i, dtype=float)
    if alpha == 0.5:
        return 2.0 / f * np.arcsinh(i / (2.0 * i0))
    a = np.where(i >= 0, alpha, 1.0 - alpha)
    lo = np.zeros_like(i)
    hi = np.sign(i) * np.log1p(np.abs(i) / i0) / (a * f)
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = butler_volmer(mid, i0, alpha, f, np) > i
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    eta = 0.5 * (lo + hi)
    for _ in range(2):
        d = i0 * f * (alpha * np.exp(alpha * f * eta) + (1.0 - alpha) * np.exp(-(1.0 - alpha) * f * eta))
        eta = eta - (butler_volmer(eta, i0, alpha, f, np) - i) / d
    return eta


def intercalation_current(eta0, c_cell, c_e, h_s, cam, T, m=ufl, surface_iterations: int = 4):
    """CAM | electrolyte current density (A/m^2), MODEL §3, with the half-cell surface correction.

    eta0 = phi_s - phi_e (V, cell values); c_cell: CAM cell concentration (mol/m^3); c_e
    (mol/m^3); h_s: CAM cell extent normal to the facet (m); ``cam``: the CAM parameters
    (U0(x, T, m), D(x, T, m), c_max, i00, alpha); T (K).
    With ``surface_iterations`` = 0 the law uses the cell concentration. Otherwise the surface
    concentration solves c_surf = c_cell - i(c_surf) h_s / (2 F D(c_cell)) (DESIGN §3a), found
    by that many Newton steps on the variable s = sqrt(c_max - c_surf): near saturation i is
    linear in s (i0 ~ s for alpha = 0.5), so the iteration stays well conditioned where i0 -> 0
    and c_surf never exceeds c_max. Valid only where the voxel resolves the solid diffusion
    length (studies.discharge.surface_iterations_for).
    """
    f = FARADAY / (GAS_CONSTANT * T)
    c_max, alpha = cam.c_max, cam.alpha

    def current(c_s, vacancy=None):
        i0 = exchange_current_density(cam.i00, alpha, c_e, c_s, c_max, m, vacancy=vacancy)
        x_s = ufl.min_value(ufl.max_value(c_s / c_max, 0.0), 1.0)
        return butler_volmer(eta0 - cam.U0(x_s, T, m), i0, alpha, f)

    def current_s(s):  # in s = sqrt(c_max - c_surf): (c_max - c_surf)^(1 - alpha) = |s|^(2 - 2 alpha)
        return current(c_max - s * s, abs(s) ** (2.0 * (1.0 - alpha)))

    if surface_iterations <= 0:
        return current(c_cell)
    s = ufl.sqrt(ufl.max_value(c_max - c_cell, 1e-10 * c_max))  # finite derivative at a full cell
    x_cell = ufl.min_value(ufl.max_value(c_cell / c_max, 1e-9), 1.0 - 1e-9)
    a = h_s / (2.0 * FARADAY * cam.D(x_cell, T, m))  # mol/m^3 per A/m^2
    for _ in range(surface_iterations):
        v = ufl.variable(s)
        g = c_max - v * v - c_cell + a * current_s(v)
        s = ufl.min_value(ufl.max_value(v - g / ufl.diff(g, v), 0.0), ufl.sqrt(c_max))
    return current_s(s)


def metal_current(eta0, anode, T, m=ufl):
    """Li metal | electrolyte current density (A/m^2, anodic positive), MODEL §3: Butler-Volmer
    with the anode's constant ``i0`` (A/m^2) and ``alpha`` on eta = phi_s - phi_e - U0.

    eta0 = phi_s - phi_e (V); ``anode``: the materials anode section (i0, alpha, U0 in V; U0 = 0
    for Li metal, the reference electrode: a nonzero U0 shifts the cell voltage by -U0); T (K).
    """
    f = FARADAY / (GAS_CONSTANT * T)
    return butler_volmer(eta0 - float(anode.U0), float(anode.i0), float(anode.alpha), f, m)


def metal_overpotential(i, anode, T):
    """The overpotential eta = phi_s - phi_e - U0 (V) at which :func:`metal_current` gives the
    current density ``i`` (A/m^2); numpy (the 0D estimates of the solver's initial guess)."""
    return butler_volmer_overpotential(i, float(anode.i0), float(anode.alpha), FARADAY / (GAS_CONSTANT * T))


def overpotential_estimate(i_app, system, x, c_e, interface_area, area, T):
    """0D estimate (V) of the Li | SE and CAM | SE overpotentials at the cell current density
    ``i_app`` (A/m^2, > 0 on discharge): (eta_Li, eta_CAM), numpy.

    The Li | SE law carries +i_app, the CAM | SE interface -i_app spread uniformly over its
    ``interface_area`` (m^2) per cross-section ``area`` (m^2), at the mean stoichiometry ``x``
    and the electrolyte concentration ``c_e`` (mol/m^3); T (K). Each law inverted with its own alpha
    (:func:`butler_volmer_overpotential`).
    """
    cam = system.cam
    f = FARADAY / (GAS_CONSTANT * T)
    c_max = float(cam.c_max)
    i0 = float(exchange_current_density(cam.i00, cam.alpha, c_e, x * c_max, c_max, np))
    i0_area = i0 * interface_area / area
    eta_li = float(metal_overpotential(i_app, system.anode, T))
    eta_c = float(butler_volmer_overpotential(-i_app, i0_area, cam.alpha, f)) if i0_area > 0 else 0.0
    return eta_li, eta_c

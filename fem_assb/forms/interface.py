"""Interface laws (MODEL.md §3), each written once, in UFL.

- :func:`butler_volmer`: i = i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)], f = F / (R T).
- :func:`exchange_current_cam`: i0 = i00 c_e^alpha c_s^alpha (c_max - c_s)^(1 - alpha), never NaN,
  i0 -> 0 at saturation with a finite derivative.
- :func:`intercalation_current`: CAM | electrolyte current density with the half-cell correction
  of the CAM surface concentration (DESIGN §3a), c_surf = c_s - i * (h_s / 2) / (F D_s), solved
  by a few Newton iterations written into the UFL expression (the law is implicit in i).
Sign: a positive current is anodic (Li leaves the solid as Li+), flowing from solid to electrolyte.
"""

from __future__ import annotations

import ufl

from fem_assb.constants import FARADAY, GAS_CONSTANT  # noqa: F401  (re-exported for studies)
from fem_assb.materials import mathns


def butler_volmer(eta, i0, alpha, f):
    """Butler-Volmer current density (A/m^2) for overpotential ``eta`` (V), i0 (A/m^2),
    transfer coefficient ``alpha`` and f = F/(RT) (1/V) (MODEL §3)."""
    return i0 * (ufl.exp(alpha * f * eta) - ufl.exp(-(1.0 - alpha) * f * eta))


#: Width (fraction of c_max) of the linear regularization of the vacancy factor at saturation.
SATURATION_WIDTH = 1e-6


def exchange_current_cam(
    c_e, c_s, c_max, i00, alpha, eps=1e-9, width=SATURATION_WIDTH, vacancy=None, m=ufl
):
    """Exchange current density (A/m^2) at CAM | electrolyte (MODEL §3):

        i0 = i00 c_e^alpha c_s^alpha (c_max - c_s)^(1 - alpha)

    c_e, c_s, c_max in mol/m^3; i00 in A m^2.5 mol^-1.5. c_s^alpha uses c_s clipped to
    [eps c_max, c_max]. The vacancy factor w^(1 - alpha), w = c_max - c_s, is taken as
    w (w^2 + (width c_max)^2)^(-alpha/2): the same to 0.25 % for w > 10 width c_max, but linear
    through w = 0, so i0 vanishes at saturation with a finite derivative and changes sign beyond
    it (a cell pushed past c_max by a Newton step sheds Li instead of taking more). A floor on w
    instead let full cells keep lithiating at large overpotentials and Newton stalled at x = 1
    (32^3 cathode at the end of discharge, docs/discharge.md). ``vacancy``: the factor
    (c_max - c_s)^(1 - alpha) when the caller has it in another form (intercalation_current);
    m: ufl or numpy (fem_assb.materials.mathns).
    """
    cs = mathns.of(m).clip(c_s, eps * c_max, c_max)
    if vacancy is None:
        w = c_max - c_s
        vacancy = w * (w * w + (width * c_max) ** 2) ** (-alpha / 2.0)
    return i00 * c_e**alpha * cs**alpha * vacancy


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
        i0 = exchange_current_cam(c_e, c_s, c_max, cam.i00, alpha, vacancy=vacancy)
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


def metal_current(eta, i0, T, alpha=0.5):
    """Li metal | electrolyte current density (A/m^2): Butler-Volmer with constant i0 (A/m^2),
    eta = phi_s - phi_e - 0 (Li is the reference electrode), MODEL §3."""
    return butler_volmer(eta, i0, alpha, FARADAY / (GAS_CONSTANT * T))

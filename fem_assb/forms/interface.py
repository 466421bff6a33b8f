"""Interface laws (MODEL.md §3), each written once, in UFL (numpy where noted).

- :func:`butler_volmer`: i = i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)], f = F / (R T).
- the exchange current i0 = i00 c_e^alpha c_s^alpha (c_max - c_s)^(1 - alpha) is
  :func:`fem_assb.materials.kinetics.exchange_current_density` (never NaN, i0 -> 0 at
  saturation with a finite derivative), shared with ``System.exchange_current_density()``.
- :func:`intercalation_current`: CAM | electrolyte current density at the cell concentration.
- :func:`film_current`: the same interface through a resistive film ([003] Eqs. 4-10, MODEL §3)
  and/or with the half-cell correction of the CAM surface concentration (DESIGN §3a), c_surf =
  c_s - i (h_s / 2) / (F D_s): implicit in i, solved by safeguarded Newton steps written into the
  expression; it also returns the residual of the implicit law, which the simulation checks
  after every solve.
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
from fem_assb.materials.kinetics import SATURATION_WIDTH, exchange_current_density


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


def intercalation_current(eta0, c_s, c_e, cam, T, m=ufl):
    """CAM | electrolyte current density (A/m^2, anodic positive), MODEL §3: Butler-Volmer at the
    CAM concentration c_s (mol/m^3; the cell value: cell-centre kinetics).

    eta0 = phi_s - phi_e (V, cell values); c_e (mol/m^3); ``cam``: the CAM parameters (U0(x, T,
    m), c_max, i00, alpha); T (K). The law with the half-cell surface correction (c_surf = c_cell -
    i h_s / (2 F D_s), DESIGN §3a) is implicit in i: it is :func:`film_current` without a film
    (its converged per-facet solve, whose residual is checked after every solve). The unrolled
    Newton steps this function used to take for it were not converged where the correction
    matters: on a planar cell of 4 CAM cells at 0.5 A/m^2, 3 to 10 steps left residuals of 0.25
    to 0.017 c_max and voltages from 4.137 to 3.849 V (session 7).
    """
    m = mathns.of(m)
    f = FARADAY / (GAS_CONSTANT * T)
    i0 = exchange_current_density(cam.i00, cam.alpha, c_e, c_s, cam.c_max, m)
    return butler_volmer(eta0 - cam.U0(m.clip(c_s / cam.c_max, 0.0, 1.0), T, m), i0, cam.alpha, f, m)


#: Newton steps of the resistive-film law (:func:`film_current`); measured to leave residuals
#: below 1e-12 V on the Fig. 4a grid and at film saturation (tests/test_film.py).
FILM_ITERATIONS = 8
#: Newton steps after those in the logit of the film surface (:func:`film_current`).
LOGIT_ITERATIONS = 8
#: Bound of the logit of the film surface, |ln((c_max - c_RF) / c_RF)| (film_current).
Q_MAX = 200.0
#: Largest |residual| (V) of the film law accepted at a converged Newton iterate
#: (:meth:`fem_assb.studies.discharge.CellSimulation.step`): the implicit law holds to 1e-9 V
#: of overpotential, the cell Newton's phi tolerance.
FILM_TOLERANCE = 1e-9


def _asinh(z, m):
    """asinh(z) for numpy or UFL (UFL has none): ln(|z| + sqrt(z^2 + 1)) with the sign of z (no
    cancellation), ln(2 |z|) beyond |z| = 1e8 (no overflow of z^2; the difference is < 1e-16)."""
    if m.name == "numpy":
        return np.arcsinh(z)
    az = abs(z)
    zc = ufl.min_value(az, 1e8)
    mag = ufl.conditional(ufl.gt(az, 1e8), ufl.ln(2.0 * az), ufl.ln(zc + ufl.sqrt(zc * zc + 1.0)))
    return ufl.conditional(ufl.ge(z, 0.0), mag, -mag)


def _exp(q, m):
    return np.exp(q) if m.name == "numpy" else ufl.exp(q)


#: Newton steps of the inverse Butler-Volmer law for alpha other than 0.5
#: (:func:`kinetic_overpotential`): measured to reach round-off (|error of f eta| < 2.2e-13) for
#: |i / i0| from 1e-14 to 1e40 and alpha from 0.05 to 0.95 with 5 steps (4 for 0.3 <= alpha <= 0.7).
KINETIC_ITERATIONS = 5


def _is_half(alpha) -> bool:
    return isinstance(alpha, (int, float)) and float(alpha) == 0.5


def kinetic_overpotential(j, alpha, f, m, iterations: int = KINETIC_ITERATIONS):
    """The overpotential eta (V) at which the Butler-Volmer law gives i / i0 = j (MODEL §3),
    the inverse of exp(alpha f eta) - exp(-(1 - alpha) f eta) = j; numpy or UFL (``m``, a
    mathns namespace); alpha a number or UFL.

    alpha = 0.5: (2/f) asinh(j / 2) exactly. Otherwise, with s = sign(j), a = alpha (j >= 0) or
    1 - alpha (j < 0), b = 1 - a and v = s f eta >= 0, the law is

        h(v) = a v - ln(|j| + exp(-b v)) = 0,     h' = a + b exp(-b v) / (|j| + exp(-b v)) in [a, 1],

    h increasing and concave, so Newton from v0 = ln(1 + |j|) / a (above the root: exp(a v0) -
    1 = |j|) lands at or below the root after the first step and then rises monotonically to it
    (a tangent of a concave function lies above it): ``iterations`` steps, no safeguard needed.
    """
    if _is_half(alpha):
        return (2.0 / f) * _asinh(j / 2.0, m)
    pos = m.where_gt(j, 0.0, 1.0, 0.0)  # j = 0 takes the j < 0 branch: v = 0 there too
    a = pos * alpha + (1.0 - pos) * (1.0 - alpha)
    b = 1.0 - a
    J = abs(j)
    v = m.log(1.0 + J) / a
    for _ in range(iterations):
        e = m.exp(-b * v)
        v = v - (a * v - m.log(J + e)) / (a + b * e / (J + e))
    return (2.0 * pos - 1.0) * v / f


def kinetic_residual(eta, j, alpha, f, m):
    """The forward Butler-Volmer law's residual as a voltage (V): (BV(eta) - j) / BV'(eta), BV(eta)
    = exp(alpha f eta) - exp(-(1 - alpha) f eta), the Newton correction of eta that would make
    the kinetics hold at i / i0 = j; f eta clipped to +-500 (no overflow; such a state is far
    from converged and its residual large anyway)."""
    u = m.clip(f * eta, -500.0, 500.0)
    ep, em = m.exp(alpha * u), m.exp(-(1.0 - alpha) * u)
    return (ep - em - j) / (f * (alpha * ep + (1.0 - alpha) * em))


def film_coefficients(film, T: float) -> tuple[float, float]:
    """(R_RF [Ohm m^2], a_film = l_cam / (F D_cam(T)) [mol/m^3 per A/m^2]) of a film, (0, 0)
    without one ([003] Eqs. 4-10, :func:`film_current`)."""
    if film is None:
        return 0.0, 0.0
    return float(film.resistance()), float(film.l_cam) / (FARADAY * float(film.D_at(T)))


def film_current(
    eta0, c_cell, c_e, a_surf, cam, film, T, m=ufl, iterations: int = FILM_ITERATIONS, coefficients=None
):
    """CAM | SE current density i (A/m^2, anodic positive) through a resistive film, and the
    residual (V) of its implicit law: (i, r). MODEL §3, [003] Eqs. 4-10 (Eq. 11: ``film.D_at``).

    The law, as read from [003] (any transfer coefficient alpha; the seeds' is 0.5):

        i       = i0(c_RF) [exp(alpha f eta_RF) - exp(-(1 - alpha) f eta_RF)]      (Eq. 8)
        eta_RF  = phi_s - phi_e - U0(c_RF) - i R_RF                               (Eq. 9)
        R_RF    = l_cam / sigma_cam + l_se / kappa_se          (Ohm m^2, Eqs. 6, 7, 10)
        c_RF    = c_s - i l_cam / (F D_cam(T))        (mol/m^3, Eq. 4 with Eq. 5: N = i / F)

    Eq. 4 is printed c_RF = c_CAM - N c_CAM / D, dimensionally wrong; the text says the drop
    depends on the film's thickness and diffusivity, so l_cam stands for the second c_CAM
    (MODEL §3). Signs: on discharge i < 0 (Li enters the CAM), so c_RF > c_s: the film's outer
    surface is richer in Li than the CAM under it, as [003] Fig. 5a shows; U0 and i0 are taken
    at c_RF. c_s is the CAM surface concentration: c_cell - i a_surf with the half-cell
    correction (a_surf = h_s / (2 F D_s), mol/m^3 per A/m^2; 0 for cell-centre values), so
    c_RF = c_cell - i a with a = a_surf + l_cam / (F D_cam).

    Solved as follows. The kinetics are inverted, eta_RF = eta_BV(i / i0) (:func:`
    kinetic_overpotential`: (2/f) asinh(i / (2 i0)) exactly for alpha = 0.5, else its converged
    Newton steps), and the law is the overpotential balance (V)

        r = eta0 - U0(c_RF) - i R_RF - eta_BV(i / i0(c_RF)) = 0,   c_RF = c_cell - a i,

    which falls monotonically in i from +inf (c_RF -> c_max: the film's surface saturated, i0 -> 0)
    to -inf (c_RF -> 0). Phase 1: ``iterations`` Newton steps in i from i = 0 (the first one is
    the linearized law; r is convex towards the root from i = 0 for the kinetics, so the steps
    approach it from that side), each kept inside 0 < c_RF < c_max by a fraction-to-the-boundary
    rule (at most 0.9 of the way to a bound). Phase 2 (a > 0: a CAM-side film or the surface
    correction): LOGIT_ITERATIONS Newton steps in the logit of the film surface, q = ln((c_max -
    c_RF) / c_RF), with i = (c_cell - c_RF(q)) / a and the vacancy and occupancy factors of i0
    computed from q: r is nearly linear in q near saturation, and a surface within 1e-15 c_max of
    c_max, where the voltage reaches the cut-off when the film saturates, is resolved, which a
    difference of concentrations in i cannot do. With a = 0, c_RF = c_cell and phase 1 alone
    solves it. The residual r at the result is returned with i: the caller checks it (|r| <=
    FILM_TOLERANCE), never assumes convergence (measured: below 1e-12 V over the grid of
    tests/test_film.py). For alpha other than 0.5 the returned residual is that of the forward
    law, Eq. 8 at eta_RF of Eq. 9 (:func:`kinetic_residual`, V), so it checks the inverse's
    steps too.

    eta0 = phi_s - phi_e (V); c_cell, c_e (mol/m^3); a_surf (mol m^-3 per A m^-2, float or UFL);
    cam: U0(x, T, m), c_max, i00, alpha; film: the materials' Film section (l_cam, sigma_cam,
    D_cam, l_se, kappa_se; D_cam at T by its Arrhenius law, ``D_at``) or None (no film: the
    half-cell surface correction alone, a_surf > 0); T (K); m: ufl or numpy
    (numpy: finite-difference Newton derivatives, for the 0D tables and tests); coefficients:
    None, or (R_RF, a_film) as UFL Constants holding the film's values (the cell forms: one
    compiled kernel serves every film of a sweep; each film parameter set used to compile its
    own, 13 to 50 s per case).
    """
    m = mathns.of(m)
    alpha = cam.alpha if isinstance(cam.alpha, ufl.core.expr.Expr) else float(cam.alpha)
    half = _is_half(alpha)
    f = FARADAY / (GAS_CONSTANT * T)
    # a float, or UFL of the material code for several CAM materials (CellForms.cam_mix)
    c_max = cam.c_max if isinstance(cam.c_max, ufl.core.expr.Expr) else float(cam.c_max)
    R_rf, a_film = film_coefficients(film, T)  # Ohm m^2; mol/m^3 per A/m^2
    logit = a_film > 0 or not (isinstance(a_surf, (int, float)) and a_surf == 0)
    if coefficients is not None:
        R_rf, a_film = coefficients
    a = a_surf + a_film
    eps2 = (SATURATION_WIDTH * c_max) ** 2

    def U0_of(y):
        return cam.U0(m.clip(y, 1e-9, 1.0 - 1e-9), T, m)

    def balance(i, y, w_frac):
        """r (V) at current i with the film surface at c_RF = y c_max = c_max - w_frac c_max."""
        return eta0 - U0_of(y) - R_rf * i - kinetic_overpotential(i / i0_of(y, w_frac), alpha, f, m)

    def i0_of(y, w_frac):
        """i0 (A/m^2) at the film surface c_RF = y c_max = c_max - w_frac c_max."""
        w = w_frac * c_max
        if half:
            vac = w * (w * w + eps2) ** -0.25  # the vacancy factor of materials.kinetics
            occ = m.sqrt(m.max_value(y * c_max, 0.0))
        else:
            vac = w * (w * w + eps2) ** (-alpha / 2.0)
            occ = m.max_value(y * c_max, 1e-300 * c_max) ** alpha
        i0 = exchange_current_density(cam.i00, alpha, c_e, y * c_max, c_max, m, vacancy=vac, occupancy=occ)
        return m.max_value(i0, 1e-300)  # a surface rounded onto c_max: no division by 0

    def result(i, y, w_frac, r):
        """(i, residual): alpha = 0.5, r itself (the kinetics inverted exactly); else the forward
        law's residual (kinetic_residual), which does not rely on the inverse's own steps."""
        if half:
            return i, r
        eta_rf = eta0 - U0_of(y) - R_rf * i
        return i, kinetic_residual(eta_rf, i / i0_of(y, w_frac), alpha, f, m)

    def of_q(q):  # (i, r) at the logit q of the film surface
        y, w_frac = 1.0 / (1.0 + _exp(q, m)), 1.0 / (1.0 + _exp(-q, m))
        i = (c_cell - c_max * y) / a
        return i, balance(i, y, w_frac)

    def of_i(i):  # (i, r) with c_RF = c_cell (a = 0)
        y = c_cell / c_max
        return i, balance(i, y, 1.0 - y)

    def of_i_film(i):  # (i, r) with c_RF = c_cell - a i
        c = c_cell - a * i
        return i, balance(i, c / c_max, (c_max - c) / c_max)

    def newton(u, solve):
        """(r(u), Newton point u - r / r'(u)); UFL: exact derivative, numpy: central difference."""
        if m.name == "numpy":
            d = 1e-7 * (np.abs(u) + 1e-6)
            r = solve(u)[1]
            dr = (solve(u + d)[1] - solve(u - d)[1]) / (2.0 * d)
        else:
            u = ufl.variable(u)
            r = solve(u)[1]
            dr = ufl.diff(r, u)
        return r, dr, u - r / dr

    # start: the law linearized at i = 0 in its kinetics and resistance, E / (R_ct + R_RF)
    x_cell = m.clip(c_cell / c_max, 1e-9, 1.0 - 1e-9)
    i0_cell = exchange_current_density(cam.i00, alpha, c_e, c_cell, c_max, m)  # BV slope f i0, any alpha
    i_start = (eta0 - U0_of(x_cell)) / (R_rf + 1.0 / (f * i0_cell))
    if not logit:  # c_RF = c_cell: r(i) is the kinetics and the resistance alone
        i = i_start
        for _ in range(iterations):
            i = newton(i, of_i)[2]
        y = c_cell / c_max
        return result(i, y, 1.0 - y, of_i(i)[1])

    tiny = 1e-300 * c_max

    def q_of(i):
        c = c_cell - a * i
        return m.clip(m.log(m.max_value(c_max - c, tiny) / m.max_value(c, tiny)), -Q_MAX, Q_MAX)

    def bracket(q, r, lo, hi):  # r falls with q: r > 0 puts the root above q
        pos = m.where_gt(r, 0.0, 1.0, 0.0)
        return pos * m.max_value(lo, q) + (1.0 - pos) * lo, pos * hi + (1.0 - pos) * m.min_value(hi, q)

    # phase 1, in i from the linearized law, each step kept inside
    # 0 < c_RF < c_max by a fraction-to-the-boundary rule; every iterate narrows a bracket in q
    i_lo, i_hi = -(c_max - c_cell) / a, c_cell / a
    q_lo, q_hi = -Q_MAX, Q_MAX
    i = m.clip(i_start, 0.9 * i_lo, 0.9 * i_hi)
    for _ in range(iterations):
        r, _, new = newton(i, of_i_film)
        q_lo, q_hi = bracket(q_of(i), r, q_lo, q_hi)
        i = m.clip(new, i + 0.9 * (i_lo - i), i + 0.9 * (i_hi - i))
    # phase 2, in the logit q of the film surface: safeguarded Newton (a Newton point outside the
    # bracket, or a non-falling r, takes the bracket's midpoint); it resolves a surface within
    # 1e-15 c_max of saturation, which i cannot
    q = m.clip(q_of(i), q_lo, q_hi)
    for _ in range(LOGIT_ITERATIONS):
        r, dr, new = newton(q, of_q)
        q_lo, q_hi = bracket(q, r, q_lo, q_hi)
        inside = (  # q_lo <= new <= q_hi and r' < 0
            m.where_gt(q_lo, new, 0.0, 1.0) * m.where_gt(new, q_hi, 0.0, 1.0) * m.where_gt(-dr, 0.0, 1.0, 0.0)
        )
        new_safe = inside * new + (1.0 - inside) * 0.5 * (q_lo + q_hi)
        q = new_safe
    y, w_frac = 1.0 / (1.0 + _exp(q, m)), 1.0 / (1.0 + _exp(-q, m))
    i, r = of_q(q)
    return result(i, y, w_frac, r)


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

"""Independent 1D reference of the planar all-solid-state cell (for the tests only).

Li metal | dense SE separator | dense CAM slab | collector, galvanostatic current density I
(A/m^2, > 0 on discharge). The interface is one plane, so the interface current density is -I
and only the Li diffusion in the slab is a PDE:

    dc/dt = d/dx (D(c) dc/dx) on (0, L),  -D dc/dx = I / F at x = 0 (Li enters), no flux at x = L.

Method of lines on a fine uniform finite-volume grid (face D at the mean of the neighbours),
integrated with scipy's BDF at tight tolerances. The surface concentration is extrapolated from
the first two cells and the flux. The voltage is algebraic (MODEL §3, §4):

    U = -I L_Li / sigma_Li - eta_Li - I L_sep / kappa + U0(x_s) + eta_c
        - I int dx / sigma(x) - I L_cc / sigma_cc

with eta_Li from BV(i = +I, i0_Li) and eta_c from BV(i = -I, i0(c_e, c_s)).

With a resistive film (``film``: R_RF in Ohm m^2 and l_cam / D_cam in m^2 s / m^2 ... see
discharge_1d) the interface law is [003] Eqs. 4-10 written here on its own: the film's outer
surface holds c_RF = c_s + I l_cam / (F D_cam) (the interface current is -I), and the potential
step phi_s - phi_e across the interface is found by brentq on the forward law

    BV(phi_s - phi_e - U0(c_RF) + I R_RF, i0(c_e, c_RF)) = -I,

so the voltage gains U0(x_RF) + eta_RF - I R_RF in place of U0(x_s) + eta_c; the discharge ends
(U = -inf) when c_RF reaches c_max.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from fem_assb.constants import FARADAY as F
from fem_assb.constants import GAS_CONSTANT as R


def bv_overpotential(i, i0, alpha, f):
    """Overpotential (V) at which the Butler-Volmer law gives current density i (A/m^2)."""
    if alpha == 0.5:
        return 2.0 / f * np.arcsinh(i / (2.0 * i0))
    g = lambda e: i0 * (np.exp(alpha * f * e) - np.exp(-(1 - alpha) * f * e)) - i  # noqa: E731
    return brentq(g, -5.0, 5.0, xtol=1e-14)


def discharge_1d(
    cam,
    *,
    I,
    L_cam,
    L_sep,
    kappa,
    c_e,
    T,
    i0_li,
    U_cut,
    L_li=0.0,
    sigma_li=1e5,
    L_cc=0.0,
    sigma_cc=1e5,
    n=600,
    t_max=None,
    film=None,
):
    """Discharge at current density I (A/m^2) to U_cut (V). Returns dict t (s), U (V), x_mean.

    cam: object with U0(x, T, m), D(x, T, m), sigma(x, T, m), c_max, c0, i00 (SI), alpha.
    film: None, or a mapping with R (film resistance, Ohm m^2) and a_film = l_cam / (F D_cam)
    (mol/m^3 per A/m^2).
    """
    f = F / (R * T)
    h = L_cam / n
    cmax = cam.c_max
    N = I / F  # mol/m^2/s entering at x = 0

    def D(c):
        return cam.D(np.clip(c / cmax, 1e-9, 1 - 1e-9), T, np)

    def rhs(t, c):
        cf = 0.5 * (c[1:] + c[:-1])
        flux = -D(cf) * (c[1:] - c[:-1]) / h  # interior faces, +x direction
        div = np.zeros_like(c)
        div[0] = (N - flux[0]) / h if n > 1 else N / h
        div[1:-1] = (flux[:-1] - flux[1:]) / h
        div[-1] = flux[-1] / h
        return div

    def surface(c):
        # c(0) from the flux BC, second order: quadratic through the BC slope and cells 1, 2.
        g = -N / D(c[0])  # dc/dx at x = 0
        # c(x) = a + g x + b x^2 with c(h/2) = c0, c(3h/2) = c1 (cell averages to O(h^2)).
        b = (c[1] - c[0] - g * h) / (2 * h * h)
        return c[0] - g * h / 2 - b * h * h / 4

    def voltage(c):
        cs = np.clip(surface(c), 0.0, cmax)
        xs = cs / cmax
        i0 = cam.i00 * c_e**cam.alpha * max(cs, 0.0) ** cam.alpha * max(cmax - cs, 0.0) ** (1 - cam.alpha)
        if i0 <= 0:
            return -np.inf
        if film is None:
            eta_c = bv_overpotential(-I, i0, cam.alpha, f) if I != 0 else 0.0
        else:
            c_rf = cs + I * film["a_film"]
            if not 0.0 < c_rf < cmax:
                return -np.inf
            xs = c_rf / cmax
            i0 = cam.i00 * c_e**cam.alpha * c_rf**cam.alpha * (cmax - c_rf) ** (1 - cam.alpha)
            u0 = cam.U0(xs, T, np)

            def g(dphi):
                e = dphi - u0 + I * film["R"]
                return i0 * (np.exp(cam.alpha * f * e) - np.exp(-(1 - cam.alpha) * f * e)) + I

            dphi = brentq(g, u0 - I * film["R"] - 3.0, u0 - I * film["R"] + 3.0, xtol=1e-14, rtol=1e-14)
            eta_c = dphi - u0  # U0(x_s) below is replaced by U0(x_RF): xs is x_RF here
        eta_li = bv_overpotential(I, i0_li, 0.5, f) if I != 0 else 0.0
        r_cam = np.sum(h / cam.sigma(np.clip(c / cmax, 1e-9, 1 - 1e-9), T, np))
        return (
            -I * L_li / sigma_li
            - eta_li
            - I * L_sep / kappa
            + cam.U0(xs, T, np)
            + eta_c
            - I * r_cam
            - I * L_cc / sigma_cc
        )

    def event(t, c):
        return voltage(c) - U_cut

    event.terminal = True
    event.direction = -1
    c0 = np.full(n, cam.c0)
    cap = (cmax - cam.c0) * L_cam * F
    t_max = t_max or 2.0 * cap / max(I, 1e-30)
    from scipy.sparse import diags

    jac = diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1])
    sol = solve_ivp(
        rhs,
        (0, t_max),
        c0,
        method="BDF",
        rtol=1e-9,
        atol=1e-9 * cmax,
        events=event,
        jac_sparsity=jac,
        dense_output=True,
        max_step=t_max / 200,
    )
    ts = sol.t
    U = np.array([voltage(sol.y[:, k]) for k in range(ts.size)])
    x_mean = sol.y.mean(axis=0) / cmax
    t_end = sol.t_events[0][0] if sol.t_events[0].size else ts[-1]
    return {"t": ts, "U": U, "x_mean": x_mean, "t_end": float(t_end), "sol": sol, "voltage": voltage}

"""Independent 1D reference of the planar liquid cell (for the tests only; no package forms).

Li metal | porous separator (eps_s, kappa and D factors f_k, f_D) | liquid layer (eps = 1, bulk) |
optional carbon-binder layer (CBD: eps_cbd, factors fk_cbd, fD_cbd) | dense CAM slab | collector,
galvanostatic current density I (A/m^2, > 0 on discharge). The CAM touches the last electrolyte
layer in one plane, so the interface current density is -I and the electrolyte current is I
everywhere in the liquid; against a CBD layer only its pores (area fraction eps_cbd) react, so
the Butler-Volmer current density there is -I / eps_cbd. The PDEs (MODEL.md §2, §3):

    electrolyte, 0 < x < L_e:   eps dc/dt = -dN/dx,   N = -D_eff(c) dc/dx + t+(c) I / F,
                                N = I / F at x = 0 (Li+ from the anode) and at x = L_e (into the CAM);
    CAM, 0 < y < L_cam:         dc_s/dt = d/dy (D_s dc_s/dy),  -D_s dc_s/dy = I / F at y = 0, 0 at L_cam.

Method of lines on fine uniform finite-volume grids per layer (face D harmonic between cells,
the layer jump included; face t+ at the mean concentration), scipy BDF at tight tolerances.
The voltage is algebraic (MODEL §2-§4): with i_e = I,

    dphi_e/dx = -I / kappa_eff(c) + (1 - t+(c)) (2 R T / F) TDF(c) d ln c / dx,
    U = -I L_Li / sigma_Li - eta_Li + [phi_e(L_e) - phi_e(0)] + U0(x_s) + eta_c
        - I int dy / sigma(x) - I L_cc / sigma_cc,

eta_Li from BV(+I, i0_Li), eta_c from BV(-I / wet, i0(c_e(L_e), c_s(0))) (wet = eps_cbd against a
CBD layer, else 1); the boundary values c_e(L_e)
and c_s(0) from the flux conditions (second order), phi_e integrated cell to cell (trapezoid in
x of 1/kappa, the diffusion potential on the jumps of ln c).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq
from scipy.sparse import lil_matrix

from fem_assb.constants import FARADAY as F
from fem_assb.constants import GAS_CONSTANT as R


def _bv_eta(i, i0, alpha, f):
    if alpha == 0.5:
        return 2.0 / f * np.arcsinh(i / (2.0 * i0))
    return brentq(
        lambda e: i0 * (np.exp(alpha * f * e) - np.exp(-(1 - alpha) * f * e)) - i, -5, 5, xtol=1e-14
    )


def liquid_discharge_1d(
    cam,
    ely,
    *,
    I,
    T,
    L_sep,
    L_le,
    L_cam,
    eps_sep,
    fk_sep,
    fD_sep,
    i0_li,
    U_cut,
    L_li=0.0,
    sigma_li=1e5,
    L_cc=0.0,
    sigma_cc=1e5,
    n_sep=200,
    n_le=100,
    n_cam=400,
    t_max=None,
    L_cbd=0.0,
    n_cbd=0,
    eps_cbd=1.0,
    fk_cbd=1.0,
    fD_cbd=1.0,
):
    """Discharge at I (A/m^2) to U_cut (V). ``cam``: U0, D, sigma (x, T, m), c_max, c0, i00,
    alpha; ``ely``: c0, kappa, D, t_plus, tdf (c, T, m). Returns dict with t (s), U (V), t_end,
    sol (dense), voltage(y), c_e(y) and the electrolyte cell centres x_e (m)."""
    f = F / (R * T)
    cmax, c0e = cam.c_max, ely.c0
    dxe = np.concatenate(
        [
            np.full(n_sep, L_sep / n_sep),
            np.full(n_le, L_le / max(n_le, 1)),
            np.full(n_cbd, L_cbd / max(n_cbd, 1)),
        ]
    )  # n_le = 0, n_cbd = 0: none
    xe = np.cumsum(dxe) - dxe / 2
    eps = np.concatenate([np.full(n_sep, eps_sep), np.ones(n_le), np.full(n_cbd, eps_cbd)])
    fk = np.concatenate([np.full(n_sep, fk_sep), np.ones(n_le), np.full(n_cbd, fk_cbd)])
    fD = np.concatenate([np.full(n_sep, fD_sep), np.ones(n_le), np.full(n_cbd, fD_cbd)])
    wet = eps_cbd if n_cbd > 0 else 1.0  # the reacting fraction of the CAM face
    ne, hs = n_sep + n_le + n_cbd, L_cam / n_cam

    def ev(fn, c):
        return np.asarray(fn(c, T, np), dtype=float) + 0.0 * c

    def Ds(c):
        return ev(cam.D, np.clip(c / cmax, 1e-9, 1 - 1e-9))

    def split(y):
        return y[:ne], y[ne:]

    def rhs(t, y):
        ce, cs = split(y)
        D = fD * ev(ely.D, ce)
        Tf = 1.0 / (dxe[:-1] / (2 * D[:-1]) + dxe[1:] / (2 * D[1:]))  # m/s
        tp_f = ev(ely.t_plus, 0.5 * (ce[1:] + ce[:-1]))
        N = np.concatenate([[I / F], -Tf * (ce[1:] - ce[:-1]) + tp_f * I / F, [I / F]])
        dce = -(N[1:] - N[:-1]) / (eps * dxe)
        cf = 0.5 * (cs[1:] + cs[:-1])
        J = np.concatenate([[I / F], -Ds(cf) * (cs[1:] - cs[:-1]) / hs, [0.0]])  # +y, Li enters at 0
        dcs = -(J[1:] - J[:-1]) / hs
        return np.concatenate([dce, dcs])

    def cs_surface(cs):
        g = -I / F / Ds(cs[0])  # dc/dy at y = 0
        b = (cs[1] - cs[0] - g * hs) / (2 * hs * hs)
        return cs[0] - g * hs / 2 - b * hs * hs / 4

    def ce_boundary(ce, end):
        """c_e at x = 0 or L_e from -D_eff dc/dx = (1 - t+) I / F there (second order)."""
        k, kk = (0, 1) if end == 0 else (ne - 1, ne - 2)
        D = fD[k] * float(ev(ely.D, ce[k]))
        g = -(1 - float(ev(ely.t_plus, ce[k]))) * I / F / D  # dc/dx at either end
        g_s = g if end == 0 else -g  # along s, the distance from that end into the liquid
        h = dxe[k]  # the two nearest cells have this width: c(s) = a + g_s s + b s^2
        b = (ce[kk] - ce[k] - g_s * h) / (2 * h * h)
        return ce[k] - g_s * h / 2 - b * h * h / 4

    def phi_e_drop(ce):
        """phi_e(L_e) - phi_e(0) (V)."""
        cb0, cbL = ce_boundary(ce, 0), ce_boundary(ce, 1)
        cc = np.concatenate([[cb0], ce, [cbL]])
        r = np.sum(dxe / (fk * ev(ely.kappa, ce)))  # the cells in series (Ohm m^2)
        cm = 0.5 * (cc[1:] + cc[:-1])
        diff = np.sum((1 - ev(ely.t_plus, cm)) * ev(ely.tdf, cm) * np.diff(np.log(cc))) * 2 * R * T / F
        return -I * r + diff, cbL

    def voltage(y):
        ce, cs = split(y)
        csurf = np.clip(cs_surface(cs), 0.0, cmax)
        dphi, ceL = phi_e_drop(ce)
        i0 = cam.i00 * ceL**cam.alpha * csurf**cam.alpha * max(cmax - csurf, 0.0) ** (1 - cam.alpha)
        if i0 <= 0 or ceL <= 0:
            return -np.inf
        eta_c = _bv_eta(-I / wet, i0, cam.alpha, f)
        eta_li = _bv_eta(I, i0_li, 0.5, f)
        r_cam = np.sum(hs / ev(cam.sigma, np.clip(cs / cmax, 1e-9, 1 - 1e-9)))
        return (
            -I * L_li / sigma_li
            - eta_li
            + dphi
            + float(cam.U0(csurf / cmax, T, np))
            + eta_c
            - I * r_cam
            - I * L_cc / sigma_cc
        )

    def event(t, y):
        return voltage(y) - U_cut

    event.terminal, event.direction = True, -1
    y0 = np.concatenate([np.full(ne, c0e), np.full(n_cam, cam.c0)])
    cap = (cmax - cam.c0) * L_cam * F
    t_max = t_max or 2.0 * cap / I
    n = ne + n_cam
    jac = lil_matrix((n, n))
    for k in range(n):
        for d in (-1, 0, 1):
            if 0 <= k + d < n:
                jac[k, k + d] = 1
    sol = solve_ivp(
        rhs,
        (0, t_max),
        y0,
        method="BDF",
        rtol=1e-9,
        atol=np.concatenate([np.full(ne, 1e-9 * c0e), np.full(n_cam, 1e-9 * cmax)]),
        events=event,
        jac_sparsity=jac.tocsr(),
        dense_output=True,
        max_step=t_max / 400,
    )
    t_end = sol.t_events[0][0] if sol.t_events[0].size else sol.t[-1]
    return {
        "t": sol.t,
        "U": np.array([voltage(sol.y[:, k]) for k in range(sol.t.size)]),
        "t_end": float(t_end),
        "sol": sol,
        "voltage": voltage,
        "c_e": lambda y: y[:ne],
        "x_e": xe,
    }

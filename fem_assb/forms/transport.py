"""Bulk transport on DG0 fields: two-point fluxes, boundary half-cells, grain boundaries.

DESIGN.md §2: on one voxel mesh with DG0 unknowns, the flux between two face-neighbouring cells
is the two-point flux T * (u+ - u-), with the transmissibility (per unit facet area)

    T = 1 / (h+ / (2 k+) + h- / (2 k-)),   h = dot(|n|, H)                      (1)

(H: the DG0 vector of cell extents, so h is each cell's extent normal to the facet), i.e. the
two half cells in series. Everything here is a UFL expression meant for ``dS(tag)`` or
``ds(tag)`` measures with quadrature degree 0; '+' and '-' are DOLFINx's arbitrary sides, and
every term below is symmetric under swapping them. Units: k in S/m (or m^2/s for diffusion),
H in m, u in V (or mol/m^3); T in S/m^2 and the flux T * jump in A/m^2 (or mol/(m^2 s)).

Grain boundaries (MODEL.md §3, [002] Eq. 1) between SE grains of different nonzero IDs
(meshing.cell_tags.is_grain_boundary) carry

    i_GB = i_GB0 [exp(F dphi / 2RT) - exp(-F dphi / 2RT)]                       (2)

with dphi the potential jump across the boundary itself; linearized, R_GB = R T / (F i_GB0)
[Ohm m^2]. On a DG0 mesh the GB sits between two half cells (area resistance R_b = h+/(2k+) +
h-/(2k-)), so the law is applied in series with them: the jump eta over the GB itself solves

    h(eta) = eta + R_b i_GB(eta) - (u+ - u-) = 0                                  (4)

(grain_boundary_jump: a local Newton solve per facet, converged and checked; the cell's
residual is grain_boundary_series_residual). For keff the same function takes the linearized
law, eta = R_GB i.
"""

from __future__ import annotations

import ufl

from fem_assb.constants import FARADAY
from fem_assb.constants import GAS_CONSTANT as R_GAS
from fem_assb.materials import mathns


def normal_extent(n, H):
    """Cell extent normal to a facet [m]: dot(|n|, H) (exact on a rectilinear grid)."""
    return sum(abs(n[i]) * H[i] for i in range(3))


def half_cell_resistance(k, H, n):
    """Area resistance of the half cell between a cell centre and its facet, h / (2 k) [Ohm m^2]
    (for diffusion: s/m). Use restricted arguments on interior facets."""
    return normal_extent(n, H) / (2 * k)


def transmissibility(k, H, n, interface_resistance=None):
    """T = 1 / (h+/(2k+) + R_i + h-/(2k-)) on interior facets, Eq. (1) [S/m^2].

    k: conductivity (DG0 Function, Constant or expression) [S/m]; H: DG0 vector of cell sizes [m];
    n: FacetNormal; interface_resistance: optional area resistance R_i of the facet itself
    (e.g. a linearized grain boundary) [Ohm m^2].
    """
    r = half_cell_resistance(k("+"), H("+"), n("+")) + half_cell_resistance(k("-"), H("-"), n("-"))
    if interface_resistance is not None:
        r = r + interface_resistance
    return 1 / r


def two_point_current(u, k, H, n, interface_resistance=None):
    """Flux density from the '+' cell to the '-' cell: T (u+ - u-) [A/m^2] (interior facets)."""
    return transmissibility(k, H, n, interface_resistance) * (u("+") - u("-"))


def two_point_flux(u, k, v, H, n, interface_resistance=None):
    """Weak-form term of the two-point flux, T (u+ - u-)(v+ - v-), for ``* dS(tags)``.

    As a residual it is the net outflow of every cell; with a TrialFunction u it is the
    symmetric positive semi-definite finite-volume matrix.
    """
    return two_point_current(u, k, H, n, interface_resistance) * (v("+") - v("-"))


#: Gauss-Legendre nodes on [0, 1] and weights (sum 1) of the face diffusivity, Eq. (3).
_GAUSS_3 = ((0.5 - 0.5 * 0.6**0.5, 5.0 / 18.0), (0.5, 8.0 / 18.0), (0.5 + 0.5 * 0.6**0.5, 5.0 / 18.0))


def kirchhoff_flux(c, D, v, H, n):
    """Weak-form term of nonlinear diffusion between two cells, for ``* dS(tags)``:

        j = D_f (c+ - c-) / (h+/2 + h-/2),   D_f = 1/(c+ - c-) int_{c-}^{c+} D(c) dc       (3)

    c: the concentration (UFL, mol/m^3 or a stoichiometry); D: callable c -> diffusivity (m^2/s).
    Eq. (3) is the two-point flux of the Kirchhoff transform Phi(c) = int D dc, exact for steady
    1D diffusion with any D(c) and monotone in c+ and c- (d j / d c+ = D(c+) / h > 0); D_f is
    taken by 3-point Gauss-Legendre on [c-, c+]. The cell-centred harmonic mean of D(c+) and
    D(c-) is not monotone where D falls steeply with c (the seed NMC811 D(x) drops 10x between
    x = 0.23 and 0.32): there the discrete flux decreases as the gradient grows and Newton
    cycled (docs/discharge.md).
    """
    cp, cm = c("+"), c("-")
    d_face = sum(w * D(cm + t * (cp - cm)) for t, w in _GAUSS_3)
    dist = 0.5 * (normal_extent(n("+"), H("+")) + normal_extent(n("-"), H("-")))
    return d_face * (cp - cm) / dist * (v("+") - v("-"))


def boundary_transmissibility(k, H, n):
    """Transmissibility between a cell centre and a Dirichlet value on its exterior facet,
    2 k / h [S/m^2] (the half cell, DESIGN.md §2)."""
    return 2 * k / normal_extent(n, H)


def boundary_flux(u, u_b, k, v, H, n):
    """Weak-form term of a Dirichlet value u_b applied on the exterior facet through the half
    cell: (2 k / h)(u - u_b) v, for ``* ds(tag)``. Outflow positive [A/m^2 times v]."""
    return boundary_transmissibility(k, H, n) * (u - u_b) * v


def grain_boundary_current_density(dphi, i_gb0, T):
    """Eq. (2): current density across a grain boundary [A/m^2] for the jump dphi [V] over the
    boundary itself; i_gb0 [A/m^2]; T [K]. Works on UFL expressions and numpy arrays."""
    a = FARADAY / (2 * R_GAS * T)
    exp = ufl.exp if isinstance(dphi, ufl.core.expr.Expr) else _np_exp
    return i_gb0 * (exp(a * dphi) - exp(-a * dphi))


def grain_boundary_resistance(i_gb0, T):
    """Linearization of Eq. (2) at dphi = 0: R_GB = R T / (F i_GB0) [Ohm m^2]; i_gb0 [A/m^2], T [K].
    (i_GB0 = 6.91e-3 A/cm^2 at 298.15 K gives 3.7 Ohm cm^2, MODEL.md §3.)"""
    return R_GAS * T / (FARADAY * i_gb0)


#: Local Newton steps of Eq. (4) in the cell. From the start of grain_boundary_jump they converge
#: monotonically (no overshoot); 6 steps reach round-off for jumps up to several hundred mV
#: (tests/test_grain_boundaries.py), and the cell checks the residual after them
#: (:data:`GB_TOLERANCE`).
GB_ITERATIONS = 6
#: Largest accepted residual |h(eta)| of Eq. (4) after the local Newton steps [V]: it bounds the
#: error of the GB jump itself (h' >= 1), so the GB current is the converged law's to this
#: voltage. A time step whose residual exceeds it fails (studies.discharge.CellSimulation.step).
GB_TOLERANCE = 1e-9


def grain_boundary_jump(dphi, r_b, i_gb0, T, iterations: int = GB_ITERATIONS, m=ufl):
    """The potential jump eta [V] over the grain boundary itself, solving Eq. (4),
    eta + r_b i_GB(eta) = dphi, by ``iterations`` Newton steps (UFL, or numpy with m = numpy).

    dphi [V]: jump of the two cell values; r_b [Ohm m^2]: the two half cells in series; i_gb0
    [A/m^2]; T [K]. h(eta) is increasing (h' = 1 + r_b i_GB'(eta) >= 1) and convex on the side
    of the root away from 0, and both
        eta_lin = dphi R_GB / (R_GB + r_b)   (sinh x >= x: the linear law's jump is larger)
        eta_log = asinh(dphi / (2 i_GB0 r_b)) / a,  a = F / (2RT)  (since r_b i_GB(eta) <= dphi)
    bound |eta| from above. Newton from the smaller of the two therefore approaches the root
    monotonically from outside, without overshoot, for any dphi; the residual
    :func:`grain_boundary_series_residual` bounds the error |eta - eta*| that is left.
    """
    mm = mathns.of(m)
    a = FARADAY / (2 * R_GAS * T)
    r_gb = grain_boundary_resistance(i_gb0, T)
    eta_lin = dphi * r_gb / (r_gb + r_b)
    x = abs(dphi) / (2 * i_gb0 * r_b)
    ash = mm.log(x + mm.sqrt(x * x + 1.0)) / a  # asinh(|x|) / a >= 0
    eta = mm.where_gt(
        dphi, 0.0, mm.min_value(eta_lin, ash), mm.max_value(eta_lin, -ash)
    )  # dphi = 0: eta_lin = 0
    for _ in range(iterations):
        g = eta + r_b * grain_boundary_current_density(eta, i_gb0, T) - dphi
        dg = 1.0 + r_b * i_gb0 * a * (mm.exp(a * eta) + mm.exp(-a * eta))
        eta = eta - g / dg
    return eta


def grain_boundary_series_residual(dphi, r_b, i_gb0, T, iterations: int = GB_ITERATIONS, m=ufl):
    """Residual h(eta) of Eq. (4) [V] after :func:`grain_boundary_jump`'s Newton steps; since
    h' >= 1, |h| bounds the error of the jump eta. Same arguments."""
    eta = grain_boundary_jump(dphi, r_b, i_gb0, T, iterations, m)
    return eta + r_b * grain_boundary_current_density(eta, i_gb0, T) - dphi


def _half_cells(k, H, n):
    """R_b = h+/(2k+) + h-/(2k-) [Ohm m^2] of an interior facet."""
    return half_cell_resistance(k("+"), H("+"), n("+")) + half_cell_resistance(k("-"), H("-"), n("-"))


def grain_boundary_flux(
    phi, v, grain_boundary, T, k=None, H=None, n=None, iterations=GB_ITERATIONS, r_gb=None
):
    """Weak-form term of the grain-boundary current, i (v+ - v-), for ``* dS(GB tag)``: the one
    GB law of the cell (Eq. 2 in series with the half cells, Eq. 4) and of keff (linearized), on
    the facets of :func:`fem_assb.meshing.cell_tags.is_grain_boundary`.

    grain_boundary: i_GB0 [A/m^2] (number, Constant) or an object with attribute ``i_GB0``;
    T [K] (both may be None for the linearized law with ``r_gb``). Without k, H, n, Eq. (2)
    acts on the jump of the cell values (the half cells are neglected). With k [S/m], H, n, the
    boundary sits in series with the two half cells: i = i_GB(eta), eta from
    :func:`grain_boundary_jump` (``iterations`` local Newton steps, checked by the cell with
    :func:`grain_boundary_series_residual`). ``iterations = 0`` is the linearized law
    i = dphi / (R_GB + R_b), R_GB = R T / (F i_GB0) or the given ``r_gb`` [Ohm m^2]; with a
    TrialFunction phi it is bilinear (keff).
    """
    i_gb0 = getattr(grain_boundary, "i_GB0", grain_boundary)
    dphi = phi("+") - phi("-")
    if k is None:
        i = grain_boundary_current_density(dphi, i_gb0, T)
    elif iterations == 0:
        r = grain_boundary_resistance(i_gb0, T) if r_gb is None else r_gb
        i = dphi / (r + _half_cells(k, H, n))
    else:
        eta = grain_boundary_jump(dphi, _half_cells(k, H, n), i_gb0, T, iterations)
        i = grain_boundary_current_density(eta, i_gb0, T)
    return i * (v("+") - v("-"))


def grain_boundary_check(phi, w, grain_boundary, T, k, H, n, iterations=GB_ITERATIONS):
    """Linear form (DG0 test function ``w``) for ``* dS(GB tag)`` whose assembled entry per cell
    is the sum over the cell's grain-boundary facets of |h(eta)| [V], Eq. (4) after the local
    Newton steps of :func:`grain_boundary_flux`: its maximum over the cells is an upper bound
    (at most 6 times) of the largest facet residual. Cell extents H [m], k [S/m] as there."""
    i_gb0 = getattr(grain_boundary, "i_GB0", grain_boundary)
    res = grain_boundary_series_residual(phi("+") - phi("-"), _half_cells(k, H, n), i_gb0, T, iterations)
    area = (H[0] * H[1] * H[2] / normal_extent(n, H))("+")  # facet area [m^2]
    return abs(res) / area * (w("+") + w("-"))


def _np_exp(x):
    import numpy as np

    return np.exp(x)


#: Local Newton steps of the CAM | CAM law (:func:`cam_interface_li_flux`, Eq. 9) for two
#: materials with different U0(x); measured to leave residuals below 1e-13 V over a discharge of
#: the two-material slab of tests/test_multicam.py (LCO against a linear U0).
CAM_INTERFACE_ITERATIONS = 6
#: Largest accepted residual |U0_a(x_a^s) - U0_b(x_b^s)| of the CAM | CAM law after its local
#: steps [V] (as the film's and the grain boundaries': the phi tolerance of the cell Newton).
CAM_INTERFACE_TOLERANCE = 1e-9


def cam_interface_li_flux(x, cD, U0, H, n, iterations: int = CAM_INTERFACE_ITERATIONS):
    """The Li flux N [mol/(m^2 s), from '+' to '-'] between two CAM materials a ('+') and b ('-')
    in contact, and the residual r [V] of the interface condition at it: (N, r). For
    ``* dS(CAM_INTERFACE)`` (docs/materials.md, "Several CAM materials"; MODEL §1, §3).

    The interface condition is continuity of the Li chemical potential, mu_Li = -F U0(x) (x = c /
    c_max of each side's own material), with the Li flux continuous through the interface:

        U0_a(x_a^s) = U0_b(x_b^s),
        N = g_a (x_a - x_a^s) = g_b (x_b^s - x_b),   g = 2 G / h,
        G = int_0^1 c_max D(x- + t (x+ - x-)) dt  of each side's own material           (8)

    (each half cell carries the diffusion flux c_max D dx/dn over h / 2; G is its Kirchhoff mean,
    3-point Gauss, taken over [x-, x+] as in the bulk: exact for constant D, and for two sides of
    the same material g's series is :func:`kirchhoff_flux` times c_max). Eliminating the two
    interface stoichiometries, x_a^s = x_a - N / g_a and x_b^s = x_b + N / g_b, leaves one
    equation in N:

        r(N) = U0_a(x_a - N / g_a) - U0_b(x_b + N / g_b) = 0                              (9)

    r rises with N (dr/dN = -U0_a'/g_a - U0_b'/g_b > 0 for falling U0s), on the bracket where both
    interface stoichiometries lie in [0, 1]. It is solved by ``iterations`` safeguarded Newton
    steps (a Newton point outside the closed bracket, or a non-rising r, takes the bracket's
    midpoint; a root hit exactly stays: it is on the bracket's edge)
    from

        N0 = (x_a - x_b) / (h_a / (2 G_a) + h_b / (2 G_b)),                              (10)

    the law of a shared U0(x) (continuity of x: x_a^s = x_b^s). With one U0 for both sides N0 is
    the root of (9): r(N0) = 0 up to round-off, so the law reduces to Eq. (10) exactly (and
    ``iterations = 0`` is Eq. (10) itself, used when every CAM material shares U0: the cell
    forms). Linearizing (9) at the cell values gives the two-point flux in mu, N = (U0_b - U0_a)
    / (h_a |U0_a'| / (2 G_a) + h_b |U0_b'| / (2 G_b)): each half cell's diffusion flux with dx =
    dU0 / U0'(x) in series; the local solve is that law without the linearization. r at the
    result is returned with N: the cell checks |r| <= CAM_INTERFACE_TOLERANCE after every solve.

    x: stoichiometry (DG0); cD: callable (side, xx) -> c_max D(xx) [mol/(m s)] of the material
    on ``side`` ('+' or '-'); U0: callable (side, xx) -> U0(xx) [V] of that material (it clips
    xx itself); H: cell extents [m]; n: FacetNormal.
    """
    xp, xm = x("+"), x("-")

    def mean(side):
        return sum(w * cD(side, xm + t * (xp - xm)) for t, w in _GAUSS_3)

    r_p = normal_extent(n("+"), H("+")) / (2 * mean("+"))  # 1 / g_a
    r_m = normal_extent(n("-"), H("-")) / (2 * mean("-"))  # 1 / g_b
    N = (xp - xm) / (r_p + r_m)  # Eq. (10)

    def residual(N):
        return U0("+", xp - N * r_p) - U0("-", xm + N * r_m)

    if iterations <= 0:
        return N, 0.0 * N
    lo = ufl.max_value((xp - 1.0) / r_p, -xm / r_m)  # x_a^s <= 1, x_b^s >= 0
    hi = ufl.min_value(xp / r_p, (1.0 - xm) / r_m)  # x_a^s >= 0, x_b^s <= 1
    for _ in range(iterations):
        Nv = ufl.variable(N)
        r = residual(Nv)
        dr = ufl.diff(r, Nv)
        above = ufl.conditional(ufl.gt(r, 0.0), 1.0, 0.0)  # r > 0: the root is below N
        lo, hi = (
            above * lo + (1.0 - above) * ufl.max_value(lo, N),
            above * ufl.min_value(hi, N) + (1.0 - above) * hi,
        )
        new = N - r / ufl.conditional(ufl.gt(dr, 0.0), dr, 1.0)
        inside = ufl.conditional(
            ufl.And(ufl.And(ufl.ge(new, lo), ufl.le(new, hi)), ufl.gt(dr, 0.0)), 1.0, 0.0
        )
        N = inside * new + (1.0 - inside) * 0.5 * (lo + hi)
    return N, residual(N)


def cam_interface_flux(x, cD, v, H, n, U0=None, iterations: int = CAM_INTERFACE_ITERATIONS):
    """Weak-form term of the CAM | CAM Li flux, N (v+ - v-), for ``* dS(CAM_INTERFACE)``: N of
    :func:`cam_interface_li_flux` (Eqs. 8-10); without ``U0`` (or with ``iterations = 0``)
    Eq. (10), the law of a shared U0(x). Arguments as there.

    A concentration-continuous law would put an Al-LCO shell (c_max 75 % of LCO's, the same U0(x))
    at a stoichiometry 1/0.75 times the core's at rest: a different U0 across the interface, i.e.
    no equilibrium, and x > 1 in the shell once the core passes x = 0.75."""
    if U0 is None:
        iterations = 0
    N, _ = cam_interface_li_flux(x, cD, U0, H, n, iterations)
    return N * (v("+") - v("-"))


def cam_interface_check(x, w, cD, U0, H, n, iterations: int = CAM_INTERFACE_ITERATIONS):
    """Linear form (DG0 test function ``w``) for ``* dS(CAM_INTERFACE)`` whose assembled entry per
    cell is the sum over its CAM | CAM facets of |r| [V], Eq. (9) after the local steps of
    :func:`cam_interface_li_flux` (an upper bound, at most 6 times, of the largest facet
    residual; as :func:`grain_boundary_check`)."""
    _, r = cam_interface_li_flux(x, cD, U0, H, n, iterations)
    area = (H[0] * H[1] * H[2] / normal_extent(n, H))("+")  # facet area [m^2]
    return abs(r) / area * (w("+") + w("-"))


# -- liquid electrolyte: concentrated-solution theory (MODEL.md §2) ------------------------------
#
# In the liquid network (LE pores, porous separator; meshing.cell_tags.LIQUID) the electrolyte
# carries phi_e and c_e, with (MODEL §2, Latz & Zausch; kappa_D = kappa (t+ - 1)/F dmu/dc,
# dmu/dc = 2RT TDF / c)
#
#     i_e = -kappa_eff grad phi_e + kappa_eff (1 - t+) (2RT/F) TDF grad ln c_e            (5)
#     N   = -D_eff grad c_e + t+ i_e / F                                                  (6)
#     eps dc_e/dt = -div N (+ the interface sources),  div i_e = 0 (+ the interface currents)
#
# On a facet between two liquid cells, both are two-point fluxes from '+' to '-': (5) with the
# transmissibility of kappa_eff (Eq. 1, the half cells in series: the porous separator against an
# LE pore is a series of the two media) acting on the jump of phi_e minus the diffusion potential
# of the jump of ln c_e, t+ and TDF at the mean of the two cell values; (6) with the
# transmissibility of D_eff on the jump of c_e plus the face t+ times (5) / F. With constant
# parameters and eps, a steady homogeneous layer carrying i has the exact linear profile of
# slope -(1 - t+) i / (F D_eff) (tests/test_liquid.py).


def face_mean(w):
    """Arithmetic mean of a cell quantity over the two sides of an interior facet."""
    return 0.5 * (w("+") + w("-"))


def diffusion_potential_factor(t_plus, tdf, T):
    """(1 - t+) (2 R T / F) TDF [V]: the electrolyte potential difference per unit difference
    of ln c_e at zero current (Eq. 5). Works on UFL expressions and numpy arrays alike."""
    return (1.0 - t_plus) * (2.0 * R_GAS * T / FARADAY) * tdf


def liquid_current(phi, ln_c, kappa, t_plus, tdf, H, n, T):
    """Eq. (5): electrolyte current density from the '+' to the '-' cell [A/m^2],

        i_e = T_kappa [(phi+ - phi-) - (1 - t+_f) (2 R T / F) TDF_f (ln c+ - ln c-)],

    T_kappa = 1 / (h+/(2 kappa+) + h-/(2 kappa-)) (Eq. 1). phi [V], ln_c: ln of c_e (or of c_e
    over any constant reference: only its jump enters), kappa [S/m]: the cells' effective
    conductivity (bulk kappa(c_e, T) times the medium's factor), t_plus, tdf [-]: the cell values,
    averaged on the facet (:func:`face_mean`); T [K]."""
    diffusion = diffusion_potential_factor(face_mean(t_plus), face_mean(tdf), T)
    return transmissibility(kappa, H, n) * ((phi("+") - phi("-")) - diffusion * (ln_c("+") - ln_c("-")))


def liquid_li_flux(c, D, t_plus, i_e, H, n):
    """Eq. (6): Li+ flux density from the '+' to the '-' cell [mol/(m^2 s)],

        N = T_D (c+ - c-) + t+_f i_e / F,

    T_D = 1 / (h+/(2 D+) + h-/(2 D-)) [m/s] (Eq. 1 for the effective diffusivities D [m^2/s]),
    c [mol/m^3], i_e [A/m^2] from :func:`liquid_current` on the same facet, t+ at the mean of
    the two cells."""
    return transmissibility(D, H, n) * (c("+") - c("-")) + face_mean(t_plus) * i_e / FARADAY

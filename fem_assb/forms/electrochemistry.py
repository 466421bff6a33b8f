"""Residual of the cell: phi (all conductors) and c (CAM; c_e in a liquid) as DG0 on one mesh.

Unknowns (one blocked DG0 space, block size 2): u[0] = phi (V), u[1] = x = c / c_max in the CAM
(dimensionless), x = c_e / c_e0 in the liquid electrolyte cells (LE pores, porous separator:
``cell_tags.LIQUID``; docs/liquid.md); x is pinned to x0 in every other cell. The residual rows
are balances per cell (DESIGN §2): charge in A, Li in mol/s. Bulk fluxes are the two-point
fluxes of :mod:`fem_assb.forms.transport`; interface laws come from
:mod:`fem_assb.forms.interface`. Each law runs over its own tagged facets only, with quadrature
degree 0 (DESIGN §3a).

Boundary conditions (MODEL §4): phi = 0 on the anode face (x = 0) through the half-cell
transmissibility 2 k / h (or Li | SE Butler-Volmer with phi_Li = 0 when the separator itself is
the x = 0 face); the applied current density ``i_app`` (A/m^2, > 0 on discharge) leaves the
cathode collector face (x = L), whose mean potential is the cell voltage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ufl
from dolfinx import fem

from fem_assb.forms.facet_permutations import without_facet_permutations
from fem_assb.forms.interface import (
    FARADAY,
    FILM_ITERATIONS,
    FILM_TOLERANCE,
    film_coefficients,
    film_current,
    intercalation_current,
    metal_current,
)
from fem_assb.forms.transport import (
    CAM_INTERFACE_ITERATIONS,
    CAM_INTERFACE_TOLERANCE,
    GB_ITERATIONS,
    GB_TOLERANCE,
    boundary_flux,
    cam_interface_check,
    cam_interface_flux,
    diffusion_potential_factor,
    grain_boundary_check,
    grain_boundary_flux,
    kirchhoff_flux,
    liquid_current,
    liquid_li_flux,
    normal_extent,
    two_point_flux,
)
from fem_assb.meshing import cell_tags as tags

#: Conductivity (S/m) used for the collectors: high enough to be equipotential to < 1 uV at
#: 10 A/m^2 on 100 um wide cells, low enough to keep the Jacobian well scaled (DESIGN §3a).
COLLECTOR_CONDUCTIVITY = 1.0e5
#: Cap on the Li metal conductivity (S/m) for the same reason (ohmic drop < 1e-8 V at 50 um).
METAL_CONDUCTIVITY_CAP = 1.0e5


@dataclass(frozen=True)
class LocalLaw:
    """A law solved inside the forms by a fixed number of local Newton steps per facet (the
    grain-boundary law, the resistive film, the half-cell surface correction), and the check of
    what those steps leave: ``form`` assembles, per cell, the sum over its facets of |residual|
    (V); a converged solve counts only where its largest value is within ``tolerance`` (V,
    :meth:`fem_assb.studies.discharge.CellSimulation.step`), else the step is cut and retried."""

    name: str  # "grain_boundary", "film", "surface", "surface_liquid"
    form: object  # compiled DG0 vector form
    tolerance: float
    what: str  # the law, for the failure reason
    reason: str = "LOCAL_LAW_NOT_CONVERGED"

    def failure(self, residual: float) -> str:
        """The reason of a solve this law's residual refuses."""
        return (
            f"{self.reason}: {self.what} left a residual of {residual:.3g} V "
            f"(> {self.tolerance:g} V) on some facet"
        )


class CellForms:
    """UFL forms of the cell on a :class:`~fem_assb.meshing.voxel_mesh.VoxelMesh`.

    system: materials system (``cam``, ``electrolyte``, ``anode``, ``grain_boundary``);
    T: temperature (K); surface_iterations: 0 (default) for cell-centre values in the
    Butler-Volmer law, else the half-cell surface correction, solved by the film law's converged
    per-facet solve without a film with that many phase-1 Newton steps; film_law: None (default) uses the
    resistive-film law at CAM | SE (:func:`~fem_assb.forms.interface.film_current`) where the
    system has a film of nonzero thickness, True forces it (a zero film: the film-free cell
    through the film's solve, for the tests), False never uses it.
    Attributes: ``u``, ``u_old`` (Functions), ``dt`` (s) and ``i_app`` (A/m^2) Constants,
    ``F`` (residual), ``J`` (Jacobian) and the scalar forms ``voltage``, ``interface_current``,
    ``lithium`` (mol in the CAM), ``cam_volume`` (m^3), ``area`` (m^2 of the collector face).

    Built in stages: :meth:`_spaces`, :meth:`_coefficients` (material indicators, conductivities)
    and :meth:`_measures`; then one method per physical block, each returning its residual term
    (:meth:`_bulk_transport`, :meth:`_cam_electrolyte`, :meth:`_metal_electrolyte`,
    :meth:`_grain_boundaries`, :meth:`_collectors`), summed in that order into ``F``; then
    :meth:`_outputs`. A new block (a liquid) is one more method in :attr:`BLOCKS`; the resistive
    film is a variant of :meth:`_cam_electrolyte`, taken where ``film`` is set.
    """

    #: The physical blocks of the residual, in the order their terms are summed.
    BLOCKS = (
        "_bulk_transport",
        "_cam_electrolyte",
        "_metal_electrolyte",
        "_grain_boundaries",
        "_collectors",
        "_liquid_transport",
        "_cam_liquid",
        "_metal_liquid",
    )
    #: Local Newton steps of the grain-boundary law (transport Eq. 4), checked after each solve.
    gb_iterations = GB_ITERATIONS
    #: Local steps of the CAM | CAM law (transport Eq. 9); None: 0 (its Eq. 10) where every CAM
    #: material shares U0(x), else CAM_INTERFACE_ITERATIONS (:meth:`_cam_interface`).
    cam_interface_iterations: int | None = None

    def __init__(self, vmesh, system, T: float, surface_iterations: int = 0, film_law: bool | None = None):
        self.vmesh, self.system, self.T = vmesh, system, float(T)
        self.surface_iterations = surface_iterations
        self.film = active_film(system) if film_law is None else (system.film if film_law else None)
        if film_law and system.film is None:
            raise ValueError("film_law=True needs a system with a film section")
        self.film_check_form = None  # the film (or surface-correction) law's check, when used
        self.local_laws: list[LocalLaw] = []  # checked after every solve (LocalLaw)
        cam = system.cam
        self.c_max, self.x0 = float(cam.c_max), float(cam.c0) / float(cam.c_max)
        self._spaces()
        self._cam_materials()
        self._coefficients()
        self._liquid_coefficients()
        self._measures()
        F = None
        for name in self.BLOCKS:
            term = getattr(self, name)()
            if term is not None:
                F = term if F is None else F + term
        comm = vmesh.mesh.comm
        self.F = without_facet_permutations(F, comm)
        self.J = without_facet_permutations(ufl.derivative(F, self.u, ufl.TrialFunction(self.V)), comm)
        self._outputs()

    # -- stages ----------------------------------------------------------------------------
    def _spaces(self):
        """The blocked DG0 space (phi, x), its Functions, the scalar DG0 space and the Constants."""
        msh = self.vmesh.mesh
        self.V = fem.functionspace(msh, ("DG", 0, (2,)))
        self.Q = fem.functionspace(msh, ("DG", 0))
        self.u = fem.Function(self.V, name="u")
        self.u_old = fem.Function(self.V, name="u_old")
        self.dt = fem.Constant(msh, 1.0)
        self.i_app = fem.Constant(msh, 0.0)
        #: 1 in time steps, 0 in the quasi-static solves: switches the double-layer currents
        self.capacitive = fem.Constant(msh, 1.0)
        self.phi, self.x = self.u[0], self.u[1]
        test = ufl.TestFunction(self.V)
        self.vphi, self.vc = test[0], test[1]
        self.H = self.vmesh.cell_size
        self.n = ufl.FacetNormal(msh)

    def _coefficients(self):
        """Material indicators and the conductivity k_phi (S/m) of every conductor: sigma(x) in
        the CAM, kappa(c0) in the composite SE, factor * kappa(c0) in the separator (factor: the
        mesh's ``conductivity_factor`` of SEPARATOR, set from the virtual cell's separator, else
        the materials' separator.kappa_factor, 1 for a dense SE), the (capped) Li metal sigma and
        COLLECTOR_CONDUCTIVITY in the collectors.

        One DG0 coefficient, the material code, from which the forms build every indicator and
        constant conductivity: DOLFINx packs each coefficient per cell and facet side for every
        integral, so six indicator / conductivity Functions cost 6 of 10 packed values.
        """
        ely, an = self.system.electrolyte, self.system.anode
        self.material = fem.Function(self.Q, name="material")
        self.material.x.array[self.Q.dofmap.list[:, 0]] = self.vmesh.material
        self.chi_cam = self.indicator(self.cam_codes)
        self.chi_ion = self.indicator(tags.IONIC)
        self.chi_li = self.indicator((tags.LI,))
        self.chi_el = self.indicator((*self.cam_codes, tags.LI, tags.CATHODE_CC, tags.ANODE_CC))
        c_e = float(ely.c0)
        kappa = float(np.asarray(ely.kappa(c_e, self.T, np)))
        factor = self.vmesh.conductivity_factor.get(tags.SEPARATOR, float(self.system.separator.kappa_factor))
        sigma_li = min(float(an.sigma), METAL_CONDUCTIVITY_CAP)
        kconst = (  # S/m, all conductors but the CAM
            kappa * self.indicator((tags.SE,))
            + factor * kappa * self.indicator((tags.SEPARATOR,))
            + sigma_li * self.chi_li
            + COLLECTOR_CONDUCTIVITY * self.indicator((tags.CATHODE_CC, tags.ANODE_CC))
        )
        self.kappa, self.kappa_separator, self.c_e = kappa, factor * kappa, c_e
        self.cam_cell = self.cam_mix(lambda chi: chi)  # the CAM parameters of each cell
        self.c_max_cell = self.chi_cam * self.cam_cell.c_max  # mol/m^3 (0 outside the CAM)
        self.k_phi = self.chi_cam * self.cam_cell.sigma(self.inside(self.x), self.T, ufl) + kconst

    def _cam_materials(self):
        """The CAM materials of the mesh: ``cam_parts``, a list of (code, label, CAM parameters)
        with code ``cell_tags.CAM`` for ``system.cam`` and ``CAM_EXTRA[i]`` for the i-th entry of
        ``system.cams`` (meshing.virtual_cell_grid.cam_material_codes), those present on some rank
        only; ``cam_codes`` their codes; per local cell (DG0 dof order, numpy) ``cell_c_max``
        [mol/m^3] and ``cell_x0`` [-] of its CAM material (system.cam's elsewhere)."""
        comm = self.vmesh.mesh.comm
        codes = np.asarray(self.vmesh.material)
        present = set().union(*comm.allgather({int(c) for c in np.unique(codes)}))  # on any rank
        parts = [(tags.CAM, None, self.system.cam)]
        parts += [
            (c, label, cam)
            for c, (label, cam) in zip(tags.CAM_EXTRA, getattr(self.system, "cams", {}).items(), strict=False)
        ]
        self.cam_parts = [p for p in parts if p[0] in present] or parts[:1]
        self.cam_codes = tuple(p[0] for p in self.cam_parts)
        dof_material = np.empty(len(codes), dtype=np.int32)
        dof_material[self.Q.dofmap.list[:, 0]] = codes
        self.cell_c_max = np.full(len(codes), self.c_max)
        self.cell_x0 = np.full(len(codes), self.x0)
        for code, _, cam in self.cam_parts:
            sel = dof_material == code
            self.cell_c_max[sel] = float(cam.c_max)
            self.cell_x0[sel] = float(cam.c0) / float(cam.c_max)

    def cam_mix(self, weight):
        """The CAM parameters as UFL of the material code: ``system.cam`` itself with one CAM
        material, else a :class:`CamMix` of each material's parameters weighted by
        ``weight(chi_k)`` (chi_k: the material's cell indicator; e.g. ``self.solid`` for the
        CAM side of a CAM | SE facet, ``lambda chi: chi('+')`` for the '+' side)."""
        if len(self.cam_parts) == 1:
            return self.cam_parts[0][2]
        return CamMix([(weight(self.indicator((code,))), cam) for code, _, cam in self.cam_parts])

    def _measures(self):
        """dx over the owned cells, dS and ds over the tagged facets; quadrature degree 0.

        dx carries an explicit subdomain (all owned cells) so the forms can be assembled in parts
        (fem_assb.solvers.chunked: DOLFINx integrates an unmarked dx over every cell). dS and ds
        are the mesh's (``VoxelMesh.measures``: integration domains computed once, dS with the
        periodic couplings of periodic sides).
        """
        vmesh, msh = self.vmesh, self.vmesh.mesh
        md = {"quadrature_degree": 0}
        owned = np.arange(vmesh.num_owned_cells, dtype=np.int32)
        self.dx = ufl.Measure("dx", domain=msh, subdomain_data=[(0, owned)], subdomain_id=0, metadata=md)
        interior = (tags.CAM_CAM, tags.CONDUCTION_E, tags.CONDUCTION_I, tags.CAM_SE, tags.LI_SE)
        interior += (tags.LIQUID_LIQUID, tags.CAM_LE, tags.LI_LE, tags.CAM_INTERFACE)
        _, self.ds, self.dS = vmesh.measures(interior_tags=interior + (tags.GRAIN_BOUNDARY,))

    # -- helpers ---------------------------------------------------------------------------
    def indicator(self, codes):
        """UFL 1 on cells whose material code is in ``codes``, else 0."""
        m = self.material
        return sum(ufl.conditional(ufl.eq(m, float(c)), 1.0, 0.0) for c in codes)

    @staticmethod
    def inside(xx):
        """Stoichiometry kept in [1e-9, 1 - 1e-9] for the material laws."""
        return ufl.min_value(ufl.max_value(xx, 1e-9), 1.0 - 1e-9)

    def solid(self, w):
        """The CAM side's value of ``w`` on a CAM | SE facet ('+' is arbitrary)."""
        return self.chi_cam("+") * w("+") + self.chi_cam("-") * w("-")

    def electrolyte(self, w):
        """The electrolyte side's value of ``w`` on a CAM | SE facet."""
        return self.chi_cam("-") * w("+") + self.chi_cam("+") * w("-")

    # -- physical blocks: each returns its term of the residual --------------------------------
    def _bulk_transport(self):
        """Charge in every conductor (two-point flux), Li diffusion in the CAM (Kirchhoff flux),
        Li storage in the CAM (implicit Euler) and x pinned to x0 outside the CAM."""
        phi, x, vphi, vc, H, n = self.phi, self.x, self.vphi, self.vc, self.H, self.n
        dS, dx = self.dS, self.dx
        T, inside = self.T, self.inside
        several = len(self.cam_parts) > 1
        conduction = (tags.CAM_CAM, tags.CONDUCTION_E, tags.CONDUCTION_I) + (
            (tags.CAM_INTERFACE,) if several else ()
        )
        F = two_point_flux(phi, self.k_phi, vphi, H, n) * dS(conduction)
        facet = {side: self.cam_mix(lambda chi, side=side: chi(side)) for side in ("+", "-")}

        def cD(side, xx):  # c_max D(x) of the material on ``side`` [mol/(m s)]
            cam = facet[side]
            return cam.c_max * cam.D(inside(xx), T, ufl)

        # inside one material ('+' and '-' the same): the Kirchhoff flux of c = c_max x
        F += kirchhoff_flux(x, lambda xx: cD("+", xx), vc, H, n) * dS(tags.CAM_CAM)
        if several:  # CAM_a | CAM_b: the Li chemical potential continuous, transport Eqs. (8-10)
            F += self._cam_interface(cD, facet)
        F += self.c_max_cell * (x - self.u_old[1]) / self.dt * vc * dx
        F += (1.0 - self.chi_cam - self.chi_liq) * (x - self.x0) * vc * dx  # liquid: _liquid_transport
        return F

    def _cam_interface(self, cD, facet):
        """The CAM_a | CAM_b Li flux (transport.cam_interface_li_flux: continuity of the Li
        chemical potential, U0_a(x_a^s) = U0_b(x_b^s)) on the CAM_INTERFACE facets. With one U0(x)
        for every CAM material it is Eq. (10) there (continuity of x, no local solve); else the
        local solve of Eq. (9), its residual registered as a LocalLaw checked after every solve.
        ``cam_interface_iterations`` (None: that choice) forces the number of local steps."""
        x, H, n = self.x, self.H, self.n
        steps = self.cam_interface_iterations
        if steps is None:
            steps = 0 if self.shared_U0() else CAM_INTERFACE_ITERATIONS

        def U0(side, xx):  # U0(x) of the material on ``side`` [V]
            return facet[side].U0(self.inside(xx), self.T, ufl)

        F = cam_interface_flux(x, cD, self.vc, H, n, U0, steps) * self.dS(tags.CAM_INTERFACE)
        if steps > 0:
            w = ufl.TestFunction(self.Q)
            form = _form(
                cam_interface_check(x, w, cD, U0, H, n, steps) * self.dS(tags.CAM_INTERFACE),
                self.vmesh.mesh.comm,
            )
            what = f"the CAM | CAM law (continuity of U0), after {steps} local Newton steps,"
            self.local_laws.append(
                LocalLaw("cam_interface", form, CAM_INTERFACE_TOLERANCE, what, "CAM_INTERFACE_NOT_CONVERGED")
            )
        return F

    def shared_U0(self) -> bool:
        """True if every CAM material of the mesh has system.cam's U0(x) (to 1e-12 V on 201
        points of [0, 1] at the cell's temperature): the CAM | CAM law is then continuity of x."""
        xs = np.linspace(0.0, 1.0, 201)
        ref = np.asarray(self.cam_parts[0][2].U0(xs, self.T, np), dtype=float) * np.ones_like(xs)
        return all(
            np.allclose(
                np.asarray(cam.U0(xs, self.T, np), dtype=float) * np.ones_like(xs), ref, rtol=0, atol=1e-12
            )
            for _, _, cam in self.cam_parts[1:]
        )

    def _cam_electrolyte(self):
        """CAM | SE intercalation (MODEL §3) on the CAM_SE facets, oriented by the CAM indicator;
        sets ``i_cam`` (A/m^2, anodic positive) for the outputs. With a resistive film
        (``self.film``) the film law of [003] (:func:`~fem_assb.forms.interface.film_current`,
        the half-cell surface correction folded into its concentration drop) instead of the
        plain one, its residual checked after every solve (``film_check_form``, a LocalLaw)."""
        phi = self.phi
        eta0 = self.solid(phi) - self.electrolyte(phi)
        cam = self.cam_mix(self.solid)  # the touching CAM's own U0, i0, D, c_max
        c_cell = cam.c_max * self.solid(self.x)
        if self.film is not None or self.surface_iterations > 0:
            a_surf = self._surface_drop(cam)
            i_cam, residual = film_current(
                eta0, c_cell, self.c_e, a_surf, cam, self.film, self.T, ufl, **self._film_steps()
            )
            if self.film is not None:
                name, reason = "film", "FILM_NOT_CONVERGED"
                what = f"the resistive-film law, after its {FILM_ITERATIONS} Newton steps,"
            else:
                name, reason = "surface", "SURFACE_NOT_CONVERGED"
                what = f"the half-cell surface correction, after {self.surface_iterations} Newton steps,"
            self.film_check_form = self._interface_law_check(name, residual, tags.CAM_SE, what, reason)
        else:
            i_cam = intercalation_current(eta0, c_cell, self.c_e, cam, self.T, ufl)
        self.i_cam = i_cam
        F = i_cam * (self.solid(self.vphi) - self.electrolyte(self.vphi)) * self.dS(tags.CAM_SE)
        F += i_cam / FARADAY * self.solid(self.vc) * self.dS(tags.CAM_SE)
        phi_old = self.u_old[0]
        i_dl = self.double_layer_current(
            "cathode",
            self.solid(phi) - self.electrolyte(phi),
            self.solid(phi_old) - self.electrolyte(phi_old),
        )
        if i_dl is not None:  # charge only: the double layer stores no Li
            F += i_dl * (self.solid(self.vphi) - self.electrolyte(self.vphi)) * self.dS(tags.CAM_SE)
        return F

    def _metal_electrolyte(self):
        """Li metal | SE (MODEL §3): Butler-Volmer with the anode's constant i0, alpha and U0
        (:func:`~fem_assb.forms.interface.metal_current`), on the LI_SE facets inside the mesh
        or, without a Li layer, on the x = 0 separator face against phi_Li = 0."""
        phi, vphi, an, T = self.phi, self.vphi, self.system.anode, self.T
        l_p, l_m = self.chi_li("+"), self.chi_li("-")
        phi_old = self.u_old[0]
        eta0 = (l_p - l_m) * (phi("+") - phi("-"))  # phi_Li - phi_e
        i_li = metal_current(eta0, an, T)
        i_dl = self.double_layer_current("anode", eta0, (l_p - l_m) * (phi_old("+") - phi_old("-")))
        if i_dl is not None:
            i_li = i_li + i_dl
        jump_v = l_p * vphi("+") + l_m * vphi("-") - l_m * vphi("+") - l_p * vphi("-")
        F = i_li * jump_v * self.dS(tags.LI_SE)
        i_face = metal_current(0.0 - phi, an, T)
        i_dl = self.double_layer_current("anode", 0.0 - phi, 0.0 - phi_old)
        if i_dl is not None:
            i_face = i_face + i_dl
        F -= self.chi_ion * i_face * vphi * self.ds(tags.XMIN)
        return F

    def double_layer_current(self, which, eta, eta_old):
        """Double-layer charging current (A/m^2, anodic positive) of an interface, MODEL §3:
        C d(phi_s - phi_e)/dt by implicit Euler, C ((phi_s - phi_e) - (phi_s - phi_e)_old) / dt
        on the cell values (the level of the interface laws here), with C [F/m^2] the materials'
        ``double_layer.<which>`` (``cathode``: CAM | SE; ``anode``: Li | SE) or, with ``which`` =
        "grain_boundary", ``grain_boundary.C_GB``; ``eta``, ``eta_old`` [V]. None without that
        capacitance. Multiplied by :attr:`capacitive` (0 in the quasi-static solves)."""
        if which == "grain_boundary":
            section, key = getattr(self.system, "grain_boundary", None), "C_GB"
        else:
            section, key = getattr(self.system, "double_layer", None), which
        c = getattr(section, key, None) if section is not None else None
        if c is None:
            return None
        return self.capacitive * float(c) * (eta - eta_old) / self.dt

    def _grain_boundaries(self):
        """Grain boundaries between SE grains of different IDs (MODEL §3, [002] Eq. 1, in series
        with the half cells: transport Eq. 4), or None; sets ``gb_check_form`` (the residual of
        the local GB solve per cell, :meth:`grain_boundary_residual`)."""
        gb = getattr(self.system, "grain_boundary", None)
        self.gb_check_form = None
        if gb is None or not _has_tag(self.vmesh, tags.GRAIN_BOUNDARY):
            return None
        args = (gb, self.T, self.k_phi, self.H, self.n, self.gb_iterations)
        w = ufl.TestFunction(self.Q)
        self.gb_check_form = _form(
            grain_boundary_check(self.phi, w, *args) * self.dS(tags.GRAIN_BOUNDARY), self.vmesh.mesh.comm
        )
        self.local_laws.append(
            LocalLaw(
                "grain_boundary",
                self.gb_check_form,
                GB_TOLERANCE,
                f"the grain-boundary law is not converged after {self.gb_iterations} local Newton steps: it",
                reason="GB_NOT_CONVERGED",
            )
        )
        F = grain_boundary_flux(self.phi, self.vphi, *args) * self.dS(tags.GRAIN_BOUNDARY)
        phi_old = self.u_old[0]
        jump, jump_old = self.phi("+") - self.phi("-"), phi_old("+") - phi_old("-")
        i_dl = self.double_layer_current("grain_boundary", jump, jump_old)
        if i_dl is not None:  # the GB capacitance across the facet (in parallel with its series law)
            F += i_dl * (self.vphi("+") - self.vphi("-")) * self.dS(tags.GRAIN_BOUNDARY)
        return F

    def _collectors(self):
        """Anode face phi = 0 through the half-cell transmissibility and the galvanostatic
        collector face (MODEL §4)."""
        anode = boundary_flux(self.phi, 0.0, self.k_phi, self.vphi, self.H, self.n)
        F = self.chi_el * anode * self.ds(tags.XMIN)
        #: the applied current's term per A/m^2 (dF/d i_app, used by :meth:`linearization`)
        self.collector_term = self.vphi * self.ds(tags.XMAX)
        F += self.i_app * self.collector_term
        return F

    # -- small-signal linearization (impedance, MODEL §5) ------------------------------------
    def linearization(self):
        """UFL forms of the cell's small-signal linearization around the state in ``u``:
        ``(K, M, g, dV)``.

        The residual is F(u; u_old) = K(u) + (S(u) - S(u_old)) / dt, with every storage term
        linear in u and the only place ``u_old`` enters: the CAM Li c_max x (mol/m^3, in
        :meth:`_bulk_transport`) and the double-layer charges C (phi_s - phi_e) (C/m^2,
        :meth:`double_layer_current`). So, from the one residual ``F`` (no second copy of the
        physics):

        - ``K`` = dK/du = dF/du with u_old = u (the storage terms cancel): the steady Jacobian;
        - ``M`` = dS/du = -dt dF/du_old (``capacitive`` must be 1): the storage "mass"; a
          perturbation du exp(i w t) then obeys (K + i w M) du = -g di;
        - ``g`` = dF/d i_app (the applied current's term on the collector face, A per A/m^2);
        - ``dV`` = d(voltage)/du, with ``dV_di`` = d(voltage)/d i_app the collector's half-cell
          drop (both per collector area after division by :attr:`area`).

        ``K``, ``M`` are bilinear forms on ``V``; ``g``, ``dV`` linear forms on ``V``, ``dV_di``
        a scalar form; all compiled (``fem.form``).
        """
        comm = self.vmesh.mesh.comm
        du = ufl.TrialFunction(self.V)
        v = ufl.TestFunction(self.V)
        F = self.F
        K = ufl.derivative(ufl.replace(F, {self.u_old: self.u}), self.u, du)
        M = -self.dt * ufl.derivative(F, self.u_old, du)
        dV = ufl.derivative(self.voltage_integral, self.u, v)
        forms = (K, M, self.collector_term, dV, -self.collector_drop)
        return tuple(_form(f, comm) for f in forms)

    # -- the liquid network (docs/liquid.md) ---------------------------------------------------
    def _liquid_coefficients(self):
        """The liquid network's indicator, porosity and effective-medium factors (docs/liquid.md).

        The second unknown in a liquid cell is x = c_e / c_e0 (c_e0: the electrolyte's c0): the
        DESIGN's field ``c`` reused, scaled to order one like the CAM stoichiometry, so the
        Newton solver's per-block tolerance (tol_x) and update limits apply to both without a
        third field (the Jacobian, the sparsity pattern, the preconditioner's blocks and every
        state array keep block size 2). Pore voxels (LE): eps = 1 and the bulk kappa, D_e; the
        porous separator (SEPARATOR_LE): eps = the virtual cell's porosity (``VoxelMesh.porosity``,
        else the materials' separator.porosity), kappa_eff = conductivity_factor (the mesh's, else
        separator.kappa_factor) x kappa, D_eff = separator.D_factor x D_e; the carbon-binder
        domain (CBD): eps = cbd.porosity, kappa_eff = cbd.kappa_factor x kappa, D_eff =
        cbd.D_factor x D_e (the materials' ``cbd`` section). ``wet``: the wetted fraction of a
        CAM | electrolyte facet on the electrolyte side, 1 for LE and the separator, the porosity
        in the CBD (:meth:`_cam_liquid`; docs/liquid.md, "Carbon-binder domain")."""
        msh = self.vmesh.mesh
        local = bool(np.isin(self.vmesh.material, tags.LIQUID).any())
        self.has_liquid = bool(msh.comm.allreduce(int(local)))
        self.chi_liq = self.indicator(tags.LIQUID)
        #: upper bound of the second unknown per local cell (the Newton pre-check, the predictor):
        #: 1 for a stoichiometry, none for c_e / c_e0 (positivity only)
        self.x_upper = np.where(np.isin(self.material.x.array, tags.LIQUID), np.inf, 1.0)
        if not self.has_liquid:
            return
        ely, sep = self.system.electrolyte, self.system.separator
        if getattr(ely, "kind", "solid") != "liquid":
            raise ValueError("the mesh has liquid-electrolyte cells but the system's electrolyte is solid")
        self.c_e0 = float(ely.c0)
        porosity = getattr(self.vmesh, "porosity", {}).get(tags.SEPARATOR_LE, float(sep.porosity))
        k_factor = self.vmesh.conductivity_factor.get(tags.SEPARATOR_LE, float(sep.kappa_factor))
        d_factor = float(sep.D_factor)
        chi_le, chi_sep = self.indicator((tags.LE,)), self.indicator((tags.SEPARATOR_LE,))
        self.eps = chi_le + porosity * chi_sep
        self.kappa_factor_liq = chi_le + k_factor * chi_sep
        self.D_factor_liq = chi_le + d_factor * chi_sep
        self.wet = chi_le + chi_sep
        self.liquid_factors = {"porosity": porosity, "kappa_factor": k_factor, "D_factor": d_factor}
        self._cbd_coefficients()

    def _cbd_coefficients(self):
        """The carbon-binder domain's terms of eps, the kappa and D factors and ``wet`` (MODEL §2:
        a homogenized medium, effective kappa and D = bulk x factor, eps for the storage), from
        the materials' ``cbd`` section; ``cbd_factors`` (None without CBD cells)."""
        self.cbd_factors = None
        local = bool(np.isin(self.vmesh.material, (tags.CBD,)).any())
        if not self.vmesh.mesh.comm.allreduce(int(local)):
            return
        cbd = getattr(self.system, "cbd", None)
        if cbd is None:
            raise ValueError(
                "the mesh has carbon-binder (CBD) cells but the system has no cbd section; add "
                "materials.cbd {porosity, kappa_factor, D_factor} or use the NMC811_LiPF6 preset"
            )
        porosity, k_factor, d_factor = float(cbd.porosity), float(cbd.kappa_factor), float(cbd.D_factor)
        if not porosity > 0:  # the load checks it first (case.load); a CBD without pores is no conductor
            raise ValueError(f"cbd.porosity = {porosity}: the CBD conducts ions in its pores; give it > 0")
        chi = self.indicator((tags.CBD,))
        self.eps = self.eps + porosity * chi
        self.kappa_factor_liq = self.kappa_factor_liq + k_factor * chi
        self.D_factor_liq = self.D_factor_liq + d_factor * chi
        self.wet = self.wet + porosity * chi
        self.cbd_factors = {"porosity": porosity, "kappa_factor": k_factor, "D_factor": d_factor}

    def liquid_properties(self, x):
        """(c_e [mol/m^3], kappa_eff [S/m], D_eff [m^2/s], t+, TDF) of a liquid cell whose second
        unknown is ``x`` = c_e / c_e0: the materials' functions of c_e and T (MODEL §2; constant
        overrides are constant functions), times the medium's factors."""
        ely, T = self.system.electrolyte, self.T
        c = self.c_e0 * x
        kappa = self.kappa_factor_liq * ely.kappa(c, T, ufl)
        D = self.D_factor_liq * ely.D(c, T, ufl)
        return c, kappa, D, ely.t_plus(c, T, ufl), ely.tdf(c, T, ufl)

    def diffusion_potential_shift(self) -> np.ndarray:
        """Per owned cell, d phi_e / d x of the diffusion potential at the current state:
        (1 - t+)(2RT/F) TDF / x in a liquid cell (x = c_e / c_e0), 0 elsewhere [V]
        (:func:`~fem_assb.forms.transport.diffusion_potential_factor`). The iterative solver's
        preconditioner works in the variables (phi_e - diffusion potential, x) (docs/liquid.md,
        "Solver")."""
        ely = self.system.electrolyte
        n = self.u.function_space.dofmap.index_map.size_local
        x = self.u.x.array[1 : 2 * n : 2]
        liquid = np.isin(self.material.x.array[:n], tags.LIQUID)
        out = np.zeros(n)
        xl = np.maximum(x[liquid], 1e-300)
        c = self.c_e0 * xl
        t_plus = np.broadcast_to(np.asarray(ely.t_plus(c, self.T, np), dtype=float), c.shape)
        tdf = np.broadcast_to(np.asarray(ely.tdf(c, self.T, np), dtype=float), c.shape)
        out[liquid] = diffusion_potential_factor(t_plus, tdf, self.T) / xl
        return out

    def _liquid_transport(self):
        """Concentrated-solution transport in the liquid network (MODEL §2, transport Eqs. 5-6):
        charge (i_e) and Li+ (N) two-point fluxes on the LIQUID_LIQUID facets and the storage
        eps c_e0 (x - x_old) / dt of every liquid cell (implicit Euler); None without liquid."""
        if not self.has_liquid:
            return None
        x, H, n, dS = self.x, self.H, self.n, self.dS(tags.LIQUID_LIQUID)
        c, kappa, D, t_plus, tdf = self.liquid_properties(x)
        i_e = liquid_current(self.phi, ufl.ln(x), kappa, t_plus, tdf, H, n, self.T)
        N = liquid_li_flux(c, D, t_plus, i_e, H, n)
        F = i_e * (self.vphi("+") - self.vphi("-")) * dS
        F += N * (self.vc("+") - self.vc("-")) * dS
        F += self.chi_liq * self.eps * self.c_e0 * (x - self.u_old[1]) / self.dt * self.vc * self.dx
        return F

    def _cam_liquid(self):
        """CAM | liquid electrolyte intercalation (MODEL §3) on the CAM_LE facets: Butler-Volmer
        with i0(c_e, c_s), c_e the electrolyte cell's c_e0 x (cell-centre kinetics; with
        ``surface_iterations`` the CAM surface correction, as at CAM | SE, checked after every
        solve), and its Li+ flux i / F into the electrolyte cell's c_e balance. At a CAM | CBD
        facet only the CBD's pores touch the CAM: the current per facet area is wet i_BV with
        wet = cbd.porosity (the area fraction of a homogenized medium's pores on a plane equals
        their volume fraction; docs/liquid.md), i_BV with the CBD pore's c_e. Sets ``i_liq``
        (A/m^2 of facet, anodic positive; None without CAM_LE facets)."""
        self.i_liq = None
        if not _has_tag(self.vmesh, tags.CAM_LE):
            return None
        if self.film is not None:
            raise ValueError("the resistive film is a CAM | SE law; a CAM | liquid interface has none")
        phi, dS = self.phi, self.dS(tags.CAM_LE)
        eta0 = self.solid(phi) - self.electrolyte(phi)
        cam = self.cam_mix(self.solid)  # the touching CAM's own parameters
        c_cell = cam.c_max * self.solid(self.x)
        c_e = self.c_e0 * self.electrolyte(self.x)
        wet = self.electrolyte(self.wet)  # 1 at CAM | LE, the porosity at CAM | CBD
        if self.surface_iterations > 0:
            # the facet's current wet i_BV enters the CAM half cell: c_surf = c_cell - a_surf wet i_BV
            a_surf = self._surface_drop(cam) * wet
            i, residual = film_current(
                eta0, c_cell, c_e, a_surf, cam, None, self.T, ufl, **self._film_steps()
            )
            what = (
                f"the half-cell surface correction at CAM | LE, after {self.surface_iterations} Newton steps,"
            )
            self._interface_law_check("surface_liquid", residual, tags.CAM_LE, what, "SURFACE_NOT_CONVERGED")
        else:
            i = intercalation_current(eta0, c_cell, c_e, cam, self.T, ufl)
        i = wet * i  # per facet area: only the wetted part of a CAM | CBD facet reacts
        self.i_liq = i
        F = i * (self.solid(self.vphi) - self.electrolyte(self.vphi)) * dS
        F += i / FARADAY * (self.solid(self.vc) - self.electrolyte(self.vc)) * dS
        phi_old = self.u_old[0]
        i_dl = self.double_layer_current("cathode", eta0, self.solid(phi_old) - self.electrolyte(phi_old))
        if i_dl is not None:  # charge only: the double layer stores no Li; on the wetted area
            F += wet * i_dl * (self.solid(self.vphi) - self.electrolyte(self.vphi)) * dS
        return F

    def _metal_liquid(self):
        """Li metal | liquid electrolyte (MODEL §3): the Li | SE law (constant i0, alpha, U0;
        :func:`~fem_assb.forms.interface.metal_current`) on the LI_LE facets, and on the x = 0
        face of a liquid separator without a Li layer only the Li+ source (its charge is
        :meth:`_metal_electrolyte`'s, chi_ion includes the liquid); the Li+ flux i / F enters
        the electrolyte cell's c_e balance. None without liquid."""
        if not self.has_liquid:
            return None
        phi, vphi, vc, an, T = self.phi, self.vphi, self.vc, self.system.anode, self.T
        i_face = metal_current(0.0 - phi, an, T)  # Faradaic only: the double layer stores no Li
        F = -self.chi_liq * i_face / FARADAY * vc * self.ds(tags.XMIN)
        if _has_tag(self.vmesh, tags.LI_LE):
            dS = self.dS(tags.LI_LE)
            l_p, l_m = self.chi_li("+"), self.chi_li("-")
            eta0 = (l_p - l_m) * (phi("+") - phi("-"))  # phi_Li - phi_e
            i_li = metal_current(eta0, an, T)
            phi_old = self.u_old[0]
            i_dl = self.double_layer_current("anode", eta0, (l_p - l_m) * (phi_old("+") - phi_old("-")))
            jump_v = l_p * vphi("+") + l_m * vphi("-") - l_m * vphi("+") - l_p * vphi("-")
            F += (i_li if i_dl is None else i_li + i_dl) * jump_v * dS
            F -= i_li / FARADAY * (l_m * vc("+") + l_p * vc("-")) * dS  # into the electrolyte cell
        return F

    # -- outputs ---------------------------------------------------------------------------
    def _outputs(self):
        """Scalar forms and constants: collector area, voltage, interface current, Li in the CAM,
        CAM volume, CAM | SE area, per-cell interface current."""
        msh, ds, dS, dx = self.vmesh.mesh, self.ds, self.dS, self.dx
        comm = msh.comm
        one = fem.Constant(msh, 1.0)
        h_b = normal_extent(self.n, self.H)
        self.area = _assemble(one * ds(tags.XMAX), comm)
        #: the collector's half-cell drop per A/m^2 (V m^2 per A/m^2, integrated over the face)
        self.collector_drop = h_b / (2.0 * self.k_phi) * ds(tags.XMAX)
        self.voltage_integral = self.phi * ds(tags.XMAX) - self.i_app * self.collector_drop
        self.voltage = _form(self.voltage_integral, comm)
        i_int = self.i_cam * dS(tags.CAM_SE)
        if self.i_liq is not None:  # CAM | liquid electrolyte too
            i_int = i_int + self.i_liq * dS(tags.CAM_LE)
        self.interface_current = _form(i_int, comm)
        self.lithium = _form(self.c_max_cell * self.x * dx, comm)
        self.cam_volume = _assemble(self.chi_cam * dx, comm)
        #: per CAM material code: its meshed volume [m^3]
        self.cam_volumes = {code: _assemble(self.indicator((code,)) * dx, comm) for code in self.cam_codes}
        w = ufl.TestFunction(self.Q)
        area = one * dS(tags.CAM_SE)
        cell_area = self.solid(w) * dS(tags.CAM_SE)
        cell_current = self.i_cam * self.solid(w) * dS(tags.CAM_SE)
        if self.i_liq is not None:  # the wetted CAM | liquid area (a CAM | CBD facet: its porosity)
            wet = self.electrolyte(self.wet)
            area = area + wet * dS(tags.CAM_LE)
            cell_area = cell_area + wet * self.solid(w) * dS(tags.CAM_LE)
            cell_current = cell_current + self.i_liq * self.solid(w) * dS(tags.CAM_LE)
        self.active_area = _assemble(area, comm)  # CAM | electrolyte area (m^2)
        self.cell_current_form = _form(cell_current, comm)
        self.cell_area_form = _form(cell_area, comm)
        #: Li+ in the liquid electrolyte (mol), int eps c_e dx; None without liquid
        self.electrolyte_lithium = None
        if self.has_liquid:
            self.electrolyte_lithium = _form(self.chi_liq * self.eps * self.c_e0 * self.x * dx, comm)

    def _film_steps(self) -> dict:
        """Keywords of :func:`film_current`: with a film its default Newton steps and the film's
        R_RF and a_film as Constants (one compiled kernel for every film); without one (the
        surface correction alone), ``surface_iterations`` (numerics.surface_iterations) steps."""
        if self.film is None:
            return {"iterations": self.surface_iterations}
        msh = self.vmesh.mesh
        return {"coefficients": tuple(fem.Constant(msh, v) for v in film_coefficients(self.film, self.T))}

    def _surface_drop(self, cam):
        """a_surf = h_s / (2 F D_s(x_cell)) (mol/m^3 per A/m^2) of the half-cell surface
        correction on a CAM | electrolyte facet, c_surf = c_cell - a_surf i (DESIGN §3a), h_s the
        CAM cell's extent normal to the facet; 0 without the correction."""
        if self.surface_iterations <= 0:
            return 0.0
        H, n = self.H, self.n
        h_s = self.chi_cam("+") * normal_extent(n("+"), H("+")) + self.chi_cam("-") * normal_extent(
            n("-"), H("-")
        )
        x_cell = ufl.min_value(ufl.max_value(self.solid(self.x), 1e-9), 1.0 - 1e-9)
        return h_s / (2.0 * FARADAY * cam.D(x_cell, self.T, ufl))

    def _interface_law_check(self, name: str, residual, tag: int, what: str, reason: str):
        """Register the :class:`LocalLaw` of a law solved per facet on the CAM | electrolyte facets
        ``tag`` (residual in V): its check form, per CAM cell the sum over its facets of
        |residual| (a facet integral of |residual| / facet area), compiled and returned."""
        H = self.H
        area = self.solid(H[0] * H[1] * H[2] / normal_extent(self.n, H))
        w = ufl.TestFunction(self.Q)
        form = _form(abs(residual) / area * self.solid(w) * self.dS(tag), self.vmesh.mesh.comm)
        self.local_laws.append(LocalLaw(name, form, FILM_TOLERANCE, what, reason))
        return form

    # -- state helpers -------------------------------------------------------------------
    def has_material(self, codes) -> np.ndarray:
        """Mask over the DG0 dofs (owned and ghost): cells whose material code is in ``codes``."""
        return np.isin(self.material.x.array, codes)

    def open_circuit_voltage(self, x: float) -> float:
        """U0_CAM(x) - U0_anode (V) at the CAM stoichiometry x (the anode is the reference,
        phi = 0; MODEL §3)."""
        u0 = float(np.asarray(self.system.cam.U0(x, self.T, np)))
        return u0 - float(self.system.anode.U0)

    def initial_state(self, u0_cathode: float):
        """Equilibrium at zero current: phi = 0 in the anode's electronic cells, -U0_anode in the
        electrolyte, u0_cathode - U0_anode (u0_cathode = U0_CAM(x0), V) in the cathode's electronic
        cells; x = x0 of each cell's CAM material (:attr:`cell_x0`; system.cam's elsewhere) but in
        the liquid, where c_e = c_e0 (x = 1)."""
        u0_li = float(self.system.anode.U0)
        arr = self.u.x.array.reshape(-1, 2)
        arr[:, 0] = np.where(
            self.has_material((*self.cam_codes, tags.CATHODE_CC)),
            u0_cathode - u0_li,
            np.where(self.has_material(tags.IONIC), 0.0 - u0_li, 0.0),
        )
        arr[:, 1] = np.where(self.has_material(tags.LIQUID), 1.0, self.cell_x0)  # c_e = c_e0
        self.u.x.scatter_forward()
        self.u_old.x.array[:] = self.u.x.array

    def generic_states(self) -> list[np.ndarray]:
        """States for probing the Jacobian's nonzero pattern (local arrays of ``u``): the current
        potentials plus up to 10 mV of noise, with stoichiometries spread over the low, middle
        and high third of (0, 1) in turn, so that no coupling vanishes by an accident of equal
        values or a flat stretch of a material function (the NMC811 sigma(x) is nearly flat up
        to x = 0.7: a single probe in (0.3, 0.7) missed 12 % of the entries)."""
        rng = np.random.default_rng(12345 + self.vmesh.mesh.comm.rank)
        states = []
        for low in (0.02, 0.34, 0.66):
            arr = self.u.x.array.reshape(-1, 2).copy()
            arr[:, 0] += 0.01 * rng.random(len(arr))
            arr[:, 1] = low + 0.32 * rng.random(len(arr))
            states.append(arr.ravel())
        return states

    def grain_boundary_residual(self) -> float:
        """Upper bound (V) of the largest residual of the grain-boundary law over the GB facets
        after its local Newton steps (transport Eq. 4; 0 without grain boundaries): the largest
        per-cell sum of |h(eta)| over the cell's GB facets, all ranks."""
        return self._largest_cell_sum(self.gb_check_form)

    def local_residual(self, law: LocalLaw) -> float:
        """The largest per-cell residual bound of a :class:`LocalLaw` (its unit), all ranks."""
        return self._largest_cell_sum(law.form)

    def _largest_cell_sum(self, form) -> float:
        """The largest per-cell value (owned cells, all ranks) of the assembled DG0 vector of a
        nonnegative facet residual ``form`` (0 for None; inf where any entry is not finite): the
        bound the local-law checks (grain boundaries, film) compare with their tolerance."""
        if form is None:
            return 0.0
        from dolfinx.fem.petsc import assemble_vector
        from mpi4py import MPI
        from petsc4py import PETSc

        b = assemble_vector(form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        arr = b.array_r
        loc = float(np.max(arr)) if arr.size else 0.0
        b.destroy()
        loc = loc if np.isfinite(loc) and np.all(np.isfinite(arr)) else np.inf
        return self.vmesh.mesh.comm.allreduce(loc, op=MPI.MAX)

    def scalar(self, form) -> float:
        return _assemble(form, self.vmesh.mesh.comm, compiled=True)

    def cell_voltage(self) -> float:
        """Mean collector-face potential (V)."""
        return self.scalar(self.voltage) / self.area

    def cell_interface_current(self, out):
        """Mean CAM | SE current density (A/m^2) over each CAM cell's interface facets, into the
        DG0 Function ``out`` (0 where a cell has no interface)."""
        from dolfinx.fem.petsc import assemble_vector
        from petsc4py import PETSc

        vecs = []
        for form in (self.cell_current_form, self.cell_area_form):
            b = assemble_vector(form)
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            b.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
            with b.localForm() as bl:
                vecs.append(bl.array.copy())
            b.destroy()
        cur, area = vecs
        out.x.array[:] = np.where(area > 0, cur / np.where(area > 0, area, 1.0), 0.0)
        return out

    def film_residual_max(self) -> float:
        """An upper bound (V) of the largest |residual| of the film law over the CAM | SE facets:
        the largest sum over one CAM cell's facets (0 without the film; inf if not finite)."""
        return self._largest_cell_sum(self.film_check_form)

    def cam_stoichiometry(self) -> np.ndarray:
        """x of the owned CAM cells (numpy)."""
        nown = self.vmesh.num_owned_cells
        cells = self.Q.dofmap.list[:nown, 0]
        mask = np.isin(self.vmesh.material[:nown], self.cam_codes)
        return self.u.x.array.reshape(-1, 2)[cells[mask], 1]


class CamMix:
    """CAM parameters of several materials as UFL: every attribute is sum_k w_k p_k over the
    materials k with weights w_k (UFL indicators of the material code, 1 on the material's cells
    or facet side, else 0), so one form serves every material. Attributes c_max, c0 [mol/m^3],
    i00 [A m^2.5 mol^-1.5], density [kg/m^3], alpha [-] (a float when all agree); functions
    U0(x, T, m) [V], D(x, T, m) [m^2/s], sigma(x, T, m) [S/m], as a system's ``cam``."""

    def __init__(self, weighted):
        self._weighted = list(weighted)  # [(w_k, cam_k)]
        for key in ("c_max", "c0", "i00", "density"):
            setattr(self, key, self._sum(lambda cam, key=key: float(getattr(cam, key))))
        alphas = {float(cam.alpha) for _, cam in self._weighted}
        self.alpha = alphas.pop() if len(alphas) == 1 else self._sum(lambda cam: float(cam.alpha))

    def _sum(self, value):
        return sum(w * value(cam) for w, cam in self._weighted)

    def U0(self, x, T, m=ufl):
        return self._sum(lambda cam: cam.U0(x, T, m))

    def D(self, x, T, m=ufl):
        return self._sum(lambda cam: cam.D(x, T, m))

    def sigma(self, x, T, m=ufl):
        return self._sum(lambda cam: cam.sigma(x, T, m))


def active_film(system):
    """The system's resistive film if it acts (a film section with l_cam > 0 or l_se > 0), else None."""
    film = getattr(system, "film", None)
    if film is None or not (float(film.l_cam) > 0 or float(film.l_se) > 0):
        return None
    return film


def _has_tag(vmesh, tag) -> bool:
    return vmesh.has_interior_tag(tag)


def _form(form, comm):
    """fem.form of a cell form (DG0, one point per facet: no facet permutations needed)."""
    return fem.form(without_facet_permutations(form, comm))


def _assemble(form, comm, compiled=False) -> float:
    from mpi4py import MPI

    f = form if compiled else _form(form, comm)
    return comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM)

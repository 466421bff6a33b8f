"""Grain boundaries in the cell (MODEL.md §3, [002] Eq. 1; transport Eqs. 2 and 4): the local
series solve, the cell against an independent nonlinear finite-volume solve, the series R_GB of a
column of grains, and grain IDs from a case (structure.segment)."""

import numpy as np
import pytest

from fem_assb.constants import FARADAY, GAS_CONSTANT
from fem_assb.forms.transport import (
    GB_ITERATIONS,
    grain_boundary_current_density,
    grain_boundary_jump,
    grain_boundary_resistance,
    grain_boundary_series_residual,
)

T = 298.15
I_GB0 = 69.1  # A/m^2: 6.91e-3 A/cm^2 (002 Table 1), R_GB = 3.7 Ohm cm^2


# --- the local series law (numpy, no mesh) -----------------------------------------------------


def test_local_series_solve_converges_for_any_jump():
    """eta + r_b i_GB(eta) = dphi solved by the GB_ITERATIONS Newton steps of the cell, against
    scipy's brentq, from 1 uV to 1 V jumps and half cells from 1e-4 to 100 times R_GB."""
    from scipy.optimize import brentq

    r_gb = grain_boundary_resistance(I_GB0, T)
    for r_b in r_gb * np.array([1e-4, 1e-2, 1.0, 100.0]):
        for dphi in (1e-6, 1e-3, 0.03, 0.2, -0.5, 1.0):

            def h(eta, dphi=dphi, r_b=r_b):
                return eta + r_b * grain_boundary_current_density(eta, I_GB0, T) - dphi

            ref = brentq(h, min(0.0, dphi), max(0.0, dphi), xtol=1e-15, rtol=1e-15)
            eta = grain_boundary_jump(dphi, r_b, I_GB0, T, m=np)
            res = grain_boundary_series_residual(dphi, r_b, I_GB0, T, m=np)
            assert abs(res) < 1e-12, (r_b, dphi, res)
            assert eta == pytest.approx(ref, rel=1e-10, abs=1e-15)
    # Fewer steps leave a residual that the check sees (and that bounds the error: h' >= 1).
    dphi, r_b = 0.5, r_gb
    ref = brentq(lambda e: e + r_b * grain_boundary_current_density(e, I_GB0, T) - dphi, 0, dphi, xtol=1e-15)
    res1 = grain_boundary_series_residual(dphi, r_b, I_GB0, T, iterations=1, m=np)
    eta1 = grain_boundary_jump(dphi, r_b, I_GB0, T, iterations=1, m=np)
    assert abs(res1) > 1e-6 and abs(eta1 - ref) <= abs(res1)
    assert GB_ITERATIONS >= 4


def test_segment_seed_draws_random_ids():
    """segment_grains(seed=N): IDs drawn uniformly from 1..K per grain (002), reproducible; the
    colouring (no seed) separates every touching pair."""
    from fem_assb.structure.image import LabelMap, VoxelImage
    from fem_assb.structure.segment import segment_grains

    lab = np.full((24, 24, 24), 2, np.uint8)  # a lattice of 64 sintered SE spheres (r = 3.6 voxels)
    centres = np.zeros(lab.shape, bool)
    centres[3::6, 3::6, 3::6] = True
    from scipy import ndimage

    dist = ndimage.distance_transform_edt(~centres)
    lab[dist > 3.6] = 0
    image = VoxelImage(lab, 1e-6, LabelMap.default())
    a = segment_grains(image, k=8, min_distance=4, seed=1)
    b = segment_grains(image, k=8, min_distance=4, seed=1)
    c = segment_grains(image, k=8, min_distance=4)
    assert a.n_grains == c.n_grains >= 27
    assert np.array_equal(a.ids, b.ids) and not np.array_equal(a.ids, c.ids)
    assert set(np.unique(a.colour[1:])) <= set(range(1, 9)) and np.unique(a.colour[1:]).size >= 6
    assert c.conflicts == 0


# --- SE-only block between the Li reaction (x = 0) and the current outlet (x = L) ---------------

pytest.importorskip("dolfinx")


def _system():
    from fem_assb.materials import get_system

    return get_system("LCO_LLZO", temperature=T)


def _solve_block(grains, h, i_app, system=None, comm=None):
    """The cell's forms on an SE-only grid: Li | SE Butler-Volmer on the x = 0 face (phi_Li = 0),
    i_app [A/m^2] drawn from the x = L face, grain boundaries between different IDs. Returns
    (voltage V, phi per voxel in C order (NaN where not local), GB residual V)."""
    from mpi4py import MPI

    from fem_assb.forms.electrochemistry import CellForms
    from fem_assb.meshing import cell_tags
    from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh
    from fem_assb.solvers.newton import BlockNewton

    comm = comm or MPI.COMM_SELF
    system = system or _system()
    material = np.full(grains.shape, cell_tags.SE, np.int32)
    grid = Grid.uniform(material, h, grain=grains.astype(np.int32)) if comm.rank == 0 else None
    vm = build_voxel_mesh(comm, grid, cell_tags.facet_tagger)
    forms = CellForms(vm, system, T, surface_iterations=0)
    newton = BlockNewton(forms.F, forms.J, forms.u, linear_solver="direct", tol_phi=1e-12, max_it=60)
    forms.initial_state(float(np.asarray(system.cam.U0(forms.x0, T, np))))
    newton.compact_sparsity(forms.generic_states())
    forms.i_app.value = i_app
    if hasattr(forms, "capacitive"):
        forms.capacitive.value = 0.0  # the steady state: no double-layer (C_GB) currents
    res = newton.solve()
    assert res.converged, res.reason
    phi = np.full(grains.size, np.nan)
    cells = forms.Q.dofmap.list[:, 0]
    phi[vm.voxel_index] = forms.u.x.array.reshape(-1, 2)[cells, 0]
    out = forms.cell_voltage(), phi, forms.grain_boundary_residual()
    newton.destroy()
    return out


def _metal_eta(i, system):
    """Li | SE overpotential (V) at current density i: the inverse of Butler-Volmer."""
    from fem_assb.forms.interface import metal_overpotential

    return float(metal_overpotential(i, system.anode, T))


def _reference_fv(grains, h, i_app, system, linear=False):
    """Independent cell-centred finite volumes (scipy) of the same nonlinear network: two-point
    fluxes, on every GB face the sinh law in series with the two half cells (brentq per face),
    Butler-Volmer of the Li metal on the x = 0 face, i_app out of the x = L face. Returns
    (voltage, phi) in C order."""
    from scipy.optimize import brentq, root

    kappa = float(system.electrolyte.kappa(system.electrolyte.c0, T, np))
    an = system.anode
    f = FARADAY / (GAS_CONSTANT * T)
    alpha, i0_li = float(an.alpha), float(an.i0)
    a = FARADAY / (2 * GAS_CONSTANT * T)
    shape = grains.shape
    r_b = h / kappa  # two half cells h/(2 kappa)
    faces = []
    for axis in range(3):
        sl_a = [slice(None)] * 3
        sl_b = [slice(None)] * 3
        sl_a[axis], sl_b[axis] = slice(0, -1), slice(1, None)
        idx = np.arange(grains.size).reshape(shape)
        ia, ib = idx[tuple(sl_a)].ravel(), idx[tuple(sl_b)].ravel()
        ga, gb = grains.ravel()[ia], grains.ravel()[ib]
        faces.append((ia, ib, (ga != gb) & (ga > 0) & (gb > 0)))
    first = np.arange(grains.size).reshape(shape)[0].ravel()
    last = np.arange(grains.size).reshape(shape)[-1].ravel()

    def gb_current(dphi):
        if linear:  # the linearized law, R_GB in series with the half cells
            return dphi / (grain_boundary_resistance(I_GB0, T) + r_b)
        out = np.empty_like(dphi)
        for n, d in enumerate(dphi):
            eta = (
                brentq(
                    lambda e, d=d: e + r_b * 2 * I_GB0 * np.sinh(a * e) - d,
                    min(0.0, d),
                    max(0.0, d),
                    xtol=1e-16,
                    rtol=1e-15,
                )
                if d != 0
                else 0.0
            )
            out[n] = 2 * I_GB0 * np.sinh(a * eta)
        return out

    def residual(phi):  # net outflow per cell [A/m^2 of a voxel face]
        r = np.zeros_like(phi)
        for ia, ib, gb in faces:
            d = phi[ia] - phi[ib]
            i = np.where(gb, 0.0, d / r_b)
            if gb.any():
                i[gb] = gb_current(d[gb])
            np.add.at(r, ia, i)
            np.add.at(r, ib, -i)
        eta_li = 0.0 - phi[first] - float(an.U0)
        r[first] -= i0_li * (np.exp(alpha * f * eta_li) - np.exp(-(1 - alpha) * f * eta_li))
        r[last] += i_app
        return r

    x0 = (
        -float(an.U0)
        - _metal_eta(i_app, system)
        - i_app * np.tile((np.arange(shape[0]) + 0.5)[:, None, None] * h / kappa, (1,) + shape[1:]).ravel()
    )
    sol = root(residual, x0, method="hybr", options={"xtol": 1e-14})
    assert np.max(np.abs(residual(sol.x))) < 1e-8 * i_app, sol.message
    phi = sol.x
    voltage = float(np.mean(phi[last] - i_app * h / (2 * kappa)))
    return voltage, phi


def test_cell_with_grain_boundaries_matches_an_independent_finite_volume_solve():
    """Random grain IDs per voxel (about 2/3 of the faces are GBs) at 50 mA/cm^2: GB jumps of
    tens of mV, in the sinh law's nonlinear range (F dphi / 2RT about 1)."""
    system = _system()
    h, i_app = 0.5e-6, 500.0
    grains = np.random.default_rng(3).integers(1, 4, size=(8, 3, 3)).astype(np.int32)
    v_cell, phi_cell, res = _solve_block(grains, h, i_app, system)
    v_ref, phi_ref = _reference_fv(grains, h, i_app, system)
    eta_li = _metal_eta(i_app, system) + float(system.anode.U0)
    drop = -v_ref - eta_li  # ohmic + GB voltage of the block
    assert drop > 0.1  # the GBs dominate: several boundaries in series
    assert res < 1e-9
    assert abs(v_cell - v_ref) < 1e-7, (v_cell, v_ref)
    assert np.max(np.abs(phi_cell - phi_ref)) < 1e-7
    # the linearized law is far off here: the comparison is sensitive to the sinh
    v_lin, _ = _reference_fv(grains, h, i_app, system, linear=True)
    assert abs(v_lin - v_ref) > 0.01
    print(
        f"FV comparison: V_cell {v_cell:.9f} V, V_FV {v_ref:.9f} V, |dV| {abs(v_cell - v_ref):.2e} V, "
        f"block drop {drop * 1e3:.2f} mV (linearized law: {(-v_lin - eta_li) * 1e3:.2f} mV), "
        f"GB residual {res:.2e} V"
    )


def test_column_of_grains_gives_bulk_plus_k_grain_boundary_resistances():
    """k planar grains along x: R = (L - h/2)/kappa + (k - 1) R_GB in the linear regime (the Li
    reaction acts on the first cell centre; the voltage is that of the outlet face), and the exact
    sinh of each boundary at a large current (every boundary carries i_app)."""
    system = _system()
    kappa = float(system.electrolyte.kappa(system.electrolyte.c0, T, np))
    h, nx, t = 0.5e-6, 12, 3
    grains = np.broadcast_to((np.arange(nx) // t + 1)[:, None, None], (nx, 2, 2)).astype(np.int32)
    n_gb = nx // t - 1
    r_gb = grain_boundary_resistance(I_GB0, T)
    bulk = (nx * h - h / 2) / kappa
    a = FARADAY / (2 * GAS_CONSTANT * T)
    for i_app in (0.05, 50.0, 500.0):  # 5 uA/cm^2 (a eta ~ 2e-5) to 50 mA/cm^2 (a eta ~ 2)
        v, _, res = _solve_block(grains, h, i_app, system)
        r_total = -(v + _metal_eta(i_app, system) + float(system.anode.U0)) / i_app
        exact = bulk + n_gb * np.arcsinh(i_app / (2 * I_GB0)) / a / i_app
        assert r_total == pytest.approx(exact, rel=1e-9), i_app
        assert res < 1e-9
        if i_app < 0.1:
            assert r_total == pytest.approx(bulk + n_gb * r_gb, rel=1e-6)
            print(
                f"series R_GB: R_total {r_total * 1e4:.6f} Ohm cm^2 = bulk {bulk * 1e4:.6f} + "
                f"{n_gb} x {(r_total - bulk) / n_gb * 1e4:.6f} Ohm cm^2 (R_GB = {r_gb * 1e4:.6f})"
            )


@pytest.mark.mpi
def test_cell_with_grain_boundaries_serial_and_two_ranks_agree():
    from mpi4py import MPI

    system = _system()
    grains = np.random.default_rng(4).integers(1, 4, size=(8, 4, 3)).astype(np.int32)
    v1, phi1, _ = _solve_block(grains, 0.5e-6, 100.0, system, MPI.COMM_SELF)
    vn, phin, _ = _solve_block(grains, 0.5e-6, 100.0, system, MPI.COMM_WORLD)
    assert vn == pytest.approx(v1, abs=1e-9)
    local = ~np.isnan(phin)
    assert np.max(np.abs(phin[local] - phi1[local])) < 1e-9


def test_the_step_fails_when_the_local_solve_is_not_converged(monkeypatch):
    """The residual check: with a single local Newton step the GB law is not converged at a
    100 mV jump; the assembled residual sees it and the step fails with it in its reason."""
    from fem_assb.forms.electrochemistry import CellForms
    from fem_assb.solvers.newton import NewtonResult
    from fem_assb.studies.discharge import CellSimulation

    system = _system()
    grains = np.broadcast_to((np.arange(12) // 2 + 1)[:, None, None], (12, 2, 2)).astype(np.int32)
    v_ok, _, res_ok = _solve_block(grains, 0.5e-6, 500.0, system)
    captured = {}
    real_init = CellForms.__init__

    def init(self, *args, **kw):
        real_init(self, *args, **kw)
        captured["forms"] = self

    monkeypatch.setattr(CellForms, "gb_iterations", 1)
    monkeypatch.setattr(CellForms, "__init__", init)
    v_bad, _, res_bad = _solve_block(grains, 0.5e-6, 500.0, system)
    assert res_ok < 1e-9 < res_bad
    assert abs(v_bad - v_ok) > 1e-6  # the truncated law is another law
    sim = CellSimulation.__new__(CellSimulation)
    sim.forms, sim.residuals = captured["forms"], {}
    out = sim._check_local_laws(NewtonResult(True, 3, 0))
    assert not out.converged and "grain-boundary law is not converged" in out.reason
    assert "after 1 local Newton steps" in out.reason


# --- grain IDs from a case (structure.segment) --------------------------------------------------

CASE = {
    "name": "segment",
    "structure": {
        "generator": {
            "kind": "composite",
            "shape": [8, 5, 5],
            "voxel_size": "0.5 um",
            "cam_fraction": 0.55,
            "se_fraction": 0.45,
            "d_cam": "1.5 um",
            "d_se": "1 um",
            "seed": 0,
        }
    },
    "cell": {"separator": {"material": "SE", "thickness": "5 um"}, "li_metal": "2 um"},
    "materials": {"preset": "LCO_LLZO", "grain_boundary": {"i_GB0": "1e-4 A/cm^2"}},
    "operation": {
        "temperature": "25 degC",
        "steps": [
            {
                "kind": "discharge",
                "current_density": "0.5 mA/cm^2",
                "cutoff_voltage": "3.4 V",
                "duration": "10 s",
            }
        ],
    },
    "numerics": {"dt_initial": "5 s", "dt_max": "5 s", "linear_solver": "direct"},
    "outputs": {"fields": [], "plots": False},
}


def test_segment_gives_a_generated_structure_grain_boundaries_that_act(tmp_path):
    """structure.segment on a generated composite: the built image has grain IDs with GB faces,
    and the run differs from the same cell without grain boundaries (R_GB = 257 Ohm cm^2)."""
    import copy

    from fem_assb.case import resolve_case
    from fem_assb.meshing.cell_tags import is_grain_boundary
    from fem_assb.studies.run import run_case

    raw = copy.deepcopy(CASE)
    raw["structure"]["segment"] = {"ids": 8, "min_distance": 1, "seed": 2}
    case = resolve_case(raw, base_dir=tmp_path)
    image = case.structure.build()
    g = image.grain_ids()
    se = image.mask("SE")
    assert g[se].min() >= 1 and np.unique(g[se]).size > 2 and not g[~se].any()
    faces = 0
    for ax in range(3):
        ga = np.moveaxis(g, ax, 0)
        faces += int(is_grain_boundary(ga[:-1], ga[1:]).sum())
    assert faces > 10
    with_gb = run_case(case, tmp_path / "gb", quiet=True)
    plain = copy.deepcopy(CASE)
    plain["materials"] = {"preset": "LCO_LLZO", "grain_boundary": None}
    without = run_case(resolve_case(plain, base_dir=tmp_path), tmp_path / "plain", quiet=True)
    assert with_gb["final_voltage_V"] < without["final_voltage_V"] - 1e-4


def test_segment_is_checked_at_load(tmp_path):
    import copy

    from fem_assb.case import resolve_case
    from fem_assb.errors import InputError

    def load(**seg):
        raw = copy.deepcopy(CASE)
        raw["structure"]["segment"] = seg
        return resolve_case(raw, base_dir=tmp_path)

    with pytest.raises(InputError, match="ids = 1 gives every grain the same ID"):
        load(ids=1)
    with pytest.raises(InputError, match="min_distance has no effect with h"):
        load(h=0.5, min_distance=2)
    with pytest.raises(InputError, match="did you mean 'seed'"):
        load(sead=1)
    raw = copy.deepcopy(CASE)
    raw["structure"]["segment"] = {"ids": 8}
    raw["materials"] = {"preset": "LCO_LLZO", "grain_boundary": None}
    with pytest.raises(InputError, match=r"structure.segment\) but the materials have no grain_boundary"):
        resolve_case(raw, base_dir=tmp_path)
    # an image with grain IDs is not segmented again
    np.save(tmp_path / "g.npy", np.array([[[1, 2]], [[2, 2]]], np.uint8))
    raw = copy.deepcopy(CASE)
    raw["structure"] = {
        "image": "g.npy",
        "voxel_size": "1 um",
        "labels": {1: "CAM", 2: {"material": "SE", "grain": 1}},
        "segment": {"ids": 8},
    }
    with pytest.raises(InputError, match="already has SE grain IDs"):
        resolve_case(raw, base_dir=tmp_path)


@pytest.mark.parametrize("name", ["seed002_lco_llzo.yaml", "seed002_nmc811_llzo.yaml"])
def test_seed002_cases_load_with_grains_and_periodic_sides(name):
    """The seed 002 cases segment their generated SE (structure.segment) and join their lateral
    sides (cell.lateral: periodic, the structure generated periodic in y and z)."""
    from pathlib import Path

    from fem_assb.case import load_case

    case = load_case(Path(__file__).resolve().parents[1] / "cases" / name)
    assert case.structure.segment == {"k": 8, "min_distance": 3, "seed": 1}
    assert case.materials.grain_boundary is not None
    assert case.cell.lateral == "periodic" and case.structure.generator["periodic"] is True

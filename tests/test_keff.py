"""Effective conductivity: analytic cases, grain boundaries, percolation, MPI agreement, CLI."""

import json

import numpy as np
import pytest

dolfinx = pytest.importorskip("dolfinx")
import ufl  # noqa: E402
from dolfinx import fem  # noqa: E402
from dolfinx.fem import petsc as fpetsc  # noqa: E402
from mpi4py import MPI  # noqa: E402

from fem_assb.errors import InputError  # noqa: E402
from fem_assb.forms.transport import (  # noqa: E402
    boundary_transmissibility,
    grain_boundary_current_density,
    grain_boundary_resistance,
    two_point_flux,
)
from fem_assb.meshing.voxel_mesh import XMAX, XMIN, Grid, build_voxel_mesh  # noqa: E402
from fem_assb.studies.keff import effective_conductivity  # noqa: E402

SELF = MPI.COMM_SELF


def _keff(img, phase=1, **kw):
    kw.setdefault("comm", SELF)
    return effective_conductivity(img, phase, **kw)


def test_straight_channel_is_exact():
    img = np.zeros((6, 5, 5), dtype=np.uint8)
    img[:, 1:3, 2:5] = 1  # a 2 x 3 voxel channel along x
    r = _keff(img, axis="all")
    x = r["axes"]["x"]
    assert x["volume_fraction"] == pytest.approx(6 / 25)
    assert x["relative_conductivity"] == pytest.approx(6 / 25, rel=1e-10)
    assert x["tortuosity_factor"] == pytest.approx(1.0, rel=1e-10)
    assert x["percolating_fraction"] == 1.0
    # Across the channel (y and z) nothing connects the faces.
    for a in ("y", "z"):
        assert r["axes"][a]["relative_conductivity"] == 0.0
        assert r["axes"][a]["tortuosity_factor"] is None
        assert "does not connect" in r["axes"][a]["message"]


def test_parallel_layers_and_anisotropy():
    img = np.zeros((8, 6, 4), dtype=np.uint8)
    img[:, ::2, :] = 1  # sheets normal to y: parallel to x and z, blocked along y
    r = _keff(img, axis="all")
    for a in ("x", "z"):
        assert r["axes"][a]["relative_conductivity"] == pytest.approx(0.5, rel=1e-10)
        assert r["axes"][a]["tortuosity"] == pytest.approx(1.0, rel=1e-10)
    assert r["axes"]["y"]["relative_conductivity"] == 0.0


def test_series_layers_with_graded_cells():
    """Layers of different conductivity in series on a graded grid: R = sum h_i / k_i (two-point
    fluxes with the harmonic transmissibility are exact for layered media)."""
    n = 7
    widths = np.array([0.5, 1.0, 2.0, 0.7, 1.3, 0.9, 1.6]) * 1e-6
    k_layer = np.array([1.0, 0.1, 5.0, 0.3, 2.0, 1.0, 0.05])  # S/m
    x = np.concatenate([[0.0], np.cumsum(widths)])
    grid = Grid(x, [0.0, 2e-6, 3e-6], [0.0, 1e-6, 2.5e-6], np.zeros((n, 2, 2), dtype=np.int32))
    vm = build_voxel_mesh(SELF, grid, lambda a, b, c, d: np.ones_like(a))
    V = fem.functionspace(vm.mesh, ("DG", 0))
    k = fem.Function(V)
    ix = np.unravel_index(vm.voxel_index, grid.shape)[0]
    k.x.array[V.dofmap.list[:, 0]] = k_layer[ix]
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    H, nrm = vm.cell_size, ufl.FacetNormal(vm.mesh)
    md = {"quadrature_degree": 0}
    dS = ufl.Measure("dS", vm.mesh, subdomain_data=vm.facet_tags, metadata=md)
    ds = ufl.Measure("ds", vm.mesh, subdomain_data=vm.facet_tags, metadata=md)
    tb = boundary_transmissibility(k, H, nrm)
    a = two_point_flux(u, k, v, H, nrm) * dS(1) + tb * u * v * (ds(XMIN) + ds(XMAX))
    L = tb * 1.0 * v * ds(XMIN)
    uh = fem.Function(V)
    A = fpetsc.assemble_matrix(fem.form(a))
    A.assemble()
    b = fpetsc.assemble_vector(fem.form(L))
    from fem_assb.solvers.linear import solve_spd

    solve_spd(A, b, uh.x.petsc_vec, method="direct")
    current = fem.assemble_scalar(fem.form(tb * (1.0 - uh) * ds(XMIN)))
    area = 3e-6 * 2.5e-6
    expected = area / np.sum(widths / k_layer)  # A at 1 V
    assert current == pytest.approx(expected, rel=1e-10)


def test_grain_boundaries_in_series_match_the_analytic_value():
    """n planar grains along x, R_GB at each of the n-1 boundaries: the series resistance."""
    nx, t, h, kappa = 12, 3, 0.5e-6, 7.69e-2  # 3-voxel grains, 0.5 um voxels, LLZO 7.69e-4 S/cm
    img = np.ones((nx, 3, 3), dtype=np.uint8)
    grains = np.broadcast_to((np.arange(nx) // t + 1)[:, None, None], img.shape).copy()
    L = nx * h
    values = []
    for r_gb_cm2 in (0.0, 3.6e-2, 3.6e-1, 3.6):
        r = _keff(
            img,
            axis="x",
            voxel_size=h,
            grains=grains,
            bulk_conductivity=kappa,
            grain_resistance=r_gb_cm2 * 1e-4,
        )
        rel = r["axes"]["x"]["relative_conductivity"]
        expected = (L / kappa) / (L / kappa + (nx // t - 1) * r_gb_cm2 * 1e-4)
        assert rel == pytest.approx(expected, rel=1e-10)
        values.append(rel)
    assert np.all(np.diff(values) < 0)
    # Along y the grain boundaries are parallel to the current: no effect.
    r = _keff(img, axis="y", voxel_size=h, grains=grains, bulk_conductivity=kappa, grain_resistance=3.6e-4)
    assert r["axes"]["y"]["relative_conductivity"] == pytest.approx(1.0, rel=1e-10)
    # i_GB0 = 7e-3 A/cm^2 is the same as its linearization R_GB = RT/(F i_GB0).
    r1 = _keff(
        img,
        axis="x",
        voxel_size=h,
        grains=grains,
        bulk_conductivity=kappa,
        grain_exchange_current="7e-3 A/cm^2",
        temperature=298.15,
    )
    r2 = _keff(
        img,
        axis="x",
        voxel_size=h,
        grains=grains,
        bulk_conductivity=kappa,
        grain_resistance=grain_boundary_resistance(70.0, 298.15),
    )
    assert r1["axes"]["x"]["relative_conductivity"] == pytest.approx(r2["axes"]["x"]["relative_conductivity"])
    assert r1["grain_boundary"]["resistance_ohm_cm2"] == pytest.approx(3.67, rel=1e-2)


def test_grain_boundary_law():
    T, i0 = 298.15, 69.1
    r = grain_boundary_resistance(i0, T)
    assert r * 1e4 == pytest.approx(3.7, rel=1e-2)  # MODEL.md §3: 6.91e-3 A/cm^2 -> 3.7 Ohm cm^2
    dphi = np.array([-1e-5, 1e-5])
    assert grain_boundary_current_density(dphi, i0, T) == pytest.approx(dphi / r, rel=1e-6)
    big = grain_boundary_current_density(np.array([0.2]), i0, T)[0]
    assert big == pytest.approx(2 * i0 * np.sinh(96485.33212 * 0.2 / (2 * 8.314462618 * T)))


def test_non_percolating_phase_and_removed_clusters():
    img = np.zeros((10, 6, 6), dtype=np.uint8)
    img[:, 0:2, 0:2] = 1  # percolating channel: 40 voxels
    img[3:6, 4, 4] = 1  # isolated cluster: 3 voxels
    r = _keff(img, axis="x")["axes"]["x"]
    assert r["percolating_fraction"] == pytest.approx(40 / 43)
    assert r["relative_conductivity"] == pytest.approx(4 / 36, rel=1e-10)  # the channel only
    assert r["volume_fraction"] == pytest.approx(43 / 360)
    assert "removed" in r["message"]
    blocked = img.copy()
    blocked[5] = 0  # cut every path
    r = _keff(blocked, axis="x")["axes"]["x"]
    assert r["relative_conductivity"] == 0.0 and r["percolating_fraction"] == 0.0
    assert r["tortuosity_factor"] is None and "does not connect" in r["message"]


def test_bad_input():
    img = np.zeros((3, 3, 3), dtype=np.uint8)
    with pytest.raises(InputError, match="no voxel of value"):
        _keff(img, 1)
    with pytest.raises(InputError, match="material name"):
        _keff(img, "SE")
    with pytest.raises(InputError, match="no grain IDs"):
        _keff(img + 1, 1, grain_resistance=1e-4)
    with pytest.raises(InputError, match="axis"):
        _keff(img + 1, 1, axis="w")


def _random_structure(n, porosity, seed):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random((n, n, n)), 1.5, mode="wrap")
    return (field < np.quantile(field, porosity)).astype(np.uint8)


@pytest.mark.mpi
def test_serial_and_parallel_agree():
    comm = MPI.COMM_WORLD
    img = _random_structure(18, 0.45, seed=4)
    grains = (np.arange(img.size).reshape(img.shape) // 50 % 5 + 1).astype(np.int32)
    kw = dict(
        axis="all", solver="cg-hypre", rtol=1e-13, grains=grains, bulk_conductivity=0.1, grain_resistance=1e-6
    )
    par = effective_conductivity(img if comm.rank == 0 else None, 1, comm=comm, **kw)
    ser = effective_conductivity(img, 1, comm=SELF, **kw)
    assert par["ranks"] == comm.size
    # Bad input found on rank 0 is raised on every rank (no rank left waiting).
    with pytest.raises(InputError, match="no voxel of value 7"):
        effective_conductivity(img if comm.rank == 0 else None, 7, comm=comm)
    for a in "xyz":
        p, s = par["axes"][a]["relative_conductivity"], ser["axes"][a]["relative_conductivity"]
        assert s > 0
        assert p == pytest.approx(s, rel=1e-8)
        assert par["axes"][a]["current_balance"] < 1e-8


def test_cli_json_bare_npy_and_label_map(tmp_path):
    from fem_assb.cli import main

    img = np.zeros((6, 4, 4), dtype=np.uint8)
    img[:, :2, :] = 1
    path = tmp_path / "img.npy"
    np.save(path, img)
    out = tmp_path / "k.json"
    assert main(["keff", str(path), "--phase", "1", "--axis", "all", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["axes"]["x"]["relative_conductivity"] == pytest.approx(0.5, rel=1e-10)
    assert data["axes"]["y"]["relative_conductivity"] == 0.0
    for key in (
        "volume_fraction",
        "relative_conductivity",
        "tortuosity_factor",
        "tortuosity",
        "percolating_fraction",
    ):
        assert key in data["axes"]["x"]
    assert data["ranks"] == 1 and data["run_time_s"] > 0
    # With a label map the phase is a material name.
    labels = tmp_path / "l.yaml"
    labels.write_text("voxel_size: 0.5 um\nlabels:\n  0: PORE\n  1: SE\n")
    out2 = tmp_path / "k2.json"
    assert main(["keff", str(path), "--labels", str(labels), "--phase", "SE", "--json", str(out2)]) == 0
    data2 = json.loads(out2.read_text())
    assert data2["axes"]["x"]["relative_conductivity"] == pytest.approx(0.5, rel=1e-10)
    assert data2["voxel_size_m"] == pytest.approx(0.5e-6)
    # A name without a label map is a clear error (exit status 1), so is a quantity without unit.
    assert main(["keff", str(path), "--phase", "SE"]) == 1
    assert main(["keff", str(path), "--phase", "1", "--grain-resistance", "3.6"]) == 1


def _reference_fv(mask, axis, h, kappa, grains=None, r_gb=0.0, periodic=False):
    """Independent cell-centred finite volumes with scipy: the same discrete problem, built
    directly on the voxel lattice (half-cell Dirichlet faces, harmonic/series transmissibility);
    ``periodic``: the two lateral axes wrap (np.roll pairs), as keff with lateral="periodic"."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    from fem_assb.structure.analysis import percolating

    wrap = tuple(d for d in range(3) if d != axis) if periodic else ()
    keep = percolating(mask, axis, periodic=wrap)
    idx = -np.ones(mask.shape, dtype=np.int64)
    idx[keep] = np.arange(keep.sum())
    n = int(keep.sum())
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    area = h * h
    g = grains if grains is not None else np.zeros(mask.shape, dtype=np.int32)
    for d in range(3):
        if d in wrap:  # every voxel with its +d neighbour, the last one with the first
            ia, ib = idx, np.roll(idx, -1, axis=d)
            ga, gb = g, np.roll(g, -1, axis=d)
        else:
            a = [slice(None)] * 3
            b = [slice(None)] * 3
            a[d], b[d] = slice(0, -1), slice(1, None)
            ia, ib, ga, gb = idx[tuple(a)], idx[tuple(b)], g[tuple(a)], g[tuple(b)]
        both = (ia >= 0) & (ib >= 0)
        ga, gb = ga[both], gb[both]
        r = h / kappa + np.where((ga != gb) & (ga > 0) & (gb > 0), r_gb, 0.0)
        t = area / r
        i, j = ia[both], ib[both]
        rows += [i, j]
        cols += [j, i]
        vals += [-t, -t]
        np.add.at(diag, i, t)
        np.add.at(diag, j, t)
    tb = area * 2 * kappa / h
    lo = np.take(idx, 0, axis=axis)
    hi = np.take(idx, -1, axis=axis)
    lo, hi = lo[lo >= 0], hi[hi >= 0]
    diag[lo] += tb
    diag[hi] += tb
    rhs = np.zeros(n)
    rhs[lo] = tb * 1.0
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    A = A + sp.diags(diag)
    phi = spsolve(A.tocsc(), rhs)
    current = np.sum(tb * (1.0 - phi[lo]))
    length = mask.shape[axis] * h
    cross = np.prod([mask.shape[k] * h for k in range(3) if k != axis])
    return current / cross * length / kappa


def test_random_structure_matches_an_independent_finite_volume_solve():
    img = _random_structure(14, 0.5, seed=7)
    grains = (np.random.default_rng(2).integers(1, 4, size=img.shape)).astype(np.int32)
    h, kappa, r_gb = 0.5e-6, 0.05, 2e-5
    r = _keff(
        img,
        axis="all",
        voxel_size=h,
        grains=grains,
        bulk_conductivity=kappa,
        grain_resistance=r_gb,
        solver="cg-hypre",
        rtol=1e-13,
    )
    for a, d in (("x", 0), ("y", 1), ("z", 2)):
        ref = _reference_fv(img == 1, d, h, kappa, grains, r_gb)
        assert ref > 0
        assert r["axes"][a]["relative_conductivity"] == pytest.approx(ref, rel=1e-9)

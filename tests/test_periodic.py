"""Periodic lateral sides (issue 16, seed 002): the voxel mesh's couplings, keff and the cell.

A periodic structure rolled laterally (numpy.roll along y or z) is the same laterally infinite
medium, so keff and the discharge capacity must not change with periodic sides; with insulating
sides they do (the tests check both, so they would notice the couplings missing). A channel that
crosses the lateral boundary conducts with periodic sides only, with the analytic keff.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

dolfinx = pytest.importorskip("dolfinx")
import ufl  # noqa: E402
from dolfinx import fem  # noqa: E402
from mpi4py import MPI  # noqa: E402
from test_keff import _reference_fv  # noqa: E402  (the independent FV solve, periodic=True)

from fem_assb.errors import InputError  # noqa: E402
from fem_assb.meshing import cell_tags as tags  # noqa: E402
from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh  # noqa: E402
from fem_assb.studies.keff import effective_conductivity  # noqa: E402

SELF = MPI.COMM_SELF
ROLL_RTOL = 1e-9  # keff and capacity of a rolled periodic structure: solver tolerance
TEETH = 1e-3  # with insulating sides the same roll changes them by more than this


def _periodic_structure(shape, porosity, seed):
    """A random two-phase structure periodic in every direction (Gaussian-filtered noise with
    wrap-around, thresholded): the phase is 1."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random(shape), 1.5, mode="wrap")
    return (field < np.quantile(field, porosity)).astype(np.uint8)


def _grains(shape, seed):
    """Grain IDs 1..3 in blocks of 3 voxels (periodic images are rolled together with them)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(1, 4, size=tuple(-(-n // 3) for n in shape))
    g = np.repeat(np.repeat(np.repeat(coarse, 3, 0), 3, 1), 3, 2)
    return np.ascontiguousarray(g[: shape[0], : shape[1], : shape[2]]).astype(np.int32)


# --- the mesh -------------------------------------------------------------------------------------


def _sum(form, comm):
    return comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)


def _box_grid(periodic, comm):
    """3 x 4 x 5 voxels of 1 x 2 x 3 um with one hole, CAM at j = 0 and SE elsewhere, SE grains
    1 at k = 0 and 2 elsewhere (rank 0 only)."""
    if comm.rank != 0:
        return None
    mat = np.full((3, 4, 5), tags.SE, dtype=np.int32)
    mat[:, 0, :] = tags.CAM
    mat[1, 2, 2] = -1
    grain = np.where(mat == tags.SE, 2, 0).astype(np.int32)
    grain[:, :, 0] = np.where(mat[:, :, 0] == tags.SE, 1, 0)
    edges = (np.arange(4) * 1e-6, np.arange(5) * 2e-6, np.arange(6) * 3e-6)
    return Grid(*edges, mat, grain=grain, periodic=periodic)


@pytest.mark.mpi
def test_periodic_couplings_are_facets_of_the_right_tag_area_and_normal():
    """Every y (z) ring of voxels closes: the facet count and area per direction match the
    periodic lattice, n('+') = -n('-') on every coupling, a CAM | SE pair across y = 0 is a CAM_SE
    facet and an SE | SE pair of different grains across z = 0 a grain boundary; every rank owns
    whole x planes."""
    comm = MPI.COMM_WORLD
    vm = build_voxel_mesh(comm, _box_grid((1, 2), comm), tags.facet_tagger)
    _, _, dS = vm.measures(interior_tags=range(1, 7))
    n = ufl.FacetNormal(vm.mesh)
    one = fem.Constant(vm.mesh, 1.0)
    all_tags = tuple(range(1, 7))
    area = {d: _sum(abs(n("+")[d]) * dS(all_tags), comm) for d in range(3)}
    # x: 2 inner planes of 20 facets, 2 lost at the hole; y: rings of 4 per (i, k), 60 - 2; z: 60 - 2
    assert area[0] == pytest.approx(38 * 6e-12, rel=1e-12)
    assert area[1] == pytest.approx(58 * 3e-12, rel=1e-12)
    assert area[2] == pytest.approx(58 * 2e-12, rel=1e-12)
    total = sum(area.values())
    for d in range(3):  # on every facet, the couplings included (round-off: 1e-16 of a unit normal)
        assert _sum(abs(n("+")[d] + n("-")[d]) * dS(all_tags), comm) < 1e-12 * total
    # across y = 0: CAM (j = 0) | SE (j = 3) -> CAM_SE, 15 pairs; across z = 0: SE grain 1 | 2
    # (j = 1..3) -> GRAIN_BOUNDARY, 9 pairs, and CAM | CAM at j = 0, 3 pairs
    pairs = {t: comm.allreduce(len(e), op=MPI.SUM) for t, e in vm.periodic_facets.items()}
    pairs = {t: c for t, c in pairs.items() if c}
    assert pairs == {tags.CAM_SE: 15, tags.GRAIN_BOUNDARY: 9, tags.CAM_CAM: 3}
    # CAM_SE: the 15 facets between j = 0 and j = 1 and the 15 couplings, each hx hz = 3 um^2
    assert _sum(one * dS(tags.CAM_SE), comm) == pytest.approx(30 * 3e-12, rel=1e-12)
    # whole x planes per rank: the owned cells of a rank have x indices no other rank owns
    nown = vm.num_owned_cells
    planes = set(np.unique(np.unravel_index(vm.voxel_index[:nown], vm.grid_shape)[0]).tolist())
    others = comm.allgather(planes)
    assert all(not (planes & o) for r, o in enumerate(others) if r != comm.rank)


def test_partition_cuts_between_whole_x_planes_within_half_a_plane():
    """_partition_starts: each cut at the first cell of an x plane, the nearer of the two around
    the equal-count cut (so at most half a plane off), planes without cells and more ranks than
    planes included; without periodic sides the cuts are the equal-count ones."""
    from fem_assb.meshing.voxel_mesh import _partition_starts, _slab_starts

    rng = np.random.default_rng(0)
    mat = np.where(rng.random((9, 5, 4)) < 0.6, 0, -1).astype(np.int32)
    mat[3] = -1  # an empty plane
    for periodic in ((1, 2), ()):
        grid = Grid.uniform(mat, 1e-6, periodic=periodic)
        active = np.flatnonzero(mat.ravel() >= 0)
        plane_start = np.searchsorted(active, 20 * np.arange(10))
        per_plane = np.diff(plane_start)
        for nparts in (2, 3, 4, 12):
            starts, even = _partition_starts(grid, active, nparts), _slab_starts(active.size, nparts)
            assert starts[0] == 0 and starts[-1] == active.size and np.all(np.diff(starts) >= 0)
            if not periodic:
                assert np.array_equal(starts, even)
                continue
            assert set(starts[1:-1].tolist()) <= set(plane_start.tolist())
            assert np.all(np.abs(starts - even) <= per_plane.max() / 2)


def test_insulating_grid_has_no_couplings_and_periodic_x_is_refused():
    vm = build_voxel_mesh(SELF, _box_grid((), SELF), tags.facet_tagger)
    assert vm.periodic_facets == {} and vm.periodic == ()
    with pytest.raises(InputError, match=r"only the lateral axes 1 \(y\) and 2 \(z\)"):
        Grid.uniform(np.zeros((2, 2, 2), np.int32), 1e-6, periodic=(0,))


# --- keff -----------------------------------------------------------------------------------------


def _keff(img, lateral, comm=SELF, **kw):
    return effective_conductivity(
        img, 1, axis="all", lateral=lateral, solver="cg-hypre", rtol=1e-13, comm=comm, **kw
    )


def _rel(res):
    return {a: r["relative_conductivity"] for a, r in res["axes"].items()}


def test_keff_of_a_periodic_structure_does_not_change_when_it_is_rolled_laterally():
    """Grain boundaries included (R_GB comparable to a voxel's resistance), so the GB law is
    paired across the periodic boundary as well."""
    img = _periodic_structure((14, 12, 10), 0.5, seed=3)
    grains = _grains(img.shape, seed=5)
    kw = dict(voxel_size=1e-6, grains=grains, bulk_conductivity=1.0, grain_resistance=1e-6)
    base = {lat: _rel(_keff(img, lat, **kw)) for lat in ("periodic", "insulating")}
    assert all(v > 0 for v in base["periodic"].values())
    for axis, shift in ((1, 5), (2, 3), (0, 4)):
        rolled = dict(kw, grains=np.roll(grains, shift, axis))
        lateral_axes = [a for a in "xyz" if a != "xyz"[axis]]  # the roll is lateral for these
        per = _rel(_keff(np.roll(img, shift, axis), "periodic", **rolled))
        ins = _rel(_keff(np.roll(img, shift, axis), "insulating", **rolled))
        for a in lateral_axes:
            assert per[a] == pytest.approx(base["periodic"][a], rel=ROLL_RTOL), (axis, a)
        assert max(abs(ins[a] / base["insulating"][a] - 1) for a in lateral_axes) > TEETH, axis


def test_periodic_keff_matches_an_independent_finite_volume_solve():
    img = _periodic_structure((12, 10, 9), 0.45, seed=11)
    grains = _grains(img.shape, seed=2)
    h, kappa, r_gb = 0.5e-6, 0.05, 2e-5
    r = _keff(img, "periodic", voxel_size=h, grains=grains, bulk_conductivity=kappa, grain_resistance=r_gb)
    for a, d in (("x", 0), ("y", 1), ("z", 2)):
        ref = _reference_fv(img == 1, d, h, kappa, grains, r_gb, periodic=True)
        assert ref > 0
        assert r["axes"][a]["relative_conductivity"] == pytest.approx(ref, rel=1e-9), a
        assert r["axes"][a]["current_balance"] < 1e-9


@pytest.mark.parametrize("side", [1, 2], ids=["y", "z"])
def test_a_channel_through_the_lateral_boundary_conducts_only_when_periodic(side):
    """A one-voxel sheet along x that steps across the side at ``side``: cells (i, n-1) for
    i < m, the step cell (m-1, 0) and (i, 0) for i >= m (sheet over the third axis). It reaches
    the far face only through the periodic side. The chain has nx + 1 cells, nx links and two
    half cells: kappa_eff / kappa = nx / ((nx + 1) n_side)."""
    nx, m, n_side, n_other = 7, 4, 4, 3
    shape = [nx, 0, 0]
    shape[side], shape[3 - side] = n_side, n_other
    img = np.zeros(shape, dtype=np.uint8)
    first, last = [slice(None)] * 3, [slice(None)] * 3
    first[0], first[side] = slice(0, m), n_side - 1
    last[0], last[side] = slice(m - 1, nx), 0
    img[tuple(first)] = 1
    img[tuple(last)] = 1
    per = effective_conductivity(img, 1, axis="x", lateral="periodic", comm=SELF)["axes"]["x"]
    assert per["relative_conductivity"] == pytest.approx(nx / ((nx + 1) * n_side), rel=1e-10)
    assert per["percolating_fraction"] == 1.0
    ins = effective_conductivity(img, 1, axis="x", comm=SELF)["axes"]["x"]
    assert ins["relative_conductivity"] == 0.0 and "does not connect" in ins["message"]


def test_keff_lateral_input_and_cli(tmp_path):
    from fem_assb.cli import main

    img = _periodic_structure((8, 6, 6), 0.5, seed=1)
    with pytest.raises(InputError, match=r"lateral = 'open' is unknown; use 'insulating'.*'periodic'"):
        effective_conductivity(img, 1, lateral="open", comm=SELF)
    path, out = tmp_path / "a.npy", tmp_path / "k.json"
    np.save(path, img)
    assert main(["keff", str(path), "--phase", "1", "--lateral", "periodic", "--json", str(out)]) == 0
    import json

    res = json.loads(out.read_text())
    api = effective_conductivity(img, 1, lateral="periodic", comm=SELF)
    assert res["lateral"] == "periodic"
    assert res["axes"]["x"]["relative_conductivity"] == pytest.approx(
        api["axes"]["x"]["relative_conductivity"], rel=1e-9
    )


@pytest.mark.mpi
def test_periodic_keff_serial_and_parallel_agree():
    comm = MPI.COMM_WORLD
    img = _periodic_structure((16, 12, 12), 0.45, seed=4)
    kw = dict(grains=_grains(img.shape, seed=1), bulk_conductivity=0.1, grain_resistance=1e-6)
    par = _keff(img if comm.rank == 0 else None, "periodic", comm=comm, **kw)
    ser = _keff(img, "periodic", **kw)
    assert par["ranks"] == comm.size and par["lateral"] == "periodic"
    for a in "xyz":
        s = ser["axes"][a]["relative_conductivity"]
        assert s > 0
        assert par["axes"][a]["relative_conductivity"] == pytest.approx(s, rel=1e-8)
        assert par["axes"][a]["current_balance"] < 1e-8


# --- the cell -------------------------------------------------------------------------------------


def _cell_case(lateral: str, image=None):
    """The tests' tiny composite (discharge_cells.tiny_case) on 6 x 6 x 6 voxels, generated
    periodic in y and z, discharged at 30 mA/cm^2 to 3.5 V (the capacity then depends on the
    whole 3D current pattern); ``image``: a VoxelImage in its place."""
    from discharge_cells import tiny_case

    steps = [{"kind": "discharge", "current_density": "30 mA/cm^2", "cutoff_voltage": "3.5 V"}]
    raw = tiny_case("periodic", shape=(6, 6, 6), steps=steps)
    raw["structure"]["generator"]["periodic"] = "yz"
    raw["cell"]["lateral"] = lateral
    if image is not None:
        raw["structure"] = {"image": image}
    return raw


def _capacity(raw, comm=SELF):
    import fem_assb

    res = fem_assb.Simulation(fem_assb.load_case(raw), comm=comm).run()
    assert res.summary["final_voltage_V"] == pytest.approx(3.5, abs=1e-4)  # ended at the cut-off
    return res.summary["capacity_mAh_cm2"]


def test_discharge_capacity_of_a_periodic_cell_does_not_change_when_it_is_rolled_laterally():
    import fem_assb

    image = fem_assb.load_case(_cell_case("periodic")).structure.build()
    caps = {}
    for lateral in ("periodic", "insulating"):
        caps[lateral] = [
            _capacity(_cell_case(lateral, dataclasses.replace(image, labels=np.roll(image.labels, s, axis))))
            for axis, s in ((1, 0), (1, 2), (2, 3))
        ]
    per, ins = np.array(caps["periodic"]), np.array(caps["insulating"])
    assert np.all(per > 0)
    assert np.max(np.abs(per / per[0] - 1)) < 1e-8, per
    assert np.max(np.abs(ins / ins[0] - 1)) > TEETH, ins


@pytest.mark.mpi
def test_periodic_cell_serial_and_parallel_agree():
    comm = MPI.COMM_WORLD
    par = _capacity(_cell_case("periodic"), comm=comm)
    ser = _capacity(_cell_case("periodic"), comm=SELF)
    assert par == pytest.approx(ser, rel=1e-8)


def test_connections_through_the_periodic_side_count(tmp_path):
    """SE only at y = 0, CAM only at y = n - 1 (pore between): their one interface is the
    periodic side. Insulating: no CAM | SE face, the cell is refused; periodic: nx * nz faces.
    And a CAM cluster that reaches the collector only through the periodic side is kept."""
    from fem_assb.meshing.validate import NO_INTERFACE, validate_cell
    from fem_assb.structure.image import LabelMap, VoxelImage
    from fem_assb.structure.virtual_cell import Separator, VirtualCell

    lab = np.zeros((5, 4, 3), dtype=np.uint8)  # 0 PORE, 1 CAM, 2 SE
    lab[:, 0, :] = 2
    lab[1:, 3, :] = 1  # x = 0 stays pore: no CAM faces the separator
    lab[2:4, 0, 1] = 1  # CAM at y = 0: joined to the collector only across y = 0 | y = 3

    def cell(lateral):
        img = VoxelImage(lab, 1e-6, LabelMap.default())
        return VirtualCell(img, Separator("SE", 5e-6), lateral=lateral)

    with pytest.raises(InputError, match=re.escape(NO_INTERFACE[:40])):
        validate_cell(cell("insulating"))
    grid, info = validate_cell(cell("periodic"))
    assert grid.periodic == (1, 2)
    assert info.removed_cam_fraction == 0.0
    # across y: 4 x 3 pairs (x >= 1), minus the 2 where CAM faces CAM; inside y = 0 the two CAM
    # voxels face SE at z = 0 and z = 2 (4) and at x = 1 and x = 4 (2)
    assert info.active_faces == 4 * 3 - 2 + 4 + 2
    with pytest.raises(InputError, match="lateral = 'open' is unknown"):
        cell("open")


def test_cell_lateral_from_yaml_and_api(tmp_path):
    """cell.lateral from a case file and from a dict (the API): periodic sides make the generator
    periodic in y and z; a generator periodic in y only is refused; a periodic structure with
    insulating sides loads with a note; a wrong value names the choices."""
    import yaml

    import fem_assb
    from fem_assb.case import load_case

    raw = _cell_case("periodic")
    del raw["structure"]["generator"]["periodic"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    for case in (load_case(path), fem_assb.load_case(raw)):
        assert case.cell.lateral == "periodic"
        assert case.structure.generator["periodic"] == "yz"
        assert case.cell.virtual_cell(case.structure.build()).periodic_axes == (1, 2)
    raw["structure"]["generator"]["periodic"] = "y"
    with pytest.raises(InputError, match=r"periodic = 'y' but cell\.lateral is periodic"):
        fem_assb.load_case(raw)
    raw["cell"]["lateral"] = "insulating"
    assert any("cell.lateral: periodic" in n for n in fem_assb.load_case(raw).notes)
    raw["cell"]["lateral"] = "periodc"
    with pytest.raises(InputError, match=r"cell\.lateral = 'periodc' is unknown.*periodic"):
        fem_assb.load_case(raw)


def test_remove_isolated_in_a_case_with_periodic_sides_is_refused():
    """structure.modify's remove_isolated knows no periodic sides: with cell.lateral periodic it
    would remove clusters joined through them, so the case is refused (with insulating sides it
    loads)."""
    import fem_assb

    raw = _cell_case("periodic")
    raw["structure"]["modify"] = ["remove_isolated"]
    with pytest.raises(InputError, match="remove_isolated treats the y and z sides as insulating"):
        fem_assb.load_case(raw)
    raw["cell"]["lateral"] = "insulating"
    assert fem_assb.load_case(raw).structure.modify[0].name == "remove_isolated"

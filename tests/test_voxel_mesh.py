"""The voxel mesh: cells, volumes, cell sizes and facet tags, serially and on 2 ranks."""

import numpy as np
import pytest

dolfinx = pytest.importorskip("dolfinx")
import ufl  # noqa: E402
from dolfinx import fem  # noqa: E402
from mpi4py import MPI  # noqa: E402

from fem_assb.errors import InputError  # noqa: E402
from fem_assb.meshing.voxel_mesh import FACE_TAGS, XMAX, XMIN, Grid, build_voxel_mesh  # noqa: E402

pytestmark = pytest.mark.mpi  # every test here is valid serially and under mpirun -n 2


def _tagger(ma, mb, ga, gb):
    """Symmetric: 1 + 10*min + max for material pairs, 50 between different nonzero grains."""
    t = 1 + 10 * np.minimum(ma, mb) + np.maximum(ma, mb)
    return np.where((ga != gb) & (ga > 0) & (gb > 0), 50, t)


def _grid(seed=3, shape=(7, 5, 6)):
    rng = np.random.default_rng(seed)
    material = rng.integers(-1, 3, size=shape).astype(np.int32)  # -1 = hole, 0..2 materials
    grain = np.where(material == 2, rng.integers(1, 4, size=shape), 0).astype(np.int32)
    x = np.concatenate([[0.0], np.cumsum(rng.uniform(0.5, 2.0, shape[0]))]) * 1e-6  # graded x
    y = np.arange(shape[1] + 1) * 1e-6
    z = 2e-6 + np.arange(shape[2] + 1) * 0.5e-6
    return Grid(x, y, z, material, grain)


def _expected_facet_areas(grid):
    """Area per tag computed directly on the lattice (numpy)."""
    widths = [np.diff(e) for e in grid.edges]
    out = {}
    mat, grain = grid.material, grid.grain
    for axis in range(3):
        o = [a for a in range(3) if a != axis]
        area = np.multiply.outer(widths[o[0]], widths[o[1]])
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        ma, mb, ga, gb = mat[tuple(lo)], mat[tuple(hi)], grain[tuple(lo)], grain[tuple(hi)]
        both = (ma >= 0) & (mb >= 0)
        tags = _tagger(ma, mb, ga, gb)
        face_area = np.expand_dims(area, axis) * np.ones(tags.shape)
        for t in np.unique(tags[both]):
            out[int(t)] = out.get(int(t), 0.0) + face_area[both & (tags == t)].sum()
        for side in (0, 1):
            plane = np.take(mat, 0 if side == 0 else -1, axis=axis)
            out[FACE_TAGS[(axis, side)]] = area[plane >= 0].sum()
    return out


def _measure(vm, kind, tag):
    one = fem.Constant(vm.mesh, 1.0)
    m = ufl.Measure(kind, vm.mesh, subdomain_data=vm.facet_tags, metadata={"quadrature_degree": 0})
    return vm.mesh.comm.allreduce(fem.assemble_scalar(fem.form(one * m(tag))), op=MPI.SUM)


def test_cells_volumes_and_sizes():
    comm = MPI.COMM_WORLD
    grid = _grid()
    vm = build_voxel_mesh(comm, grid if comm.rank == 0 else None, _tagger)
    active = grid.material >= 0
    assert comm.allreduce(vm.num_owned_cells, op=MPI.SUM) == active.sum()
    # Owned voxel indices are a partition of the active voxels.
    owned = np.concatenate(comm.allgather(vm.voxel_index[: vm.num_owned_cells]))
    assert np.array_equal(np.sort(owned), np.flatnonzero(active.ravel()))
    # Material, grain and cell sizes of every local cell (owned and ghost) match the grid.
    assert np.array_equal(vm.material, grid.material.ravel()[vm.voxel_index])
    assert np.array_equal(vm.grain, grid.grain.ravel()[vm.voxel_index])
    ijk = np.unravel_index(vm.voxel_index, grid.shape)
    dofs = vm.cell_size.function_space.dofmap.list[:, 0]
    H = vm.cell_size.x.array.reshape(-1, 3)[dofs]
    for a in range(3):
        assert np.allclose(H[:, a], np.diff(grid.edges[a])[ijk[a]], rtol=1e-14)
    # Total volume = sum of the active voxels' volumes; cell volumes = hx hy hz.
    dx = ufl.Measure("dx", vm.mesh, metadata={"quadrature_degree": 0})
    vol = comm.allreduce(fem.assemble_scalar(fem.form(fem.Constant(vm.mesh, 1.0) * dx)), op=MPI.SUM)
    w = [np.diff(e) for e in grid.edges]
    expected = (np.multiply.outer(np.multiply.outer(w[0], w[1]), w[2]) * active).sum()
    assert vol == pytest.approx(expected, rel=1e-12)
    Hx, Hy, Hz = vm.cell_size[0], vm.cell_size[1], vm.cell_size[2]
    vol_h = comm.allreduce(fem.assemble_scalar(fem.form(Hx * Hy * Hz * dx)), op=MPI.SUM)
    assert vol_h == pytest.approx(expected, rel=1e-12)


def test_facet_tags_interior_pairs_and_faces():
    comm = MPI.COMM_WORLD
    grid = _grid()
    vm = build_voxel_mesh(comm, grid if comm.rank == 0 else None, _tagger)
    expected = _expected_facet_areas(grid)
    assert 50 in expected  # the grid has grain boundaries
    _, ds, dS = vm.measures(interior_tags=(999,))
    one = fem.Constant(vm.mesh, 1.0)
    for tag, area in expected.items():
        kind = "ds" if tag >= 100 else "dS"
        assert _measure(vm, kind, tag) == pytest.approx(area, rel=1e-12, abs=1e-24), tag
        # The precomputed integration domains of VoxelMesh.measures give the same.
        m = ds if tag >= 100 else dS
        fast = comm.allreduce(fem.assemble_scalar(fem.form(one * m(tag))), op=MPI.SUM)
        assert fast == pytest.approx(area, rel=1e-12, abs=1e-24), tag
    assert comm.allreduce(fem.assemble_scalar(fem.form(one * dS(999))), op=MPI.SUM) == 0.0
    # Nothing else is tagged: exterior facets against holes stay untagged (insulating).
    local_tags = set(np.unique(vm.facet_tags.values).tolist())
    assert local_tags <= set(expected)
    comm.Barrier()


def test_exterior_facets_against_holes_are_untagged():
    comm = MPI.COMM_WORLD
    material = np.zeros((4, 3, 3), dtype=np.int32)
    material[1:3, 1, 1] = -1  # an interior hole of 2 voxels
    grid = Grid.uniform(material, 1e-6)
    vm = build_voxel_mesh(comm, grid if comm.rank == 0 else None, lambda a, b, c, d: np.ones_like(a))
    assert _measure(vm, "ds", XMIN) == pytest.approx(9e-12)
    assert _measure(vm, "ds", XMAX) == pytest.approx(9e-12)
    # Exterior facets: 2 * (9 + 12 + 12) box faces + 10 hole faces; only the box faces are tagged.
    one = fem.Constant(vm.mesh, 1.0)
    ds_all = ufl.Measure("ds", vm.mesh, metadata={"quadrature_degree": 0})
    total = comm.allreduce(fem.assemble_scalar(fem.form(one * ds_all)), op=MPI.SUM)
    assert total == pytest.approx((2 * (9 + 12 + 12) + 10) * 1e-12)
    tagged = sum(_measure(vm, "ds", t) for t in FACE_TAGS.values())
    assert tagged == pytest.approx(2 * (9 + 12 + 12) * 1e-12)
    # Interior lattice faces: x: 3 * 9, y: 4 * 2 * 3, z: 4 * 3 * 2.
    # The hole touches 11 of them (10 hole | solid faces and the face inside the hole).
    interior = 3 * 9 + 4 * 2 * 3 + 4 * 3 * 2 - 11
    assert _measure(vm, "dS", 1) == pytest.approx(interior * 1e-12)


def test_bad_grid_is_an_input_error():
    with pytest.raises(InputError, match="edges"):
        Grid(np.arange(3.0), np.arange(2.0), np.arange(2.0), np.zeros((3, 1, 1), dtype=np.int32))
    with pytest.raises(InputError, match="increasing"):
        Grid(np.array([0.0, 1.0, 1.0]), np.arange(2.0), np.arange(2.0), np.zeros((2, 1, 1)))
    with pytest.raises(InputError, match="no active voxel"):
        build_voxel_mesh(MPI.COMM_SELF, Grid.uniform(-np.ones((2, 2, 2), dtype=np.int32), 1e-6), None)

"""keff's structured (mesh-free) assembly: the same discrete problem as the DOLFINx forms.

The structured path (``forms.structured`` on ``meshing.slabs``) is the default of
``effective_conductivity`` and ``fem-assb keff``; the analytic and reference tests of
test_keff.py run through it. Here: it equals the mesh path to solver round-off on random
structures with every option (insulating and periodic sides, grain boundaries, all axes), its
slabs are the image, and its rows are what the two-point law says, serial and on 2 ranks.
"""

import numpy as np
import pytest

pytest.importorskip("dolfinx")
from mpi4py import MPI  # noqa: E402

from fem_assb.errors import InputError  # noqa: E402
from fem_assb.forms import structured  # noqa: E402
from fem_assb.meshing.slabs import distribute, slab_starts  # noqa: E402
from fem_assb.studies.keff import effective_conductivity  # noqa: E402


def _structure(shape, fraction, seed):
    """A correlated random two-phase image (box-filtered noise, periodic)."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(shape)
    for axis in range(3):
        f = f + np.roll(f, 1, axis) + np.roll(f, -1, axis)
    return (f < np.quantile(f, fraction)).astype(np.uint8)


CASES = {
    "insulating": {},
    "periodic": {"lateral": "periodic"},
    "grain boundaries": {"grain_resistance": 2e-6, "bulk_conductivity": 0.5, "voxel_size": 0.5e-6},
}


@pytest.mark.parametrize("case", list(CASES))
def test_structured_equals_the_mesh_forms(case):
    img = _structure((15, 11, 9), 0.5, seed=3)
    kw = dict(CASES[case], axis="all", solver="direct", comm=MPI.COMM_SELF)
    if "grain_resistance" in kw:
        kw["grains"] = np.random.default_rng(1).integers(1, 4, img.shape).astype(np.int32)
    s = effective_conductivity(img, 1, assembly="structured", **kw)
    m = effective_conductivity(img, 1, assembly="mesh", **kw)
    assert s["assembly"] == "structured" and m["assembly"] == "mesh"
    for a in "xyz":
        ks, km = s["axes"][a]["relative_conductivity"], m["axes"][a]["relative_conductivity"]
        assert km > 0
        assert ks == pytest.approx(km, rel=1e-10)
        assert s["axes"][a]["current_balance"] < 1e-10  # the face currents balance
        assert s["axes"][a]["percolating_fraction"] == m["axes"][a]["percolating_fraction"]
    assert set(s["axes"]["x"]["timings"]) == {"distribute", "matrix", "assemble", "solve"}


def test_rows_are_the_two_point_law():
    """One row by hand: a voxel with 3 active neighbours, one across a grain boundary."""
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = mask[0, 1, 1] = mask[1, 2, 1] = mask[1, 1, 0] = True
    grains = np.ones((3, 3, 3), np.int32)
    grains[1, 2, 1] = 2  # the +y neighbour is another grain
    slab = distribute(MPI.COMM_SELF, mask, grains)
    ids = slab.numbers(np.int32)
    h, k, r = 2e-6, 0.3, 5e-5
    rows, indptr, cols, vals = structured.stencil_rows(slab, ids, 1, 4, h, k, r)
    i = int(np.flatnonzero(rows == ids[2, 1, 1])[0])  # padded slab: image plane x is slab plane x + 1
    row = dict(zip(cols[indptr[i] : indptr[i + 1]], vals[indptr[i] : indptr[i + 1]], strict=True))
    bulk, gb = h * h * k / h, h * h / (h / k + r)  # T = 1/(h/2k + h/2k) and 1/(h/k + R_GB), times area
    assert row[ids[1, 1, 1]] == pytest.approx(-bulk)
    assert row[ids[2, 1, 0]] == pytest.approx(-bulk)
    assert row[ids[2, 2, 1]] == pytest.approx(-gb)
    assert row[ids[2, 1, 1]] == pytest.approx(2 * bulk + gb)
    assert len(row) == 4
    d, o = structured.stencil_counts(slab, ids, 1, 4, 0, 10)
    assert np.array_equal(d + o, np.diff(indptr))
    assert structured.face_boundary_transmissibility(k, h, 0) == pytest.approx(2 * k / h)


def test_slab_starts_balance_cells_at_plane_cuts():
    counts = np.array([5, 0, 7, 3, 3, 9, 1, 2])
    starts = slab_starts(counts, 3)
    assert starts[0] == 0 and starts[-1] == counts.size and np.all(np.diff(starts) >= 0)
    shares = [counts[a:b].sum() for a, b in zip(starts[:-1], starts[1:], strict=True)]
    assert max(shares) - min(shares) <= counts.max()
    assert list(slab_starts(np.array([4]), 2)) in ([0, 0, 1], [0, 1, 1])  # fewer planes than ranks


def test_unknown_assembly_is_rejected():
    with pytest.raises(InputError, match="assembly"):
        effective_conductivity(np.ones((3, 3, 3), np.uint8), 1, assembly="fast", comm=MPI.COMM_SELF)


@pytest.mark.mpi
def test_slabs_are_the_image_and_two_ranks_agree_with_serial():
    comm = MPI.COMM_WORLD
    img = _structure((13, 10, 8), 0.45, seed=5)
    grains = np.random.default_rng(2).integers(0, 4, img.shape).astype(np.int32)
    slab = distribute(comm, img.astype(bool) if comm.rank == 0 else None, grains if comm.rank == 0 else None)
    own = slice(slab.x0, slab.x1)
    assert np.array_equal(slab.mask[1:-1], img[own].astype(bool))
    assert np.array_equal(slab.grains[1:-1], grains[own])
    ids = slab.numbers(np.int64)
    assert ids[1:-1][slab.mask[1:-1]].min(initial=slab.first) >= slab.first
    all_ids = np.concatenate(comm.allgather(ids[1:-1][slab.mask[1:-1]]))
    assert np.array_equal(all_ids, np.arange(int(img.sum())))  # C order, contiguous per rank
    with_gb = {"grains": grains, "grain_resistance": 1e-6, "bulk_conductivity": 0.1}
    for kw in ({}, {"lateral": "periodic"}, with_gb):
        kw = dict(kw, axis="all", solver="cg-hypre", rtol=1e-13)
        par = effective_conductivity(img if comm.rank == 0 else None, 1, comm=comm, **kw)
        ser = effective_conductivity(img, 1, comm=MPI.COMM_SELF, **kw)
        for a in "xyz":
            assert par["axes"][a]["relative_conductivity"] == pytest.approx(
                ser["axes"][a]["relative_conductivity"], rel=1e-9
            )


@pytest.mark.mpi
def test_a_rank_without_planes():
    """One x plane on 2 ranks: one rank owns nothing and the answer is the serial one."""
    comm = MPI.COMM_WORLD
    img = _structure((1, 9, 7), 0.6, seed=8)
    kw = dict(axis="all", solver="cg-hypre", rtol=1e-13)
    par = effective_conductivity(img if comm.rank == 0 else None, 1, comm=comm, **kw)
    ser = effective_conductivity(img, 1, comm=MPI.COMM_SELF, **kw)
    for a in "xyz":
        assert par["axes"][a]["relative_conductivity"] == pytest.approx(
            ser["axes"][a]["relative_conductivity"], rel=1e-9
        )
    assert ser["axes"]["x"]["relative_conductivity"] == pytest.approx(img.mean())  # a one-voxel-thick sheet

"""One grain-boundary facet rule (meshing.cell_tags.is_grain_boundary) for keff and the cell."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from fem_assb.meshing import cell_tags as tags
from fem_assb.structure.image import VoxelImage
from fem_assb.structure.virtual_cell import Separator, VirtualCell
from fem_assb.studies.discharge import build_cell_mesh
from fem_assb.studies.keff import GRAIN_BOUNDARY, build_keff_mesh, count_grain_boundary_faces


def test_the_rule():
    ga = np.array([1, 1, 2, 0, 0, 3])
    gb = np.array([1, 2, 1, 0, 4, 0])
    assert tags.is_grain_boundary(ga, gb).tolist() == [False, True, True, False, False, False]
    # the cell's tagger applies it between electrolyte cells, separator (grain 0) included
    io = np.full(6, tags.SE)
    sep = np.full(6, tags.SEPARATOR)
    want = np.where(tags.is_grain_boundary(ga, gb), tags.GRAIN_BOUNDARY, tags.CONDUCTION_I)
    assert tags.facet_tagger(io, io, ga, gb).tolist() == want.tolist()
    assert tags.facet_tagger(io, sep, ga, np.zeros(6)).tolist() == [tags.CONDUCTION_I] * 6


def _structure():
    """CAM and SE columns along x (both percolate), SE grains 1..3 at random and some SE voxels
    without a grain (0); the first x layer is all SE, so much SE touches the separator."""
    rng = np.random.default_rng(7)
    nx, ny, nz = 6, 4, 4
    j, k = np.meshgrid(np.arange(ny), np.arange(nz), indexing="ij")
    lab = np.where((j + k) % 2 == 0, 1, 2)[None].repeat(nx, 0).astype(np.int32)
    lab[0] = 2
    grains = rng.integers(0, 4, size=lab.shape).astype(np.int32)
    grains[lab != 2] = 0
    grains[0] = rng.integers(1, 4, size=(ny, nz))  # every SE voxel at the separator has a grain
    return lab, grains


def _gb_pairs(vmesh, tag, offset=0):
    """Set of (voxel a, voxel b) (image ijk, sorted) of the facets tagged ``tag``, all ranks."""
    msh = vmesh.mesh
    msh.topology.create_connectivity(2, 3)
    f2c = msh.topology.connectivity(2, 3)
    pairs = set()
    for f in vmesh.facet_tags.find(tag):
        cells = f2c.links(f)
        if cells.size != 2:
            continue
        ijk = [tuple(int(v) for v in np.unravel_index(vmesh.voxel_index[c], vmesh.grid_shape)) for c in cells]
        ijk = [(i - offset, j, k) for i, j, k in ijk]
        pairs.add(tuple(sorted(ijk)))
    out = set()
    for part in msh.comm.allgather(pairs):
        out |= part
    return out


@pytest.mark.mpi
def test_keff_and_cell_have_the_same_grain_boundaries():
    comm = MPI.COMM_WORLD
    lab, grains = _structure()
    se = lab == 2
    # independent count from the image: face neighbours in the SE with different nonzero IDs
    expected = set()
    for d in range(3):
        for a in zip(*np.nonzero(se), strict=True):
            b = list(a)
            b[d] += 1
            if b[d] < lab.shape[d] and se[tuple(b)]:
                ga, gb = grains[tuple(a)], grains[tuple(b)]
                if ga != gb and ga > 0 and gb > 0:
                    expected.add(tuple(sorted([tuple(int(v) for v in a), tuple(b)])))
    assert len(expected) > 20
    assert count_grain_boundary_faces(se, grains) == len(expected)

    root = comm.rank == 0
    keff_mesh = build_keff_mesh(comm, se if root else None, 0.5e-6, grains if root else None)
    keff = _gb_pairs(keff_mesh, GRAIN_BOUNDARY)

    image = VoxelImage(lab, 0.5e-6, grains=grains)
    vcell = VirtualCell(image, Separator("SE", 3e-6), cathode_collector_thickness=0.5e-6)
    vm, info = build_cell_mesh(vcell, comm)
    cell = _gb_pairs(vm, tags.GRAIN_BOUNDARY, offset=info.cathode_slice[0])
    assert keff == expected
    assert cell == expected
    # the separator is not a grain boundary: no GB facet has a side outside the cathode image,
    # and every facet between the separator and the composite SE conducts
    assert all(min(a[0], b[0]) >= 0 for a, b in cell)
    conducting = _gb_pairs(vm, tags.CONDUCTION_I, offset=info.cathode_slice[0])
    sep_pairs = {p for p in conducting if (p[0][0], p[1][0]) == (-1, 0)}
    assert len(sep_pairs) == int(se[0].sum())

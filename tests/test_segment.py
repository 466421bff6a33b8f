"""SE grain segmentation: watershed grains, adjacency, K-colouring, grain statistics."""

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.structure.generate import SE, generate_composite
from fem_assb.structure.image import VoxelImage
from fem_assb.structure.segment import colour_grains, grain_adjacency, segment_grains, with_grains

H = 0.1e-6


def spheres_image(centres, radius, shape):
    """SE spheres (value 2) in CAM (value 1), voxel centres at i + 0.5."""
    idx = np.indices(shape).astype(float) + 0.5
    se = np.zeros(shape, bool)
    for c in centres:
        se |= sum((idx[a] - c[a]) ** 2 for a in range(3)) <= radius**2
    return VoxelImage(np.where(se, SE, 1).astype(np.uint8), H)


def lattice_image(n=3, radius=5.0, spacing=9.0):
    centres = [
        (2 + radius + spacing * i, 2 + radius + spacing * j, 2 + radius + spacing * k)
        for i in range(n)
        for j in range(n)
        for k in range(n)
    ]
    size = int(np.ceil(4 + 2 * radius + spacing * (n - 1)))
    return spheres_image(centres, radius, (size, size, size))


def test_lattice_of_sintered_spheres_gives_one_grain_per_sphere():
    img = lattice_image()
    seg = segment_grains(img)
    assert seg.n_grains == 27
    assert len(seg.pairs) == 3 * 3 * 3 * 2  # nearest neighbours of a 3x3x3 cubic lattice
    assert seg.conflicts == 0
    # each grain is its sphere minus six lens caps (cap height 0.5 voxel): d = 10 * (1 - 6 Vcap / Vs)^(1/3)
    v_cap = np.pi * 0.5**2 * (3 * 5 - 0.5) / 3
    d_expected = 10 * (1 - 6 * v_cap / (4 / 3 * np.pi * 125)) ** (1 / 3) * H
    assert seg.stats.mean == pytest.approx(d_expected, rel=0.05)
    assert seg.stats.std < 0.05 * seg.stats.mean


def test_adjacency_counts_shared_faces():
    g = np.zeros((4, 3, 3), np.int32)
    g[:2] = 1
    g[2:, :2] = 2
    g[2:, 2] = 3
    pairs, faces = grain_adjacency(g)
    table = {tuple(p): f for p, f in zip(pairs.tolist(), faces.tolist(), strict=True)}
    assert table == {(1, 2): 6, (1, 3): 3, (2, 3): 6}


def test_triangle_needs_three_ids():
    pairs = np.array([[1, 2], [1, 3], [2, 3]])
    faces = np.array([5, 1, 5])
    two = colour_grains(3, pairs, faces, k=2)
    same = two[pairs[:, 0]] == two[pairs[:, 1]]
    assert same.sum() == 1 and faces[same].sum() == 1  # the conflict sits on the smallest contact
    three = colour_grains(3, pairs, faces, k=3)
    assert len(set(three[1:].tolist())) == 3


def test_generated_composite_touching_grains_differ_with_8_ids():
    img = generate_composite(
        (40, 40, 40), "0.1 um", svf_cam=0.5, density=0.9, d_cam="2 um", d_se="1 um", seed=2
    )
    seg = segment_grains(img, k=8)
    se = img.labels == SE
    assert np.array_equal(seg.ids > 0, se)
    assert set(np.unique(seg.ids[se]).tolist()) <= set(range(1, 9))
    assert seg.conflicts == 0
    # every face between two different grains is a grain boundary (different IDs)
    for axis in range(3):
        g = np.moveaxis(seg.grains, axis, 0)
        i = np.moveaxis(seg.ids, axis, 0)
        touch = (g[:-1] > 0) & (g[1:] > 0) & (g[:-1] != g[1:])
        assert np.all(i[:-1][touch] != i[1:][touch])
    # grains are of the SE particle size (mean diameter before sintering 1 um)
    assert 0.5e-6 < seg.stats.mean < 2.0e-6
    out = with_grains(img, seg)
    assert np.array_equal(out.grain_ids(), seg.ids)
    summary = seg.summary()
    assert summary["grains"] == seg.n_grains and summary["conflicts"] == 0


def test_more_marker_spacing_gives_fewer_grains():
    img = generate_composite(
        (40, 40, 40), "0.1 um", svf_cam=0.5, density=0.9, d_cam="2 um", d_se="1 um", seed=2
    )
    n = [segment_grains(img, min_distance=md).n_grains for md in (2, 5)]
    assert n[0] > n[1] >= 1


def test_no_se_is_an_error():
    img = VoxelImage(np.ones((4, 4, 4), np.uint8), H)
    with pytest.raises(InputError, match="no SE"):
        segment_grains(img)

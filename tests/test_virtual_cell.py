"""Virtual cell description: layer order, thicknesses, graded cell edges, validation."""

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.structure.image import VoxelImage
from fem_assb.structure.virtual_cell import Separator, VirtualCell, graded_sizes

H = 0.5e-6  # m


def cathode(electrolyte=2, nx=10):
    labels = np.ones((nx, 4, 4), int)
    labels[:, :2] = electrolyte
    return VoxelImage(labels, H)


def test_graded_sizes_fill_length_and_respect_bounds():
    s = graded_sizes(500e-6, H, 1.2, 10e-6)
    assert s.sum() == pytest.approx(500e-6, rel=1e-12)
    assert s[0] <= H * (1 + 1e-12) and s.max() <= 10e-6 * (1 + 1e-12)
    ratios = s[1:] / s[:-1]
    assert np.all(ratios <= 1.2 + 1e-9) and np.all(ratios >= 1 - 1e-12)
    # geometric series: cells needed to reach 10 um from 0.5 um at ratio 1.2, then uniform
    n_grow = int(np.ceil(np.log(10e-6 / H) / np.log(1.2)))
    assert len(s) < n_grow + 500e-6 / 10e-6 + 1
    np.testing.assert_allclose(graded_sizes(3 * H, H, 1.0, H), [H, H, H])
    assert graded_sizes(0.0, H, 1.2, 1e-5).size == 0
    with pytest.raises(InputError, match="growth"):
        graded_sizes(1e-5, H, 0.9, 1e-5)


def test_layers_order_positions_and_edges():
    vc = VirtualCell.from_dict(
        cathode(),
        {
            "separator": {"material": "SE", "thickness": "500 um"},
            "li_metal": "20 um",
            "anode_collector": "10 um",
            "cathode_collector": "10 um",
            "max_cell_size": "10 um",
        },
    )
    layers = vc.x_layers()
    assert [lay.name for lay in layers] == [
        "anode_collector",
        "li_metal",
        "separator",
        "cathode",
        "cathode_collector",
    ]
    assert [lay.material for lay in layers] == ["CC", "LI", "SE", "CATHODE", "CC"]
    thick = [lay.x1 - lay.x0 for lay in layers]
    np.testing.assert_allclose(thick, [10e-6, 20e-6, 500e-6, 10 * H, 10e-6], rtol=1e-12)
    for a, b in zip(layers[:-1], layers[1:], strict=True):
        assert b.x0 == a.x1
    assert vc.cathode_x0 == pytest.approx(530e-6)
    assert layers[3].x0 == pytest.approx(vc.cathode_x0)
    np.testing.assert_allclose(np.diff(layers[3].edges), H)  # one cell per voxel
    sep = np.diff(layers[2].edges)
    assert sep[-1] == pytest.approx(H, rel=0.05) and sep.max() <= 10e-6 * (1 + 1e-12)
    assert len(sep) < 80  # a 500 um separator does not cost 1000 voxel layers
    e = vc.x_edges()
    assert e[0] == 0 and e[-1] == pytest.approx(vc.total_thickness) and np.all(np.diff(e) > 0)
    assert len(e) - 1 == sum(lay.n_cells for lay in layers)


def test_le_separator_graded_at_both_ends_and_defaults():
    vc = VirtualCell(cathode(electrolyte=3), Separator("LE", 20e-6), max_cell_size=2e-6)
    assert vc.separator.porosity == 0.5 and vc.separator.conductivity_factor == 0.5
    layers = vc.x_layers()
    assert [lay.name for lay in layers] == ["separator", "cathode"]  # zero-thickness layers omitted
    s = np.diff(layers[0].edges)
    assert s[0] == pytest.approx(s[-1]) and s[0] < s[len(s) // 2]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"separator": Separator("LE", 1e-5)}, "cathode electrolyte is 'SE'|the separator is 'LE'"),
        ({"separator": Separator("SE", 1e-5), "li_metal_thickness": -1e-6}, "li_metal_thickness"),
        ({"separator": Separator("SE", 1e-5), "max_cell_size": 1e-7}, "smaller than the voxel size"),
    ],
)
def test_validation(kw, match):
    with pytest.raises(InputError, match=match):
        VirtualCell(cathode(), **kw)


def test_bad_specs():
    with pytest.raises(InputError, match="unknown"):
        Separator("GLASS", 1e-5)
    with pytest.raises(InputError, match="positive"):
        Separator("SE", 0.0)
    with pytest.raises(InputError, match="LE' separator only"):
        Separator("SE", 1e-5, porosity=0.4)
    with pytest.raises(InputError, match="has no unit"):
        VirtualCell.from_dict(cathode(), {"separator": {"material": "SE", "thickness": 500}})
    with pytest.raises(InputError, match="unknown virtual-cell keys"):
        VirtualCell.from_dict(
            cathode(), {"separator": {"material": "SE", "thickness": "5 um"}, "anode": "1 um"}
        )
    dense_film = VoxelImage(np.ones((2, 2, 2), int), H)  # no electrolyte: a valid thin-film cathode
    assert VirtualCell(dense_film, Separator("SE", 1e-5)).cathode is dense_film

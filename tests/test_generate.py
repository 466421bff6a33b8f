"""Stochastic composite generator: composition, density, determinism, periodicity, trends."""

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.structure import analysis
from fem_assb.structure.generate import (
    CAM,
    CBD,
    LE,
    PORE,
    SE,
    from_spec,
    generate_composite,
    generate_layered,
    generate_perforated,
    lognormal_diameters,
)

TOL = 0.005  # the tolerance: 0.5 vol%


def fractions(img):
    return np.bincount(img.labels.ravel(), minlength=5) / img.labels.size


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "svf, density, d_cam, d_se",
    [(0.333, 0.80, "2 um", "0.8 um"), (0.6, 0.9, "3 um", "1.41 um"), (0.8, 0.93, "2 um", "1.41 um")],
)
def test_svf_and_density_hit_within_tolerance(seed, svf, density, d_cam, d_se):
    img = generate_composite(
        (32, 32, 32), "0.2 um", svf_cam=svf, density=density, d_cam=d_cam, d_se=d_se, seed=seed
    )
    f = fractions(img)
    assert abs(f[CAM] - svf * density) < TOL
    assert abs(f[SE] - (1 - svf) * density) < TOL
    assert abs(f[PORE] - (1 - density)) < TOL
    assert abs(analysis.svf_cam(img) - svf) < TOL / density
    assert img.voxel_size == pytest.approx(0.2e-6)


def test_lib_composite_with_cbd_and_liquid_pores():
    # seed 001 LIB reference: 65 vol% CAM, 21 vol% CBD, 14 vol% liquid electrolyte
    img = generate_composite(
        (30, 30, 30),
        "0.5 um",
        cam_fraction=0.65,
        cbd_fraction=0.21,
        d_cam="5 um",
        d_cbd="1.5 um",
        pore="LE",
        seed=3,
    )
    f = fractions(img)
    assert abs(f[CAM] - 0.65) < TOL and abs(f[CBD] - 0.21) < TOL and abs(f[LE] - 0.14) < TOL
    assert f[PORE] == 0 and f[SE] == 0


def test_fully_dense_three_phases():
    img = generate_composite(
        (24, 24, 24),
        0.5e-6,
        cam_fraction=0.6,
        se_fraction=0.3,
        cbd_fraction=0.1,
        seed=4,
        d_cam="4 um",
        d_se="1.5 um",
        d_cbd="1 um",
    )
    f = fractions(img)
    assert abs(f[CAM] - 0.6) < TOL and abs(f[SE] - 0.3) < TOL and abs(f[CBD] - 0.1) < TOL
    assert f[PORE] < TOL


def test_same_seed_same_image_other_seed_other_image():
    kw = dict(svf_cam=0.6, density=0.9, d_cam="3 um", d_se="1 um")
    a = generate_composite((24, 24, 24), "0.25 um", seed=7, **kw)
    b = generate_composite((24, 24, 24), "0.25 um", seed=7, **kw)
    c = generate_composite((24, 24, 24), "0.25 um", seed=8, **kw)
    assert np.array_equal(a.labels, b.labels)
    assert np.mean(a.labels != c.labels) > 0.2


def _plane_mismatch(labels, axis, i, j):
    return np.mean(np.take(labels, i, axis=axis) != np.take(labels, j, axis=axis))


def test_periodic_structure_continues_across_y_and_z_faces():
    kw = dict(svf_cam=0.6, density=0.9, d_cam="2 um", d_se="1 um", seed=5)
    per = generate_composite((24, 40, 40), "0.2 um", periodic=True, **kw).labels
    non = generate_composite((24, 40, 40), "0.2 um", periodic=False, **kw).labels
    for axis in (1, 2):
        inner = np.mean([_plane_mismatch(per, axis, k, k + 1) for k in range(per.shape[axis] - 1)])
        # wrapped neighbours (last plane, first plane) look like ordinary neighbours ...
        assert _plane_mismatch(per, axis, -1, 0) < 2.0 * inner
        # ... while a non-periodic image is uncorrelated across its faces
        assert _plane_mismatch(non, axis, -1, 0) > 2.0 * inner


def test_se_connectivity_falls_as_svf_cam_rises():
    """Seed 002 Fig. 2: the SE network loses connectivity at high CAM fractions, the CAM gains it."""
    se, cam = [], []
    for svf in (0.4, 0.6, 0.8):
        img = generate_composite(
            (40, 32, 32), "0.2 um", svf_cam=svf, density=0.9, d_cam="2 um", d_se="1.41 um", seed=1
        )
        se.append(analysis.connectivity(img, "SE"))
        cam.append(analysis.connectivity(img, "CAM"))
    assert se[0] > 0.95
    assert se[0] >= se[1] > se[2] and se[2] < 0.6
    assert cam[0] < cam[1] < cam[2]


@pytest.mark.slow
def test_seed002_percolation_threshold_near_svf_70_percent():
    """Seed 002 (density 93.1 %, d_CAM 2 um, d_SE 1.41 um, 25 um thick): the SE spans the cathode up to
    SVF_CAM = 70 %; above, no percolating SE network and < 20 % of the SE reaches the separator."""
    for svf, spans in ((0.333, True), (0.6, True), (0.7, True), (0.8, False)):
        img = generate_composite(
            (250, 100, 100),
            "0.1 um",
            svf_cam=svf,
            density=0.931,
            d_cam="2 um",
            d_se="1.41 um",
            seed=1,
            periodic=True,
        )
        assert bool(analysis.percolating(img.mask("SE"), 0).any()) == spans
        if svf <= 0.4:
            assert analysis.connectivity(img, "CAM") > 0.9  # CAM still connected at the low end
        if not spans:
            assert analysis.connectivity(img, "SE") < 0.2


def test_larger_cam_particles_give_less_active_area():
    areas = []
    for d_cam in ("1.5 um", "4 um"):
        img = generate_composite(
            (32, 32, 32), "0.2 um", svf_cam=0.6, density=0.9, d_cam=d_cam, d_se="1 um", seed=2
        )
        areas.append(analysis.active_area(img).per_volume)
    # specific surface of spheres ~ 6/d; sintering blunts the ratio but not the trend
    assert areas[1] < 0.75 * areas[0]


def test_lognormal_diameters_mean_and_spread():
    rng = np.random.default_rng(0)
    d = lognormal_diameters(rng, 2.0, 0.3, 200_000)
    assert d.mean() == pytest.approx(2.0, rel=0.01)
    assert d.std() / d.mean() == pytest.approx(0.3, rel=0.02)
    assert np.all(lognormal_diameters(rng, 2.0, 0.0, 5) == 2.0)


def test_from_spec_accepts_units_and_matches_direct_call():
    spec = {
        "kind": "composite",
        "shape": [20, 20, 20],
        "voxel_size": "0.25 um",
        "svf_cam": "60 %",
        "density": 0.9,
        "d_cam": "2 um",
        "d_se": "1000 nm",
        "seed": 3,
    }
    a = from_spec(spec)
    b = generate_composite((20, 20, 20), 0.25e-6, svf_cam=0.6, density=0.9, d_cam=2e-6, d_se=1e-6, seed=3)
    assert np.array_equal(a.labels, b.labels)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(cam_fraction=0.8, se_fraction=0.3), "add up"),
        (dict(svf_cam=0.6), "density"),
        (dict(svf_cam=0.6, density=0.9, cam_fraction=0.5), "either"),
        (dict(svf_cam=1.6, density=0.9), "between 0 and 1"),
        (dict(svf_cam=0.6, density=0.9, d_se="0.1 um"), "voxels"),
        (dict(svf_cam=0.6, density=0.9, periodic="x"), "periodic"),
        (dict(svf_cam=0.6, density=0.9, pore="water"), "LE"),
        (dict(svf_cam=0.6, density=0.9, d_cam="2 kg"), "d_cam"),
    ],
)
def test_bad_input_is_named(kwargs, words):
    with pytest.raises(InputError, match=words):
        generate_composite((10, 10, 10), "0.2 um", **kwargs)


def test_bad_spec_is_named():
    with pytest.raises(InputError, match="does not know"):
        from_spec(
            {"kind": "composite", "shape": [8, 8, 8], "voxel_size": "1 um", "cam_fraction": 0.5, "colour": 1}
        )
    with pytest.raises(InputError, match="unknown"):
        from_spec({"kind": "foam"})
    with pytest.raises(InputError, match="needs"):
        from_spec({"kind": "composite", "shape": [8, 8, 8], "cam_fraction": 0.5})


def test_perforation_removes_the_quarter_disk_share_of_cam():
    """Seed 001: a 36 um quarter hole in a 60 x 60 um cell removes ~28 % of the CAM (pi 36^2 / 4 / 60^2)."""
    kw = dict(cam_fraction=0.65, se_fraction=0.35, d_cam="1 um", d_se="0.6 um", seed=1)
    base = generate_composite((16, 40, 40), "0.2 um", **kw)
    perf = generate_perforated((16, 40, 40), "0.2 um", radius="4.8 um", **kw)
    y = (np.arange(40) + 0.5) * 0.2
    disk = (y[:, None] ** 2 + y[None, :] ** 2) <= 4.8**2
    assert not np.any(perf.labels[:, disk] == CAM)
    assert np.all(perf.labels[:, disk] == SE)  # dense composite: the channel is all electrolyte
    assert np.array_equal(perf.labels[:, ~disk], base.labels[:, ~disk])
    loss = 1 - np.mean(perf.labels == CAM) / np.mean(base.labels == CAM)
    assert loss == pytest.approx(
        np.mean(base.labels[:, disk] == CAM) * disk.mean() / np.mean(base.labels == CAM)
    )
    assert loss == pytest.approx(np.pi * 36**2 / 4 / 60**2, abs=0.04)  # statistically homogeneous CAM
    same = generate_perforated((16, 40, 40), "0.2 um", radius=0.0, **kw)
    assert np.array_equal(same.labels, base.labels)


@pytest.mark.parametrize("reverse", [False, True])
def test_two_layer_cathode_profile(reverse):
    common = dict(d_cam="1 um", d_se="0.6 um", seed=4)
    first, second = {"cam_fraction": 0.6, "se_fraction": 0.4}, {"cam_fraction": 0.7, "se_fraction": 0.3}
    img = generate_layered(
        (40, 24, 24), "0.2 um", f_first=0.25, first=first, second=second, reverse=reverse, **common
    )
    a = generate_composite((40, 24, 24), "0.2 um", **first, **common)
    b = generate_composite((40, 24, 24), "0.2 um", **second, d_cam="1 um", d_se="0.6 um", seed=5)
    if not reverse:
        assert np.array_equal(img.labels[:10], a.labels[:10]) and np.array_equal(
            img.labels[10:], b.labels[10:]
        )
    else:
        assert np.array_equal(img.labels[:30], b.labels[:30]) and np.array_equal(
            img.labels[30:], a.labels[30:]
        )
    assert np.mean(img.labels == CAM) == pytest.approx(0.25 * 0.6 + 0.75 * 0.7, abs=0.03)
    ends = [
        generate_layered((40, 24, 24), "0.2 um", f_first=f, first=first, second=second, **common)
        for f in (0, 1)
    ]
    assert np.array_equal(ends[0].labels, b.labels) and np.array_equal(ends[1].labels, a.labels)


def test_layered_from_spec_and_bad_layer_key():
    spec = {
        "kind": "layered",
        "shape": [12, 12, 12],
        "voxel_size": "0.25 um",
        "f_first": 0.5,
        "seed": 2,
        "first": {"cam_fraction": 0.6, "se_fraction": 0.4},
        "second": {"cam_fraction": 0.7, "se_fraction": 0.3},
        "d_cam": "1.5 um",
        "d_se": "0.75 um",
    }
    img = from_spec(spec)
    assert img.shape == (12, 12, 12)
    spec["first"] = {"cam_fraction": 0.6, "colour": 2}
    with pytest.raises(InputError, match="colour"):
        from_spec(spec)


def test_cli_generate_and_segment(tmp_path, capsys):
    from fem_assb.cli import main
    from fem_assb.structure.io import read_image

    out = tmp_path / "c.npy"
    rc = main(
        [
            "generate",
            "composite",
            "--shape",
            "20,20,20",
            "--voxel-size",
            "0.2um",
            "--svf-cam",
            "60 %",
            "--density",
            "0.9",
            "--d-cam",
            "1.5um",
            "--d-se",
            "0.8um",
            "--seed",
            "3",
            "-o",
            str(out),
        ]
    )
    assert rc == 0 and out.exists() and out.with_suffix(".png").exists()
    img = read_image(out)
    direct = generate_composite(
        (20, 20, 20), "0.2 um", svf_cam=0.6, density=0.9, d_cam="1.5 um", d_se="0.8 um", seed=3
    )
    assert np.array_equal(img.labels, direct.labels) and img.voxel_size == pytest.approx(0.2e-6)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "generator:\n  kind: layered\n  shape: [20, 10, 10]\n  voxel_size: 0.2 um\n  f_first: 0.5\n"
        "  first: {cam_fraction: 0.6, se_fraction: 0.4}\n  second: {cam_fraction: 0.7, se_fraction: 0.3}\n"
        "  d_cam: 1 um\n  d_se: 0.6 um\n"
    )
    assert (
        main(
            [
                "generate",
                "layered",
                "--spec",
                str(spec),
                "--reverse",
                "-o",
                str(tmp_path / "l.npz"),
                "--no-png",
            ]
        )
        == 0
    )
    seg = tmp_path / "seg.npz"
    assert main(["segment", str(out), "-o", str(seg), "--ids", "8", "--json", str(tmp_path / "s.json")]) == 0
    assert read_image(seg).grains.max() <= 8
    assert "conflicts              0" in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "perforated",
                "--shape",
                "8,8,8",
                "--voxel-size",
                "1um",
                "--cam-fraction",
                "0.5",
                "-o",
                str(tmp_path / "p.npy"),
            ]
        )
        == 1
    )  # the channel radius is missing


SEED002_CORNERS = [  # (SVF_CAM, density, d_CAM, d_SE, voxel): the extremes of seed 002
    (0.333, 0.80, "8 um", "3.5 um", "0.2 um"),
    (0.80, 0.93, "8 um", "0.8 um", "0.2 um"),
    (0.80, 0.93, "2 um", "0.8 um", "0.1 um"),
    (0.333, 0.80, "2 um", "3.5 um", "0.1 um"),
]


@pytest.mark.parametrize("svf, density, d_cam, d_se, h", SEED002_CORNERS)
def test_seed002_extremes_small_box(svf, density, d_cam, d_se, h):
    img = generate_composite((48, 48, 48), h, svf_cam=svf, density=density, d_cam=d_cam, d_se=d_se, seed=9)
    f = fractions(img)
    assert abs(f[CAM] - svf * density) < TOL and abs(f[PORE] - (1 - density)) < TOL


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("svf, density, d_cam, d_se, h", SEED002_CORNERS)
def test_seed002_extremes_100_cubed(svf, density, d_cam, d_se, h, seed):
    img = generate_composite(
        (100, 100, 100), h, svf_cam=svf, density=density, d_cam=d_cam, d_se=d_se, seed=seed, periodic=True
    )
    f = fractions(img)
    assert abs(f[CAM] - svf * density) < TOL and abs(f[SE] - (1 - svf) * density) < TOL
    assert abs(f[PORE] - (1 - density)) < TOL


def test_spec_keys_are_in_the_signatures():
    """The case loader checks `generator:` keys against inspect.signature of KINDS[kind]."""
    import inspect

    from fem_assb.structure.generate import KINDS

    perforated = set(inspect.signature(KINDS["perforated"]).parameters)
    layered = set(inspect.signature(KINDS["layered"]).parameters)
    assert {"radius", "cam_fraction", "d_se", "seed", "periodic"} <= perforated
    assert {"f_first", "first", "second", "reverse", "d_cam", "seed"} <= layered

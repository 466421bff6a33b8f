"""Structure modifications on tiny images with known answers."""

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.structure import analysis as A
from fem_assb.structure import modify as M
from fem_assb.structure.image import LabelMap, Material, VoxelImage

H = 1e-6  # m
PORE, CAM, SE, LE, CBD = 0, 1, 2, 3, 4


def img(labels, **kw):
    return VoxelImage(np.asarray(labels), H, **kw)


def random_cathode(shape=(6, 5, 4), seed=0):
    rng = np.random.default_rng(seed)
    return img(rng.choice([PORE, CAM, SE], size=shape, p=[0.1, 0.5, 0.4]))


def test_crop_keeps_labels_grains_and_faces_consistent():
    im = random_cathode()
    im = VoxelImage(im.labels, H, grains=np.where(im.labels == SE, 7, 0))
    d = M.delaminate(im, 0.5, seed=1)
    c = M.crop(d, x=(1, 5), y=(1, None), z=(0, 3))
    np.testing.assert_array_equal(c.labels, d.labels[1:5, 1:, 0:3])
    np.testing.assert_array_equal(c.grains, d.grains[1:5, 1:, 0:3])
    np.testing.assert_array_equal(c.inactive_faces[0], d.inactive_faces[0][1:4, 1:, 0:3])
    np.testing.assert_array_equal(c.inactive_faces[1], d.inactive_faces[1][1:5, 1:, 0:3])
    np.testing.assert_array_equal(c.inactive_faces[2], d.inactive_faces[2][1:5, 1:, 0:2])
    with pytest.raises(InputError, match="keeps no voxels"):
        M.crop(im, x=(3, 3))


def test_crop_collector_side_changes_contact_ratio():
    """Seed 004: cropping k layers at the collector exposes slice nx-1-k to the collector."""
    labels = np.full((5, 4, 4), SE)
    for i in range(5):  # CAM share of slice i = (i + 1) / 16
        labels[i].flat[: i + 1] = CAM
    im = img(labels)
    for k in range(4):
        c = M.crop_collector_side(im, k)
        assert c.shape == (5 - k, 4, 4)
        assert A.contact_area_ratio(c) == pytest.approx((5 - k) / 16)
    with pytest.raises(InputError, match="collector side"):
        M.crop_collector_side(im, 5)


def test_mirror_to_thickness():
    labels = np.array([CAM, SE, PORE]).reshape(3, 1, 1)
    m = M.mirror_to_thickness(img(labels), 7 * H)
    np.testing.assert_array_equal(m.labels.ravel(), [CAM, SE, PORE, PORE, SE, CAM, CAM])
    # faces follow: only original CAM|SE faces, and none at the mirror joints
    labels = np.array([SE, CAM]).reshape(2, 1, 1)
    d = M.delaminate(img(labels), 1.0, seed=0)
    m = M.mirror_to_thickness(d, 5 * H)  # SE CAM CAM SE SE
    np.testing.assert_array_equal(m.inactive_faces[0].ravel(), [True, False, True, False])
    assert A.active_area(m).faces == 0


def test_coarsen_majority_vote():
    labels = np.zeros((4, 2, 2), int)
    labels[:2] = CAM
    labels[0, 0, 0] = SE  # one SE among 8 CAM -> CAM
    labels[2:] = np.array([[SE, SE], [CAM, CAM]])  # tie 4:4 -> the block's first voxel (SE)
    c = M.coarsen(img(labels), 2)
    assert c.shape == (2, 1, 1) and c.voxel_size == pytest.approx(2 * H)
    np.testing.assert_array_equal(c.labels.ravel(), [CAM, SE])
    with pytest.raises(InputError, match="not divisible"):
        M.coarsen(img(np.zeros((3, 2, 2), int)), 2)
    # a block-aligned image keeps its fractions exactly
    big = np.kron(random_cathode((3, 2, 2)).labels, np.ones((2, 2, 2), int))
    cb = M.coarsen(img(big), 2)
    assert A.volume_fractions(cb) == pytest.approx(A.volume_fractions(img(big)))


def test_coarsen_grains():
    labels = np.full((2, 2, 2), SE)
    grains = np.array([1, 1, 1, 2, 2, 2, 2, 0]).reshape(2, 2, 2)
    c = M.coarsen(img(labels, grains=grains), 2)
    assert c.grain_ids().ravel().tolist() == [2]


def test_perforate_quarter_hole_and_centre():
    labels = np.full((2, 2, 2), CAM)
    labels[:, 1, 1] = SE
    p = M.perforate(img(labels), 0.8 * H)  # voxel centres at 0.71 h (in), 1.58 h (out)
    assert (p.labels == SE).sum() == 2 + 2 and (p.labels[:, 0, 0] == SE).all()
    labels = np.full((1, 4, 4), CBD)
    labels[0, 1, 2] = PORE
    p = M.perforate(img(labels), 0.8 * H, center="center", fill="LE")
    assert p.labels[0, 1:3, 1:3].tolist() == [[LE, PORE], [LE, LE]]  # pores stay pores
    assert (p.labels == LE).sum() == 3


def test_perforate_area_fraction_seed001():
    """r = 36 um quarter hole in a 60 x 60 um face removes pi r^2 / 4 of the CAM (about 28 %)."""
    labels = np.full((1, 60, 60), CAM)
    labels[0, -1, -1] = SE  # an electrolyte must exist
    p = M.perforate(img(labels), 36 * H)
    removed = 1 - A.volume_fractions(p)["CAM"] / A.volume_fractions(img(labels))["CAM"]
    assert removed == pytest.approx(np.pi * 36**2 / 4 / 3600, rel=0.01)
    with pytest.raises(InputError, match="which electrolyte"):
        M.perforate(img(np.full((1, 2, 2), CAM)), H)


def test_stack_and_reverse():
    a = img(np.full((10, 2, 2), CAM))
    b = img(np.full((10, 2, 2), SE))
    s = M.stack(a, b, 0.3)
    assert s.labels[:, 0, 0].tolist() == [CAM] * 3 + [SE] * 7
    r = M.stack(a, b, 0.3, reverse=True)
    assert r.labels[:, 0, 0].tolist() == [SE] * 7 + [CAM] * 3
    assert M.stack(a, b, 0.0).labels[:, 0, 0].tolist() == [SE] * 10
    with pytest.raises(InputError, match="same shape"):
        M.stack(a, img(np.full((9, 2, 2), SE)), 0.5)
    other = VoxelImage(np.ones((10, 2, 2), int), H, LabelMap({1: Material("SE", "SE")}))
    with pytest.raises(InputError, match="image value 1"):
        M.stack(a, other, 0.5)


def test_cam_shell_planar_thickness():
    """Seed 003: a shell of 2 um on a planar CAM|SE interface is exactly 2 voxel layers."""
    labels = np.full((10, 3, 3), CAM)
    labels[:2] = SE
    s = M.cam_shell(img(labels), 2 * H)
    al = s.label_map.values_of("AL_LCO")[0]
    assert s.label_map.materials[al] == Material("AL_LCO", "CAM")
    assert (s.labels[2:4] == al).all() and (s.labels[4:] == CAM).all() and (s.labels[:2] == SE).all()
    assert A.svf_cam(s) == A.svf_cam(img(labels))  # still CAM class


def test_cam_shell_sphere_volume():
    """A sphere of CAM in SE: the shell volume follows 4/3 pi (R^3 - (R - t)^3) within the voxel error."""
    n, R, t = 40, 15.0, 3.0
    c = np.arange(n) + 0.5 - n / 2
    r = np.sqrt(c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2)
    labels = np.where(r < R, CAM, SE)
    s = M.cam_shell(img(labels), t * H)
    shell = np.count_nonzero(s.mask("AL_LCO"))
    assert shell == pytest.approx(4 / 3 * np.pi * (R**3 - (R - t) ** 3), rel=0.05)


def test_delaminate_fraction_and_reproducibility():
    im = random_cathode((8, 8, 8), seed=4)
    n = A.active_area(im).faces
    d1 = M.delaminate(im, 0.3, seed=11)
    d2 = M.delaminate(im, 0.3, seed=11)
    d3 = M.delaminate(im, 0.3, seed=12)
    assert A.count_faces(d1.inactive_faces) == round(0.3 * n)
    assert A.active_area(d1).faces == n - round(0.3 * n)
    for f1, f2 in zip(d1.inactive_faces, d2.inactive_faces, strict=True):
        np.testing.assert_array_equal(f1, f2)
    assert any((f1 != f3).any() for f1, f3 in zip(d1.inactive_faces, d3.inactive_faces, strict=True))
    # only CAM|SE faces are marked
    cs = A.interface_faces(im.mask("CAM"), im.mask("SE"))
    assert all((f & ~g).sum() == 0 for f, g in zip(d1.inactive_faces, cs, strict=True))
    assert A.active_area(M.delaminate(im, 1.0, seed=0)).faces == 0
    # delaminating further keeps the already inactive faces
    assert A.count_faces(M.delaminate(d1, 0.3, seed=5).inactive_faces) >= A.count_faces(d1.inactive_faces)


def test_remove_isolated():
    labels = np.full((4, 2, 2), SE)
    labels[3] = CAM
    labels[0, 0, 0] = CAM  # isolated CAM at the separator
    labels[3, 1, 1] = SE  # SE at the collector, enclosed by CAM and the box: isolated
    labels[2, 1, 1] = CAM
    im = img(labels)
    assert A.connectivity(im, "CAM") < 1 and A.connectivity(im, "SE") < 1
    r = M.remove_isolated(im)
    assert r.labels[0, 0, 0] == PORE and r.labels[3, 1, 1] == PORE
    assert A.connectivity(r, "CAM") == 1 and A.connectivity(r, "SE") == 1
    # without PORE in the label map, it is added
    lm = LabelMap({1: Material("CAM", "CAM"), 2: Material("SE", "SE")})
    r2 = M.remove_isolated(VoxelImage(labels, H, lm))
    assert r2.label_map.materials[r2.labels[0, 0, 0]].kind == "PORE"


def test_shell_thinner_than_a_voxel_is_an_error():
    labels = np.full((4, 1, 1), CAM)
    labels[0] = SE
    with pytest.raises(InputError, match="below the voxel size"):
        M.cam_shell(img(labels), 0.4 * H)


def test_modify_cli_runs_operations_in_order(tmp_path):
    from fem_assb.cli import main
    from fem_assb.structure.io import read_image, write_image

    labels = np.full((8, 4, 4), CAM)
    labels[:, :2] = SE
    write_image(img(labels), tmp_path / "a.npz")
    assert (
        main(
            [
                "modify",
                str(tmp_path / "a.npz"),
                str(tmp_path / "b.npz"),
                "--crop-cc",
                "2",
                "--mirror-to",
                "9um",
                "--delaminate",
                "0.5",
                "--seed",
                "2",
            ]
        )
        == 0
    )
    b = read_image(tmp_path / "b.npz")
    assert b.shape == (9, 4, 4)
    n = A.active_area(M.mirror_to_thickness(M.crop_collector_side(img(labels), 2), 9 * H)).faces
    assert A.count_faces(b.inactive_faces) == round(0.5 * n)
    # stacking with a second image, then writing a plain format with a sidecar
    write_image(img(np.full((9, 4, 4), SE)), tmp_path / "se.npz")
    assert (
        main(
            [
                "modify",
                str(tmp_path / "a.npz"),
                str(tmp_path / "c.tif"),
                "--mirror-to",
                "9um",
                "--stack",
                str(tmp_path / "se.npz"),
                "--fraction",
                "0.25",
                "--reverse",
            ]
        )
        == 0
    )
    c = read_image(tmp_path / "c.tif")
    assert (c.labels[7:] == img(labels).labels[0]).all() and (c.labels[:7] == SE).all()
    assert main(["modify", str(tmp_path / "a.npz"), str(tmp_path / "d.npz")]) == 1  # no operation
    assert main(["modify", str(tmp_path / "a.npz"), str(tmp_path / "d.npz"), "--stack", "x.npz"]) == 1


def test_perforate_fill_must_be_electrolyte():
    labels = np.full((1, 2, 2), CAM)
    labels[0, 1, 1] = SE
    with pytest.raises(InputError, match="filled with an electrolyte"):
        M.perforate(img(labels), H, fill="CBD")


def test_remove_isolated_periodic_keeps_wrapped_paths(tmp_path):
    """SE at y = 0 reaches the separator only through the SE column at y = ny-1 across the y wrap."""
    from fem_assb.cli import main
    from fem_assb.structure.io import read_image, write_image

    labels = np.full((3, 3, 1), CAM)
    labels[:, 2, 0] = SE  # column from the separator (x = 0) at y = 2
    labels[2, 0, 0] = SE  # touches (2, 2, 0) only across the y wrap
    im = img(labels)
    assert M.remove_isolated(im).labels[2, 0, 0] == PORE
    assert M.remove_isolated(im, periodic=(1,)).labels[2, 0, 0] == SE
    write_image(im, tmp_path / "p.npz")
    assert (
        main(
            [
                "modify",
                str(tmp_path / "p.npz"),
                str(tmp_path / "q.npz"),
                "--remove-isolated",
                "--periodic",
                "y",
            ]
        )
        == 0
    )
    assert read_image(tmp_path / "q.npz").labels[2, 0, 0] == SE
    assert (
        main(
            [
                "modify",
                str(tmp_path / "p.npz"),
                str(tmp_path / "q.npz"),
                "--remove-isolated",
                "--periodic",
                "x",
            ]
        )
        == 1
    )


def test_coarsen_does_not_bias_fractions():
    """Random 50/50 CAM/SE: a 'smallest value wins ties' rule would give CAM 0.64; ours stays at 0.5."""
    rng = np.random.default_rng(0)
    labels = rng.choice([CAM, SE], size=(40, 40, 40))
    c = M.coarsen(img(labels), 2)
    assert A.volume_fractions(c)["CAM"] == pytest.approx(0.5, abs=0.02)

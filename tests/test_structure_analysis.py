"""Geometric indicators on tiny hand-made images with known answers."""

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.structure import analysis as A
from fem_assb.structure.image import LabelMap, Material, VoxelImage

H = 1e-6  # m
PORE, CAM, SE, LE, CBD = 0, 1, 2, 3, 4


def img(labels, **kw):
    return VoxelImage(np.asarray(labels), H, **kw)


def test_face_connectivity_not_edges_or_corners():
    m = np.zeros((3, 3, 3), bool)
    m[0, 0, 0] = True
    m[1, 1, 0] = True  # touches (0,0,0) only along an edge
    m[2, 2, 2] = True  # corner contact with nothing, far away
    conn = A.connected_to_face(m, "xmin")
    assert conn[0, 0, 0] and not conn[1, 1, 0] and not conn[2, 2, 2]
    assert A.label_clusters(m)[1] == 3
    assert A.connected_to_face(m, ("xmin", "xmax")).sum() == 2


def test_percolating_needs_both_faces():
    m = np.zeros((4, 3, 3), bool)
    m[:, 0, 0] = True  # straight bar through x
    m[:3, 2, 2] = True  # dead end from xmin
    p = A.percolating(m, 0)
    assert p[:, 0, 0].all() and not p[:, 2, 2].any()
    assert A.percolating(m, 1).sum() == 0  # nothing spans y
    with pytest.raises(InputError, match="axis"):
        A.percolating(m, 3)
    with pytest.raises(InputError, match="unknown face"):
        A.connected_to_face(m, "left")


def test_volume_fractions_and_svf():
    lm = LabelMap(
        {
            0: Material("PORE", "PORE"),
            1: Material("CAM", "CAM"),
            2: Material("SE", "SE"),
            5: Material("AL_LCO", "CAM"),
        }
    )
    labels = np.zeros((2, 2, 5), int)
    labels[0] = [[1, 1, 1, 5, 2], [2, 2, 2, 2, 0]]
    im = img(labels, label_map=lm)  # 20 voxels: CAM 3, AL_LCO 1, SE 5, PORE 11
    assert A.volume_fractions(im) == pytest.approx({"PORE": 11 / 20, "CAM": 4 / 20, "SE": 5 / 20})
    assert A.volume_fractions(im, by="name") == pytest.approx(
        {"PORE": 11 / 20, "CAM": 3 / 20, "SE": 5 / 20, "AL_LCO": 1 / 20}
    )
    assert A.svf_cam(im) == pytest.approx(4 / 9)  # seed 002 Eq. 3
    with pytest.raises(InputError, match="neither"):
        A.svf_cam(img(np.zeros((2, 2, 2), int)))


def test_connectivity_eq4_with_reservoirs():
    """SE must reach x = 0 (separator), CAM must reach x = max (collector)."""
    labels = np.zeros((5, 3, 3), int)
    labels[:4, 0, 0] = SE  # 4 SE voxels from the separator side
    labels[4, 2, 2] = SE  # 1 SE voxel at the collector side, isolated
    labels[2:, 1, 1] = CAM  # 3 CAM voxels reaching the collector
    labels[0, 2, 0] = CAM  # 1 CAM voxel at the separator, isolated
    im = img(labels)
    assert A.connectivity(im, "SE") == pytest.approx(1 - 1 / 5)
    assert A.connectivity(im, "CAM") == pytest.approx(1 - 1 / 4)
    iso = A.isolated_voxels(im)
    assert iso.sum() == 2 and iso[4, 2, 2] and iso[0, 2, 0]


def test_cbd_conducts_both_ions_and_electrons():
    """A CAM particle far from the collector is connected through CBD; LE through CBD to the separator."""
    labels = np.full((4, 1, 1), CBD)
    labels[0, 0, 0] = CAM  # touches CBD that reaches x max
    im = img(labels)
    assert A.connectivity(im, "CAM") == 1.0
    labels2 = np.array([[[CBD]], [[LE]], [[PORE]], [[LE]]])
    im2 = img(labels2)
    assert A.connectivity(im2, "LE") == pytest.approx(0.5)  # LE at x=1 via CBD at x=0; x=3 isolated


def test_connectivity_of_absent_phase_is_an_error():
    im = img(np.full((2, 2, 2), SE))
    with pytest.raises(InputError, match="phase 'CAM' has no voxels"):
        A.connectivity(im, "CAM")
    with pytest.raises(InputError, match="unknown material 'NMC'"):
        A.connectivity(im, "NMC")


def test_active_area_counts_faces():
    labels = np.full((3, 3, 3), SE)
    labels[1, 1, 1] = CAM  # all 6 faces against SE
    labels[0, 0, 0] = CAM  # corner voxel: 3 faces inside the box, all against SE
    im = img(labels)
    aa = A.active_area(im)
    assert aa.faces == 9
    assert aa.area == pytest.approx(9 * H**2)
    assert aa.per_volume == pytest.approx(9 * H**2 / (27 * H**3))
    assert aa.per_cell_area == pytest.approx(9 / 9)
    # CAM | pore faces are not active
    labels[1, 1, 2] = PORE
    assert A.active_area(img(labels)).faces == 8
    # inactive (delaminated) faces are excluded
    fx = np.zeros((2, 3, 3), bool)
    fx[0, 1, 1] = True  # the face between (0,1,1) SE and (1,1,1) CAM
    im3 = img(labels, inactive_faces=(fx, np.zeros((3, 2, 3), bool), np.zeros((3, 3, 2), bool)))
    assert A.active_area(im3).faces == 7


def test_interface_face_layout():
    a = np.zeros((2, 1, 1), bool)
    a[1] = True
    fx, fy, fz = A.interface_faces(a, ~a)
    assert fx.shape == (1, 1, 1) and fx[0, 0, 0] and fy.size == 0 and fz.size == 0


def test_contact_area_ratio_and_profiles():
    labels = np.full((4, 2, 2), SE)
    labels[3, 0, :] = CAM  # half of the collector face is CAM
    labels[2, 0, 0] = CAM
    im = img(labels)
    assert A.contact_area_ratio(im) == pytest.approx(0.5)
    prof = A.fraction_profiles(im)
    np.testing.assert_allclose(prof["CAM"], [0, 0, 0.25, 0.5])
    np.testing.assert_allclose(prof["SE"] + prof["CAM"] + prof["PORE"], 1.0)


def test_particle_sizes():
    labels = np.zeros((6, 6, 6), int)
    labels[:2, :2, :2] = CAM  # 8 voxels
    labels[4, 4, 4] = CAM  # 1 voxel
    ps = A.particle_sizes(img(labels), "CAM")
    d8, d1 = (6 * 8 * H**3 / np.pi) ** (1 / 3), (6 * H**3 / np.pi) ** (1 / 3)
    assert ps.count == 2
    np.testing.assert_allclose(np.sort(ps.diameters), [d1, d8])
    assert ps.mean == pytest.approx((d1 + d8) / 2)
    assert ps.d50_volume == pytest.approx(d8)
    # touching particles separated by given IDs (e.g. a segmentation)
    ids = np.zeros_like(labels)
    ids[:1, :2, :2] = 1
    ids[1:2, :2, :2] = 2
    ps2 = A.particle_sizes(img(labels), "CAM", particle_ids=ids)
    assert ps2.count == 2 and ps2.diameters == pytest.approx([(6 * 4 * H**3 / np.pi) ** (1 / 3)] * 2)


def test_analyze_cli_table_json_png(tmp_path, capsys):
    import json

    from fem_assb.cli import main

    labels = np.full((4, 3, 3), SE)
    labels[1:, 1, 1] = CAM
    np.save(tmp_path / "c.npy", labels.astype(np.uint8))
    rc = main(
        [
            "analyze",
            str(tmp_path / "c.npy"),
            "--labels",
            "default",
            "--voxel-size",
            "0.5um",
            "--json",
            str(tmp_path / "a.json"),
            "--png",
            str(tmp_path / "a.png"),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "SVF_CAM                0.0833" in out and "connectivity SE" in out
    s = json.loads((tmp_path / "a.json").read_text())
    assert s["volume_fractions"]["CAM"] == pytest.approx(3 / 36)
    assert s["active_area"]["faces"] == 3 * 4 + 1  # column x=1..3: 4 side faces each, + the end face at x=0
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert main(["analyze", str(tmp_path / "c.npy"), "--labels", "default"]) == 1  # no voxel size


@pytest.mark.mpi
def test_indicators_identical_on_all_ranks():
    """The structure layer is serial numpy: every rank computes the same indicators."""
    import json

    from mpi4py import MPI

    from fem_assb.structure import modify as M

    rng = np.random.default_rng(5)
    im = img(rng.choice([PORE, CAM, SE], size=(8, 6, 6), p=[0.1, 0.5, 0.4]))
    im = M.delaminate(im, 0.4, seed=3)
    text = json.dumps(A.summary(im), sort_keys=True)
    assert len(set(MPI.COMM_WORLD.allgather(text))) == 1


@pytest.mark.mpi
def test_analyze_cli_under_mpi_writes_once(shared_tmp_path, comm):
    import json

    from fem_assb.cli import main

    if comm.rank == 0:
        np.save(shared_tmp_path / "m.npy", np.full((3, 2, 2), SE, np.uint8))
    comm.barrier()
    out = shared_tmp_path / "m.json"
    rc = main(
        [
            "analyze",
            str(shared_tmp_path / "m.npy"),
            "--labels",
            "default",
            "--voxel-size",
            "1um",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    comm.barrier()
    assert json.loads(out.read_text())["volume_fractions"]["SE"] == 1.0
    assert not [p for p in shared_tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_analyze_cli_with_cam_particle_ids(tmp_path, capsys):
    """Two touching CAM particles: one cluster without IDs, two particles with an ID image."""
    from fem_assb.cli import main

    labels = np.full((4, 2, 2), SE, np.uint8)
    labels[1:3] = CAM
    ids = np.zeros((4, 2, 2), np.int32)
    ids[1], ids[2] = 1, 2
    np.save(tmp_path / "c.npy", labels)
    np.save(tmp_path / "ids.npy", ids)
    args = ["analyze", str(tmp_path / "c.npy"), "--labels", "default", "--voxel-size", "1um"]
    assert main(args) == 0
    assert "CAM clusters           1," in capsys.readouterr().out
    assert main([*args, "--cam-particles", str(tmp_path / "ids.npy")]) == 0
    out = capsys.readouterr().out
    assert "CAM particles          2," in out
    d = (6 * 4 / np.pi) ** (1 / 3)
    assert f"mean d {d:.4g} um" in out
    np.save(tmp_path / "bad.npy", np.zeros((4, 2, 3), np.int32))
    assert main([*args, "--cam-particles", str(tmp_path / "bad.npy")]) == 1


def test_periodic_lateral_boundaries_join_clusters():
    """A path that leaves through y max and comes back at y min connects only if y is periodic."""
    m = np.zeros((3, 4, 1), bool)
    m[0, 0, 0] = True  # touches x min at y = 0
    m[0:3, 3, 0] = True  # column at y = ny-1 reaching x max, touching (0,0) only across the y wrap
    assert A.label_clusters(m)[1] == 2
    ids, n = A.label_clusters(m, periodic=(1,))
    assert n == 1 and set(np.unique(ids)) == {0, 1}
    assert not A.percolating(m, 0)[0, 0, 0]
    assert A.percolating(m, 0, periodic=(1,))[0, 0, 0]
    assert A.connected_to_face(m, "xmax", periodic=(1, 2)).sum() == 4
    with pytest.raises(InputError, match="no sense"):
        A.percolating(m, 1, periodic=(1,))

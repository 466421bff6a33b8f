"""I/O round trips for every image format, the label-map YAML, and bad inputs."""

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.structure.image import LabelMap, Material, VoxelImage
from fem_assb.structure.io import read_image, sidecar_path, write_image
from fem_assb.structure.labels import dump_label_file, load_label_file

H = 0.5e-6  # m


def _image(grains=False, faces=False, dtype=np.uint8):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=(5, 4, 3)).astype(dtype)
    lm = LabelMap(
        {
            0: Material("PORE", "PORE"),
            1: Material("CAM", "CAM"),
            2: Material("SE", "SE"),
            3: Material("AL_LCO", "CAM"),
        },
    )
    g = np.where(labels == 2, rng.integers(1, 9, size=labels.shape), 0).astype(np.int32) if grains else None
    inactive = None
    if faces:
        inactive = (rng.random((4, 4, 3)) < 0.3, rng.random((5, 3, 3)) < 0.3, rng.random((5, 4, 2)) < 0.3)
    return VoxelImage(labels, H, lm, grains=g, inactive_faces=inactive)


def _same(a: VoxelImage, b: VoxelImage):
    assert b.shape == a.shape
    np.testing.assert_array_equal(b.labels, a.labels)
    assert b.voxel_size == pytest.approx(a.voxel_size, rel=1e-12)
    assert b.label_map.materials == a.label_map.materials
    assert b.label_map.grains == a.label_map.grains
    if a.grains is None:
        assert b.grains is None
    else:
        np.testing.assert_array_equal(b.grains, a.grains)


@pytest.mark.parametrize("ext", [".npz", ".npy", ".raw", ".tif", ".vti", ".h5"])
@pytest.mark.parametrize("grains", [False, True])
def test_round_trip_every_format(tmp_path, ext, grains):
    img = _image(grains=grains)
    path = tmp_path / f"cathode{ext}"
    written = write_image(img, path)
    assert path in written and all(p.exists() for p in written)
    if ext not in (".npz", ".h5"):
        assert sidecar_path(path) in written
    _same(img, read_image(path))


@pytest.mark.parametrize("ext", [".npz", ".h5"])
def test_inactive_faces_round_trip(tmp_path, ext):
    img = _image(grains=True, faces=True)
    write_image(img, tmp_path / f"d{ext}")
    back = read_image(tmp_path / f"d{ext}")
    for a, b in zip(img.inactive_faces, back.inactive_faces, strict=True):
        np.testing.assert_array_equal(a, b)


def test_inactive_faces_need_full_format(tmp_path):
    with pytest.raises(InputError, match="only in .npz or .h5"):
        write_image(_image(faces=True), tmp_path / "d.tif")


def test_raw_big_endian_and_axes(tmp_path):
    """A raw uint16 big-endian file stored z-y-x (x fastest) is read back in (x, y, z)."""
    labels = np.arange(24).reshape(2, 3, 4) % 3  # (x, y, z)
    (labels.transpose(2, 1, 0).astype(">u2")).tofile(tmp_path / "s.raw")
    (tmp_path / "map.yaml").write_text("voxel_size: 1 um\nlabels: {0: PORE, 1: CAM, 2: SE}\n")
    img = read_image(
        tmp_path / "s.raw",
        labels=tmp_path / "map.yaml",
        shape=(4, 3, 2),
        dtype="uint16",
        byte_order="big",
        axes="zyx",
    )
    np.testing.assert_array_equal(img.labels, labels)
    assert img.voxel_size == pytest.approx(1e-6)


def test_raw_shape_mismatch(tmp_path):
    np.zeros(10, np.uint8).tofile(tmp_path / "s.raw")
    with pytest.raises(InputError, match="needs 27"):
        read_image(tmp_path / "s.raw", labels="default", voxel_size="1 um", shape=(3, 3, 3), dtype="uint8")
    with pytest.raises(InputError, match="shape and dtype"):
        read_image(tmp_path / "s.raw", labels="default", voxel_size="1 um")


def test_vti_is_valid_vtk_xml_with_cell_data(tmp_path):
    """The .vti file is VTK ImageData with one cell per voxel, x varying fastest."""
    from xml.etree import ElementTree

    img = _image()
    write_image(img, tmp_path / "c.vti")
    root = ElementTree.parse(tmp_path / "c.vti").getroot()
    assert root.get("type") == "ImageData"
    assert root.find("ImageData").get("WholeExtent") == "0 5 0 4 0 3"
    assert root.find("ImageData/Piece/CellData/DataArray").get("Name") == "labels"


def test_vti_ascii_point_data_from_other_tools(tmp_path):
    """An ascii .vti with point data (as some tools write) reads with x fastest."""
    labels = np.array([[[0], [1]], [[2], [1]]])  # (x=2, y=2, z=1)
    vals = " ".join(str(v) for v in labels.transpose(2, 1, 0).ravel())
    (tmp_path / "p.vti").write_text(
        '<VTKFile type="ImageData" version="0.1"><ImageData WholeExtent="0 1 0 1 0 0" Spacing="1 1 1">'
        f'<Piece Extent="0 1 0 1 0 0"><PointData><DataArray type="Int32" Name="seg" format="ascii">{vals}'
        "</DataArray></PointData></Piece></ImageData></VTKFile>"
    )
    img = read_image(tmp_path / "p.vti", labels="default", voxel_size="2 um")
    np.testing.assert_array_equal(img.labels, labels)
    assert img.voxel_size == pytest.approx(2e-6)


def test_vti_zlib_appended_raw(tmp_path):
    """Appended raw data with zlib compression (ParaView's default .vti) is decoded."""
    import zlib

    labels = (np.arange(2 * 3 * 4).reshape(2, 3, 4) % 5).astype(np.uint8)
    payload = zlib.compress(labels.transpose(2, 1, 0).tobytes())
    head = np.array([1, labels.size, labels.size, len(payload)], dtype="<u8").tobytes()
    (tmp_path / "a.vti").write_bytes(
        b'<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64" '
        b'compressor="vtkZLibDataCompressor"><ImageData WholeExtent="0 2 0 3 0 4" Spacing="1 1 1">'
        b'<Piece Extent="0 2 0 3 0 4"><CellData><DataArray type="UInt8" Name="labels" format="appended" '
        b'offset="0"/></CellData></Piece></ImageData><AppendedData encoding="raw">_'
        + head
        + payload
        + b"</AppendedData></VTKFile>"
    )
    img = read_image(tmp_path / "a.vti", labels="default", voxel_size="1 um")
    np.testing.assert_array_equal(img.labels, labels)


def test_h5_from_other_tool_with_dataset_and_unit_attribute(tmp_path):
    import h5py

    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("volume", data=np.ones((2, 2, 2), np.uint8))
        f.create_dataset("other", data=np.zeros(3))
        f["volume"].attrs["voxel_size"] = "0.25 um"
    with pytest.raises(InputError, match="which dataset"):
        read_image(tmp_path / "x.h5", labels="default")
    img = read_image(tmp_path / "x.h5", labels="default", dataset="volume")
    assert img.voxel_size == pytest.approx(0.25e-6)


def test_tiff_stack_directory_and_separate_grain_image(tmp_path):
    import tifffile

    labels = np.array([[[2, 2], [1, 0]], [[2, 1], [1, 2]], [[0, 2], [2, 2]]], np.uint8)
    grains = np.where(labels == 2, np.arange(12).reshape(3, 2, 2) % 3 + 1, 0).astype(np.uint16)
    (tmp_path / "stack").mkdir()
    for i, sl in enumerate(labels):
        tifffile.imwrite(tmp_path / "stack" / f"s{i:03d}.tif", sl)
    tifffile.imwrite(tmp_path / "g.tif", grains, photometric="minisblack")
    img = read_image(tmp_path / "stack", labels="default", voxel_size="1 um", grains=tmp_path / "g.tif")
    np.testing.assert_array_equal(img.labels, labels)
    np.testing.assert_array_equal(img.grain_ids(), grains)


def test_label_yaml_format(tmp_path):
    (tmp_path / "l.yaml").write_text(
        "voxel_size: 0.5 um\nlabels:\n  0: PORE\n  1: CAM\n  2: {material: SE, grain: 1}\n"
        "  3: {material: SE, grain: 2}\n  4: {material: AL_LCO, class: CAM}\n"
    )
    lf = load_label_file(tmp_path / "l.yaml")
    assert lf.voxel_size == pytest.approx(0.5e-6)
    assert lf.label_map.materials[4] == Material("AL_LCO", "CAM")
    assert lf.label_map.grains == {2: 1, 3: 2}
    img = VoxelImage(np.array([[[0, 1, 2, 3, 4]]]), lf.voxel_size, lf.label_map)
    np.testing.assert_array_equal(img.grain_ids(), [[[0, 0, 1, 2, 0]]])
    np.testing.assert_array_equal(img.mask("CAM"), [[[0, 1, 0, 0, 1]]])
    # dump -> load is the identity
    (tmp_path / "m.yaml").write_text(dump_label_file(lf.label_map, lf.voxel_size))
    again = load_label_file(tmp_path / "m.yaml")
    assert again.label_map == lf.label_map and again.voxel_size == pytest.approx(lf.voxel_size)


@pytest.mark.parametrize(
    "text, match",
    [
        ("labels: {0: PORE, 1: NMC811}", "say which class"),
        ("labels: {0: PORE, 1: {material: X, class: METAL}}", "unknown class"),
        ("labels: {a: PORE}", "not an integer"),
        ("labels: {1: {material: CAM, grain: 2}}", "only SE voxels carry grain"),
        ("voxel_size: 0.5\nlabels: {0: PORE}", "has no unit"),
        ("voxel_size: 0.5 s\nlabels: {0: PORE}", "inconsistent units"),
        ("labels: {0: PORE}\ncolour: red", "unknown keys"),
        ("voxels: 1", "needs a 'labels:'"),
    ],
)
def test_bad_label_yaml(tmp_path, text, match):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(InputError, match=match):
        load_label_file(tmp_path / "bad.yaml")


def test_bad_inputs(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[[0, 1], [7, 2]]]))
    with pytest.raises(InputError, match=r"values \[7\] are not in the label map"):
        read_image(tmp_path / "a.npy", labels="default", voxel_size="1 um")
    with pytest.raises(InputError, match="no label map"):
        read_image(tmp_path / "a.npy", voxel_size="1 um")
    np.save(tmp_path / "b.npy", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(InputError, match="voxel size is unknown"):
        read_image(tmp_path / "b.npy", labels="default")
    with pytest.raises(InputError, match="has no unit"):
        read_image(tmp_path / "b.npy", labels="default", voxel_size="0.5")
    np.save(tmp_path / "g.npy", np.zeros((2, 2, 3), np.int32))
    with pytest.raises(InputError, match="grain-ID image shape"):
        read_image(tmp_path / "b.npy", labels="default", voxel_size="1 um", grains=tmp_path / "g.npy")
    with pytest.raises(InputError, match="unknown image format"):
        read_image(
            tmp_path / "a.npy.gz" if (tmp_path / "a.npy.gz").touch() is None else None, labels="default"
        )
    with pytest.raises(InputError, match="does not exist"):
        read_image(tmp_path / "missing.npy")
    np.save(tmp_path / "f.npy", np.full((2, 2, 2), 0.5))
    with pytest.raises(InputError, match="integer labels"):
        read_image(tmp_path / "f.npy", labels="default", voxel_size="1 um")

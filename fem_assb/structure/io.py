"""Read and write voxel images: .npz, .npy, .raw/.bin, .tif/.tiff stacks, .vti, .h5/.hdf5.

Full-fidelity formats (everything of a :class:`VoxelImage` in one file: labels, voxel size,
label map, grain IDs, inactive faces): ``.npz`` and ``.h5``. The other formats store the label
array only (``.vti`` also the voxel size); :func:`write_image` then writes a *sidecar*
label-map YAML ``<stem>.labels.yaml`` beside the image (and a grain-ID image
``<stem>.grains<ext>`` when the image has grains; .npy for raw images), and
:func:`read_image` picks the sidecar up
when no label map is given.

Axes: the returned array is (x, y, z) with x through-plane, index 0 on the separator side
(MODEL.md §1). ``axes`` names the order of the *file's* array axes (e.g. ``"zyx"``); it is
transposed to (x, y, z) on reading. Written files are always in (x, y, z) order (.vti: VTK's
own x-fastest order with the same x, y, z).
"""

from __future__ import annotations

import base64
import contextlib
import zlib
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from fem_assb.atomic import atomic_path, write_text
from fem_assb.errors import InputError
from fem_assb.structure.image import LabelMap, VoxelImage
from fem_assb.structure.labels import (
    LabelFile,
    dump_label_file,
    label_map_from_dict,
    load_label_file,
    parse_voxel_size,
)

FORMATS = {
    ".npz": "npz",
    ".npy": "npy",
    ".raw": "raw",
    ".bin": "raw",
    ".tif": "tif",
    ".tiff": "tif",
    ".vti": "vti",
    ".h5": "h5",
    ".hdf5": "h5",
}
BYTE_ORDERS = {"little": "<", "big": ">", "native": "="}

#: What a file of each format must be, for the messages of unreadable files.
_FORMAT_TEXT = {
    "npz": "a NumPy .npz archive (np.savez) with a 'labels' array",
    "npy": "a NumPy .npy array (np.save)",
    "raw": "a raw binary array",
    "tif": "a TIFF image stack",
    "tifdir": "a folder of TIFF slices (one per x index, all of the same size)",
    "vti": "a VTK XML ImageData file (.vti)",
    "h5": "an HDF5 file",
}
_NPY_MAGIC = b"\x93NUMPY"


def _short(exc: BaseException) -> str:
    """The first line of an exception's message, at most 160 characters."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


@contextlib.contextmanager
def _reading(path: Path, fmt: str):
    """Turn any failure of a file reader into an InputError naming the file and the fix.

    Reading a user's file fails in many library-specific ways (truncated data, a wrong header, a
    file of another format with a misleading extension, no permission); all of them are bad
    input, not bugs.
    """
    try:
        yield
    except (InputError, MemoryError):
        raise
    except Exception as exc:
        path = Path(path)
        msg = _short(exc)
        if isinstance(exc, PermissionError):
            raise InputError(f"{path}: permission denied; make the file readable (chmod +r).") from None
        if isinstance(exc, IsADirectoryError):
            raise InputError(f"{path} is a folder, not an image file.") from None
        if fmt == "npy" and "Object arrays" in msg:
            raise InputError(
                f"{path}: the .npy array holds Python objects (dtype object), not integer labels; "
                "save an integer array, e.g. np.save(path, labels.astype(np.uint8))."
            ) from None
        if fmt == "npy" and path.is_file():
            with open(path, "rb") as f:
                head = f.read(len(_NPY_MAGIC))
            if not head:
                raise InputError(f"{path}: the file is empty; write the image again (np.save).") from None
            if head != _NPY_MAGIC:
                raise InputError(
                    f"{path}: not a .npy file (no NumPy header); save it with np.save or use the "
                    "extension of its real format."
                ) from None
        if path.is_file() and path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty; write the image again.") from None
        raise InputError(
            f"{path}: cannot be read as {_FORMAT_TEXT[fmt]} ({msg}); check that the file is complete "
            "and that its extension matches its format."
        ) from None


def image_format(path) -> str:
    """The format name of ``path`` from its extension (a directory = a stack of TIFF slices)."""
    path = Path(path)
    if path.is_dir():
        return "tifdir"
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        what = f"unknown image format {path.suffix!r}" if path.suffix else "no file extension"
        raise InputError(
            f"{path}: {what}; the extension gives the format, use one of {', '.join(sorted(FORMATS))} "
            "(or a folder of .tif slices)."
        )
    return fmt


def sidecar_path(path) -> Path:
    """``<dir>/<stem>.labels.yaml`` for an image path (or a directory of slices)."""
    path = Path(path)
    stem = path.name if path.is_dir() else path.stem
    return path.parent / f"{stem}.labels.yaml"


def _as_labels(arr: np.ndarray, what: str) -> np.ndarray:
    """An integer array; float arrays are accepted only when every value is an integer."""
    arr = np.asarray(arr)
    if arr.size == 0:
        raise InputError(f"{what} is empty (shape {arr.shape}); an image needs at least one voxel per axis.")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        return arr
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise InputError(f"{what} must hold integer labels; got dtype {arr.dtype} with non-integer values.")


def _to_xyz(arr: np.ndarray, axes: str | None, what: str) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[np.newaxis] if axes is None else arr
    if arr.ndim != 3:
        raise InputError(f"{what} must be a 3D image; got an array of shape {arr.shape}.")
    if arr.size == 0:
        raise InputError(f"{what} is empty (shape {arr.shape}); an image needs at least one voxel per axis.")
    if axes is None or axes == "xyz":
        return arr
    if sorted(axes) != ["x", "y", "z"]:
        raise InputError(f"axes = {axes!r} must be a permutation of 'xyz', e.g. 'zyx'.")
    return np.ascontiguousarray(arr.transpose([axes.index(a) for a in "xyz"]))


# ------------------------------------------------------------------ raw arrays per format
def _read_raw(path: Path, shape, dtype, byte_order) -> np.ndarray:
    if shape is None or dtype is None:
        raise InputError(
            f"{path}: a raw image needs its shape and dtype (e.g. --shape 100,60,60 --dtype uint8 "
            "--byte-order little, or 'raw: {shape: [...], dtype: ...}' in the label map)."
        )
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"{path}: raw shape {shape} must be three positive sizes.")
    order = BYTE_ORDERS.get(byte_order or "little")
    if order is None:
        raise InputError(f"byte order {byte_order!r} is unknown; use little, big or native.")
    try:
        dt = np.dtype(dtype).newbyteorder(order)
    except TypeError:
        raise InputError(f"dtype {dtype!r} is not a numpy dtype (e.g. uint8, uint16, int32).") from None
    expected = int(np.prod(shape)) * dt.itemsize
    actual = path.stat().st_size
    if actual != expected:
        raise InputError(
            f"{path}: file has {actual} bytes but shape {shape} of {dt.name} needs {expected}; "
            "check the shape and dtype."
        )
    return np.fromfile(path, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


def _read_tif(path: Path) -> np.ndarray:
    import tifffile

    if path.is_dir():
        files = sorted(list(path.glob("*.tif")) + list(path.glob("*.tiff")))
        if not files:
            raise InputError(
                f"{path} is a folder without .tif slices (a folder is read as a stack of TIFF slices); "
                "give an image file or a folder of .tif files."
            )
        return np.stack([tifffile.imread(f) for f in files])
    return tifffile.imread(path)


def _h5_dataset_name(f, dataset: str | None, path: Path) -> str:
    if dataset is not None:
        if dataset not in f:
            raise InputError(f"{path}: no dataset {dataset!r}; it has {sorted(f.keys())}.")
        return dataset
    if "labels" in f:
        return "labels"
    names = [k for k in f.keys() if hasattr(f[k], "shape")]
    if len(names) == 1:
        return names[0]
    raise InputError(f"{path}: say which dataset holds the labels (--dataset); it has {sorted(names)}.")


# ------------------------------------------------------------------ VTK XML ImageData
_VTK_TYPES = {
    "Int8": "i1",
    "UInt8": "u1",
    "Int16": "i2",
    "UInt16": "u2",
    "Int32": "i4",
    "UInt32": "u4",
    "Int64": "i8",
    "UInt64": "u8",
    "Float32": "f4",
    "Float64": "f8",
}


def _vtk_type(dtype: np.dtype) -> str:
    for name, code in _VTK_TYPES.items():
        if np.dtype(code) == np.dtype(dtype).newbyteorder("="):
            return name
    raise InputError(f"dtype {dtype} cannot be written to .vti.")


def _vtk_decode(payload: bytes, encoding: str, dtype: np.dtype, header: np.dtype, zlib_compressed: bool):
    """Decode one binary DataArray (inline base64 or appended raw/base64)."""
    hs = header.itemsize
    if encoding == "raw":
        if zlib_compressed:
            nb = int(np.frombuffer(payload[:hs], header)[0])
            head = np.frombuffer(payload[: (3 + nb) * hs], header)
            sizes = head[3:].astype(int)
            pos, chunks = (3 + nb) * hs, []
            for s in sizes:
                chunks.append(zlib.decompress(payload[pos : pos + s]))
                pos += s
            return np.frombuffer(b"".join(chunks), dtype)
        n = int(np.frombuffer(payload[:hs], header)[0])
        return np.frombuffer(payload[hs : hs + n], dtype)
    text = b"".join(payload.split())
    if zlib_compressed:
        first = base64.b64decode(text[: 4 * -(-3 * hs // 3)])
        nb = int(np.frombuffer(first[:hs], header)[0])
        hlen = 4 * -(-(3 + nb) * hs // 3)
        head = np.frombuffer(base64.b64decode(text[:hlen]), header)[: 3 + nb]
        data = base64.b64decode(text[hlen:])
        pos, chunks = 0, []
        for s in head[3:].astype(int):
            chunks.append(zlib.decompress(data[pos : pos + s]))
            pos += s
        return np.frombuffer(b"".join(chunks), dtype)
    raw = base64.b64decode(text)
    n = int(np.frombuffer(raw[:hs], header)[0])
    return np.frombuffer(raw[hs : hs + n], dtype)


def _read_vti(path: Path) -> tuple[dict[str, np.ndarray], float | None]:
    """All cell (or point) arrays of a .vti file as (x, y, z) arrays, and the stored voxel size (m)."""
    data = path.read_bytes()
    appended = b""
    app_encoding = "raw"
    i = data.find(b"<AppendedData")
    if i >= 0:
        tag_end = data.index(b">", i)
        tag = data[i : tag_end + 1].decode()
        app_encoding = "base64" if 'encoding="base64"' in tag else "raw"
        start = data.index(b"_", tag_end) + 1
        appended = data[start : data.rindex(b"</AppendedData>")]
        data = data[:i] + b"</VTKFile>"
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InputError(f"{path}: not a VTK XML file ({exc}).") from None
    if root.get("type") != "ImageData":
        raise InputError(f"{path}: VTK file type is {root.get('type')!r}, expected ImageData.")
    endian = "<" if root.get("byte_order", "LittleEndian") == "LittleEndian" else ">"
    header = np.dtype(_VTK_TYPES[root.get("header_type", "UInt32")]).newbyteorder(endian)
    compressed = root.get("compressor") is not None
    if compressed and "ZLib" not in root.get("compressor"):
        raise InputError(f"{path}: compressor {root.get('compressor')} is not supported (only zlib).")
    img = root.find("ImageData")
    ext = [int(v) for v in img.get("WholeExtent").split()]
    npts = [ext[1] - ext[0] + 1, ext[3] - ext[2] + 1, ext[5] - ext[4] + 1]
    spacing = [float(v) for v in img.get("Spacing", "1 1 1").split()]

    def decode(arr) -> np.ndarray:
        dtype = np.dtype(_VTK_TYPES[arr.get("type")]).newbyteorder(endian)
        fmt = arr.get("format", "ascii")
        if fmt == "ascii":
            return np.array(arr.text.split(), dtype=dtype)
        if fmt == "binary":
            return _vtk_decode(arr.text.encode(), "base64", dtype, header, compressed)
        offset = int(arr.get("offset", 0))
        return _vtk_decode(appended[offset:], app_encoding, dtype, header, compressed)

    arrays: dict[str, np.ndarray] = {}
    voxel_size = None
    for fd in root.iter("FieldData"):
        for arr in fd.iter("DataArray"):
            if arr.get("Name") == "voxel_size_m":
                voxel_size = float(decode(arr)[0])
    piece = img.find("Piece")
    for section, counts in (("CellData", [n - 1 for n in npts]), ("PointData", npts)):
        node = piece.find(section)
        if node is None:
            continue
        for arr in node.iter("DataArray"):
            values = decode(arr)
            if int(arr.get("NumberOfComponents", 1)) != 1 or values.size != np.prod(counts):
                continue
            key = arr.get("Name") or f"{section}{len(arrays)}"
            arrays.setdefault(
                key, values.reshape(counts[::-1]).transpose(2, 1, 0).astype(values.dtype.newbyteorder("="))
            )
    if not arrays:
        raise InputError(f"{path}: no scalar cell or point array found.")
    if voxel_size is None and len(set(spacing)) != 1:
        raise InputError(f"{path}: voxels are not cubic (spacing {spacing}); fem-assb needs cubic voxels.")
    return arrays, voxel_size


def _vtk_array(name: str, arr: np.ndarray) -> str:
    raw = np.ascontiguousarray(arr.transpose(2, 1, 0) if arr.ndim == 3 else arr)
    raw = raw.astype(raw.dtype.newbyteorder("<"))
    blob = np.array([raw.nbytes], dtype="<u8").tobytes() + raw.tobytes()
    return (
        f'<DataArray type="{_vtk_type(arr.dtype)}" Name="{name}" format="binary">'
        f"{base64.b64encode(blob).decode()}</DataArray>"
    )


def _write_vti(image: VoxelImage, path: Path) -> None:
    nx, ny, nz = image.shape
    h = image.voxel_size
    cells = _vtk_array("labels", image.labels)
    if image.grains is not None:
        cells += "\n" + _vtk_array("grains", image.grains)
    text = (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n'
        f'<ImageData WholeExtent="0 {nx} 0 {ny} 0 {nz}" Origin="0 0 0" Spacing="{h!r} {h!r} {h!r}">\n'
        f"<FieldData>{_vtk_array('voxel_size_m', np.array([h]))}</FieldData>\n"
        f'<Piece Extent="0 {nx} 0 {ny} 0 {nz}">\n<CellData Scalars="labels">\n{cells}\n</CellData>\n'
        "</Piece>\n</ImageData>\n</VTKFile>\n"
    )
    write_text(path, text)


# ------------------------------------------------------------------ public API
def _resolve_voxel_size(explicit, stored, from_labels, path) -> float:
    if explicit is not None:
        return parse_voxel_size(explicit) if isinstance(explicit, str) else float(explicit)
    if stored is not None:
        return float(stored)
    if from_labels is not None:
        return from_labels
    raise InputError(
        f"{path}: the voxel size is unknown; give it with its unit (--voxel-size 0.5um, or "
        "'voxel_size: 0.5 um' in the label map)."
    )


def read_image(
    path,
    *,
    labels=None,
    voxel_size=None,
    grains=None,
    axes: str | None = None,
    shape=None,
    dtype=None,
    byte_order: str | None = None,
    dataset: str | None = None,
) -> VoxelImage:
    """Read a voxel image.

    ``labels``: a LabelMap, a label-map YAML path, ``"default"`` (0 PORE, 1 CAM, 2 SE, 3 LE,
    4 CBD), or None (then the map stored in .npz/.h5 or the sidecar ``<stem>.labels.yaml``).
    ``voxel_size``: ``"0.5 um"`` or a float in m; overrides the stored value.
    ``grains``: path of an SE grain-ID image (same shape; 0 = none) or an array.
    ``axes``: order of the file's axes (default ``"xyz"``). ``shape``, ``dtype``,
    ``byte_order`` (little/big/native): for raw files. ``dataset``: .h5 dataset or .vti array name.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"image {path} does not exist.")
    fmt = image_format(path)
    label_file: LabelFile | None = None
    label_map: LabelMap | None = None
    if isinstance(labels, LabelMap):
        label_map = labels
    elif isinstance(labels, str) and labels == "default":
        label_map = LabelMap.default()
    elif labels is not None:
        label_file = load_label_file(labels)
    elif fmt not in ("npz", "h5") and sidecar_path(path).exists():
        label_file = load_label_file(sidecar_path(path))
    if label_file is not None:
        label_map = label_file.label_map
        axes = axes or label_file.axes
        dataset = dataset or label_file.dataset
        shape = shape or label_file.raw.get("shape")
        dtype = dtype or label_file.raw.get("dtype")
        byte_order = byte_order or label_file.raw.get("byte_order")
        if grains is None and label_file.grain_image is not None:
            grains = label_file.grain_image
    lf_h = label_file.voxel_size if label_file else None

    stored_h, stored_grains, inactive = None, None, None
    with _reading(path, fmt):
        if fmt == "npz":
            with np.load(path, allow_pickle=False) as z:
                if "labels" not in z:
                    raise InputError(f"{path}: no 'labels' array; it has {sorted(z.files)}.")
                arr = z["labels"]
                stored_h = float(z["voxel_size"]) if "voxel_size" in z else None
                stored_grains = z["grains"] if "grains" in z else None
                if "inactive_x" in z:
                    inactive = (z["inactive_x"], z["inactive_y"], z["inactive_z"])
                if label_map is None and "label_map" in z:
                    label_map = _map_from_text(str(z["label_map"]), path)
        elif fmt == "npy":
            arr = np.load(path, allow_pickle=False)
        elif fmt == "raw":
            arr = _read_raw(path, shape, dtype, byte_order)
        elif fmt in ("tif", "tifdir"):
            arr = _read_tif(path)
        elif fmt == "vti":
            arrays, stored_h = _read_vti(path)
            key = dataset or ("labels" if "labels" in arrays else next(iter(arrays)))
            if key not in arrays:
                raise InputError(f"{path}: no array {key!r}; it has {sorted(arrays)}.")
            arr = arrays[key]
            stored_grains = arrays.get("grains") if key == "labels" else None
        else:  # h5
            import h5py

            with h5py.File(path, "r") as f:
                name = _h5_dataset_name(f, dataset, path)
                arr = f[name][()]
                attrs = dict(f[name].attrs)
                if "voxel_size" in attrs:
                    stored_h = parse_voxel_size(_str(attrs["voxel_size"]), f"voxel_size attribute in {path}")
                if "grains" in f:
                    stored_grains = f["grains"][()]
                if "inactive_faces" in f:
                    g = f["inactive_faces"]
                    inactive = (g["x"][()], g["y"][()], g["z"][()])
                if label_map is None and "label_map" in attrs:
                    label_map = _map_from_text(_str(attrs["label_map"]), path)
    if label_map is None:
        raise InputError(
            f"{path}: no label map; give one with --labels L.yaml (see docs/structures.md), or "
            "--labels default for 0 PORE, 1 CAM, 2 SE, 3 LE, 4 CBD."
        )
    arr = _to_xyz(_as_labels(arr, f"{path}"), axes, f"{path}")
    h = _resolve_voxel_size(voxel_size, stored_h, lf_h, path)
    if isinstance(grains, (str, Path)):
        grains = read_array(Path(grains), shape, dtype, byte_order)
    elif grains is None:
        grains = stored_grains
    if grains is not None:
        grains = _to_xyz(_as_labels(grains, "grain-ID image"), axes, "grain-ID image")
    if inactive is not None and axes not in (None, "xyz"):
        raise InputError(
            "inactive faces cannot be combined with an axes permutation; store the image in xyz order."
        )
    return VoxelImage(arr, h, label_map, grains=grains, inactive_faces=inactive)


def _str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _map_from_text(text: str, path) -> LabelMap:
    import yaml

    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "labels" not in data:
        raise InputError(f"{path}: the stored label map is damaged.")
    return label_map_from_dict(data["labels"])


def read_ids(path, like: VoxelImage, *, axes=None, shape=None, dtype=None, byte_order=None) -> np.ndarray:
    """An integer ID image (grains, particles; 0 = none) of the same shape as ``like``, in (x, y, z)."""
    arr = _to_xyz(_as_labels(read_array(Path(path), shape, dtype, byte_order), f"{path}"), axes, f"{path}")
    if arr.shape != like.shape:
        raise InputError(
            f"ID image {path} has shape {arr.shape}, the label image {like.shape}; they must match."
        )
    return arr


def read_bare_image(path, shape=None, dtype=None, byte_order=None) -> np.ndarray:
    """A bare label image (no label map): the stored array, checked to hold integer labels in 3D
    (a 2D array is one x slice)."""
    what = f"{path}"
    return _to_xyz(_as_labels(read_array(path, shape, dtype, byte_order), what), None, what)


def read_array(path, shape=None, dtype=None, byte_order=None) -> np.ndarray:
    """The bare array of an image file in any supported format, as stored (no label map, no axes).

    ``shape``, ``dtype``, ``byte_order``: for raw files. Used for bare 0/1 images and ID images.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"image {path} does not exist.")
    fmt = image_format(path)
    with _reading(path, fmt):
        arr = np.asarray(_read_array(path, fmt, shape, dtype, byte_order))
    if arr.size == 0:
        raise InputError(f"{path} is empty (shape {arr.shape}); an image needs at least one voxel per axis.")
    return arr


def _read_array(path: Path, fmt: str, shape, dtype, byte_order) -> np.ndarray:
    if fmt == "npy":
        return np.load(path, allow_pickle=False)
    if fmt == "raw":
        return _read_raw(path, shape, dtype, byte_order)
    if fmt in ("tif", "tifdir"):
        return _read_tif(path)
    if fmt == "vti":
        arrays, _ = _read_vti(path)
        return next(iter(arrays.values()))
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as z:
            if "labels" not in z:
                raise InputError(f"{path}: no 'labels' array; it has {sorted(z.files)}.")
            return z["labels"]
    import h5py

    with h5py.File(path, "r") as f:
        return f[_h5_dataset_name(f, None, path)][()]


def write_image(image: VoxelImage, path, *, dataset: str = "labels") -> list[Path]:
    """Write ``image`` to ``path`` (format from the extension), atomically; return the files written.

    .npz/.h5 hold everything; other formats get a sidecar ``<stem>.labels.yaml`` (and a grain
    image ``<stem>.grains<ext>``). Inactive faces can be saved in .npz or .h5 only.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unknown image format {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}."
        )
    map_text = dump_label_file(image.label_map, image.voxel_size)
    written = [path]
    if image.inactive_faces is not None and fmt not in ("npz", "h5"):
        raise InputError(f"{path}: inactive (delaminated) faces can be saved only in .npz or .h5.")
    if fmt == "npz":
        extra = {}
        if image.grains is not None:
            extra["grains"] = image.grains
        if image.inactive_faces is not None:
            extra.update(zip(("inactive_x", "inactive_y", "inactive_z"), image.inactive_faces, strict=True))
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(
                    f,
                    labels=image.labels,
                    voxel_size=np.float64(image.voxel_size),
                    label_map=np.str_(map_text),
                    **extra,
                )
        return written
    if fmt == "h5":
        import h5py

        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                d = f.create_dataset(dataset, data=image.labels, compression="gzip")
                d.attrs["voxel_size"] = f"{image.voxel_size!r} m"
                d.attrs["label_map"] = map_text
                d.attrs["axes"] = "xyz"
                if image.grains is not None:
                    f.create_dataset("grains", data=image.grains, compression="gzip")
                if image.inactive_faces is not None:
                    g = f.create_group("inactive_faces")
                    for name, arr in zip("xyz", image.inactive_faces, strict=True):
                        g.create_dataset(name, data=arr, compression="gzip")
        return written
    extra = {}
    if fmt == "raw":
        extra["raw"] = {"shape": list(image.shape), "dtype": image.labels.dtype.name, "byte_order": "little"}
    if image.grains is not None and fmt != "vti":
        gext = ".npy" if fmt == "raw" else path.suffix  # the raw spec describes the labels only
        gpath = path.parent / f"{path.stem}.grains{gext}"
        _write_plain(image.grains, gpath, FORMATS[gext])
        extra["grain_image"] = gpath.name
        written.append(gpath)
    if fmt == "vti":
        _write_vti(image, path)
    else:
        _write_plain(image.labels, path, fmt)
    side = sidecar_path(path)
    write_text(side, dump_label_file(image.label_map, image.voxel_size, **extra))
    written.append(side)
    return written


def _write_plain(arr: np.ndarray, path: Path, fmt: str) -> None:
    with atomic_path(path) as tmp:
        if fmt == "npy":
            with open(tmp, "wb") as f:
                np.save(f, arr)
        elif fmt == "raw":
            arr.astype(arr.dtype.newbyteorder("<")).tofile(tmp)
        else:  # tif: one page per x slice
            import tifffile

            tifffile.imwrite(tmp, arr, photometric="minisblack")

"""Structure modifications used by the seed studies (MODEL.md §6). Each returns a new VoxelImage.

Axis convention: x (axis 0) is through-plane, index 0 on the separator side, the last index at
the cathode current collector. Lengths are in m (use fem_assb.units.to_si at the edges).
Grain IDs and inactive (delaminated) faces follow the voxels they belong to; faces that stop
being a CAM | electrolyte interface are dropped from the inactive set.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from fem_assb.errors import InputError
from fem_assb.structure import analysis
from fem_assb.structure.image import MATERIAL_CLASSES, LabelMap, Material, VoxelImage


# ------------------------------------------------------------------ helpers
def _new(
    image: VoxelImage, labels, *, voxel_size=None, label_map=None, grains="same", faces="same"
) -> VoxelImage:
    out = VoxelImage(
        labels,
        image.voxel_size if voxel_size is None else voxel_size,
        image.label_map if label_map is None else label_map,
        grains=image.grains if isinstance(grains, str) else grains,
        inactive_faces=image.inactive_faces if isinstance(faces, str) else faces,
    )
    return _clean_faces(out)


def _clean_faces(image: VoxelImage) -> VoxelImage:
    """Keep only inactive faces that are still CAM | electrolyte faces (None if none is left)."""
    if image.inactive_faces is None:
        return image
    cam = analysis.class_mask(image, ("CAM",))
    ely = analysis.class_mask(image, ("SE", "LE"))
    faces = tuple(
        f & g for f, g in zip(image.inactive_faces, analysis.interface_faces(cam, ely), strict=True)
    )
    image.inactive_faces = faces if any(f.any() for f in faces) else None
    return image


def _value_for(label_map: LabelMap, name: str, kind: str) -> tuple[LabelMap, int]:
    """The image value of material ``name`` (class ``kind``), added to a copy of the map if missing."""
    for value, mat in label_map.materials.items():
        if mat.name == name:
            if mat.kind != kind:
                raise InputError(f"material {name!r} is of class {mat.kind} in the label map, not {kind}.")
            return label_map, value
    value = max(label_map.materials) + 1
    materials = dict(label_map.materials)
    materials[value] = Material(name, kind)
    return LabelMap(materials, dict(label_map.grains)), value


def _fit_dtype(labels: np.ndarray, value: int) -> np.ndarray:
    dtype = np.promote_types(labels.dtype, np.min_scalar_type(value))
    return labels.astype(dtype, copy=True)


def _take_x(parts: list[tuple[VoxelImage, np.ndarray]], label_map: LabelMap, voxel_size: float) -> VoxelImage:
    """Assemble slices along x: ``parts`` = [(image, old x indices), ...] in order.

    An x face of the result is inherited when its two slices are neighbours in the same source
    image; seams (mirror joints, stacked layers) get no inactive face.
    """
    labels = np.concatenate([img.labels[ix] for img, ix in parts])
    any_grains = any(img.grains is not None for img, _ in parts)
    grains = None
    if any_grains:
        grains = np.concatenate(
            [
                img.grain_ids()[ix]
                if img.grains is not None
                else np.zeros((len(ix),) + img.shape[1:], np.int32)
                for img, ix in parts
            ]
        )
    faces = None
    if any(img.inactive_faces is not None for img, _ in parts):
        src = [(k, int(i)) for k, (_, ix) in enumerate(parts) for i in ix]
        ny, nz = labels.shape[1:]
        fx = np.zeros((len(src) - 1, ny, nz), bool)
        for n, ((ka, ia), (kb, ib)) in enumerate(zip(src[:-1], src[1:], strict=True)):
            img = parts[ka][0]
            if ka == kb and abs(ia - ib) == 1 and img.inactive_faces is not None:
                fx[n] = img.inactive_faces[0][min(ia, ib)]
        rest = []
        for axis in (1, 2):
            rest.append(
                np.concatenate(
                    [
                        img.inactive_faces[axis][ix]
                        if img.inactive_faces is not None
                        else np.zeros(
                            (len(ix),)
                            + tuple(s - (1 if a == axis else 0) for a, s in enumerate(img.shape) if a),
                            bool,
                        )
                        for img, ix in parts
                    ]
                )
            )
        faces = (fx, rest[0], rest[1])
    return _clean_faces(VoxelImage(labels, voxel_size, label_map, grains=grains, inactive_faces=faces))


# ------------------------------------------------------------------ cropping, mirroring, coarsening
def crop(image: VoxelImage, x=(None, None), y=(None, None), z=(None, None)) -> VoxelImage:
    """Sub-volume ``[x0:x1, y0:y1, z0:z1]`` in voxel indices (Python slice rules, None = to the end)."""
    sl = []
    for name, (a, b), n in zip("xyz", (x, y, z), image.shape, strict=True):
        a, b, _ = slice(a, b).indices(n)
        if b - a < 1:
            raise InputError(f"crop along {name} keeps no voxels ({a}:{b} of {n}).")
        sl.append(slice(a, b))
    faces = None
    if image.inactive_faces is not None:
        faces = []
        for axis, f in enumerate(image.inactive_faces):
            s = list(sl)
            s[axis] = slice(sl[axis].start, sl[axis].stop - 1)
            faces.append(f[tuple(s)])
        faces = tuple(faces)
    grains = image.grains[tuple(sl)] if image.grains is not None else None
    return _new(image, image.labels[tuple(sl)], grains=grains, faces=faces)


def crop_collector_side(image: VoxelImage, n: int) -> VoxelImage:
    """Remove ``n`` voxel layers at the current-collector side (x max) (seed 004 contact-area study)."""
    if not (isinstance(n, (int, np.integer)) and 0 <= n < image.shape[0]):
        raise InputError(f"can crop 0 to {image.shape[0] - 1} layers at the collector side, not {n!r}.")
    return crop(image, x=(0, image.shape[0] - n))


def mirror_to_thickness(image: VoxelImage, thickness: float) -> VoxelImage:
    """Repeat the image along x with alternating mirror copies until ``thickness`` (m) is reached (seed 003).

    The result has ``round(thickness / voxel_size)`` layers: image, mirrored image, image, ...
    cut at that length. Mirroring keeps the structure continuous across the joints.
    """
    n = round(thickness / image.voxel_size)
    if n < 1:
        raise InputError(f"thickness {thickness} m is less than one voxel ({image.voxel_size} m).")
    nx = image.shape[0]
    period = np.concatenate([np.arange(nx), np.arange(nx)[::-1]])
    ix = np.resize(period, n)
    return _take_x([(image, ix)], image.label_map, image.voxel_size)


def _block_mode(blocks: np.ndarray, ignore_zero: bool = False) -> np.ndarray:
    """Most frequent value of each row; rows = blocks of voxels in block order.

    Ties go to the tied value met first in block order (the block's corner voxel when it is
    among them), which favours no material: a smallest-value rule would bias fractions.
    """
    out = np.empty(blocks.shape[0], blocks.dtype)
    step = max(1, 2**22 // blocks.shape[1] ** 2)  # bounded memory for the pairwise comparison
    for a in range(0, blocks.shape[0], step):
        s = blocks[a : a + step]
        counts = (s[:, :, None] == s[:, None, :]).sum(axis=2)
        if ignore_zero:
            counts = np.where(s == 0, 0, counts)
        out[a : a + step] = s[np.arange(s.shape[0]), np.argmax(counts, axis=1)]
    return out


def coarsen(image: VoxelImage, factor: int) -> VoxelImage:
    """Merge ``factor`` ^3 voxel blocks into one voxel by majority vote (seed 002 uses 2).

    Ties go to the tied value met first in the block (see ``_block_mode``).
    Grain IDs: the most frequent non-zero ID of the block
    where the new voxel is SE. The voxel size grows by ``factor``.
    """
    if not (isinstance(factor, (int, np.integer)) and factor >= 1):
        raise InputError(f"coarsening factor must be a positive integer, got {factor!r}.")
    if any(n % factor for n in image.shape):
        raise InputError(
            f"image shape {image.shape} is not divisible by {factor}; crop it first "
            f"(e.g. to {tuple(n - n % factor for n in image.shape)})."
        )
    if image.inactive_faces is not None:
        raise InputError("coarsen the image before delaminating it (inactive faces cannot be coarsened).")
    f = factor
    shape = tuple(n // f for n in image.shape)

    def blocks(arr):
        b = arr.reshape(shape[0], f, shape[1], f, shape[2], f).transpose(0, 2, 4, 1, 3, 5)
        return b.reshape(-1, f**3)

    labels = _block_mode(blocks(image.labels)).reshape(shape)
    grains = None
    if image.grains is not None:
        coarse = VoxelImage(labels, image.voxel_size * f, image.label_map)
        grains = np.where(
            coarse.mask("SE"), _block_mode(blocks(image.grains), ignore_zero=True).reshape(shape), 0
        )
    return _new(image, labels, voxel_size=image.voxel_size * f, grains=grains, faces=None)


# ------------------------------------------------------------------ structuring concepts (seed 001)
def _electrolyte_value(image: VoxelImage, fill: str | None) -> tuple[LabelMap, int]:
    if fill is not None:
        vals = image.label_map.values_of(fill)
        kind = image.label_map.materials[vals[0]].kind
        if kind not in ("SE", "LE"):
            raise InputError(
                f"channels must be filled with an electrolyte (SE or LE), not {fill!r} ({kind})."
            )
        return image.label_map, vals[0]
    present = [k for k in ("SE", "LE") if analysis.class_mask(image, (k,)).any()]
    if len(present) != 1:
        raise InputError(
            f"cannot tell which electrolyte fills the channels (present: {present or 'none'}); "
            "name it (fill='SE' or 'LE', --fill)."
        )
    return image.label_map, image.label_map.values_of(present[0])[0]


def perforate(
    image: VoxelImage, radius: float, center: str = "corner", fill: str | None = None, replace=("CAM", "CBD")
) -> VoxelImage:
    """Cylindrical electrolyte channel along x through the whole cathode (seed 001).

    ``radius`` (m); ``center="corner"``: axis on the edge y = z = 0, a quarter hole that the
    symmetric lateral boundaries complete; ``"center"``: axis in the middle of the y-z face.
    Voxels (centres within ``radius`` of the axis) of the classes ``replace`` become ``fill``
    (default: the electrolyte of the image, SE or LE).
    """
    if not radius >= 0:
        raise InputError(f"channel radius must be >= 0, got {radius} m.")
    if center not in ("corner", "center"):
        raise InputError(f"channel centre must be 'corner' or 'center', got {center!r}.")
    label_map, value = _electrolyte_value(image, fill)
    _, ny, nz = image.shape
    h = image.voxel_size
    yc, zc = (0.0, 0.0) if center == "corner" else (ny * h / 2, nz * h / 2)
    y = (np.arange(ny) + 0.5) * h - yc
    z = (np.arange(nz) + 0.5) * h - zc
    disk = (y[:, None] ** 2 + z[None, :] ** 2) <= radius**2 * (1 + 1e-12)
    hit = disk[None, :, :] & analysis.class_mask(image, replace)
    labels = _fit_dtype(image.labels, value)
    labels[hit] = value
    grains = None if image.grains is None else np.where(hit, 0, image.grains)
    return _new(image, labels, label_map=label_map, grains=grains)


def stack(first: VoxelImage, second: VoxelImage, fraction: float, reverse: bool = False) -> VoxelImage:
    """Two-layer cathode: ``first`` on the separator side with thickness fraction ``fraction`` (seed 001).

    Both images must have the same shape and voxel size; the result has that shape, made of the
    first ``round(fraction * nx)`` layers of ``first`` and the remaining layers of ``second``.
    ``reverse=True`` puts the ``first`` layer (same fraction) at the collector side instead.
    """
    if first.shape != second.shape or not math.isclose(first.voxel_size, second.voxel_size, rel_tol=1e-9):
        raise InputError(
            f"stacked structures need the same shape and voxel size; got {first.shape} at "
            f"{first.voxel_size} m and {second.shape} at {second.voxel_size} m."
        )
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"thickness fraction must lie in [0, 1], got {fraction}.")
    materials = dict(first.label_map.materials)
    for v, m in second.label_map.materials.items():
        if materials.setdefault(v, m) != m:
            raise InputError(
                f"image value {v} is {materials[v].name} in one structure and {m.name} in the other."
            )
    grains_map = dict(first.label_map.grains)
    for v, g in second.label_map.grains.items():
        if grains_map.setdefault(v, g) != g:
            raise InputError(f"image value {v} has different grain IDs in the two structures.")
    nx = first.shape[0]
    n1 = round(fraction * nx)
    lm = LabelMap(materials, grains_map)
    if reverse:
        parts = [(second, np.arange(0, nx - n1)), (first, np.arange(nx - n1, nx))]
    else:
        parts = [(first, np.arange(0, n1)), (second, np.arange(n1, nx))]
    parts = [(img, ix) for img, ix in parts if ix.size]
    return _take_x(parts, lm, first.voxel_size)


# ------------------------------------------------------------------ interface modifications
def cam_shell(
    image: VoxelImage, thickness: float, material: str = "AL_LCO", host: str = "CAM", interface_with=("SE",)
) -> VoxelImage:
    """Turn the outer ``thickness`` (m) of ``host`` CAM next to SE into ``material`` (class CAM) (seed 003).

    Voxels of ``host`` whose Euclidean distance transform (centre to the nearest SE voxel
    centre) is at most ``thickness`` form the shell: on a planar interface exactly
    ``thickness / voxel_size`` voxel layers; on curved particles within the voxel error.
    The material is added to the label map (class CAM, a new image value) if absent.
    """
    if not thickness >= 0:
        raise InputError(f"shell thickness must be >= 0, got {thickness} m.")
    if 0 < thickness < image.voxel_size * (1 - 1e-9):
        raise InputError(
            f"shell thickness {thickness} m is below the voxel size {image.voxel_size} m, so no voxel would "
            "change; use a finer image or a thicker shell."
        )
    host_mask = image.mask(host)
    se = analysis.class_mask(image, interface_with)
    if not se.any():
        raise InputError(f"the image has no {'/'.join(interface_with)} voxels to measure the shell from.")
    dist = ndimage.distance_transform_edt(~se)  # [voxels]
    shell = host_mask & (dist <= thickness / image.voxel_size * (1 + 1e-9))
    label_map, value = _value_for(image.label_map, material, "CAM")
    labels = _fit_dtype(image.labels, value)
    labels[shell] = value
    return _new(image, labels, label_map=label_map)


def replace_material(image: VoxelImage, old: str, new: str) -> VoxelImage:
    """Every voxel of material (name or class) ``old`` becomes material ``new`` (seed 001: the
    ASSB twin of a LIB structure, whose CBD and liquid-filled pores "are fully substituted by
    SE"). ``new`` is a material name of the label map, or a class (CAM, SE, LE, CBD, PORE) added
    to it if missing. Grain IDs of the replaced voxels are cleared; inactive faces are kept where
    they are still CAM | electrolyte faces."""
    old_values = image.label_map.values_of(old)
    hit = np.isin(image.labels, old_values)
    if not hit.any():
        raise InputError(f"the image has no {old} voxels to replace.")
    label_map = image.label_map
    try:
        value = label_map.values_of(new)[0]
    except InputError:
        if new not in MATERIAL_CLASSES:
            raise
        label_map, value = _value_for(label_map, new, new)
    if value in old_values:
        raise InputError(f"replace: {old} and {new} are the same material; name another one.")
    labels = _fit_dtype(image.labels, value)
    labels[hit] = value
    grains = None if image.grains is None else np.where(hit, 0, image.grains)
    return _new(image, labels, label_map=label_map, grains=grains)


def delaminate(image: VoxelImage, fraction: float, seed: int, electrolyte=("SE",)) -> VoxelImage:
    """Mark ``round(fraction * N)`` of the N CAM | SE interface faces inactive (seed 004).

    Faces are drawn uniformly without replacement by ``numpy.random.default_rng(seed)`` from the
    list of interface faces ordered by axis (x, y, z) then C order, so the result depends only on
    the image and the seed. Faces already inactive stay inactive.
    """
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"delaminated fraction must lie in [0, 1], got {fraction}.")
    cam = analysis.class_mask(image, ("CAM",))
    faces = analysis.interface_faces(cam, analysis.class_mask(image, electrolyte))
    flat = np.concatenate([f.ravel() for f in faces])
    candidates = np.flatnonzero(flat)
    if candidates.size == 0:
        raise InputError("the image has no CAM | SE interface faces to delaminate.")
    k = round(fraction * candidates.size)
    chosen = np.random.default_rng(seed).choice(candidates, size=k, replace=False)
    mark = np.zeros(flat.size, bool)
    mark[chosen] = True
    out, pos = [], 0
    for i, f in enumerate(faces):
        m = mark[pos : pos + f.size].reshape(f.shape)
        if image.inactive_faces is not None:
            m |= image.inactive_faces[i]
        out.append(m)
        pos += f.size
    return _new(image, image.labels, faces=tuple(out))


def remove_isolated(image: VoxelImage, periodic: tuple[int, ...] = ()) -> VoxelImage:
    """Turn voxels not connected to their reservoir (analysis.isolated_voxels) into PORE (MODEL.md §1).

    ``periodic``: lateral axes (1 = y, 2 = z) that wrap around for the connectivity.
    """
    iso = analysis.isolated_voxels(image, periodic)
    pores = [v for v, m in sorted(image.label_map.materials.items()) if m.kind == "PORE"]
    label_map, value = (image.label_map, pores[0]) if pores else _value_for(image.label_map, "PORE", "PORE")
    labels = _fit_dtype(image.labels, value)
    labels[iso] = value
    grains = None if image.grains is None else np.where(iso, 0, image.grains)
    return _new(image, labels, label_map=label_map, grains=grains)


def limit_collector_contact(image: VoxelImage, fraction: float, seed: int = 0) -> VoxelImage:
    """Leave CAM on only ``fraction`` of the current-collector face (x max) (seed 004 Fig. 8).

    The CAM voxels of the last x layer touch the collector; they form 2D clusters (4-connected
    footprints of the particles on the face). Clusters are kept in the order of
    ``numpy.random.default_rng(seed).permutation`` while the kept area stays within the target
    ``round(fraction * ny * nz)`` voxels, the next cluster contributes its first voxels (C order)
    to reach it exactly; every other CAM voxel of the layer becomes electrolyte (the image's SE
    or LE), so only the kept area conducts electrons into the collector. The CAM behind the layer
    is unchanged. Raises InputError when the face holds less CAM than asked.
    """
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"collector contact fraction must lie in [0, 1], got {fraction}.")
    cam = analysis.class_mask(image, ("CAM",))[-1]
    target = round(fraction * cam.size)
    have = int(cam.sum())
    if target > have:
        raise InputError(
            f"the collector face holds CAM on {100 * have / cam.size:.1f} % of its area "
            f"({have} of {cam.size} voxels), less than the {100 * fraction:.1f} % asked; ask at most that."
        )
    clusters, n = ndimage.label(cam)
    keep = np.zeros_like(cam)
    left = target
    for c in np.random.default_rng(seed).permutation(np.arange(1, n + 1)):
        if left == 0:
            break
        members = np.flatnonzero(clusters.ravel() == c)
        take = members if members.size <= left else members[:left]
        keep.ravel()[take] = True
        left -= take.size
    label_map, value = _electrolyte_value(image, None)
    labels = _fit_dtype(image.labels, value)
    drop = cam & ~keep
    labels[-1][drop] = value
    grains = image.grains
    if grains is not None:
        grains = grains.copy()
        grains[-1][drop] = 0
    return _new(image, labels, label_map=label_map, grains=grains)

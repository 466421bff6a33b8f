"""Geometric analysis of a voxel image: fractions, connectivity, areas, profiles, particle sizes.

All connectivity is face connectivity (6-neighbourhood), as in the finite-volume / DG0 scheme
where two voxels exchange flux only through a shared face. Faces of the image box are named
``xmin, xmax, ymin, ymax, zmin, zmax``; ``xmin`` is the separator side, ``xmax`` the cathode
current collector (MODEL.md §1).

Conducting networks (MODEL.md §1, seed 002 Eq. 4):
- ionic: SE, LE and CBD (CBD is a homogenized electrolyte-soaked domain), reservoir ``xmin``;
- electronic: CAM (all CAM kinds) and CBD, reservoir ``xmax``.
A voxel of a class is *isolated* when it is not connected, through its network, to the
network's reservoir face. Functions taking ``periodic`` (axes 1 = y, 2 = z) treat those
lateral directions as wrapping around (periodic lateral boundaries, seed 002).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fem_assb.errors import InputError
from fem_assb.structure.image import VoxelImage

FACES = {
    "xmin": (0, 0),
    "xmax": (0, -1),
    "ymin": (1, 0),
    "ymax": (1, -1),
    "zmin": (2, 0),
    "zmax": (2, -1),
}

#: Classes that carry Li ions, and the face they must reach (the separator side).
IONIC_CLASSES = ("SE", "LE", "CBD")
IONIC_RESERVOIR = "xmin"
#: Classes that carry electrons, and the face they must reach (the cathode current collector).
ELECTRONIC_CLASSES = ("CAM", "CBD")
ELECTRONIC_RESERVOIR = "xmax"

_FACE_STRUCTURE = ndimage.generate_binary_structure(3, 1)  # 6-connectivity


def _face(face: str) -> tuple[int, int]:
    if face not in FACES:
        raise InputError(f"unknown face {face!r}; use one of {', '.join(FACES)}.")
    return FACES[face]


def face_slice(shape_ndim: int, face: str) -> tuple:
    """Index tuple selecting the layer of voxels on ``face`` (keeps the dimension)."""
    axis, end = _face(face)
    idx = [slice(None)] * shape_ndim
    idx[axis] = slice(0, 1) if end == 0 else slice(-1, None)
    return tuple(idx)


def label_clusters(mask: np.ndarray, periodic: tuple[int, ...] = ()) -> tuple[np.ndarray, int]:
    """Face-connected clusters of ``mask``: (cluster ID per voxel, 0 outside; number of clusters).

    ``periodic``: axes (1 = y, 2 = z) along which the box wraps around (periodic lateral
    boundaries, seed 002): voxels on opposite faces of such an axis are neighbours.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise InputError(f"connectivity needs a 3D mask, got shape {mask.shape}.")
    ids, n = ndimage.label(mask, structure=_FACE_STRUCTURE)
    if not periodic or n == 0:
        return ids, n
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = []
    for axis in periodic:
        if axis not in (0, 1, 2):
            raise InputError(f"periodic axes must be among 0, 1, 2 (x, y, z), got {axis!r}.")
        a = np.take(ids, 0, axis=axis)
        b = np.take(ids, -1, axis=axis)
        both = (a > 0) & (b > 0)
        pairs.append(np.stack([a[both], b[both]]))
    p = np.concatenate(pairs, axis=1)
    graph = coo_matrix((np.ones(p.shape[1]), (p[0], p[1])), shape=(n + 1, n + 1))
    _, comp = connected_components(graph, directed=False)
    # renumber: 0 stays background, merged clusters get consecutive IDs from 1
    roots = comp[1:]
    _, new = np.unique(roots, return_inverse=True)
    lut = np.concatenate([[0], new + 1]).astype(ids.dtype)
    return lut[ids], int(new.max()) + 1


def connected_to_face(
    mask: np.ndarray, face: str | tuple[str, ...], periodic: tuple[int, ...] = ()
) -> np.ndarray:
    """Voxels of ``mask`` face-connected (within ``mask``) to a face of the box (or any of several faces).

    ``periodic``: lateral axes that wrap around (see :func:`label_clusters`).
    """
    faces = (face,) if isinstance(face, str) else tuple(face)
    ids, n = label_clusters(mask, periodic)
    if n == 0:
        return np.zeros(ids.shape, dtype=bool)
    keep = np.zeros(n + 1, dtype=bool)
    for f in faces:
        keep[np.unique(ids[face_slice(3, f)])] = True
    keep[0] = False
    return keep[ids]


def percolating(mask: np.ndarray, axis: int, periodic: tuple[int, ...] = ()) -> np.ndarray:
    """Voxels of ``mask`` in clusters that touch both faces normal to ``axis`` (0, 1 or 2).

    ``periodic``: other axes that wrap around (see :func:`label_clusters`).
    """
    if axis not in (0, 1, 2):
        raise InputError(f"axis must be 0 (x), 1 (y) or 2 (z), got {axis!r}.")
    if axis in periodic:
        raise InputError(f"percolation along axis {axis} makes no sense when that axis is periodic.")
    names = "xyz"[axis]
    ids, n = label_clusters(mask, periodic)
    if n == 0:
        return np.zeros(ids.shape, dtype=bool)
    lo = np.zeros(n + 1, dtype=bool)
    hi = np.zeros(n + 1, dtype=bool)
    lo[np.unique(ids[face_slice(3, names + "min")])] = True
    hi[np.unique(ids[face_slice(3, names + "max")])] = True
    keep = lo & hi
    keep[0] = False
    return keep[ids]


def class_mask(image: VoxelImage, classes) -> np.ndarray:
    """Mask of the voxels whose material class is in ``classes`` (absent classes are allowed)."""
    values = [v for v, m in image.label_map.materials.items() if m.kind in tuple(classes)]
    return np.isin(image.labels, values)


def _require_voxels(image: VoxelImage, name: str, what: str) -> np.ndarray:
    mask = image.mask(name)
    if not mask.any():
        raise InputError(f"phase {name!r} has no voxels in this image, so its {what} is undefined.")
    return mask


def ionic_network(image: VoxelImage, periodic: tuple[int, ...] = ()) -> np.ndarray:
    """Ion-conducting voxels connected to the separator side (xmin)."""
    return connected_to_face(class_mask(image, IONIC_CLASSES), IONIC_RESERVOIR, periodic)


def electronic_network(image: VoxelImage, periodic: tuple[int, ...] = ()) -> np.ndarray:
    """Electron-conducting voxels connected to the cathode current collector (xmax)."""
    return connected_to_face(class_mask(image, ELECTRONIC_CLASSES), ELECTRONIC_RESERVOIR, periodic)


def connected_voxels(image: VoxelImage, periodic: tuple[int, ...] = ()) -> np.ndarray:
    """Voxels that belong to a network reaching its reservoir (CBD: either network).

    PORE voxels are never 'connected'; they carry nothing.
    """
    ion = ionic_network(image, periodic)
    ele = electronic_network(image, periodic)
    out = np.zeros(image.shape, dtype=bool)
    for kind, net in (("SE", ion), ("LE", ion), ("CAM", ele), ("CBD", ion | ele)):
        m = class_mask(image, (kind,))
        out |= m & net
    return out


def isolated_voxels(image: VoxelImage, periodic: tuple[int, ...] = ()) -> np.ndarray:
    """Non-pore voxels not connected to their reservoir (see :func:`connected_voxels`)."""
    return ~class_mask(image, ("PORE",)) & ~connected_voxels(image, periodic)


def connectivity(image: VoxelImage, name: str, periodic: tuple[int, ...] = ()) -> float:
    """Connectivity = 1 - n_iso / n_tot of a material name or class (seed 002 Eq. 4); dimensionless."""
    mask = _require_voxels(image, name, "connectivity")
    n_iso = np.count_nonzero(mask & isolated_voxels(image, periodic))
    return 1.0 - n_iso / np.count_nonzero(mask)


# ------------------------------------------------------------------ fractions and profiles
def _groups(image: VoxelImage, by: str) -> dict[str, list[int]]:
    """Image values grouped by material ``name`` or by ``class``."""
    if by not in ("name", "class"):
        raise InputError(f"group fractions by 'name' or 'class', not {by!r}.")
    groups: dict[str, list[int]] = {}
    for value, mat in sorted(image.label_map.materials.items()):
        groups.setdefault(mat.name if by == "name" else mat.kind, []).append(value)
    return groups


def volume_fractions(image: VoxelImage, by: str = "class") -> dict[str, float]:
    """Volume fraction of every material class (``by="class"``) or name (``by="name"``) of the label map.

    Materials of the label map without voxels get 0.
    """
    values, counts = np.unique(image.labels, return_counts=True)
    count = dict(zip(values.tolist(), counts.tolist(), strict=True))
    n = image.labels.size
    return {g: sum(count.get(v, 0) for v in vals) / n for g, vals in _groups(image, by).items()}


def svf_cam(image: VoxelImage) -> float:
    """Solid volume fraction SVF_CAM = V_CAM / (V_CAM + V_SE) (seed 002 Eq. 3); dimensionless."""
    v_cam = np.count_nonzero(class_mask(image, ("CAM",)))
    v_se = np.count_nonzero(class_mask(image, ("SE",)))
    if v_cam + v_se == 0:
        raise InputError("SVF_CAM needs CAM or SE voxels; this image has neither.")
    return v_cam / (v_cam + v_se)


def fraction_profiles(image: VoxelImage, by: str = "class") -> dict[str, np.ndarray]:
    """Per-slice volume fraction along x (index 0 = separator side), per class or material name."""
    nx = image.shape[0]
    per_slice = image.labels.reshape(nx, -1)
    return {
        g: np.count_nonzero(np.isin(per_slice, vals), axis=1) / per_slice.shape[1]
        for g, vals in _groups(image, by).items()
    }


# ------------------------------------------------------------------ interfaces
def interface_faces(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-axis boolean face arrays: True where a voxel of ``a`` and a voxel of ``b`` share the face.

    Shapes ``(nx-1, ny, nz)``, ``(nx, ny-1, nz)``, ``(nx, ny, nz-1)``; face ``[i, j, k]`` of axis 0
    lies between voxels ``[i, j, k]`` and ``[i+1, j, k]`` (the same layout as
    ``VoxelImage.inactive_faces``).
    """
    faces = []
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(None, -1)
        hi[axis] = slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        faces.append((a[lo] & b[hi]) | (b[lo] & a[hi]))
    return tuple(faces)


def count_faces(faces) -> int:
    return int(sum(np.count_nonzero(f) for f in faces))


@dataclass
class ActiveArea:
    """CAM | electrolyte contact area: total [m^2], per cathode volume [1/m], per cell area [m^2/m^2]."""

    faces: int
    area: float
    per_volume: float
    per_cell_area: float


def active_area(image: VoxelImage, electrolyte=("SE", "LE")) -> ActiveArea:
    """CAM | electrolyte face count times face area h^2 (seed 002 'active area').

    Faces marked in ``image.inactive_faces`` (delamination) are not counted.
    """
    cam = class_mask(image, ("CAM",))
    ely = class_mask(image, electrolyte)
    faces = interface_faces(cam, ely)
    if image.inactive_faces is not None:
        faces = tuple(f & ~g for f, g in zip(faces, image.inactive_faces, strict=True))
    n = count_faces(faces)
    h = image.voxel_size
    nx, ny, nz = image.shape
    area = n * h * h
    return ActiveArea(n, area, area / (nx * ny * nz * h**3), area / (ny * nz * h * h))


def contact_area_ratio(image: VoxelImage, classes=("CAM",)) -> float:
    """A_C / A_CC: share of the current-collector face (xmax) touched by ``classes`` (seed 004)."""
    return float(np.mean(class_mask(image, classes)[-1]))


# ------------------------------------------------------------------ particles
@dataclass
class ParticleStats:
    """Equivalent-sphere diameters d = (6 V / pi)^(1/3) of the particles of a phase [m]."""

    count: int
    diameters: np.ndarray  # [m], one per particle
    mean: float  # number-weighted mean [m]
    std: float  # [m]
    d50_volume: float  # volume-weighted median diameter [m]


def particle_sizes(
    image: VoxelImage, name: str = "CAM", particle_ids: np.ndarray | None = None
) -> ParticleStats:
    """Particle size statistics of a phase.

    Particles are the distinct non-zero IDs of ``particle_ids`` inside the phase (e.g. a
    segmentation; ``image.grains`` is used when present and ``name`` is SE), otherwise the
    face-connected clusters of the phase.
    """
    mask = _require_voxels(image, name, "particle size distribution")
    if particle_ids is None and image.grains is not None and name == "SE":
        particle_ids = image.grains
    if particle_ids is None:
        ids, _ = label_clusters(mask)
    else:
        particle_ids = np.asarray(particle_ids)
        if particle_ids.shape != image.shape:
            raise InputError(
                f"particle-ID image shape {particle_ids.shape} differs from the image shape {image.shape}."
            )
        ids = np.where(mask, particle_ids, 0)
    _, counts = np.unique(ids[ids > 0], return_counts=True)
    if counts.size == 0:
        raise InputError(f"phase {name!r} has no labelled particles.")
    vol = counts * image.voxel_size**3
    d = (6.0 * vol / np.pi) ** (1.0 / 3.0)
    order = np.argsort(d)
    cum = np.cumsum(vol[order]) / vol.sum()
    d50v = float(d[order][np.searchsorted(cum, 0.5)])
    return ParticleStats(int(d.size), d, float(d.mean()), float(d.std()), d50v)


# ------------------------------------------------------------------ everything at once
def isolated_counts(image: VoxelImage, periodic: tuple[int, ...] = ()) -> dict[str, dict[str, int]]:
    """Per class present: total voxels, isolated voxels and isolated clusters (MODEL.md §1)."""
    iso = isolated_voxels(image, periodic)
    out = {}
    for kind in ("CAM", "SE", "LE", "CBD"):
        m = class_mask(image, (kind,))
        n = int(np.count_nonzero(m))
        if n:
            out[kind] = {
                "voxels": n,
                "isolated_voxels": int(np.count_nonzero(m & iso)),
                "isolated_clusters": int(label_clusters(m & iso, periodic)[1]),
            }
    return out


def summary(
    image: VoxelImage, cam_particles: np.ndarray | None = None, periodic: tuple[int, ...] = ()
) -> dict:
    """All indicators of this module as a JSON-ready dict (lengths in m, areas in m^2).

    Particle sizes: CAM particles from ``cam_particles`` (ID image) if given, else CAM clusters;
    SE particles are the grains when the image has grain IDs. ``periodic``: lateral axes that
    wrap around for the connectivity (1 = y, 2 = z).
    """
    h = image.voxel_size
    nx, ny, nz = image.shape
    out: dict = {
        "shape": [nx, ny, nz],
        "voxel_size_m": h,
        "size_m": [nx * h, ny * h, nz * h],
        "volume_fractions": volume_fractions(image, "class"),
        "material_fractions": volume_fractions(image, "name"),
    }
    try:
        out["svf_cam"] = svf_cam(image)
    except InputError:
        out["svf_cam"] = None
    counts = isolated_counts(image, periodic)
    out["connectivity"] = {k: 1.0 - c["isolated_voxels"] / c["voxels"] for k, c in counts.items()}
    out["isolated"] = counts
    aa = active_area(image)
    out["active_area"] = {
        "faces": aa.faces,
        "area_m2": aa.area,
        "per_volume_1_per_m": aa.per_volume,
        "per_cell_area": aa.per_cell_area,
    }
    if image.inactive_faces is not None:
        out["active_area"]["inactive_faces"] = count_faces(image.inactive_faces)
    out["contact_area_ratio"] = {
        "CAM": contact_area_ratio(image, ("CAM",)),
        "electronic": contact_area_ratio(image, ELECTRONIC_CLASSES),
    }
    out["particles"] = {}
    for name in ("CAM", "SE"):
        if class_mask(image, (name,)).any() and (name == "CAM" or image.grains is not None):
            ps = particle_sizes(image, name, cam_particles if name == "CAM" else None)
            out["particles"][name] = {
                "count": ps.count,
                "mean_diameter_m": ps.mean,
                "std_diameter_m": ps.std,
                "d50_volume_m": ps.d50_volume,
                "labelled": name == "CAM" and cam_particles is not None,
            }
    out["profiles"] = {
        "x_m": ((np.arange(nx) + 0.5) * h).tolist(),
        **{k: v.tolist() for k, v in fraction_profiles(image, "class").items()},
    }
    return out

"""The voxel image of a composite cathode: labels, materials, grains and voxel size.

Axis convention (MODEL.md §1): array axis 0 is x, the through-plane direction, from the
separator side (x = 0, index 0) to the cathode current collector (last index); axes 1 and 2
are the in-plane directions y and z.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fem_assb.errors import InputError

#: Material classes a label can map to. CAM kinds (e.g. an Al-LCO shell) are materials of
#: class CAM with their own name; SE grains are SE voxels with a grain ID.
MATERIAL_CLASSES = ("CAM", "SE", "LE", "CBD", "PORE")


@dataclass(frozen=True)
class Material:
    """One material of the label map: a name (``"CAM"``, ``"AL_LCO"``...) and its class."""

    name: str
    kind: str  # one of MATERIAL_CLASSES

    def __post_init__(self):
        if self.kind not in MATERIAL_CLASSES:
            raise InputError(
                f"material {self.name!r} has unknown class {self.kind!r}; "
                f"use one of {', '.join(MATERIAL_CLASSES)}."
            )


@dataclass
class LabelMap:
    """Image value -> material, and image value -> SE grain ID (0 = no grain)."""

    materials: dict[int, Material]
    grains: dict[int, int] = field(default_factory=dict)

    @classmethod
    def default(cls) -> LabelMap:
        """0 = PORE, 1 = CAM, 2 = SE, 3 = LE, 4 = CBD (the generators' convention)."""
        names = {0: "PORE", 1: "CAM", 2: "SE", 3: "LE", 4: "CBD"}
        return cls({v: Material(n, n) for v, n in names.items()})

    def values_of(self, name_or_kind: str) -> list[int]:
        """Image values whose material name or class is ``name_or_kind``."""
        vals = [v for v, m in self.materials.items() if name_or_kind in (m.name, m.kind)]
        if not vals:
            known = sorted({n for m in self.materials.values() for n in (m.name, m.kind)})
            raise InputError(f"unknown material {name_or_kind!r}; the label map knows {', '.join(known)}.")
        return vals


@dataclass
class VoxelImage:
    """A label image with its label map and voxel edge length ``voxel_size`` (m).

    ``grains`` (optional): int32 SE grain ID per voxel (0 = none), e.g. from segmentation;
    when given it takes precedence over the label map's grain IDs.
    ``inactive_faces`` (optional): ``(fx, fy, fz)`` boolean arrays of shapes
    ``(nx-1, ny, nz)``, ``(nx, ny-1, nz)``, ``(nx, ny, nz-1)``; True marks the face between
    voxel ``i`` and ``i+1`` along that axis as inactive (delaminated, no charge transfer).
    """

    labels: np.ndarray
    voxel_size: float
    label_map: LabelMap = field(default_factory=LabelMap.default)
    grains: np.ndarray | None = None
    inactive_faces: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __post_init__(self):
        self.labels = np.asarray(self.labels)
        if self.labels.ndim != 3:
            raise InputError(f"a voxel image must be 3D (x, y, z); got shape {self.labels.shape}.")
        if not np.issubdtype(self.labels.dtype, np.integer):
            raise InputError(f"labels must be integers, got dtype {self.labels.dtype}.")
        if not (np.isfinite(self.voxel_size) and self.voxel_size > 0):
            raise InputError(f"voxel size must be a positive length, got {self.voxel_size!r} m.")
        unknown = set(np.unique(self.labels).tolist()) - set(self.label_map.materials)
        if unknown:
            raise InputError(
                f"image values {sorted(unknown)} are not in the label map; add them to the label map "
                f"(known values: {sorted(self.label_map.materials)})."
            )
        if self.grains is not None:
            grains = np.asarray(self.grains)
            if grains.shape != self.labels.shape:
                raise InputError(
                    f"grain-ID image shape {grains.shape} differs from the label image shape "
                    f"{self.labels.shape}; both must describe the same voxels."
                )
            if not np.issubdtype(grains.dtype, np.integer) or (grains.size and grains.min() < 0):
                raise InputError("grain IDs must be non-negative integers (0 = no grain).")
            self.grains = grains.astype(np.int32, copy=False)
        if self.inactive_faces is not None:
            n = self.labels.shape
            faces = tuple(np.asarray(f, dtype=bool) for f in self.inactive_faces)
            want = [tuple(n[j] - (1 if j == a else 0) for j in range(3)) for a in range(3)]
            if len(faces) != 3 or any(f.shape != w for f, w in zip(faces, want, strict=False)):
                raise InputError(
                    f"inactive_faces must be three boolean arrays of shapes {want}; "
                    f"got {[f.shape for f in faces]}."
                )
            self.inactive_faces = faces

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.labels.shape)

    def mask(self, name_or_kind: str) -> np.ndarray:
        """Boolean mask of the voxels of a material name or class."""
        return np.isin(self.labels, self.label_map.values_of(name_or_kind))

    def grain_ids(self) -> np.ndarray:
        """SE grain ID per voxel (0 = none): ``grains`` if set, else from the label map."""
        if self.grains is not None:
            return self.grains
        lut = np.zeros(int(self.labels.max()) + 1, dtype=np.int32)
        for value, gid in self.label_map.grains.items():
            if value < lut.size:
                lut[value] = gid
        return lut[self.labels]

"""The virtual cell: the cathode voxel image plus the planar layers along x (MODEL.md §1).

    [anode CC] [Li metal] [separator] [composite cathode] [cathode CC]
    x = 0 ------------------------------------------------------> x = total_thickness

Contract for the meshing layer (DESIGN.md §2):
- ``VirtualCell.x_layers()`` returns the layers in this order as :class:`XLayer` objects, each
  with its material, its extent ``[x0, x1]`` (m, cell coordinates: x = 0 is the outer face of
  the anode collector) and the x cell ``edges`` (m, absolute) to mesh it with. Layers of zero
  thickness are omitted (a collector of thickness 0 is just the boundary face; a Li metal of
  thickness 0 means the anode reaction acts on the separator's outer face).
- The cathode layer has one cell per voxel (uniform, ``cathode.voxel_size``); its image index 0
  (separator side) starts at ``cathode_x0``. Planar layers are graded geometrically from the
  voxel size at the cathode side up to ``max_cell_size`` (see :func:`graded_sizes`), so a
  500 um separator costs tens of cells, not 1000 voxel layers.
- Planar layers span the whole y-z cross-section of the cathode image.
- ``VirtualCell.x_edges()`` concatenates all layer edges into the grid's x edges.

Layer materials (strings the meshing layer maps to its codes): ``"CC"`` (current collector),
``"LI"`` (Li metal), ``"SE"`` (dense solid-electrolyte separator) or ``"LE"`` (porous separator
soaked with liquid electrolyte, homogenized by ``porosity`` and ``conductivity_factor``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fem_assb.errors import InputError
from fem_assb.structure.image import VoxelImage
from fem_assb.units import to_si

SEPARATOR_MATERIALS = ("SE", "LE")
#: Lateral (y, z) sides of the cell: insulating, or periodic (joined to the opposite side).
LATERAL = ("insulating", "periodic")


def _length(value, name: str) -> float:
    """A length in m from ``"500 um"`` (a bare number needs a unit: it is an error)."""
    return to_si(value, "m", name=name)


def graded_sizes(length: float, first: float, growth: float, largest: float) -> np.ndarray:
    """Cell sizes (m) filling ``length`` (m): ``first``, then growing by ``growth`` up to ``largest``.

    The fewest cells whose geometric sizes reach ``length`` are taken and all scaled by the same
    factor (<= 1) to fit exactly, so no cell exceeds ``largest`` and neighbours keep the ratio.
    """
    if length <= 0:
        return np.zeros(0)
    if not (first > 0 and largest >= first and growth >= 1.0):
        raise InputError(
            f"cell grading needs 0 < first cell ({first} m) <= largest ({largest} m) and growth >= 1 "
            f"(got {growth})."
        )
    sizes = []
    h, total = first, 0.0
    while total < length * (1 - 1e-12):
        sizes.append(h)
        total += h
        h = min(h * growth, largest)
    sizes = np.array(sizes)
    return sizes * (length / sizes.sum())


@dataclass
class Separator:
    """Separator layer: ``material`` "SE" (dense) or "LE" (porous, soaked), ``thickness`` [m].

    ``conductivity_factor``: effective / bulk ionic conductivity of the layer, in (0, 1]; for
    "LE" default 0.5 (MODEL.md §1, seed 001); for "SE" default None, the materials'
    ``separator.kappa_factor`` (1: the separator conducts like the composite's SE). The cell
    forms use kappa_separator = factor * kappa(SE). ``porosity`` applies to "LE" only, default
    0.5. ``grading``: "cathode" refines
    only at the cathode side, "both" at both faces (default for "LE", whose concentration
    varies at the Li side too).
    """

    material: str
    thickness: float
    porosity: float | None = None
    conductivity_factor: float | None = None
    grading: str | None = None

    def __post_init__(self):
        if self.material not in SEPARATOR_MATERIALS:
            raise InputError(
                f"separator material {self.material!r} is unknown; use 'SE' (dense solid electrolyte) "
                f"or 'LE' (porous separator with liquid electrolyte)."
            )
        if not self.thickness > 0:
            raise InputError(f"separator thickness must be positive, got {self.thickness} m.")
        if self.material == "LE":
            self.porosity = 0.5 if self.porosity is None else float(self.porosity)
            self.conductivity_factor = (
                0.5 if self.conductivity_factor is None else float(self.conductivity_factor)
            )
            if not (0 < self.porosity <= 1 and 0 < self.conductivity_factor <= 1):
                raise InputError("separator porosity and conductivity_factor must lie in (0, 1].")
        else:
            if self.porosity is not None:
                raise InputError("porosity applies to an 'LE' separator only; remove it.")
            if self.conductivity_factor is not None:
                self.conductivity_factor = float(self.conductivity_factor)
                if not 0 < self.conductivity_factor <= 1:
                    raise InputError("separator conductivity_factor must lie in (0, 1].")
        self.grading = self.grading or ("both" if self.material == "LE" else "cathode")
        if self.grading not in ("cathode", "both"):
            raise InputError(f"separator grading must be 'cathode' or 'both', got {self.grading!r}.")


@dataclass
class XLayer:
    """One layer of the cell along x: name, material, extent [x0, x1] (m) and cell edges (m)."""

    name: str
    material: str
    x0: float
    x1: float
    edges: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.edges) - 1


@dataclass
class VirtualCell:
    """Cathode image + planar layers. Thicknesses in m (>= 0; 0 = layer absent).

    ``max_cell_size`` (m): largest x cell in the graded planar layers (default 20 voxels);
    ``growth``: size ratio of neighbouring graded cells (default 1.2); ``lateral``: the y and z
    sides, "insulating" (default) or "periodic" (each joined to the opposite side: the cathode
    image is one period of a laterally infinite electrode, and should itself be periodic);
    ``cam_materials``: the CAM-class label names with their own parameter set (meshing
    material codes CAM_EXTRA).
    """

    cathode: VoxelImage
    separator: Separator
    li_metal_thickness: float = 0.0
    anode_collector_thickness: float = 0.0
    cathode_collector_thickness: float = 0.0
    max_cell_size: float | None = None
    growth: float = 1.2
    lateral: str = "insulating"
    #: CAM-class material names (label map) with a CAM parameter set of their own
    #: (``materials.cams``, in that order); the other CAM voxels take ``materials.cam``
    cam_materials: tuple = ()

    def __post_init__(self):
        if not isinstance(self.cathode, VoxelImage):
            raise InputError("VirtualCell.cathode must be a VoxelImage.")
        if self.lateral not in LATERAL:
            raise InputError(
                f"lateral = {self.lateral!r} is unknown; use 'insulating' or 'periodic' (the y and z "
                "sides joined to the opposite side)."
            )
        for name in ("li_metal_thickness", "anode_collector_thickness", "cathode_collector_thickness"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a length >= 0, got {value} m.")
        h = self.cathode.voxel_size
        self.max_cell_size = 20 * h if self.max_cell_size is None else float(self.max_cell_size)
        if self.max_cell_size < h:
            raise InputError(
                f"max_cell_size ({self.max_cell_size} m) is smaller than the voxel size ({h} m); "
                "choose at least one voxel."
            )
        if not 1.0 <= self.growth <= 2.0:
            raise InputError(f"growth must lie in [1, 2], got {self.growth}.")
        kinds = {m.kind for v, m in self.cathode.label_map.materials.items()}
        present = {k for k in ("SE", "LE") if k in kinds and self.cathode.mask(k).any()}
        # No electrolyte in the image: a dense CAM film, its ions through the separator face.
        if present and self.separator.material not in present:
            raise InputError(
                f"the separator is {self.separator.material!r} but the cathode electrolyte is "
                f"{' and '.join(sorted(present))}; use the same electrolyte kind."
            )

    @classmethod
    def from_dict(cls, cathode: VoxelImage, spec: dict) -> VirtualCell:
        """Build from a case dict with unit strings, e.g.::

        separator: {material: SE, thickness: 500 um}
        li_metal: 50 um
        anode_collector: 0 um
        cathode_collector: 10 um
        max_cell_size: 10 um
        growth: 1.2
        """
        known = {"separator", "li_metal", "anode_collector", "cathode_collector", "max_cell_size", "growth"}
        known.add("lateral")
        unknown = set(spec) - known
        if unknown:
            raise InputError(f"unknown virtual-cell keys {sorted(unknown)}; known: {sorted(known)}.")
        if "separator" not in spec or not isinstance(spec["separator"], dict):
            raise InputError("the virtual cell needs 'separator: {material: SE|LE, thickness: <length>}'.")
        sep = dict(spec["separator"])
        if "thickness" not in sep or "material" not in sep:
            raise InputError("the separator needs 'material' (SE or LE) and 'thickness' (e.g. '500 um').")
        sep["thickness"] = _length(sep["thickness"], "separator thickness")
        bad = set(sep) - {"material", "thickness", "porosity", "conductivity_factor", "grading"}
        if bad:
            raise InputError(f"unknown separator keys {sorted(bad)}.")
        return cls(
            cathode=cathode,
            separator=Separator(**sep),
            li_metal_thickness=_length(spec.get("li_metal", "0 m"), "li_metal"),
            anode_collector_thickness=_length(spec.get("anode_collector", "0 m"), "anode_collector"),
            cathode_collector_thickness=_length(spec.get("cathode_collector", "0 m"), "cathode_collector"),
            max_cell_size=(
                _length(spec["max_cell_size"], "max_cell_size") if "max_cell_size" in spec else None
            ),
            growth=float(spec.get("growth", 1.2)),
            lateral=str(spec.get("lateral", "insulating")),
        )

    @property
    def periodic_axes(self) -> tuple[int, ...]:
        """The image axes that wrap around: (1, 2) with periodic sides, () with insulating ones."""
        return (1, 2) if self.lateral == "periodic" else ()

    @property
    def cathode_thickness(self) -> float:
        """Cathode thickness along x (m)."""
        return self.cathode.shape[0] * self.cathode.voxel_size

    @property
    def cathode_x0(self) -> float:
        """x (m) of the separator | cathode interface (image index 0 starts here)."""
        return self.anode_collector_thickness + self.li_metal_thickness + self.separator.thickness

    @property
    def total_thickness(self) -> float:
        return self.cathode_x0 + self.cathode_thickness + self.cathode_collector_thickness

    def _uniform(self, length: float) -> np.ndarray:
        n = max(1, math.ceil(length / self.max_cell_size - 1e-9))
        return np.full(n, length / n)

    def x_layers(self) -> list[XLayer]:
        """Layers from the anode collector to the cathode collector, with graded x cell edges."""
        h, g, hmax = self.cathode.voxel_size, self.growth, self.max_cell_size
        sep = self.separator
        if sep.grading == "both":
            half = graded_sizes(sep.thickness / 2, h, g, hmax)
            sep_sizes = np.concatenate([half, half[::-1]])  # Li side ... cathode side
        else:
            sep_sizes = graded_sizes(sep.thickness, h, g, hmax)[::-1]  # fine at the cathode side
        li_first = sep_sizes[0] if sep_sizes.size else h
        li_sizes = graded_sizes(self.li_metal_thickness, min(li_first, hmax), g, hmax)[::-1]
        parts = [
            (
                "anode_collector",
                "CC",
                self._uniform(self.anode_collector_thickness)
                if self.anode_collector_thickness > 0
                else np.zeros(0),
            ),
            ("li_metal", "LI", li_sizes),
            ("separator", sep.material, sep_sizes),
            ("cathode", "CATHODE", np.full(self.cathode.shape[0], h)),
            (
                "cathode_collector",
                "CC",
                self._uniform(self.cathode_collector_thickness)
                if self.cathode_collector_thickness > 0
                else np.zeros(0),
            ),
        ]
        layers, x = [], 0.0
        for name, material, sizes in parts:
            if sizes.size == 0:
                continue
            edges = x + np.concatenate([[0.0], np.cumsum(sizes)])
            layers.append(XLayer(name, material, float(edges[0]), float(edges[-1]), edges))
            x = float(edges[-1])
        return layers

    def x_edges(self) -> np.ndarray:
        """All x cell edges of the cell (m), strictly increasing, from 0 to ``total_thickness``."""
        layers = self.x_layers()
        return np.concatenate([layers[0].edges] + [lay.edges[1:] for lay in layers[1:]])

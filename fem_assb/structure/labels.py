"""The label-map YAML: which image value is which material, SE grain IDs, voxel size.

Format (docs/structures.md)::

    voxel_size: 0.5 um            # edge length of a voxel, with unit
    labels:
      0: PORE                     # a material class used as its own name
      1: CAM
      2: {material: SE, grain: 1} # SE voxels of grain 1
      3: {material: SE, grain: 2}
      4: {material: AL_LCO, class: CAM}   # a further CAM kind: own name, class CAM
    # optional:
    axes: xyz                     # order of the file's array axes (e.g. zyx for some TIFF stacks)
    grain_image: grains.tif       # SE grain IDs per voxel (int, 0 = none), path relative to this file
    raw: {shape: [100, 60, 60], dtype: uint8, byte_order: little}   # for .raw/.bin images
    dataset: labels               # dataset name inside an .h5 file

Material classes: CAM, SE, LE, CBD, PORE (``fem_assb.structure.image.MATERIAL_CLASSES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fem_assb.errors import InputError
from fem_assb.structure.image import MATERIAL_CLASSES, LabelMap, Material
from fem_assb.units import to_si

_TOP_KEYS = ("voxel_size", "labels", "axes", "grain_image", "raw", "dataset")


@dataclass
class LabelFile:
    """Contents of a label-map YAML: the map and the optional reading hints."""

    label_map: LabelMap
    voxel_size: float | None = None  # m
    axes: str | None = None
    grain_image: Path | None = None
    raw: dict = field(default_factory=dict)
    dataset: str | None = None


def parse_voxel_size(value, name: str = "voxel_size") -> float:
    """Voxel edge length in m from ``"0.5 um"``; a bare number is an error (say the unit)."""
    h = to_si(value, "m", name=name)
    if not h > 0:
        raise InputError(f"{name} = {value!r} must be a positive length, e.g. '0.5 um'.")
    return h


def _material(value: int, spec) -> tuple[Material, int]:
    """One entry of ``labels:`` -> (Material, grain ID or 0)."""
    where = f"label {value}"
    if isinstance(spec, str):
        spec = {"material": spec}
    if not isinstance(spec, dict):
        raise InputError(
            f"{where}: write a material name (e.g. CAM) or a mapping {{material: ..., class: ...}}."
        )
    unknown = set(spec) - {"material", "class", "grain"}
    if unknown:
        raise InputError(f"{where}: unknown keys {sorted(unknown)}; use material, class, grain.")
    name = spec.get("material")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: 'material' (a name such as CAM, SE, AL_LCO) is missing.")
    kind = spec.get("class", name if name in MATERIAL_CLASSES else None)
    if kind is None:
        raise InputError(
            f"{where}: material {name!r} is not one of {', '.join(MATERIAL_CLASSES)}; "
            f"say which class it belongs to, e.g. {{material: {name}, class: CAM}}."
        )
    grain = spec.get("grain", 0)
    if not isinstance(grain, int) or isinstance(grain, bool) or grain < 0:
        raise InputError(f"{where}: grain must be a non-negative integer ID, got {grain!r}.")
    if grain and kind != "SE":
        raise InputError(f"{where}: only SE voxels carry grain IDs, but {name!r} is of class {kind}.")
    return Material(name, kind), grain


def label_map_from_dict(labels: dict) -> LabelMap:
    """Build a LabelMap from the ``labels:`` mapping of the YAML."""
    if not isinstance(labels, dict) or not labels:
        raise InputError("'labels:' must map image values to materials, e.g. {0: PORE, 1: CAM, 2: SE}.")
    materials, grains = {}, {}
    for key, spec in labels.items():
        try:
            value = int(key)
        except (TypeError, ValueError):
            raise InputError(f"label key {key!r} is not an integer image value.") from None
        if isinstance(key, float) or isinstance(key, bool):
            raise InputError(f"label key {key!r} is not an integer image value.")
        materials[value], gid = _material(value, spec)
        if gid:
            grains[value] = gid
    return LabelMap(materials, grains)


def label_map_to_dict(label_map: LabelMap) -> dict:
    """The ``labels:`` mapping for a LabelMap (inverse of :func:`label_map_from_dict`)."""
    out = {}
    for value, mat in sorted(label_map.materials.items()):
        gid = label_map.grains.get(value, 0)
        if mat.name == mat.kind and not gid:
            out[int(value)] = mat.name
        else:
            entry = {"material": mat.name}
            if mat.name != mat.kind:
                entry["class"] = mat.kind
            if gid:
                entry["grain"] = int(gid)
            out[int(value)] = entry
    return out


def yaml_error_text(exc) -> str:
    """A YAML parse error in one line: ``line L, column C: problem``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem


def load_label_file(path) -> LabelFile:
    """Read a label-map YAML file (see the module docstring for the format)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"label map {path} does not exist.") from None
    except (IsADirectoryError, UnicodeDecodeError):
        raise InputError(f"label map {path} is not a YAML file; give the label map's .yaml file.") from None
    except yaml.YAMLError as exc:
        raise InputError(f"label map {path} is not valid YAML ({yaml_error_text(exc)}).") from None
    if not isinstance(data, dict) or "labels" not in data:
        raise InputError(
            f"label map {path} needs a 'labels:' mapping (e.g. labels: {{0: PORE, 1: CAM, 2: SE}})."
        )
    unknown = set(data) - set(_TOP_KEYS)
    if unknown:
        raise InputError(f"label map {path}: unknown keys {sorted(unknown)}; known: {', '.join(_TOP_KEYS)}.")
    out = LabelFile(label_map_from_dict(data["labels"]))
    if data.get("voxel_size") is not None:
        out.voxel_size = parse_voxel_size(data["voxel_size"], f"voxel_size in {path}")
    out.axes = data.get("axes")
    if data.get("grain_image"):
        out.grain_image = path.parent / str(data["grain_image"])
    raw = data.get("raw") or {}
    if not isinstance(raw, dict):
        raise InputError(
            f"label map {path}: 'raw' must be a mapping {{shape: [nx, ny, nz], dtype: uint8, ...}}."
        )
    out.raw = raw
    out.dataset = data.get("dataset")
    return out


def dump_label_file(label_map: LabelMap, voxel_size: float | None = None, **extra) -> str:
    """YAML text of a label map (voxel size written in um); ``extra`` keys are added as given."""
    data = {}
    if voxel_size is not None:
        data["voxel_size"] = f"{voxel_size * 1e6:.12g} um"
    data["labels"] = label_map_to_dict(label_map)
    for key, value in extra.items():
        if key not in _TOP_KEYS:
            raise InputError(f"unknown label-file key {key!r}.")
        if value is not None:
            data[key] = value
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)

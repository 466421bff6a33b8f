"""Load and validate a YAML case: every quantity with units -> SI, every mistake -> InputError.

Checks: unknown keys (with the nearest valid name), missing or inconsistent units, negative or
NaN values where they make no sense, an initial stoichiometry outside a function's valid range
(materials), cut-off voltages on the wrong side of the initial open-circuit voltage, unknown
presets, generator keys and output fields. Paths in the case are relative to the case file.

Rule (docs/cases.md, "What is not supported yet"): every key a case or a preset accepts either
changes the result or is rejected here, at load time: physics that is not built yet with a
:class:`~fem_assb.errors.NotSupportedError` naming the roadmap issue that adds it, a key that has
no effect in this case with an :class:`~fem_assb.errors.InputError` saying why.
tests/test_case_keys.py walks every key of these tables and checks one or the other.
"""

from __future__ import annotations

import copy
import inspect
import math
from pathlib import Path

import numpy as np

from fem_assb.case.cams import check_cam_materials
from fem_assb.case.schema import (
    FIELD_NAMES,
    IMPEDANCE_SOLVERS,
    IMPEDANCE_STATES,
    STEP_KINDS,
    Case,
    Cell,
    Impedance,
    Newton,
    Numerics,
    Operation,
    Outputs,
    Render,
    Step,
    Structure,
    Sweep,
)
from fem_assb.errors import InputError, NotSupportedError, did_you_mean
from fem_assb.materials import get_system, list_systems
from fem_assb.materials.spec import check_keys, temperature
from fem_assb.structure.image import LabelMap
from fem_assb.structure.labels import label_map_from_dict
from fem_assb.units import quantity, to_si

TOP_KEYS = (
    "name", "description", "structure", "cell", "materials", "operation", "numerics", "outputs", "study",
    "impedance",
)


def load_case(path) -> Case:
    """Read, validate and resolve the case file ``path`` (YAML) into a :class:`Case` in SI."""
    import yaml

    path = Path(path)
    if path.is_dir():
        raise InputError(f"case file {str(path)!r} is a folder; give the case's YAML file (e.g. case.yaml).")
    if not path.is_file():
        raise InputError(f"case file {str(path)!r} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        from fem_assb.structure.labels import yaml_error_text

        raise InputError(f"{path} is not valid YAML ({yaml_error_text(exc)}).") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text (YAML) file; give the case's .yaml file.") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path} must contain a mapping with the sections {', '.join(TOP_KEYS)}.")
    try:
        return resolve_case(raw, base_dir=path.parent.resolve(), path=path.resolve(), default_name=path.stem)
    except InputError as err:
        raise type(err)(f"{path}: {err}") from None  # keeps NotSupportedError


def resolve_case(
    raw: dict,
    base_dir: Path | None = None,
    path: Path | None = None,
    default_name: str = "case",
    image=None,
) -> Case:
    """Resolve a parsed case dict (see docs/cases.md) into a :class:`Case` (SI units).

    ``image``: an in-memory :class:`~fem_assb.structure.image.VoxelImage` that stands for the
    structure section (``fem_assb.load_case`` with an array): the checks that read an image's
    contents (CBD, several CAM materials, grains) run on it as on an image file; the caller
    sets the returned case's ``structure``.

    Raises InputError for a wrong input and NotSupportedError (an InputError) for an input whose
    physics or study is not built yet (the message names the roadmap issue).
    """
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    check_keys(raw, TOP_KEYS, "the case file")
    for key in ("structure", "materials"):
        if key not in raw:
            raise InputError(f"the case has no '{key}' section; see docs/cases.md.")
    name = str(raw.get("name", default_name))
    op_raw = _section(raw, "operation")
    T = temperature(op_raw["temperature"], "operation.temperature") if "temperature" in op_raw else None
    overrides = _material_overrides(raw["materials"])
    _check_temperature_given_once(overrides, op_raw)
    system = _materials(raw["materials"], T, base_dir)
    T = system.temperature
    _check_materials_supported(system, overrides)
    notes: list[str] = []
    structure, image = _structure(raw["structure"], base_dir) if image is None else (Structure(), image)
    cell = _cell(_section(raw, "cell"), system)
    _check_lateral(structure, cell, notes)
    operation = _operation(op_raw, system, T, notes)
    _check_effective(system, overrides, image, cell, op_raw, structure.segment)
    _check_cbd(system, overrides, structure, image)
    notes += check_cam_materials(system, image, overrides)  # materials.cams (several CAM materials)
    numerics = _numerics(_section(raw, "numerics"))
    outputs = _outputs(_section(raw, "outputs"), name)
    study = None
    if "study" in raw:  # a seed study (fem_assb.case.study): its variants resolved now too
        from fem_assb.case.study import resolve_study

        study = resolve_study(raw, base_dir, name, resolve_case)
    impedance = _impedance(raw["impedance"], operation, system) if "impedance" in raw else None
    if "sweep" in op_raw:  # every point resolved now: a bad value fails before anything runs
        operation.sweep = _resolve_sweep(raw, base_dir, name)
    case = Case(
        name=name,
        description=str(raw.get("description", "")),
        structure=structure,
        cell=cell,
        materials=system,
        operation=operation,
        numerics=numerics,
        outputs=outputs,
        path=path,
        raw=copy.deepcopy(raw),
        notes=notes,
        study=study,
        impedance=impedance,
    )
    if study is not None:
        from fem_assb.case.study import check_comparisons

        study.variants[0].case = case
        check_comparisons(study)
    return case


def _section(raw, key) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise InputError(f"'{key}' must be a mapping of keys, got {type(value).__name__}.")
    return value


# --- what is not supported yet -------------------------------------------------------------------

#: The roadmap issues that add the physics a case may name before it is built (docs/cases.md).
ROADMAP = {
    16: "interface physics",
    17: "liquid electrolytes",
    18: "impedance",
    19: "studies",
    20: "performance",
}


def _not_supported(key: str, what: str, issue: int, fix: str) -> NotSupportedError:
    """'<key>: <what> is not supported yet (roadmap issue #NN, <title>); <fix>.'"""
    return NotSupportedError(
        f"{key}: {what} is not supported yet (roadmap issue #{issue}, {ROADMAP[issue]}); {fix}."
    )


def _material_overrides(spec) -> dict:
    """The override sections of the case's ``materials`` (everything but ``preset``)."""
    if isinstance(spec, dict):
        return {k: v for k, v in spec.items() if k != "preset"}
    return {}


def _override(overrides: dict, section: str) -> dict:
    value = overrides.get(section)
    return value if isinstance(value, dict) else {}


def _check_temperature_given_once(overrides: dict, op_raw: dict) -> None:
    if "temperature" in overrides and "temperature" in op_raw:
        raise InputError(
            "materials.temperature has no effect when operation.temperature is given (the operation "
            "temperature is used); give the temperature once, as operation.temperature."
        )


#: materials override keys that only a liquid electrolyte (issue #17) would use.
LIQUID_ONLY = {
    "electrolyte": ("D", "tdf"),
    "separator": ("D_factor",),
}


def _check_solid_only(system, overrides: dict) -> None:
    """With a solid electrolyte, the keys of the salt's transport have no physics (#17 builds it
    for liquids only): rejected with the roadmap issue, as before the liquid was built."""
    if system.electrolyte.kind == "liquid":
        return
    for section, keys in LIQUID_ONLY.items():
        for key in keys:
            if key in _override(overrides, section):
                raise _not_supported(
                    f"materials.{section}.{key}",
                    "transport of the salt concentration in the electrolyte (a liquid or a binary "
                    "electrolyte)",
                    17,
                    f"remove {section}.{key}: a solid electrolyte is a single-ion conductor (t_plus = 1) "
                    "at constant concentration",
                )


def _check_materials_supported(system, overrides: dict) -> None:
    """Reject, with the roadmap issue, material inputs whose physics is not built yet (preset or
    override): salt-transport keys and porous separators with a solid electrolyte, a film at a
    liquid interface (#17); and a CBD without pores. A liquid electrolyte with a porous LE
    separator, LE pores and the CBD is built (docs/liquid.md; a CBD section needs a liquid
    electrolyte, materials.system). A resistive film is checked by :func:`_check_film`."""
    ely = system.electrolyte
    _check_solid_only(system, overrides)
    if ely.kind == "liquid":  # LE pores, the CBD and an LE separator (docs/liquid.md)
        _check_cbd_porosity(system, overrides)
        _check_film(system, _override(overrides, "film"))
        if system.film is not None and (system.film.l_cam > 0 or system.film.l_se > 0):
            raise _not_supported(
                "materials.film", "a resistive film at a CAM | liquid interface", 17, "remove the film"
            )
        return
    if "t_plus" in _override(overrides, "electrolyte"):
        c = np.linspace(0.05, 3.0, 12) * ely.c0
        if not np.allclose(np.asarray(ely.t_plus(c, system.temperature, np)) * np.ones_like(c), 1.0):
            raise _not_supported(
                "materials.electrolyte.t_plus",
                "a transference number other than 1 (concentration transport in the electrolyte)",
                17,
                "remove t_plus: a solid electrolyte is a single-ion conductor (t_plus = 1)",
            )
    if system.separator.porosity > 0:
        raise _not_supported(
            "materials.separator.porosity",
            "a porous separator",
            17,
            "remove separator.porosity (a solid-electrolyte separator is dense)",
        )
    _check_film(system, _override(overrides, "film"))


def _check_cbd_porosity(system, overrides: dict) -> None:
    """A CBD conducts ions through its liquid-filled pores only (docs/liquid.md): its porosity,
    the storage eps and the wetted fraction of a CAM | CBD facet, must be > 0 (the materials
    schema rejects 0, and factors of 0, first) and < 1 (a CBD without solid is a liquid pore:
    label it LE)."""
    cbd = system.cbd
    if cbd is None:
        return
    where = "materials.cbd" if _override(overrides, "cbd") else f"materials.preset ({system.name}): cbd"
    if not 0 < float(cbd.porosity) < 1:
        raise InputError(
            f"{where}.porosity = {float(cbd.porosity):g}: the carbon-binder domain conducts ions only "
            "through its liquid-filled pores and reacts with the CAM only there, so a CBD without "
            "porosity is no conductor; give cbd.porosity in (0, 1) (seed 001: 0.5), or relabel the "
            "CBD voxels as PORE (an inert solid) or LE (porosity 1)."
        )


def _structure_has_cbd(structure, image) -> bool | None:
    """True if the structure has (or its generator makes) CBD voxels, False if not, None when a
    structure.modify operation may change that."""
    from fem_assb.structure.analysis import class_mask

    if image is not None:
        return bool(class_mask(image, ("CBD",)).any())
    if structure.modify:
        return None
    gen = structure.generator or {}
    parts = [gen] + [gen[k] for k in ("first", "second") if isinstance(gen.get(k), dict)]
    return any(to_si(p.get("cbd_fraction", gen.get("cbd_fraction", 0)), "") > 0 for p in parts)


def _check_cbd(system, overrides: dict, structure, image) -> None:
    """The CBD of the structure and the materials' cbd section (docs/liquid.md): CBD voxels need
    a liquid electrolyte and a cbd section; a cbd override without CBD voxels has no effect."""
    has = _structure_has_cbd(structure, image)
    if has and system.electrolyte.kind != "liquid":
        raise InputError(
            "the structure has a carbon-binder domain (CBD voxels or generator.cbd_fraction) but the "
            f"electrolyte of {system.name} is solid: the CBD is a homogenized medium soaked with a liquid "
            "electrolyte. Use a liquid preset (NMC811_LiPF6), or relabel the CBD as SE (a binder-free "
            "ASSB: generator se_fraction instead of cbd_fraction)."
        )
    if has and system.cbd is None:
        raise InputError(
            "the structure has a carbon-binder domain (CBD) but the materials have no cbd section; "
            "give materials.cbd {porosity: 0.5, kappa_factor: 0.12} (seed 001) or use the "
            "NMC811_LiPF6 preset."
        )
    if has is False and overrides.get("cbd"):
        raise InputError(
            "materials.cbd has no effect: the structure has no carbon-binder domain (no CBD voxels, "
            "generator.cbd_fraction = 0); add CBD to the structure or remove materials.cbd."
        )


def _check_film(system, film_override: dict) -> None:
    """The resistive film (MODEL §3, [003] Eqs. 4-11) acts where l_cam > 0 or l_se > 0. Rejected:
    film keys that have no effect (sigma_cam or D_cam with l_cam = 0, kappa_se with l_se = 0:
    InputError). Any cam.alpha (forms.interface.film_current solves the law for each)."""
    film = system.film
    if film is None:
        return
    idle = [
        k
        for k, l_key in (("sigma_cam", "l_cam"), ("D_cam", "l_cam"), ("kappa_se", "l_se"))
        if k in film_override and not getattr(film, l_key) > 0
    ]
    if idle:
        raise InputError(
            f"materials.film.{idle[0]} has no effect: the film's "
            f"{'CAM' if idle[0] != 'kappa_se' else 'SE'}-side layer has zero thickness "
            f"(film.{'l_cam' if idle[0] != 'kappa_se' else 'l_se'} = 0); give it a thickness or remove "
            f"{idle[0]}."
        )


def _has_grain_boundaries(image, segment=None) -> bool:
    """True if the SE of ``image`` has more than one grain ID; ``image`` None: a generated
    structure, which has grains when it is segmented (``segment``, structure.segment; a
    segmentation without any grain boundary fails when the structure is built)."""
    if image is None:
        return segment is not None
    se = image.mask("SE") if any(m.kind == "SE" for m in image.label_map.materials.values()) else None
    if se is None or not se.any():
        return False
    return np.unique(image.grain_ids()[se]).size > 1


def _check_effective(system, overrides: dict, image, cell, op_raw: dict, segment=None) -> None:
    """Reject inputs that would have no effect in this case (InputError, or NotSupportedError when
    the physics that would use them is not built yet). ``image``: the VoxelImage of an image
    structure, None for a generator; ``segment``: structure.segment (None: not segmented)."""
    gb = system.grain_boundary
    has_gb = _has_grain_boundaries(image, segment)
    if gb is not None and not has_gb:
        key = (
            "materials.grain_boundary"
            if overrides.get("grain_boundary")
            else (f"materials.preset ({system.name}): grain_boundary")
        )
        raise InputError(
            f"{key} has no effect: the structure's SE has no grain IDs, so it has no grain "
            "boundaries. Segment it into grains (structure.segment: {ids: 8}, the watershed of "
            "fem-assb segment), give an image with grain IDs, or remove the grain boundaries with "
            "materials: {grain_boundary: null}."
        )
    if gb is None and has_gb:
        raise InputError(
            "the structure's SE has several grain IDs"
            + (" (structure.segment)" if segment is not None else "")
            + " but the materials have no grain_boundary section: the grain boundaries would "
            "conduct nothing. Give materials.grain_boundary {i_GB0: ...}"
            + (
                ", or remove structure.segment."
                if segment is not None
                else " or one grain ID for the whole SE."
            )
        )
    anode = _override(overrides, "anode")
    for key in ("capacity", "density"):
        if key in anode:
            raise InputError(
                f"materials.anode.{key} has no effect: the energy density counts the Li of an n/p = 1 "
                "anode at 3861 mAh/g (fem_assb.indicators.energy); remove it."
            )
    if "sigma" in anode and not cell.li_metal > 0:
        raise InputError(
            "materials.anode.sigma has no effect without a Li metal layer (cell.li_metal = 0: the Li "
            "reaction acts on the separator face); give cell.li_metal a thickness or remove it."
        )
    seed_op = _override(overrides, "operation")
    for key in ("max_voltage", "cathode_thickness"):
        if key in seed_op:
            raise InputError(
                f"materials.operation.{key} has no effect (seed reference data); remove it "
                "(the charge cut-off goes in operation.steps, the cathode thickness in structure)."
            )
    if "steps" in op_raw:
        given = sorted(set(seed_op) & {"current_density", "cutoff_voltage"})
        if given:
            raise InputError(
                f"materials.operation.{given[0]} has no effect when operation.steps is given (it only "
                "fills in the default step); set it in operation.steps."
            )


# --- materials ------------------------------------------------------------------------------------


def _materials(spec, T, base_dir):
    if isinstance(spec, str):
        spec = {"preset": spec}
    if not isinstance(spec, dict) or "preset" not in spec:
        raise InputError(
            "materials needs 'preset: NAME' (see `fem-assb materials list`), plus optional overrides."
        )
    overrides = {k: v for k, v in spec.items() if k != "preset"}
    preset = str(spec["preset"])
    if preset not in list_systems():
        raise InputError(
            f"materials.preset {preset!r} is unknown{did_you_mean(preset, list_systems())}; "
            f"known: {', '.join(list_systems())}."
        )
    try:
        return get_system(preset, overrides=overrides, temperature=T, base_dir=base_dir)
    except InputError as err:
        msg = str(err)
        raise InputError(msg if msg.startswith("materials") else f"materials ({preset}): {msg}") from None


# --- structure ------------------------------------------------------------------------------------


def _generator_function(kind: str):
    from fem_assb.structure import generate

    kinds = generate.KINDS
    if kind not in kinds:
        raise InputError(
            f"structure.generator kind {kind!r} is unknown{did_you_mean(kind, kinds)}; "
            f"use one of {', '.join(kinds)}."
        )
    return kinds[kind]


def _structure(spec, base_dir) -> tuple[Structure, object]:
    """(Structure, VoxelImage) of the case; the image is read now for an image structure (a wrong
    file, label or voxel size fails at load time), None for a generator (run when built)."""
    if not isinstance(spec, dict):
        raise InputError(
            "structure must be a mapping: {image: FILE, voxel_size: ..., labels: {...}} "
            "or {generator: {kind: composite, ...}}."
        )
    if "image" in spec and "generator" in spec:
        raise InputError("structure: give either 'image' or 'generator', not both.")
    segment = _segment(spec.get("segment"))
    modify = _modify(spec.get("modify"))
    if "generator" in spec:
        gen = spec["generator"]
        if isinstance(gen, str):  # flat form: generator: composite, plus its keys beside it
            beside = {k: v for k, v in spec.items() if k not in ("generator", "segment", "modify")}
            gen = {"kind": gen, **beside}
        elif isinstance(gen, dict):
            check_keys(spec, {"generator", "segment", "modify"}, "structure")
            gen = dict(gen)
        else:
            raise InputError(
                "structure.generator must be a name (composite) or a mapping {kind: composite, ...}."
            )
        gen.setdefault("kind", "composite")
        func = _generator_function(str(gen["kind"]))
        params = inspect.signature(func).parameters
        check_keys(gen, set(params) | {"kind"}, "structure.generator")
        missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in gen]
        if missing:
            raise InputError(f"structure.generator ({gen['kind']}) needs {', '.join(missing)}.")
        for key in ("voxel_size", "d_cam", "d_se", "d_cbd"):
            if key in gen:
                value = to_si(gen[key], "m", name=f"structure.generator.{key}")
                if not value > 0:
                    raise InputError(f"structure.generator.{key} = {gen[key]!r} must be a positive length.")
        _check_composition(gen)
        _check_generator_keys(gen)
        return Structure(generator=gen, segment=segment, modify=modify), None
    if "image" not in spec:
        raise InputError("structure needs 'image: FILE' (with voxel_size and labels) or 'generator: {...}'.")
    check_keys(spec, IMAGE_KEYS + ("segment", "modify"), "structure")
    image = Path(str(spec["image"]))
    image = image if image.is_absolute() else (base_dir / image)
    if not image.is_file():
        raise InputError(
            f"structure.image {str(image)!r} does not exist (paths are relative to the case file)."
        )
    h = None
    if "voxel_size" in spec:
        h = to_si(spec["voxel_size"], "m", name="structure.voxel_size")
        if not (math.isfinite(h) and h > 0):
            raise InputError(f"structure.voxel_size = {spec['voxel_size']!r} must be a positive length.")
    structure = Structure(
        image=image.resolve(), voxel_size=h, labels=_labels(spec.get("labels"), base_dir), modify=modify
    )
    built = structure.build()  # read once now: a wrong file, label, voxel size or modification fails here
    if segment is not None:
        if built.grains is not None or built.label_map.grains:
            raise InputError(
                "structure.segment: the image already has SE grain IDs (a grain image or grain: in "
                "the label map) that the segmentation would replace; remove one of the two."
            )
        structure.segment = segment
        built = structure.segmented(built)
    return structure, built


#: keys of an image structure
IMAGE_KEYS = ("image", "voxel_size", "labels")
#: keys of structure.segment (the grain segmentation of fem-assb segment, seed 002)
SEGMENT_KEYS = ("ids", "min_distance", "h", "seed")


def _segment(spec) -> dict | None:
    """structure.segment: {ids: K (default 8), min_distance: N voxels (default 3) | h: H voxels,
    seed: N (random IDs; default: graph colouring)} -> keyword arguments of
    :func:`fem_assb.structure.segment.segment_grains`, or None."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise InputError("structure.segment must be a mapping, e.g. {ids: 8} or {ids: 8, seed: 1}.")
    check_keys(spec, SEGMENT_KEYS, "structure.segment")
    k = _count(spec.get("ids", 8), "structure.segment.ids", minimum=1)
    if k < 2:
        raise InputError(
            "structure.segment.ids = 1 gives every grain the same ID: no grain boundary; give ids >= 2 "
            "(seed 002: 8) or remove structure.segment."
        )
    out = {"k": k}
    if "h" in spec:
        if "min_distance" in spec:
            raise InputError(
                "structure.segment.min_distance has no effect with h (the h-maxima are the markers); "
                "give one of the two."
            )
        h = to_si(spec["h"], "", name="structure.segment.h")
        if not (math.isfinite(h) and h > 0):
            raise InputError(f"structure.segment.h = {spec['h']!r} must be a positive height in voxels.")
        out["h"] = h
    else:
        out["min_distance"] = _count(spec.get("min_distance", 3), "structure.segment.min_distance", minimum=1)
    if "seed" in spec:
        out["seed"] = _count(spec["seed"], "structure.segment.seed", minimum=0)
    return out


def _modify(spec) -> tuple:
    """structure.modify: the validated operations (fem_assb.structure.operations), () without it;
    operations whose physics is not built yet are a NotSupportedError naming their issue."""
    from fem_assb.structure import operations

    for k, entry in enumerate(spec if isinstance(spec, list) else []):
        if not isinstance(entry, dict):
            continue
        for name, (issue, what, fix) in operations.NOT_SUPPORTED.items():
            if name in entry:
                raise _not_supported(f"structure.modify[{k}].{name}", what, issue, fix)
        for (name, option, value), (issue, what, fix) in operations.NOT_SUPPORTED_OPTIONS.items():
            if name in entry and str(entry.get(option)) == value:
                raise _not_supported(f"structure.modify[{k}].{option}", what, issue, fix)
    return operations.parse(spec, "structure.modify")


def _check_generator_keys(gen: dict) -> None:
    """Generator keys checked before the structure is built: ``periodic`` (a valid value) and the
    CBD particle keys, which have no effect without a CBD (``cbd_fraction`` > 0)."""
    kind = gen["kind"]
    layers = [("structure.generator", gen)]
    if kind == "layered":
        common = {k: v for k, v in gen.items() if k not in ("first", "second")}
        for name in ("first", "second"):
            if isinstance(gen.get(name), dict):
                layers.append((f"structure.generator.{name}", {**common, **gen[name]}))
    for where, g in layers:
        from fem_assb.structure.generate import _periodic_axes

        _periodic_axes(g.get("periodic", False))  # validates the value
        cbd = to_si(g.get("cbd_fraction", 0), "", name=f"{where}.cbd_fraction")
        for key in ("d_cbd", "spread_cbd"):  # the CBD particles' size and spread (generate.composite)
            if key in g and not cbd > 0:
                raise InputError(
                    f"{where}.{key} has no effect without a carbon-binder domain ({where}.cbd_fraction "
                    f"= {cbd:g}); give cbd_fraction > 0 or remove {key}."
                )


def _check_composition(gen: dict) -> None:
    """Validate the volume fractions now (the generator itself runs only when the structure is built)."""
    from fem_assb.structure import generate

    keys = ("cam_fraction", "se_fraction", "cbd_fraction", "svf_cam", "density")
    if hasattr(generate, "target_fractions") and any(k in gen for k in keys):
        try:
            generate.target_fractions(**{k: gen[k] for k in keys if k in gen})
        except InputError as err:
            raise InputError(f"structure.generator: {err}") from None


def _labels(spec, base_dir) -> LabelMap | Path | None:
    """structure.labels: the label map inline ({0: PORE, 1: CAM, 2: SE, ...}, the format of
    docs/structures.md) or the path of a label-map YAML file; None: stored with the image."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return Path(spec) if Path(spec).is_absolute() else base_dir / spec
    return label_map_from_dict(spec)


# --- cell -----------------------------------------------------------------------------------------

CELL_KEYS = {
    "separator", "li_metal", "anode_collector", "cathode_collector", "max_cell_size", "growth", "lateral"
}  # fmt: skip
SEPARATOR_KEYS = {"material", "thickness", "porosity", "conductivity_factor"}


def _length(value, name, *, positive=False) -> float:
    out = to_si(value, "m", name=name)
    if not (math.isfinite(out) and (out > 0 if positive else out >= 0)):
        raise InputError(f"{name} = {value!r} must be a length {'> 0' if positive else '>= 0'}.")
    return out


def _cell(spec, system) -> Cell:
    check_keys(spec, CELL_KEYS, "cell")
    sep = spec.get("separator") or {}
    check_keys(sep, SEPARATOR_KEYS, "cell.separator")
    ssep = system.separator
    material = str(sep.get("material", ssep.material))
    if material != ssep.material:
        kind = system.electrolyte.kind
        raise InputError(
            f"cell.separator.material = {material!r} does not fit the {kind} electrolyte of "
            f"{system.name}; use {ssep.material!r}."
        )
    thickness = (
        _length(sep["thickness"], "cell.separator.thickness", positive=True)
        if "thickness" in sep
        else ssep.thickness
    )
    porosity = None
    if material == "LE":  # the porous separator (docs/liquid.md): the cell's value, else the materials'
        porosity = _fraction(sep.get("porosity", ssep.porosity), "cell.separator.porosity")
        if not porosity > 0:
            raise InputError("cell.separator.porosity must be > 0 for a porous (LE) separator.")
    elif "porosity" in sep:
        raise InputError(
            "cell.separator.porosity has no effect: a solid-electrolyte (SE) separator is dense; remove it."
        )
    factor = _fraction(
        sep.get("conductivity_factor", ssep.kappa_factor), "cell.separator.conductivity_factor"
    )
    growth = float(to_si(spec.get("growth", 1.2), "", name="cell.growth"))
    if not 1.0 <= growth <= 2.0:
        raise InputError(f"cell.growth = {growth} must lie in [1, 2].")
    lateral = str(spec.get("lateral", "insulating"))
    if lateral not in ("insulating", "periodic"):
        raise InputError(
            f"cell.lateral = {lateral!r} is unknown{did_you_mean(lateral, ('insulating', 'periodic'))}; "
            "use insulating (no current through the y and z sides) or periodic (each side joined to "
            "the opposite one)."
        )
    return Cell(
        separator_material=material,
        separator_thickness=thickness,
        separator_conductivity_factor=factor,
        li_metal=_length(spec.get("li_metal", "0 m"), "cell.li_metal"),
        anode_collector=_length(spec.get("anode_collector", "0 m"), "cell.anode_collector"),
        cathode_collector=_length(spec.get("cathode_collector", "0 m"), "cell.cathode_collector"),
        max_cell_size=_length(spec["max_cell_size"], "cell.max_cell_size", positive=True)
        if "max_cell_size" in spec
        else None,
        growth=growth,
        lateral=lateral,
        separator_porosity=porosity,
    )


def _check_lateral(structure: Structure, cell: Cell, notes: list) -> None:
    """cell.lateral and a generator's ``periodic`` agree: with periodic sides the generator makes
    the structure periodic in y and z (``periodic: yz`` is set when the generator does not say;
    a generator, or one of its layers, periodic in fewer axes is an error). A periodic structure
    with insulating sides is allowed (a note says so). An image file is taken as it is: its
    periodicity is the user's to ensure."""
    from fem_assb.structure.generate import _periodic_axes

    if cell.lateral == "periodic" and any(op.name == "remove_isolated" for op in structure.modify):
        raise InputError(
            "structure.modify: remove_isolated treats the y and z sides as insulating, but cell.lateral "
            "is periodic (clusters joined through the sides would be removed); remove the entry: the run "
            "removes isolated clusters itself, through the periodic sides."
        )
    gen = structure.generator
    if gen is None:
        return
    layers = [("structure.generator", gen.get("periodic"))]
    if gen.get("kind") == "layered":
        layers += [
            (f"structure.generator.{name}", gen[name].get("periodic", gen.get("periodic")))
            for name in ("first", "second")
            if isinstance(gen.get(name), dict)
        ]
    given = [(where, value) for where, value in layers if value is not None]
    if cell.lateral == "periodic":
        for where, value in given:
            if _periodic_axes(value) != (1, 2):
                raise InputError(
                    f"{where}.periodic = {value!r} but cell.lateral is periodic: the sides can only be "
                    "joined when the structure is periodic in y and z; set periodic: yz (or remove it, "
                    "periodic sides make the generator periodic) or use cell.lateral: insulating."
                )
        if gen.get("periodic") is None:
            gen["periodic"] = "yz"
    elif any(_periodic_axes(value) for _, value in given):
        notes.append(
            "structure.generator.periodic: the structure is generated periodic, but the cell's y and "
            "z sides are insulating (cell.lateral: insulating); give cell.lateral: periodic to join them."
        )


def _fraction(value, name) -> float:
    out = to_si(value, "", name=name)
    if not (math.isfinite(out) and 0 < out <= 1):
        raise InputError(f"{name} = {value!r} must lie in (0, 1].")
    return out


# --- operation ------------------------------------------------------------------------------------

STEP_KEYS = {"kind", "current_density", "c_rate", "cutoff_voltage", "duration"}


OPERATION_KEYS = ("temperature", "steps", "sweep")


def _operation(spec, system, T, notes) -> Operation:
    check_keys(spec, OPERATION_KEYS, "operation")
    steps_raw = spec.get("steps")
    if steps_raw is None:
        steps_raw = [_seed_step(system)]
        notes.append(f"operation.steps not given: one discharge at the seed's conditions of {system.name}.")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise InputError("operation.steps must be a non-empty list of {kind: discharge|charge|rest, ...}.")
    steps = [_step(s, k) for k, s in enumerate(steps_raw)]
    _check_cutoffs(steps, system)
    return Operation(steps=steps, temperature=T)


def _seed_step(system) -> dict:
    op = system.operation
    if op is None or not hasattr(op, "cutoff_voltage"):
        raise InputError(f"operation.steps is missing and {system.name} has no seed cut-off; give the steps.")
    if not hasattr(op, "current_density"):
        raise InputError(
            f"operation.steps is missing and {system.name} has no seed current density; "
            "give the steps, e.g. [{kind: discharge, current_density: 1 mA/cm^2, cutoff_voltage: 3 V}]."
        )
    return {
        "kind": "discharge",
        "current_density": f"{op.current_density} A/m^2",
        "cutoff_voltage": f"{op.cutoff_voltage} V",
    }


def _step(spec, k) -> Step:
    where = f"operation.steps[{k}]"
    if not isinstance(spec, dict):
        raise InputError(f"{where} must be a mapping {{kind: discharge|charge|rest, ...}}.")
    check_keys(spec, STEP_KEYS, where)
    kind = spec.get("kind")
    if kind not in STEP_KINDS:
        raise InputError(
            f"{where}.kind = {kind!r} is unknown{did_you_mean(kind, STEP_KINDS)}; "
            f"use {', '.join(STEP_KINDS)}."
        )
    duration = None
    if "duration" in spec:
        duration = to_si(spec["duration"], "s", name=f"{where}.duration")
        if not duration > 0:
            raise InputError(f"{where}.duration = {spec['duration']!r} must be a positive time.")
    if kind == "rest":
        extra = [k for k in ("current_density", "c_rate", "cutoff_voltage") if k in spec]
        if extra:
            raise InputError(f"{where} is a rest: remove {', '.join(extra)}.")
        if duration is None:
            raise InputError(f"{where} is a rest and needs a duration, e.g. 'duration: 1 h'.")
        return Step(kind, duration=duration)
    given = [k for k in ("current_density", "c_rate") if k in spec]
    if len(given) != 1:
        raise InputError(
            f"{where} ({kind}) needs exactly one of current_density (e.g. '1 mA/cm^2') or c_rate "
            f"(e.g. 0.1, per hour)."
        )
    cd = cr = None
    if given[0] == "current_density":
        cd = to_si(spec["current_density"], "A/m^2", name=f"{where}.current_density")
        value = cd
    else:
        cr = to_si(spec["c_rate"], "1/h", name=f"{where}.c_rate", default_unit="1/h")
        value = cr
    if not value > 0:
        raise InputError(
            f"{where}.{given[0]} = {spec[given[0]]!r} must be positive; the kind ({kind}) "
            "already sets the direction of the current."
        )
    if "cutoff_voltage" not in spec:
        raise InputError(f"{where} ({kind}) needs cutoff_voltage (e.g. '3.0 V').")
    cut = to_si(spec["cutoff_voltage"], "V", name=f"{where}.cutoff_voltage")
    if not cut > 0:
        raise InputError(f"{where}.cutoff_voltage = {spec['cutoff_voltage']!r} must be a positive voltage.")
    return Step(kind, current_density=cd, c_rate=cr, cutoff=cut, duration=duration)


def _check_cutoffs(steps, system) -> None:
    """A discharge must end below, a charge above, the voltage it starts from."""
    ocv = system.initial_ocv()
    ref, what = (
        ocv,
        (
            f"the initial open-circuit voltage {ocv:.4f} V (U0 of {system.cam.material} at "
            f"x0 = {system.cam.x0:.4f}, {system.temperature:.2f} K)"
        ),
    )
    for k, st in enumerate(steps):
        if st.kind == "rest":
            continue
        if st.kind == "discharge" and not st.cutoff_voltage < ref:
            raise InputError(
                f"operation.steps[{k}]: the discharge cut-off voltage {st.cutoff_voltage:g} V is not "
                f"below {what}; the discharge would stop at once. Lower cutoff_voltage."
            )
        if st.kind == "charge" and not st.cutoff_voltage > ref:
            raise InputError(
                f"operation.steps[{k}]: the charge cut-off voltage {st.cutoff_voltage:g} V is not "
                f"above {what}; the charge would stop at once. Raise cutoff_voltage."
            )
        ref, what = st.cutoff_voltage, f"the cut-off {st.cutoff_voltage:g} V of step {k}"


SWEEP_ROOTS = ("structure", "cell", "materials", "operation", "numerics")
SWEEP_KEYS = ("parameter", "values", "grid", "concurrent")
SWEEP_AXIS_KEYS = ("parameter", "values")
_SWEEP_FORM = (
    "operation.sweep must be {parameter: PATH, values: [...]} or {grid: [{parameter: PATH, "
    "values: [...]}, {parameter: PATH, values: [...]}]}, with an optional concurrent: K"
)


def _sweep(spec) -> Sweep:
    """The parsed ``operation.sweep`` (parameters and values; the points are not resolved)."""
    if not isinstance(spec, dict):
        raise InputError(_SWEEP_FORM + ".")
    check_keys(spec, SWEEP_KEYS, "operation.sweep")
    concurrent = _count(spec.get("concurrent", 1), "operation.sweep.concurrent", minimum=1)
    if "grid" in spec:
        both = [k for k in SWEEP_AXIS_KEYS if k in spec]
        if both:
            raise InputError(
                f"operation.sweep has both grid and {' and '.join(both)}; give either parameter and "
                "values (one parameter) or grid (every combination of several)."
            )
        grid = spec["grid"]
        if not isinstance(grid, list) or len(grid) < 2:
            raise InputError(
                "operation.sweep.grid must be a list of two or more {parameter: PATH, values: [...]} "
                "(for one parameter write parameter and values directly)."
            )
        axes = [_sweep_axis(a, f"operation.sweep.grid[{k}]") for k, a in enumerate(grid)]
    else:
        axes = [_sweep_axis(spec, "operation.sweep")]
    params = [p for p, _ in axes]
    for i, p in enumerate(params):
        for q in params[i + 1 :]:
            if p == q or q.startswith(p + ".") or p.startswith(q + "."):
                raise InputError(
                    f"operation.sweep.grid sweeps {p!r} and {q!r}, which overlap; sweep each value once."
                )
    return Sweep(
        params,
        [v for _, v in axes],
        [[_si_or_none(x) for x in v] for _, v in axes],
        grid="grid" in spec,
        concurrent=concurrent,
    )


def _sweep_axis(spec, where: str) -> tuple[str, list]:
    """(parameter, values) of one swept parameter."""
    if not isinstance(spec, dict):
        raise InputError(_SWEEP_FORM + f"; {where} is not a mapping.")
    if where != "operation.sweep":
        check_keys(spec, SWEEP_AXIS_KEYS, where)
    if "parameter" not in spec or "values" not in spec:
        raise InputError(f"{where} needs 'parameter' (e.g. operation.steps.0.current_density) and 'values'.")
    param = str(spec["parameter"])
    root = param.split(".")[0]
    if root not in SWEEP_ROOTS:
        raise InputError(
            f"{where}.parameter {param!r} must start with one of {', '.join(SWEEP_ROOTS)}"
            f"{did_you_mean(root, SWEEP_ROOTS)}."
        )
    if param.startswith("operation.sweep"):
        raise InputError("operation.sweep cannot sweep itself.")
    values = spec["values"]
    if not isinstance(values, list) or not values:
        raise InputError(f"{where}.values must be a non-empty list.")
    return param, list(values)


def _si_or_none(value):
    try:
        q = quantity(value)
        return float(q.to_base_units().magnitude)
    except Exception:
        return None


def _set_path(raw: dict, path: str, value) -> None:
    parts = path.split(".")
    node = raw
    for k, part in enumerate(parts[:-1]):
        where = ".".join(parts[: k + 1])
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise InputError(f"sweep parameter {path!r}: {where} is not an index of the list.") from None
        elif isinstance(node, dict):
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        else:
            raise InputError(f"sweep parameter {path!r}: {where} is not a section.")
    last = parts[-1]
    if isinstance(node, list):
        try:
            node[int(last)] = value
        except (ValueError, IndexError):
            raise InputError(f"sweep parameter {path!r}: {last} is not an index of the list.") from None
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise InputError(f"sweep parameter {path!r} does not name a value.")


def _resolve_sweep(raw: dict, base_dir: Path | None, name: str) -> Sweep:
    """The case's ``operation.sweep`` with every point resolved (:class:`SweepPoint`): the case
    dict without the sweep and with the point's values put in at their paths, validated as a
    case file. A value that fails raises the loader's error, prefixed with the point."""
    import itertools

    from fem_assb.case.schema import SweepPoint

    op = raw.get("operation") or {}
    sweep = _sweep(op["sweep"])
    combos = itertools.product(*(range(len(v)) for v in sweep.values))
    for index, ks in enumerate(combos):
        values = tuple(sweep.values[a][k] for a, k in enumerate(ks))
        sub = copy.deepcopy({k: v for k, v in raw.items() if k != "study"})
        sub["operation"] = {k: v for k, v in op.items() if k != "sweep"}
        for param, value in zip(sweep.parameters, values, strict=True):
            _set_path(sub, param, copy.deepcopy(value))
        try:
            case = resolve_case(sub, base_dir=base_dir, path=None, default_name=name)
        except InputError as err:
            where = ", ".join(f"{p} = {v!r}" for p, v in zip(sweep.parameters, values, strict=True))
            raise type(err)(f"operation.sweep ({where}): {err}") from None
        si = tuple(sweep.values_si[a][k] for a, k in enumerate(ks))
        sweep.points.append(SweepPoint(index, values, si, case))
    return sweep


def expand_sweep(
    raw: dict, base_dir: Path | None = None, path: Path | None = None
) -> list[tuple[object, Case]]:
    """(value, resolved case) for every point of the ``operation.sweep`` of the case dict ``raw``
    (value: the value as written; for a grid the tuple of the values). Resolving a case with a
    sweep (:func:`resolve_case`) does the same and keeps the points in ``operation.sweep``."""
    op = raw.get("operation") or {}
    if "sweep" not in op:
        raise InputError("the case has no operation.sweep.")
    sweep = _resolve_sweep(raw, base_dir, str(raw.get("name", "case")))
    return [(p.values if sweep.grid else p.values[0], p.case) for p in sweep.points]


# --- numerics and outputs -------------------------------------------------------------------------

NUMERICS_KEYS = {
    "dt_initial",
    "dt_min",
    "dt_max",
    "max_voltage_step",
    "max_stoichiometry_step",
    "newton",
    "linear_solver",
    "surface_iterations",
    "petsc_options",
}
NEWTON_KEYS = {"phi_tol", "x_tol", "max_iterations"}


def _numerics(spec) -> Numerics:
    check_keys(spec, NUMERICS_KEYS, "numerics")
    d = Numerics()
    kw = {}
    for key in ("dt_initial", "dt_min", "dt_max"):
        if key in spec:
            kw[key] = to_si(spec[key], "s", name=f"numerics.{key}")
            if not kw[key] > 0:
                raise InputError(f"numerics.{key} = {spec[key]!r} must be a positive time.")
    dt0, dtmin, dtmax = (kw.get(k, getattr(d, k)) for k in ("dt_initial", "dt_min", "dt_max"))
    if not dtmin <= dt0 <= dtmax:
        raise InputError(
            f"numerics: need dt_min <= dt_initial <= dt_max (got {dtmin:g} s, {dt0:g} s, {dtmax:g} s)."
        )
    if "max_voltage_step" in spec:
        kw["max_voltage_step"] = to_si(spec["max_voltage_step"], "V", name="numerics.max_voltage_step")
    if "max_stoichiometry_step" in spec:
        kw["max_stoichiometry_step"] = to_si(
            spec["max_stoichiometry_step"], "", name="numerics.max_stoichiometry_step"
        )
    for key in ("max_voltage_step", "max_stoichiometry_step"):
        if key in kw and not kw[key] > 0:
            raise InputError(f"numerics.{key} must be positive.")
    if "linear_solver" in spec:
        ls = str(spec["linear_solver"])
        if ls not in ("direct", "iterative", "auto"):
            raise InputError(
                f"numerics.linear_solver = {ls!r}{did_you_mean(ls, ('direct', 'iterative', 'auto'))}; "
                "use 'direct' (MUMPS), 'iterative' (Krylov + AMG) or 'auto'."
            )
        kw["linear_solver"] = ls
    if "surface_iterations" in spec and str(spec["surface_iterations"]).strip().lower() != "auto":
        kw["surface_iterations"] = _count(
            spec["surface_iterations"], "numerics.surface_iterations", minimum=0
        )
    if "newton" in spec:
        nw = spec["newton"] or {}
        check_keys(nw, NEWTON_KEYS, "numerics.newton")
        nkw = {}
        if "phi_tol" in nw:
            nkw["phi_tol"] = to_si(nw["phi_tol"], "V", name="numerics.newton.phi_tol")
        for key in ("x_tol",):
            if key in nw:
                nkw[key] = to_si(nw[key], "", name=f"numerics.newton.{key}")
        for key, val in nkw.items():
            if not (math.isfinite(val) and val >= 0):
                raise InputError(f"numerics.newton.{key} = {val} must be >= 0.")
        if "max_iterations" in nw:
            nkw["max_iterations"] = _count(nw["max_iterations"], "numerics.newton.max_iterations", minimum=1)
        kw["newton"] = Newton(**nkw)
    if "petsc_options" in spec:
        from fem_assb.solvers.options import normalize

        # validated here (names, value types); PETSc reports what it did not use at the first solve
        kw["petsc_options"] = normalize(spec["petsc_options"] or {}, "numerics.petsc_options")
    return Numerics(**kw)


IMPEDANCE_KEYS = ("frequencies", "state", "solver")
FREQUENCY_KEYS = ("min", "max", "per_decade")


def _impedance(spec, operation, system) -> Impedance:
    """The ``impedance`` section (docs/impedance.md): ``frequencies: {min, max, per_decade}``
    (Hz; defaults 1 Hz, 7 MHz, 10), ``state: initial | after_steps`` (default initial) and
    ``solver: auto | direct | iterative`` (default auto)."""
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise InputError("impedance must be a mapping {frequencies: {min, max, per_decade}, state}.")
    check_keys(spec, IMPEDANCE_KEYS, "impedance")
    d = Impedance()
    freq = spec.get("frequencies") or {}
    if not isinstance(freq, dict):
        raise InputError(
            "impedance.frequencies must be a mapping {min: 1 Hz, max: 7 MHz, per_decade: 10}, "
            f"got {type(freq).__name__}."
        )
    check_keys(freq, FREQUENCY_KEYS, "impedance.frequencies")
    f = {}
    for key, default in (("min", d.f_min), ("max", d.f_max)):
        f[key] = to_si(freq[key], "Hz", name=f"impedance.frequencies.{key}") if key in freq else default
        if not (math.isfinite(f[key]) and f[key] > 0):
            raise InputError(
                f"impedance.frequencies.{key} = {freq.get(key)!r} must be a positive frequency "
                "(e.g. '1 Hz'): the spectrum is log-spaced."
            )
    if not f["min"] < f["max"]:
        raise InputError(
            f"impedance.frequencies: min ({f['min']:g} Hz) must be below max ({f['max']:g} Hz); "
            "swap them or widen the range."
        )
    per_decade = _count(freq.get("per_decade", d.per_decade), "impedance.frequencies.per_decade", minimum=1)
    state = spec.get("state", d.state)
    if state not in IMPEDANCE_STATES:
        raise InputError(
            f"impedance.state = {state!r} is unknown{did_you_mean(str(state), IMPEDANCE_STATES)}; use "
            "'initial' (open circuit at the initial stoichiometry) or 'after_steps' (after the "
            "operation steps, ending with a rest)."
        )
    if state == "after_steps" and operation.steps[-1].kind != "rest":
        k = len(operation.steps)
        raise InputError(
            f"impedance.state = after_steps, but operation step {k} ({operation.steps[-1].kind}) leaves a "
            "current flowing: the state is not steady and has no impedance. End the steps with a rest "
            "(e.g. {kind: rest, duration: 1 h}) or use state: initial."
        )
    solver = spec.get("solver", d.solver)
    if solver not in IMPEDANCE_SOLVERS:
        raise InputError(
            f"impedance.solver = {solver!r} is unknown{did_you_mean(str(solver), IMPEDANCE_SOLVERS)}; use "
            "'auto' (direct LU on small meshes, else iterative), 'direct' or 'iterative' (GMRES + PRESB)."
        )
    if solver == "iterative" and getattr(system.electrolyte, "kind", "solid") == "liquid":
        raise InputError(
            "impedance.solver = 'iterative' is not available with a liquid electrolyte (GMRES + PRESB does "
            "not converge there, docs/impedance.md): use 'direct' or 'auto'."
        )
    return Impedance(f_min=f["min"], f_max=f["max"], per_decade=per_decade, state=state, solver=solver)


def _count(value, name, minimum) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} = {value!r} must be an integer >= {minimum}.")
    return value


OUTPUT_KEYS = ("folder", "fields", "field_interval", "render", "plots", "checkpoint_interval")


def _outputs(spec, name) -> Outputs:
    check_keys(spec, OUTPUT_KEYS, "outputs")
    folder = Path(str(spec.get("folder", f"results/{name}")))
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    fields = spec.get("fields", ["phi", "x"])
    if fields is None:
        fields = []
    if not isinstance(fields, list):
        raise InputError(f"outputs.fields must be a list of {', '.join(FIELD_NAMES)}.")
    for f in fields:
        if f not in FIELD_NAMES:
            raise InputError(
                f"outputs.fields: unknown field {f!r}{did_you_mean(f, FIELD_NAMES)}; "
                f"known: {', '.join(FIELD_NAMES)}."
            )
    interval = _count(spec.get("field_interval", 0), "outputs.field_interval", minimum=0)
    plots = spec.get("plots", True)
    if not isinstance(plots, bool):
        raise InputError(f"outputs.plots = {plots!r} must be true or false.")
    steps, wall = _checkpoint_interval(spec.get("checkpoint_interval", 0))
    return Outputs(
        folder=folder,
        fields=list(fields),
        field_interval=interval,
        render=_render(spec.get("render"), fields),
        plots=plots,
        checkpoint_steps=steps,
        checkpoint_wall_time=wall,
    )


def _checkpoint_interval(value) -> tuple[int, float]:
    """outputs.checkpoint_interval -> (accepted steps, wall-time seconds), one of them 0: an
    integer (every N accepted steps, 0 = no checkpoints) or a time with its unit ("10 min")."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return _count(value or 0, "outputs.checkpoint_interval", minimum=0), 0.0
    if isinstance(value, str):
        seconds = to_si(value, "s", name="outputs.checkpoint_interval")
        if seconds > 0:
            return 0, seconds
    raise InputError(
        f"outputs.checkpoint_interval = {value!r} must be an integer number of accepted steps "
        "(e.g. 50) or a wall time with its unit (e.g. '10 min')."
    )


RENDER_KEYS = ("times", "fields")


def _render(spec, fields) -> Render | None:
    """``outputs.render``: {times: [a time with its unit, or 'end'], fields: [among outputs.fields]}."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise InputError("outputs.render must be a mapping, e.g. {times: [10 min, end], fields: [x]}.")
    check_keys(spec, RENDER_KEYS, "outputs.render")
    times = spec.get("times", ["end"])
    times = times if isinstance(times, list) else [times]
    if not times:
        raise InputError("outputs.render.times is empty; give times with units, or 'end'.")
    out_times = []
    for t in times:
        if t == "end":
            out_times.append(None)
            continue
        value = to_si(t, "s", name="outputs.render.times")
        if not value >= 0:
            raise InputError(f"outputs.render.times: {t!r} must be a time >= 0 (or 'end').")
        out_times.append(value)
    names = spec.get("fields", ["x"])
    names = names if isinstance(names, list) else [names]
    for f in names:
        if f not in fields:
            raise InputError(
                f"outputs.render.fields: {f!r} is not written (outputs.fields is "
                f"[{', '.join(fields)}]); add it to outputs.fields{did_you_mean(f, fields)}."
            )
    if not names:
        raise InputError("outputs.render.fields is empty; name fields of outputs.fields, e.g. [x].")
    return Render(times=out_times, fields=list(names))

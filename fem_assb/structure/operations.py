"""Structure modifications as data: the case key ``structure.modify`` (docs/studies.md, "Studies").

A case may modify its structure (generated or read) before it is meshed, with the operations of
`fem-assb modify` (:mod:`fem_assb.structure.modify`), in the order listed:

    structure:
      generator: {kind: composite, ...}
      modify:
        - {crop_cc: 3}                      # remove 3 voxel layers at the collector side (x max)
        - {delaminate: 0.5, seed: 0}        # half the CAM | SE faces inactive (seed 004)
        - {channel: 12 um, center: corner}  # an SE channel along x (seed 001)

Each entry is a mapping with exactly one operation key (its value is the operation's main
argument) and that operation's options. :func:`parse` validates a list (unknown operations and
options with the nearest valid name, units, ranges) into :class:`Operation` records;
:func:`apply` runs them on a :class:`~fem_assb.structure.image.VoxelImage` (numpy only, no MPI).
:data:`OPERATIONS` is the table behind both (and behind tests/test_case_keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fem_assb.errors import InputError, did_you_mean


@dataclass(frozen=True)
class Spec:
    """One operation of the table: ``function(image, value, **options)`` returns the new image;
    ``value`` says what the operation key takes, ``options`` {name: what it takes}; ``help`` one
    line for messages."""

    function: str
    value: str
    options: dict = field(default_factory=dict)
    help: str = ""


#: The operations a case accepts (the names of `fem-assb modify`'s options, with underscores).
OPERATIONS = {
    "crop": Spec("_crop", "slices", help="keep a sub-volume, voxel ranges 'X0:X1,Y0:Y1,Z0:Z1'"),
    "crop_cc": Spec("_crop_cc", "layers", help="remove N voxel layers at the collector side (x max)"),
    "mirror_to": Spec("_mirror_to", "length", help="repeat with mirrored copies along x to a thickness"),
    "coarsen": Spec("_coarsen", "factor", help="merge F^3 voxels by majority vote"),
    "channel": Spec(
        "_channel",
        "length",
        {"center": "corner|center", "fill": "material"},
        help="an electrolyte channel along x of this radius (CAM voxels in it become electrolyte)",
    ),
    "delaminate": Spec(
        "_delaminate",
        "fraction",
        {"seed": "integer"},
        help="mark this fraction of the CAM | SE faces inactive",
    ),
    "collector_contact": Spec(
        "_collector_contact",
        "fraction",
        {"seed": "integer"},
        help="leave CAM on only this fraction of the collector face (its other CAM becomes electrolyte)",
    ),
    "remove_isolated": Spec(
        "_remove_isolated", "true", help="turn voxels not connected to their reservoir into PORE"
    ),
    "shell": Spec(
        "_shell",
        "length",
        {"material": "name"},
        help="turn the CAM within this distance of the SE into a second CAM material (default AL_LCO)",
    ),
    "replace": Spec(
        "_replace",
        "name",
        {"by": "name"},
        help="turn every voxel of one material into another (e.g. {replace: CBD, by: SE})",
    ),
}

#: Operations of `fem-assb modify` that a case cannot list, and why (with the fix).
NOT_IN_A_CASE = {
    "stack": "a second image; for a two-layer cathode use structure.generator {kind: layered, ...}",
}
#: Operations whose physics is not built yet: (roadmap issue, what, fix); the case loader
#: rejects them with a NotSupportedError (fem_assb.case.load._check_modify_supported).
NOT_SUPPORTED: dict = {}
#: Option values whose physics is not built yet: {(operation, option, value): (issue, what, fix)}.
NOT_SUPPORTED_OPTIONS: dict = {}


@dataclass(frozen=True)
class Operation:
    """A validated operation: ``name`` (a key of :data:`OPERATIONS`), its main ``value`` in SI
    (layers, factor: int; length: m; fraction: float; slices: ((x0, x1), (y0, y1), (z0, z1))),
    its ``options`` and ``where`` (``structure.modify[k]``) for messages."""

    name: str
    value: object
    options: tuple = ()
    where: str = ""

    def apply(self, image):
        """The modified image; an InputError names the operation."""
        try:
            return globals()[OPERATIONS[self.name].function](image, self.value, **dict(self.options))
        except InputError as err:
            raise type(err)(f"{self.where} ({self.name}): {err}") from None


def parse(spec, where: str = "structure.modify") -> tuple[Operation, ...]:
    """The validated operations of the list ``spec`` (None or [] -> ())."""
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise InputError(
            f"{where} must be a list of operations, e.g. [{{crop_cc: 3}}, {{delaminate: 0.5, seed: 0}}]; "
            f"operations: {', '.join(OPERATIONS)}."
        )
    return tuple(_parse_one(entry, f"{where}[{k}]") for k, entry in enumerate(spec))


def apply(image, operations):
    """``image`` with every operation applied in order."""
    for op in operations:
        image = op.apply(image)
    return image


def _parse_one(entry, where: str) -> Operation:
    if isinstance(entry, str):  # a bare name (remove_isolated)
        entry = {entry: True}
    if not isinstance(entry, dict) or not entry:
        raise InputError(f"{where} must be a mapping with one operation, e.g. {{crop_cc: 3}}.")
    known = set(OPERATIONS) | set(NOT_IN_A_CASE) | set(NOT_SUPPORTED)
    names = [k for k in entry if k in known]
    if len(names) != 1:
        options = {o for s in OPERATIONS.values() for o in s.options}
        unknown = [k for k in entry if k not in known and k not in options]
        if unknown:
            raise InputError(
                f"{where}: unknown operation {unknown[0]!r}{did_you_mean(unknown[0], known)}; "
                f"operations: {', '.join(OPERATIONS)}."
            )
        what = f"{len(names)} operations ({', '.join(names)})" if names else "no operation"
        raise InputError(
            f"{where} has {what}; give exactly one per entry (list them in order), e.g. "
            "[{crop_cc: 3}, {delaminate: 0.5}]."
        )
    name = names[0]
    if name in NOT_IN_A_CASE:
        raise InputError(
            f"{where}: {name} is an operation of `fem-assb modify` only (it needs {NOT_IN_A_CASE[name]})."
        )
    if name in NOT_SUPPORTED:  # the case loader says so first, with the roadmap issue
        raise InputError(f"{where}: {name} is not supported in a case yet ({NOT_SUPPORTED[name][1]}).")
    spec = OPERATIONS[name]
    for key in entry:
        if key != name and key not in spec.options:
            valid = sorted(spec.options)
            raise InputError(
                f"{where} ({name}): unknown option {key!r}{did_you_mean(key, valid)}; "
                + (f"its options are {', '.join(valid)}." if valid else f"{name} has no options.")
            )
    value = _value(spec.value, entry[name], f"{where}.{name}")
    options = tuple(sorted(_option(name, k, v, f"{where}.{k}") for k, v in entry.items() if k != name))
    return Operation(name, value, options, where)


def _value(kind: str, value, where: str):
    from fem_assb.units import to_si

    if kind in ("layers", "factor"):
        least = 1 if kind == "layers" else 2
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InputError(f"{where} = {value!r} must be an integer >= {least}.")
        return value
    if kind == "length":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
            raise InputError(f"{where} = {value!r} has no unit; give a length, e.g. '12 um'.")
        out = to_si(value, "m", name=where)
        if not out > 0:
            raise InputError(f"{where} = {value!r} must be a positive length.")
        return out
    if kind == "fraction":
        out = to_si(value, "", name=where)
        if not 0 < out <= 1:
            raise InputError(f"{where} = {value!r} must lie in (0, 1].")
        return out
    if kind == "slices":
        return _slices(value, where)
    if kind == "name":
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where} = {value!r} must be a material name of the label map (e.g. CBD).")
        return value.strip()
    if value is not True:
        raise InputError(f"{where} = {value!r}: write {where.rsplit('.', 1)[-1]}: true.")
    return True


def _option(name: str, key: str, value, where: str) -> tuple[str, object]:
    if key == "center":
        if value not in ("corner", "center"):
            raise InputError(
                f"{where} = {value!r}{did_you_mean(value, ('corner', 'center'))}; use corner (a quarter "
                "hole on the edge y = z = 0) or center."
            )
        return key, value
    if key in ("fill", "material", "by"):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where} = {value!r} must be a material name (e.g. SE).")
        return key, value.strip()
    if key == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{where} = {value!r} must be an integer >= 0.")
        return key, value
    raise AssertionError(f"option {name}.{key} has no parser")  # pragma: no cover - table and parser agree


def _slices(text, where: str):
    parts = str(text).split(",")
    if len(parts) != 3:
        raise InputError(f"{where} = {text!r} needs three ranges 'X0:X1,Y0:Y1,Z0:Z1' (':' for all).")
    out = []
    for p in parts:
        a, colon, b = p.partition(":")
        try:
            if not colon:
                raise ValueError
            out.append((int(a) if a.strip() else None, int(b) if b.strip() else None))
        except ValueError:
            raise InputError(f"{where}: range {p!r} is not START:STOP in voxels.") from None
    return tuple(out)


# --- the operations (image, value, **options) -> image ------------------------------------------------


def _crop(image, slices):
    from fem_assb.structure import modify

    before = image.shape
    out = modify.crop(image, *slices)
    if out.shape == before:
        raise InputError(f"the ranges keep the whole image ({before}); crop a smaller sub-volume.")
    if 0 in out.shape:
        raise InputError(f"the ranges leave an empty image (shape {out.shape}) of {before}.")
    return out


def _crop_cc(image, n):
    from fem_assb.structure import modify

    return modify.crop_collector_side(image, n)


def _mirror_to(image, thickness):
    from fem_assb.structure import modify

    if not thickness > image.shape[0] * image.voxel_size * (1 + 1e-9):
        raise InputError(
            f"the image is {image.shape[0] * image.voxel_size * 1e6:.4g} um thick already; give a "
            f"larger thickness than that ({thickness * 1e6:.4g} um)."
        )
    return modify.mirror_to_thickness(image, thickness)


def _coarsen(image, factor):
    from fem_assb.structure import modify

    return modify.coarsen(image, factor)


def _channel(image, radius, center="corner", fill=None):
    from fem_assb.structure import modify

    return modify.perforate(image, radius, center, fill)


def _delaminate(image, fraction, seed=0):
    from fem_assb.structure import modify

    return modify.delaminate(image, fraction, seed)


def _collector_contact(image, fraction, seed=0):
    from fem_assb.structure import modify

    return modify.limit_collector_contact(image, fraction, seed)


def _shell(image, thickness, material="AL_LCO"):
    from fem_assb.structure import modify

    return modify.cam_shell(image, thickness, material)


def _replace(image, old, by=None):
    from fem_assb.structure import modify

    if by is None:
        example = "LE" if old == "SE" else "SE"
        raise InputError(
            f"replace: {old} needs the material it becomes, e.g. {{replace: {old}, by: {example}}}."
        )
    return modify.replace_material(image, old, by)


def _remove_isolated(image, _value):
    from fem_assb.structure import modify

    return modify.remove_isolated(image)

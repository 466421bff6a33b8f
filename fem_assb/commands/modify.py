"""`fem-assb modify`: apply structure operations to a voxel image, in the order given (docs/structures.md)."""

from __future__ import annotations

import argparse

NAME = "modify"
HELP = (
    "crop, mirror, coarsen, perforate, stack, add a CAM shell, replace a material, delaminate or "
    "clean a voxel image"
)


class _Op(argparse.Action):
    """Append (operation, value) to args.ops so operations run in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        ops = list(getattr(namespace, "ops", None) or [])
        ops.append((self.dest, values))
        namespace.ops = ops


def add_arguments(parser) -> None:
    from fem_assb.commands.analyze import add_image_arguments

    parser.add_argument("image", metavar="IN", help="input voxel image")
    parser.add_argument(
        "output", metavar="OUT", help="output image (.npz/.h5 keep everything; others get a sidecar)"
    )
    add_image_arguments(parser)
    ops = parser.add_argument_group("operations (applied in the order given; each may repeat)")
    ops.add_argument(
        "--crop",
        action=_Op,
        metavar="X0:X1,Y0:Y1,Z0:Z1",
        help="keep a sub-volume (voxel indices, Python slices; empty = all), e.g. 0:50,:,:",
    )
    ops.add_argument(
        "--crop-cc",
        action=_Op,
        type=int,
        metavar="N",
        help="remove N voxel layers at the current-collector side (x max)",
    )
    ops.add_argument(
        "--mirror-to",
        action=_Op,
        metavar="THICKNESS",
        help="repeat with mirrored copies along x up to a thickness, e.g. 100um",
    )
    ops.add_argument("--coarsen", action=_Op, type=int, metavar="F", help="merge F^3 voxels by majority vote")
    ops.add_argument(
        "--channel",
        action=_Op,
        metavar="RADIUS",
        help="electrolyte channel through x replacing CAM and CBD, e.g. 12um (see --channel-center)",
    )
    ops.add_argument(
        "--stack",
        action=_Op,
        metavar="SECOND",
        help="two-layer cathode: this image at the separator side (--fraction), SECOND behind it",
    )
    ops.add_argument(
        "--shell",
        action=_Op,
        metavar="THICKNESS",
        help="CAM shell of this thickness from the CAM|SE interface, e.g. 0.5um (--shell-material)",
    )
    ops.add_argument(
        "--replace",
        action=_Op,
        metavar="OLD:NEW",
        help="turn every OLD voxel into NEW (material names or classes), e.g. CBD:SE",
    )
    ops.add_argument(
        "--delaminate",
        action=_Op,
        type=float,
        metavar="FRACTION",
        help="mark this fraction of the CAM|SE faces inactive (--seed)",
    )
    ops.add_argument(
        "--remove-isolated",
        action=_Op,
        nargs=0,
        help="turn voxels not connected to their reservoir into PORE",
    )
    opt = parser.add_argument_group("operation settings")
    opt.add_argument(
        "--channel-center",
        choices=("corner", "center"),
        default="corner",
        help="channel axis: corner (quarter hole, default) or centre of the y-z face",
    )
    opt.add_argument("--fill", metavar="MATERIAL", help="electrolyte filling channels (default: the image's)")
    opt.add_argument("--fraction", type=float, help="--stack: thickness fraction of the separator-side layer")
    opt.add_argument(
        "--reverse", action="store_true", help="--stack: put this image's layer at the collector side"
    )
    opt.add_argument("--shell-material", default="AL_LCO", help="--shell: material name (class CAM)")
    opt.add_argument(
        "--periodic", metavar="yz", help="--remove-isolated: lateral directions that wrap around"
    )
    opt.add_argument("--seed", type=int, default=0, help="--delaminate: random seed (default 0)")
    parser.set_defaults(ops=[])


def _slices(text: str):
    from fem_assb.errors import InputError

    parts = text.split(",")
    if len(parts) != 3:
        raise InputError(f"--crop {text!r} needs three ranges X0:X1,Y0:Y1,Z0:Z1 (use ':' for all).")
    out = []
    for p in parts:
        a, _, b = p.partition(":")
        try:
            out.append((int(a) if a.strip() else None, int(b) if b.strip() else None))
        except ValueError:
            raise InputError(f"--crop range {p!r} is not START:STOP in voxels.") from None
    return out


def apply(image, ops, args, load):
    """Apply ``ops`` [(name, value)] to ``image``; ``load(path)`` reads a second image."""
    from fem_assb.commands.analyze import periodic_axes
    from fem_assb.errors import InputError
    from fem_assb.structure import modify as M
    from fem_assb.units import to_si

    for name, value in ops:
        if name == "crop":
            x, y, z = _slices(value)
            image = M.crop(image, x, y, z)
        elif name == "crop_cc":
            image = M.crop_collector_side(image, value)
        elif name == "mirror_to":
            image = M.mirror_to_thickness(image, to_si(value, "m", name="--mirror-to"))
        elif name == "coarsen":
            image = M.coarsen(image, value)
        elif name == "channel":
            image = M.perforate(image, to_si(value, "m", name="--channel"), args.channel_center, args.fill)
        elif name == "stack":
            if args.fraction is None:
                raise InputError("--stack needs --fraction (thickness fraction of the separator-side layer).")
            image = M.stack(image, load(value), args.fraction, reverse=args.reverse)
        elif name == "shell":
            image = M.cam_shell(image, to_si(value, "m", name="--shell"), args.shell_material)
        elif name == "replace":
            old, colon, new = value.partition(":")
            if not colon or not old.strip() or not new.strip():
                raise InputError(f"--replace {value!r} needs OLD:NEW, e.g. --replace CBD:SE.")
            image = M.replace_material(image, old.strip(), new.strip())
        elif name == "delaminate":
            image = M.delaminate(image, value, args.seed)
        elif name == "remove_isolated":
            image = M.remove_isolated(image, periodic_axes(args.periodic))
    return image


def run(args) -> int:
    from fem_assb.atomic import check_file_target
    from fem_assb.commands.analyze import load_image
    from fem_assb.errors import InputError
    from fem_assb.parallel import on_rank0, print0
    from fem_assb.structure.analysis import volume_fractions
    from fem_assb.structure.io import write_image

    if not args.ops:
        raise InputError("no operation given; see `fem-assb modify --help`.")
    check_file_target(args.output, "-o", ext=".npz")
    image = load_image(args, args.image)
    out = apply(image, args.ops, args, lambda p: load_image(args, p))
    files = on_rank0(write_image, out, args.output) or []
    fr = ", ".join(f"{k} {v:.4f}" for k, v in volume_fractions(out).items() if v > 0)
    print0(
        f"{' -> '.join(n for n, _ in args.ops)}: {image.shape} -> {out.shape} "
        f"at {out.voxel_size * 1e6:.4g} um"
    )
    print0(f"volume fractions: {fr}")
    for f in files:
        print0(f"wrote {f}")
    return 0

"""`fem-assb generate`: stochastic composite, perforated and two-layer cathodes (docs/generators.md)."""

from __future__ import annotations

NAME = "generate"
HELP = "generate a composite, perforated or two-layer cathode structure (stochastic, seeded)"

#: command-line option -> generate_composite keyword (values are passed on as text with units)
_COMPOSITE_OPTIONS = (
    ("--cam-fraction", "cam_fraction", "CAM volume fraction of the box, e.g. 0.6 or '60 %%'"),
    ("--se-fraction", "se_fraction", "SE volume fraction of the box"),
    ("--cbd-fraction", "cbd_fraction", "CBD volume fraction of the box (default 0)"),
    ("--svf-cam", "svf_cam", "V_CAM / (V_CAM + V_SE), with --density (instead of the fractions)"),
    ("--density", "density", "solid fraction of the box (1 - porosity), with --svf-cam"),
    ("--d-cam", "d_cam", "mean CAM particle diameter, e.g. 5um (default 5 um)"),
    ("--d-se", "d_se", "mean SE particle diameter (default 1.5 um)"),
    ("--d-cbd", "d_cbd", "mean CBD particle diameter (default 1 um)"),
    (
        "--spread-cam",
        "spread_cam",
        "std/mean of the CAM diameters (lognormal; default 0.2; 0 = monodisperse)",
    ),
    ("--spread-se", "spread_se", "std/mean of the SE diameters (default 0.2)"),
    ("--spread-cbd", "spread_cbd", "std/mean of the CBD diameters (default 0.2)"),
    ("--packing", "packing", "solid fraction of the powder before sintering (default 0.62)"),
    ("--overlap", "overlap", "allowed sphere overlap, fraction of r_i + r_j (default 0.1)"),
)


def _add_common(p, kind: str) -> None:
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.npy",
        help="output image (.npy .npz .h5 .tif .raw .vti; .npy/.tif/.raw get a <stem>.labels.yaml)",
    )
    p.add_argument(
        "--spec",
        metavar="SPEC.yaml",
        help="read the generator settings from YAML (the mapping itself or its 'generator:' key); "
        "options given here override it",
    )
    p.add_argument("--shape", metavar="NX,NY,NZ", help="voxels along x (through-plane), y, z, e.g. 40,40,40")
    p.add_argument("--voxel-size", metavar="0.5um", help="voxel edge length with unit")
    p.add_argument("--seed", type=int, help="random seed (default 0): same seed, same structure")
    p.add_argument(
        "--periodic",
        nargs="?",
        const="yz",
        choices=("y", "z", "yz"),
        help="periodic in y and z (or only one of them)",
    )
    p.add_argument(
        "--pore", choices=("PORE", "LE"), help="pores are void (PORE, default) or liquid electrolyte (LE)"
    )
    for flag, key, text in _COMPOSITE_OPTIONS:
        p.add_argument(flag, dest=key, metavar="VALUE", help=text)
    p.add_argument(
        "--png", metavar="OUT.png", help="slice picture and fraction profiles (default: OUT with .png)"
    )
    p.add_argument("--no-png", action="store_true", help="do not write the PNG")
    p.add_argument(
        "--render", metavar="OUT.png", help="3D picture: phases coloured, the separator side (x = 0) marked"
    )
    p.add_argument(
        "--json", metavar="OUT.json", help="write the target settings and the analysis of the result"
    )
    p.set_defaults(kind=kind)


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="kind_choice", metavar="KIND", required=True)
    c = sub.add_parser("composite", help="CAM and SE (and CBD) particles sintered to a target composition")
    _add_common(c, "composite")
    p = sub.add_parser("perforated", help="composite with an electrolyte channel along x (seed 001)")
    _add_common(p, "perforated")
    p.add_argument("--radius", metavar="20um", help="channel radius with unit (0 = none)")
    p.add_argument(
        "--center", choices=("corner", "center"), help="quarter hole at y = z = 0 (corner, default) or centre"
    )
    p.add_argument("--fill", metavar="SE|LE", help="electrolyte in the channel (default: the structure's)")
    layered = sub.add_parser("layered", help="two composites stacked along x (seed 001 two-layer cathodes)")
    _add_common(layered, "layered")
    layered.add_argument(
        "--f-first", metavar="F", help="thickness fraction of the separator-side layer (f_L60)"
    )
    layered.add_argument(
        "--first",
        metavar="K=V,...",
        help="settings of the separator-side layer, e.g. cam_fraction=0.6,se_fraction=0.4",
    )
    layered.add_argument("--second", metavar="K=V,...", help="settings of the collector-side layer")
    layered.add_argument(
        "--reverse", action="store_true", default=None, help="put the first layer at the collector side"
    )


def _key_values(text: str, option: str) -> dict:
    """``"a=0.6,b=2 um"`` -> {"a": 0.6, "b": "2 um"} (values parsed as YAML scalars)."""
    import yaml

    from fem_assb.errors import InputError

    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"{option} {text!r}: write KEY=VALUE pairs separated by commas, e.g. cam_fraction=0.6."
            )
        out[key.strip().replace("-", "_")] = yaml.safe_load(value.strip())
    return out


def spec_from_args(args) -> dict:
    """The generator spec (the YAML ``generator:`` mapping) from --spec and the options."""
    from pathlib import Path

    import yaml

    from fem_assb.errors import InputError

    spec: dict = {}
    if args.spec:
        path = Path(args.spec)
        if not path.is_file():
            raise InputError(f"--spec {path} " + ("is a folder" if path.is_dir() else "does not exist") + ".")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except UnicodeDecodeError:
            raise InputError(f"--spec {path} is not a text (YAML) file.") from None
        except yaml.YAMLError as exc:
            from fem_assb.structure.labels import yaml_error_text

            raise InputError(f"--spec {path} is not valid YAML ({yaml_error_text(exc)}).") from None
        if isinstance(data, dict) and isinstance(data.get("generator"), dict):
            data = data["generator"]
        if not isinstance(data, dict):
            raise InputError(
                f"--spec {path} must hold a mapping of generator settings (kind: composite, ...)."
            )
        spec.update(data)
    if spec.get("kind", args.kind) != args.kind:
        raise InputError(
            f"--spec describes a {spec['kind']!r} structure but the command asks for {args.kind!r}."
        )
    spec["kind"] = args.kind
    if args.shape:
        try:
            spec["shape"] = [int(s) for s in args.shape.replace("x", ",").split(",")]
        except ValueError:
            raise InputError(f"--shape {args.shape!r} must be three integers, e.g. 40,40,40.") from None
    direct = ["voxel_size", "seed", "periodic", "pore"] + [key for _, key, _ in _COMPOSITE_OPTIONS]
    direct += {"perforated": ["radius", "center", "fill"], "layered": ["f_first", "reverse"]}.get(
        args.kind, []
    )
    for key in direct:
        value = getattr(args, key, None)
        if value is not None:
            spec[key] = value
    if args.kind == "layered":
        for key in ("first", "second"):
            if getattr(args, key):
                spec[key] = {**spec.get(key, {}), **_key_values(getattr(args, key), f"--{key}")}
    return spec


def run(args) -> int:
    from pathlib import Path

    from fem_assb.atomic import check_file_target
    from fem_assb.parallel import on_rank0

    spec = spec_from_args(args)
    check_file_target(args.output, "-o", ext=".npz")
    if not args.no_png:
        png = Path(args.png) if args.png else Path(args.output).with_suffix(".png")
        check_file_target(png, "--png", ".png")
    if args.json:
        check_file_target(args.json, "--json")
    if args.render:
        check_file_target(args.render, "--render", ".png")
    on_rank0(_generate, args, spec)  # built and written once, on rank 0; an error stops every rank
    return 0


def _generate(args, spec) -> None:
    import time
    from pathlib import Path

    from fem_assb.atomic import write_json
    from fem_assb.commands.analyze import format_table
    from fem_assb.output.plots import structure_overview
    from fem_assb.parallel import print0
    from fem_assb.structure.analysis import summary
    from fem_assb.structure.generate import from_spec
    from fem_assb.structure.io import write_image

    t0 = time.perf_counter()
    image = from_spec(spec)
    elapsed = time.perf_counter() - t0
    files = write_image(image, args.output)
    s = summary(image)
    print0(f"generated {spec['kind']} structure {image.shape} in {elapsed:.2f} s")
    print0(format_table(s))
    if not args.no_png:
        png = Path(args.png) if args.png else Path(args.output).with_suffix(".png")
        structure_overview(image, s, png)
        files.append(png)
    if args.render:
        from fem_assb.output.render import structure_picture

        files.append(structure_picture(image, args.render, title=f"{spec['kind']} {image.shape}"))
    if args.json:
        write_json(args.json, {"generator": spec, "seconds": elapsed, **s})
        files.append(Path(args.json))
    for f in files:
        print0(f"wrote {f}")

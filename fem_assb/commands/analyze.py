"""`fem-assb analyze`: geometric indicators of a voxel image (docs/structures.md)."""

from __future__ import annotations

NAME = "analyze"
HELP = "volume fractions, SVF_CAM, connectivity, active area, A_C/A_CC, particle sizes of a voxel image"


def add_image_arguments(parser) -> None:
    """Options to read an image (shared with `fem-assb modify`)."""
    g = parser.add_argument_group("reading the image")
    g.add_argument(
        "--labels",
        metavar="L.yaml",
        help="label map YAML, or 'default' (0 PORE, 1 CAM, 2 SE, 3 LE, 4 CBD); "
        "default: the map stored in .npz/.h5 or the sidecar <stem>.labels.yaml",
    )
    g.add_argument(
        "--voxel-size", metavar="0.5um", help="voxel edge length with unit (overrides stored values)"
    )
    g.add_argument("--grains", metavar="FILE", help="SE grain-ID image (same shape; 0 = no grain)")
    g.add_argument(
        "--axes", metavar="xyz", help="order of the file's array axes, e.g. zyx (x = through-plane)"
    )
    g.add_argument("--shape", metavar="NX,NY,NZ", help="raw files: array shape in the file's axis order")
    g.add_argument("--dtype", metavar="uint8", help="raw files: element type")
    g.add_argument("--byte-order", choices=("little", "big", "native"), help="raw files: byte order")
    g.add_argument("--dataset", metavar="NAME", help=".h5 dataset or .vti array holding the labels")


def _shape(args):
    from fem_assb.errors import InputError

    if not args.shape:
        return None
    try:
        return tuple(int(s) for s in args.shape.replace("x", ",").split(","))
    except ValueError:
        raise InputError(f"--shape {args.shape!r} must be three integers, e.g. 100,60,60.") from None


def periodic_axes(text: str | None) -> tuple[int, ...]:
    """``"yz"`` -> (1, 2): lateral axes that wrap around for connectivity."""
    from fem_assb.errors import InputError

    if not text:
        return ()
    if not set(text) <= {"y", "z"}:
        raise InputError(f"--periodic {text!r}: give y, z or yz (x is through-plane, never periodic).")
    return tuple(sorted({"y": 1, "z": 2}[c] for c in set(text)))


def load_image(args, path):
    """Read ``path`` with the reading options of :func:`add_image_arguments`."""
    from fem_assb.structure.io import read_image

    shape = _shape(args)
    return read_image(
        path,
        labels=args.labels,
        voxel_size=args.voxel_size,
        grains=args.grains,
        axes=args.axes,
        shape=shape,
        dtype=args.dtype,
        byte_order=args.byte_order,
        dataset=args.dataset,
    )


def add_arguments(parser) -> None:
    parser.add_argument(
        "image", metavar="IMAGE", help="voxel image (.npz .npy .raw .tif .vti .h5 or a folder of .tif)"
    )
    add_image_arguments(parser)
    parser.add_argument(
        "--cam-particles", metavar="IDS", help="CAM particle-ID image (0 = none) for the particle sizes"
    )
    parser.add_argument(
        "--periodic",
        metavar="yz",
        help="lateral directions that wrap around for the connectivity (y, z or yz)",
    )
    parser.add_argument("--json", metavar="OUT.json", help="write all indicators (and profiles) as JSON")
    parser.add_argument(
        "--png", metavar="OUT.png", help="plot fraction profiles along x and a mid-plane slice"
    )
    parser.add_argument(
        "--render", metavar="OUT.png", help="3D picture: phases coloured, the separator side (x = 0) marked"
    )


def format_table(s: dict) -> str:
    """Human-readable table of an analysis summary (units: um, um^2)."""
    um = 1e6
    lines = [
        f"shape (x, y, z)        {s['shape'][0]} x {s['shape'][1]} x {s['shape'][2]} voxels",
        f"voxel size             {s['voxel_size_m'] * um:.4g} um",
        f"size (x, y, z)         {' x '.join(f'{v * um:.4g}' for v in s['size_m'])} um",
        "volume fractions       "
        + ", ".join(f"{k} {v:.4f}" for k, v in s["volume_fractions"].items() if v > 0),
    ]
    named = {k: v for k, v in s["material_fractions"].items() if k not in s["volume_fractions"] and v > 0}
    if named:
        lines.append("materials              " + ", ".join(f"{k} {v:.4f}" for k, v in named.items()))
    svf = s["svf_cam"]
    lines.append(
        f"SVF_CAM                {svf:.4f}"
        if svf is not None
        else "SVF_CAM                n/a (no CAM, no SE)"
    )
    for kind, c in s["isolated"].items():
        lines.append(
            f"connectivity {kind:<4}      {s['connectivity'][kind]:.4f}  "
            f"({c['isolated_voxels']} isolated voxels in {c['isolated_clusters']} clusters of {c['voxels']})"
        )
    aa = s["active_area"]
    lines.append(
        f"active area CAM|el.    {aa['area_m2'] * um**2:.6g} um^2 ({aa['faces']} faces), "
        f"{aa['per_volume_1_per_m'] / um:.4g} um^-1 per volume, {aa['per_cell_area']:.4g} per cell area"
    )
    if "inactive_faces" in aa:
        lines.append(f"inactive faces         {aa['inactive_faces']} (delaminated, excluded above)")
    car = s["contact_area_ratio"]
    lines.append(f"A_C/A_CC               CAM {car['CAM']:.4f}, electronic (CAM+CBD) {car['electronic']:.4f}")
    for name, p in s["particles"].items():
        what = {"CAM": "CAM clusters", "SE": "SE grains"}[name] if not p.get("labelled") else "CAM particles"
        lines.append(
            f"{what:<22} {p['count']}, mean d {p['mean_diameter_m'] * um:.4g} um "
            f"(std {p['std_diameter_m'] * um:.3g}), volume d50 {p['d50_volume_m'] * um:.4g} um"
        )
    return "\n".join(lines)


def run(args) -> int:
    from fem_assb.atomic import check_file_target, write_json
    from fem_assb.output.plots import structure_overview
    from fem_assb.parallel import on_rank0, print0
    from fem_assb.structure.analysis import summary

    if args.json:
        check_file_target(args.json, "--json")
    if args.png:
        check_file_target(args.png, "--png", ext=".png")
    if args.render:
        check_file_target(args.render, "--render", ext=".png")
    image = load_image(args, args.image)
    ids = None
    if args.cam_particles:
        from fem_assb.structure.io import read_ids

        ids = read_ids(
            args.cam_particles,
            image,
            axes=args.axes,
            shape=_shape(args),
            dtype=args.dtype,
            byte_order=args.byte_order,
        )
    s = summary(image, cam_particles=ids, periodic=periodic_axes(args.periodic))
    print0(format_table(s))

    def write():
        if args.json:
            write_json(args.json, {"image": str(args.image), **s})
        if args.png:
            structure_overview(image, s, args.png)
        if args.render:
            from fem_assb.output.render import structure_picture

            structure_picture(image, args.render, title=str(args.image))

    on_rank0(write)
    return 0

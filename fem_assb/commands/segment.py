"""`fem-assb segment`: split the SE of a voxel image into grains with K IDs (docs/generators.md)."""

from __future__ import annotations

NAME = "segment"
HELP = "watershed the solid electrolyte into grains and give touching grains different IDs (seed 002)"


def add_arguments(parser) -> None:
    from fem_assb.commands.analyze import add_image_arguments

    parser.add_argument("image", metavar="IMAGE", help="voxel image (.npz .npy .raw .tif .vti .h5)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="image with the grain IDs (default: <stem>_grains.npz; .npz/.h5 hold the grains inside, "
        "other formats get <stem>.grains<ext>)",
    )
    add_image_arguments(parser)
    parser.add_argument(
        "--ids", type=int, default=8, metavar="K", help="number of grain IDs (default 8, seed 002)"
    )
    parser.add_argument(
        "--min-distance",
        type=int,
        default=3,
        metavar="N",
        help="smallest distance between grain centres (watershed markers), voxels (default 3)",
    )
    parser.add_argument(
        "--h",
        type=float,
        metavar="H",
        help="use h-maxima of the distance map as markers instead (height in voxels, e.g. 0.5)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="draw each grain's ID at random with this seed (seed 002) instead of colouring the grains",
    )
    parser.add_argument("--phase", default="SE", help="material name or class to segment (default SE)")
    parser.add_argument("--json", metavar="OUT.json", help="write the grain statistics as JSON")
    parser.add_argument("--png", metavar="OUT.png", help="picture of the grain IDs on the mid-plane slice")


def format_summary(s: dict) -> str:
    um = 1e6
    return "\n".join(
        [
            f"grains                 {s['grains']} (IDs 1..{s['ids']})",
            f"touching grain pairs   {s['touching_pairs']}, mean neighbours {s['mean_neighbours']:.2f}",
            f"conflicts              {s['conflicts']} pairs with the same ID "
            f"({s['conflict_faces']} faces without GB)",
            f"grain-boundary faces   {s['grain_boundary_faces']}",
            f"grain diameter         mean {s['d_mean_m'] * um:.4g} um, std {s['d_std_m'] * um:.3g} um, "
            f"volume d50 {s['d50_volume_m'] * um:.4g} um",
        ]
    )


def run(args) -> int:
    from pathlib import Path

    from fem_assb.atomic import check_file_target
    from fem_assb.commands.analyze import load_image
    from fem_assb.errors import InputError
    from fem_assb.parallel import on_rank0

    if args.ids < 1:
        raise InputError(f"--ids {args.ids}: give a number of grain IDs >= 1 (default 8).")
    if args.min_distance < 1:
        raise InputError(f"--min-distance {args.min_distance}: give a distance >= 1 voxel (default 3).")
    out = (
        Path(args.output)
        if args.output
        else Path(args.image).with_name(Path(args.image).stem + "_grains.npz")
    )
    check_file_target(out, "-o", ext=".npz")
    for opt, path, ext in (("--json", args.json, ".json"), ("--png", args.png, ".png")):
        if path:
            check_file_target(path, opt, ext=ext)
    image = on_rank0(load_image, args, args.image)  # segmentation is serial: rank 0 reads, computes
    on_rank0(_segment_and_write, args, image, out)  # and writes; an error stops every rank
    return 0


def _segment_and_write(args, image, out) -> None:
    from pathlib import Path

    from fem_assb.atomic import write_json
    from fem_assb.output.plots import grain_ids_slice
    from fem_assb.parallel import print0
    from fem_assb.structure.io import write_image
    from fem_assb.structure.segment import segment_grains, with_grains

    seg = segment_grains(
        image, k=args.ids, min_distance=args.min_distance, h=args.h, phase=args.phase, seed=args.seed
    )
    files = write_image(with_grains(image, seg), out)
    s = seg.summary()
    print0(format_summary(s))
    if args.json:
        write_json(args.json, {"image": str(args.image), **s})
        files.append(Path(args.json))
    if args.png:
        grain_ids_slice(image, seg.ids, args.png)
        files.append(Path(args.png))
    for f in files:
        print0(f"wrote {f}")

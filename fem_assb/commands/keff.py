"""`fem-assb keff`: effective conductivity and tortuosity of one phase (docs/keff.md)."""

from __future__ import annotations

NAME = "keff"
HELP = "effective conductivity, tortuosity factor and percolation of one phase of a voxel image"


def add_arguments(parser) -> None:
    parser.add_argument("image", help="voxel image (.npy, .npz, .tif, .raw, .vti, .h5)")
    parser.add_argument(
        "--phase",
        required=True,
        help="material name or class from the label map (SE, CAM, ...), or an image value",
    )
    parser.add_argument(
        "--labels",
        help="label-map YAML (docs/structures.md); 'default' = 0 PORE 1 CAM 2 SE 3 LE 4 CBD; "
        "without it a bare image is read and --phase is an image value",
    )
    parser.add_argument(
        "--axis", default="x", choices=["x", "y", "z", "all"], help="direction of the applied voltage"
    )
    parser.add_argument(
        "--lateral",
        default="insulating",
        choices=["insulating", "periodic"],
        help="the faces parallel to the axis: insulating (default) or periodic (joined to the "
        "opposite face; for a periodic structure, seed 002)",
    )
    parser.add_argument(
        "--voxel-size",
        help="voxel edge with unit, e.g. 0.5um (default: from the image; 1 um "
        "for bare images, which only matters with grain boundaries)",
    )
    parser.add_argument(
        "--grains", help="SE grain-ID image (same shape, 0 = none); default: from the label map/image"
    )
    gb = parser.add_mutually_exclusive_group()
    gb.add_argument("--grain-resistance", help="grain-boundary area resistance R_GB, e.g. '3.6 ohm*cm^2'")
    gb.add_argument(
        "--grain-exchange-current",
        help="grain-boundary exchange current i_GB0, e.g. '7e-3 A/cm^2' (linearized: R_GB = RT/(F i_GB0))",
    )
    parser.add_argument("--temperature", default="298.15 K", help="temperature for i_GB0 (default 298.15 K)")
    parser.add_argument(
        "--conductivity",
        default="1 S/m",
        help="bulk conductivity of the phase, e.g. '7.69e-4 S/cm' (needed with grain boundaries)",
    )
    parser.add_argument(
        "--solver",
        default="auto",
        choices=["auto", "cg-hypre", "cg-gamg", "direct"],
        help="linear solver (auto: direct below 20000 cells, else CG + BoomerAMG)",
    )
    parser.add_argument(
        "--assembly",
        default="structured",
        choices=["structured", "mesh"],
        help="how the matrix is built: structured (numpy on slabs of the image, no mesh; "
        "about 0.1 kB per voxel in all, the default) or mesh (DOLFINx forms on the voxel mesh, "
        "0.4 to 1.3 kB per voxel; the same discrete problem, kept as a cross-check)",
    )
    parser.add_argument(
        "--rtol", type=float, default=1e-10, help="relative residual tolerance of CG (default 1e-10)"
    )
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")


def _read(args):
    """The image on rank 0: a VoxelImage when a label map is known, else the bare array."""
    from pathlib import Path

    from fem_assb.errors import InputError
    from fem_assb.structure import io

    path = Path(args.image)
    try:
        return io.read_image(path, labels=args.labels, voxel_size=args.voxel_size, grains=args.grains)
    except InputError as err:
        if args.labels is not None or "no label map" not in str(err):
            raise
    # A bare image (no label map anywhere): the phase is an image value.
    return io.read_bare_image(path)


def run(args) -> int:
    from pathlib import Path

    import numpy as np
    from mpi4py import MPI

    from fem_assb.atomic import check_file_target, write_json
    from fem_assb.errors import InputError
    from fem_assb.parallel import on_rank0, print0
    from fem_assb.studies.keff import effective_conductivity
    from fem_assb.units import to_si

    comm = MPI.COMM_WORLD
    if args.json:
        check_file_target(args.json, "--json")
    if args.rtol is not None and not 0 < args.rtol < 1:
        raise InputError(f"--rtol {args.rtol}: give a relative tolerance between 0 and 1, e.g. 1e-10.")

    def read():
        image, grains = _read(args), None
        if isinstance(image, np.ndarray) and args.grains:
            from fem_assb.structure import io

            grains = io.read_bare_image(Path(args.grains))
        return image, grains

    image, grains = on_rank0(read, comm=comm) or (None, None)  # read on rank 0; errors stop every rank

    def si(value, unit, name, default_unit=None, zero=False):
        """Command-line quantities must carry their unit (a bare '3.6' is ambiguous); > 0 (or >= 0)."""
        if value is None:
            return None
        out = to_si(value, unit, name=name, default_unit=default_unit)
        if not (out >= 0 if zero else out > 0):
            raise InputError(f"{name} {value!r} must be {'>= 0' if zero else 'positive'}.")
        return out

    bare = isinstance(image, np.ndarray) or image is None
    res = effective_conductivity(
        image,
        args.phase,
        args.axis,
        voxel_size=si(args.voxel_size, "m", "--voxel-size") if bare else None,
        grains=grains,
        bulk_conductivity=si(args.conductivity, "S/m", "--conductivity"),
        grain_resistance=si(args.grain_resistance, "ohm*m^2", "--grain-resistance", zero=True),
        grain_exchange_current=si(args.grain_exchange_current, "A/m^2", "--grain-exchange-current"),
        temperature=si(args.temperature, "K", "--temperature", default_unit="K"),
        solver=args.solver,
        rtol=args.rtol,
        lateral=args.lateral,
        assembly=args.assembly,
        comm=comm,
    )
    res["image"] = str(args.image)
    print0(
        f"keff: phase {args.phase} of {args.image}, {'x'.join(map(str, res['shape']))} voxels, "
        f"{res['ranks']} rank(s), {res['run_time_s']:.2f} s"
        + (", periodic lateral faces" if res["lateral"] == "periodic" else "")
    )
    gb = res["grain_boundary"]
    if gb is not None:
        print0(
            f"  grain boundaries: R_GB = {gb['resistance_ohm_cm2']:.4g} Ohm cm^2 on {gb['facets']} facets "
            f"(kappa_bulk = {res['bulk_conductivity_S_per_m']:.4g} S/m; tau includes the GB resistance)"
        )
    for axis, r in res["axes"].items():
        if r["relative_conductivity"] > 0:
            print0(
                f"  {axis}: eps = {r['volume_fraction']:.4f}  percolating = {r['percolating_fraction']:.4f}  "
                f"kappa_eff/kappa = {r['relative_conductivity']:.6g}  tau^2 = {r['tortuosity_factor']:.6g}  "
                f"tau = {r['tortuosity']:.6g}"
            )
        else:
            print0(f"  {axis}: eps = {r['volume_fraction']:.4f}  kappa_eff/kappa = 0  ({r['message']})")
    if args.json:
        on_rank0(write_json, args.json, res, comm=comm)
        print0(f"wrote {args.json}")
    return 0

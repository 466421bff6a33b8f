"""`fem-assb materials list | show NAME [--png OUT]`: the built-in material systems."""

from __future__ import annotations

NAME = "materials"
HELP = "list the built-in material systems, or show one (parameters with units and sources, PNG of functions)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="list the material systems")
    show = sub.add_parser("show", help="show the parameters of one system")
    show.add_argument("name", help="system name (see `fem-assb materials list`)")
    show.add_argument("--png", metavar="OUT", help="write a PNG of the functional parameters to OUT")
    show.add_argument("--temperature", metavar="T", help="evaluate at this temperature (e.g. '60 degC')")


def run(args) -> int:
    from fem_assb.atomic import check_file_target
    from fem_assb.materials import get_system, list_systems
    from fem_assb.materials.presets import SYSTEMS
    from fem_assb.materials.report import parameter_table
    from fem_assb.materials.spec import temperature
    from fem_assb.output.plots import material_functions
    from fem_assb.parallel import on_rank0, print0

    if args.action in (None, "list"):
        width = max(len(n) for n in list_systems())
        for name in list_systems():
            print0(f"{name:<{width}}  {SYSTEMS[name]['description']}")
        from fem_assb.materials.presets import CAM_SETS

        print0("\nCAM parameter sets for further CAM labels (materials: {cams: {LABEL: {preset: NAME}}}):")
        for name, data in CAM_SETS.items():
            c_max, D = data["c_max"]["value"], data["D"]["value"]
            print0(f"{name:<{width}}  {data['material']}: c_max {c_max}, D {D}")
        return 0
    if args.png:
        check_file_target(args.png, "--png", ext=".png")
    T = temperature(args.temperature) if args.temperature else None
    system = get_system(args.name, temperature=T)
    print0(parameter_table(system))
    if args.png:
        on_rank0(material_functions, system, args.png)
        print0(f"\nwrote {args.png}")
    return 0

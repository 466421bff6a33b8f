"""`fem-assb run CASE.yaml [-o DIR] [-q]`: galvanostatic discharge / charge / rest of a case."""

from __future__ import annotations

NAME = "run"
HELP = "simulate a case (discharge, charge, rests) and write CSV, fields, plots and summary.json"


def add_arguments(parser) -> None:
    parser.add_argument("case", help="case file (YAML), e.g. cases/demo.yaml")
    parser.add_argument(
        "-o", "--output", default=None, help="output folder (default: outputs.folder of the case)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args) -> int:
    import json

    from fem_assb.case import load_case
    from fem_assb.parallel import print0
    from fem_assb.studies.discharge import run_case

    case = load_case(args.case)
    summary = run_case(case, args.output, quiet=args.quiet)
    keys = (
        "capacity_mAh_cm2",
        "normalized_capacity",
        "gravimetric_capacity_mAh_g",
        "energy_density_Wh_kg",
        "mean_utilization",
        "final_voltage_V",
        "time_steps",
        "newton_iterations",
        "wall_time_s",
    )
    print0(json.dumps({k: summary[k] for k in keys}, indent=2))
    return 0

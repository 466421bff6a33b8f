"""`fem-assb demo`: the built-in demo, end to end (cases/demo.yaml through `fem-assb run`)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "run the built-in demo (a generated 40^3 NMC811/Li6PS5Cl composite, 1 mA/cm^2) and print its summary"

#: The demo case: a small generated composite discharged to 3.0 V (see the file for details).
DEMO_CASE = Path(__file__).resolve().parents[2] / "cases" / "demo.yaml"


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args) -> int:
    from fem_assb.commands import run as run_command
    from fem_assb.errors import InputError

    if not DEMO_CASE.is_file():
        raise InputError(f"the demo case {DEMO_CASE} is missing; run the demo from a fem-assb source tree.")
    return run_command.run(argparse.Namespace(case=str(DEMO_CASE), output=args.output, quiet=args.quiet))

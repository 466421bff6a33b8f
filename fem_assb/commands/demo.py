"""`fem-assb demo`: the built-in demo, end to end (the packaged demo case through `fem-assb run`)."""

from __future__ import annotations

NAME = "demo"
HELP = "run the built-in demo (a generated 40^3 NMC811/Li6PS5Cl composite, 1 mA/cm^2) and print its summary"


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def demo_case_text() -> str:
    """The demo case (YAML), shipped as package data: fem_assb/data/demo.yaml."""
    from importlib import resources

    return resources.files("fem_assb").joinpath("data/demo.yaml").read_text()


def load_demo_case():
    """The resolved demo case (a generated structure: no file paths to resolve)."""
    import yaml

    from fem_assb.case import resolve_case

    return resolve_case(yaml.safe_load(demo_case_text()), default_name="demo")


def run(args) -> int:
    from fem_assb.commands import run as run_command

    return run_command.run_loaded(load_demo_case(), args.output, args.quiet)

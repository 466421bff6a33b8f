"""`fem-assb impedance CASE.yaml [-o DIR] [-q]`: the small-signal impedance spectrum of a case
(docs/impedance.md)."""

from __future__ import annotations

NAME = "impedance"
HELP = "impedance spectrum (EIS) of a case around its open-circuit or after-steps state: CSV, Nyquist, Bode"

#: The summary entries printed at the end.
PRINTED = (
    "state",
    "voltage_V",
    "high_frequency_intercept_ohm_cm2",
    "arcs",
    "low_frequency",
    "cells",
    "wall_time_s",
)


def add_arguments(parser) -> None:
    parser.add_argument("case", help="case file (YAML) with an optional impedance section")
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        help="output folder (default: the subfolder impedance/ of the case's outputs.folder, so that a "
        "run's summary.json is not overwritten)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from fem_assb.case import load_case
    from fem_assb.parallel import print0
    from fem_assb.studies.impedance import run_impedance

    case = load_case(args.case)
    out = Path(args.output) if args.output else Path(case.outputs.folder) / "impedance"
    res = run_impedance(case, out, quiet=args.quiet)
    for w in res.warnings:
        print0(f"fem-assb impedance: warning: {w}", file=sys.stderr)
    print0(json.dumps({k: res.summary[k] for k in PRINTED}, indent=2))
    print0(
        f"written: {', '.join(str(out / f) for f in res.summary['files'].values())}, {out / 'summary.json'}"
    )
    return 0

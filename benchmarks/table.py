"""The benchmarks' one table row: printed on rank 0 (" | "-separated) and appended to a CSV file
(its header written when the file is new). Run a benchmark from the repository root or from
benchmarks/: the scripts import this module from their own folder."""

from __future__ import annotations

from pathlib import Path


def emit_row(row: dict, columns, out: Path) -> None:
    """Print ``row`` (floats to 4 digits) in ``columns`` order and append it to ``out`` (rank 0)."""
    cells = (f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns)
    print(" | ".join(cells), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(columns)
    if out.exists():
        with open(out) as fh:
            old = fh.readline().rstrip("\n")
        if old != header:  # the benchmark's columns changed: a file of its own for the new ones
            out = out.with_name(f"{out.stem}_{len(columns)}cols{out.suffix}")
            print(f"(columns changed: the row goes to {out})", flush=True)
    new = not out.exists()
    with open(out, "a") as fh:
        if new:
            fh.write(header + "\n")
        fh.write(",".join(str(row[c]) for c in columns) + "\n")

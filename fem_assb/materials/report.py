"""Human-readable views of a material system: the parameter table and a PNG of its functions."""

from __future__ import annotations

import textwrap

from fem_assb.materials.system import System


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def parameter_table(system: System, width: int = 110) -> str:
    """The table of every parameter (SI value at initial conditions, unit, source) plus notes."""
    lines = [f"{system.name}: {system.description}", f"sources: {'; '.join(system.sources)}", ""]
    head = f"{'parameter':<26} {'value (SI)':>14}  {'unit':<16} source"
    lines += [head, "-" * len(head)]
    notes = []
    for row in system.rows:
        src = row.source or ""
        if row.note:
            notes.append((row.path, row.note))
            src += f" [note {len(notes)}]"
        first, *rest = textwrap.wrap(src, max(30, width - 60)) or [""]
        lines.append(f"{row.path:<26} {format_value(row.value):>14}  {row.unit:<16} {first}")
        lines += [" " * 60 + r for r in rest]
    if notes:
        lines += ["", "notes (functional parameters: value at initial conditions; valid range; assumptions):"]
        for k, (path, note) in enumerate(notes, 1):
            lines += textwrap.wrap(f"[{k}] {path}: {note}", width, subsequent_indent="    ")
    return "\n".join(lines)

"""CSV tables, written atomically on rank 0."""

from __future__ import annotations

import io

import numpy as np

from fem_assb.output.atomic import write_text
from fem_assb.parallel import rank


def write_csv(path, columns: dict, fmt: str = "%.10g") -> None:
    """Write equal-length columns {header: values} as CSV (rank 0 only)."""
    if rank() != 0:
        return
    names = list(columns)
    data = (
        np.column_stack([np.asarray(columns[n], dtype=float) for n in names]) if names else np.zeros((0, 0))
    )
    buf = io.StringIO()
    buf.write(",".join(names) + "\n")
    if data.size:
        np.savetxt(buf, data, delimiter=",", fmt=fmt)
    write_text(path, buf.getvalue())

"""CSV tables, written atomically on rank 0."""

from __future__ import annotations

import io

import numpy as np

from fem_assb.output.atomic import write_text
from fem_assb.parallel import rank


def write_csv(path, columns: dict, fmt: str = "%.10g", comm=None) -> None:
    """Write equal-length columns {header: values} as CSV (on rank 0 of ``comm``, default
    COMM_WORLD; a run on a sub-communicator passes its own)."""
    if (comm.rank if comm is not None else rank()) != 0:
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


def write_rows(path, header: list[str], rows: list[dict], fmt: str = "%.10g") -> None:
    """Write ``rows`` ({header: value}) as CSV with the columns ``header``, atomically; text as
    it is (quoted where needed), floats with ``fmt``, None and NaN as empty fields. The caller
    writes on one rank."""
    import csv
    import math

    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, (float, np.floating)):
            return fmt % v
        return str(v)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([cell(row.get(h)) for h in header])
    write_text(path, buf.getvalue())

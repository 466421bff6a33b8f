"""Field time series for ParaView: VTX (ADIOS2, .bp) when available, else XDMF.

All ranks write collectively into a temporary name (``.fields.tmp.bp``); on close rank 0 renames
it onto the final name, so a reader never sees a half-written series (atomic output); on abort
(a failed run) the temporary is removed. Both are collective.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class FieldWriter:
    """Writes a list of DG0 Functions (same mesh and element) at chosen times.

    path: output file without suffix ("fields" -> fields.bp or fields.xdmf).
    """

    def __init__(self, comm, path, functions):
        from dolfinx import io

        self.comm = comm
        self.functions = list(functions)
        base = Path(path)
        if hasattr(io, "VTXWriter"):
            self.final = base.with_suffix(".bp")
            self.tmp = base.with_name(f".{base.name}.tmp.bp")
            self._clean(self.tmp)
            self.comm.barrier()
            self.writer = io.VTXWriter(comm, str(self.tmp), self.functions, engine="BP4")
            self.kind = "vtx"
        else:  # pragma: no cover - the env's DOLFINx has ADIOS2
            self.final = base.with_suffix(".xdmf")
            self.tmp = base.with_name(f".{base.name}.tmp.xdmf")
            self.writer = io.XDMFFile(comm, str(self.tmp), "w")
            self.writer.write_mesh(self.functions[0].function_space.mesh)
            self.kind = "xdmf"

    def _clean(self, p: Path):
        if self.comm.rank == 0:
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    def write(self, t: float) -> None:
        """Write all functions at time t (s)."""
        if self.kind == "vtx":
            self.writer.write(t)
        else:  # pragma: no cover
            for f in self.functions:
                self.writer.write_function(f, t)

    def abort(self) -> None:
        """Close the writer and remove the temporary series (collective)."""
        self.writer.close()
        self.comm.barrier()
        self._clean(self.tmp)
        if self.kind == "xdmf":  # pragma: no cover
            self._clean(self.tmp.with_suffix(".h5"))
        self.comm.barrier()

    def close(self) -> Path:
        """Close the writer and move the series onto its final name (collective); returns that."""
        self.writer.close()
        self.comm.barrier()
        if self.comm.rank == 0:
            self._clean(self.final)
            os.replace(self.tmp, self.final)
            if self.kind == "xdmf":  # pragma: no cover
                h5 = self.tmp.with_suffix(".h5")
                if h5.exists():
                    os.replace(h5, self.final.with_suffix(".h5"))
        self.comm.barrier()
        return self.final

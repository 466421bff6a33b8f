"""Wall-time accounts per solver stage (issue 20: where a discharge's time goes).

    t = StageTimes()
    with t("residual"):
        ...                      # assemble
    t.seconds                    # {"residual": 1.23, ...}

A :class:`~fem_assb.solvers.newton.BlockNewton` keeps one (``newton.times``) with the stages
``residual`` (residual assembly, line-search trials included), ``jacobian`` (Jacobian assembly
and its diagonal), ``pc_setup`` (BoomerAMG set-ups, or LU factorizations), ``krylov`` (the
KSP solves, preconditioner applications included) ``pc_apply`` (the part of ``krylov``
spent in the block preconditioner) and ``pc_amg`` (the part of ``pc_apply`` in BoomerAMG's
V-cycle on phi); ``newton`` is the whole of the SNES solves, so
``newton - residual - jacobian - pc_setup - krylov`` is what the Newton loop spends outside
them (convergence tests, pre-check, line search in Python, SNES itself). The accounts cost two
``perf_counter`` calls per entry (~0.1 us each), nothing per cell.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

#: The stages in the order they are reported.
STAGES = ("newton", "residual", "jacobian", "pc_setup", "krylov", "pc_apply", "pc_amg")


class StageTimes:
    """Accumulated wall seconds and entry counts per stage name (this rank's)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._open: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.calls[stage] = self.calls.get(stage, 0) + 1

    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)

    def start(self, stage: str) -> None:
        """Open an entry closed by :meth:`stop` (for PETSc's pre- and post-solve hooks)."""
        self._open[stage] = time.perf_counter()

    def stop(self, stage: str) -> None:
        t0 = self._open.pop(stage, None)
        if t0 is not None:
            self.add(stage, time.perf_counter() - t0)

    def merged(self, *others: StageTimes) -> dict[str, float]:
        """Seconds per stage summed with those of ``others`` (e.g. a fallback solver's)."""
        out = dict(self.seconds)
        for o in others:
            for k, v in o.seconds.items():
                out[k] = out.get(k, 0.0) + v
        return out


def stage_table(seconds: dict[str, float], comm=None) -> dict[str, float]:
    """The per-stage seconds as reported (summary.json ``timings_s``, the benchmark's columns):
    the largest over the ranks of ``comm`` (collective; the stages end in collective calls, so
    the ranks' times differ by their waits only), rounded to ms, with ``newton_other`` =
    newton - residual - jacobian - pc_setup - krylov."""
    keys = list(STAGES) + sorted(k for k in seconds if k not in STAGES)
    vals = np.array([float(seconds.get(k, 0.0)) for k in keys])
    if comm is not None and comm.size > 1:
        from mpi4py import MPI

        comm.Allreduce(MPI.IN_PLACE, vals, op=MPI.MAX)
    out = dict(zip(keys, vals.tolist(), strict=True))
    out["newton_other"] = out["newton"] - sum(out[k] for k in ("residual", "jacobian", "pc_setup", "krylov"))
    return {k: round(v, 3) for k, v in out.items()}


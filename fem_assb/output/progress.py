"""A one-line progress display on rank 0: step, time, voltage, capacity, estimated time left."""

from __future__ import annotations

import sys
import time

from fem_assb.parallel import quiet as env_quiet
from fem_assb.parallel import rank


class Progress:
    """Progress line; ``quiet`` (or FEM_ASSB_QUIET=1) switches it off; only rank 0 (of ``comm``,
    default COMM_WORLD) prints."""

    def __init__(self, quiet: bool = False, stream=None, comm=None):
        self.on = not (quiet or env_quiet()) and (comm.rank if comm is not None else rank()) == 0
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0

    def update(
        self,
        *,
        step: int,
        t: float,
        voltage: float,
        capacity: float,
        fraction: float | None = None,
        label: str = "",
    ) -> None:
        """t (s), voltage (V), capacity (mAh/cm^2), fraction: estimated progress of the segment (0..1)."""
        if not self.on:
            return
        now = time.perf_counter()
        if not self.tty and now - self._last < 5.0:
            return
        self._last = now
        wall = now - self.t0
        eta = ""
        if fraction and 0.01 < fraction < 1:
            eta = f" | left ~{wall * (1 - fraction) / fraction:.0f} s"
        line = (
            f"{label} step {step:5d} | t = {t / 3600:8.4f} h | U = {voltage:7.4f} V | "
            f"Q = {capacity:8.5f} mAh/cm2 | wall {wall:6.1f} s{eta}"
        )
        if self.tty:
            self.stream.write("\r" + line[:150].ljust(150))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.on:
            self.stream.write(("\n" if self.tty else "") + text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.on and self.tty:
            self.stream.write("\n")
            self.stream.flush()

"""A clean stop on SIGINT (Ctrl-C) and SIGTERM, agreed by all MPI ranks.

A signal may reach one rank first (or only one). The handler only sets a flag; the time loop asks
:meth:`StopSignals.requested` once per accepted time step, a collective call (an allreduce of the
flag), so every rank sees the same answer at the same step and the run ends on all of them
together: the history so far is written, ``summary.json`` says ``"complete": false``.

    with StopSignals(comm) as stop:       # handlers installed in the main thread only
        ...
        if stop.requested():              # collective: call it on every rank at the same point
            raise Stopped(stop.requested_name)

A second signal while the stop is under way gets the previous handler (Ctrl-C twice: Python's
KeyboardInterrupt, at once).
"""

from __future__ import annotations

import signal
import threading

from fem_assb.errors import FemAssbError

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(FemAssbError):
    """The run was stopped by a signal (``signal_name``: "SIGINT" or "SIGTERM") on some rank."""

    def __init__(self, signal_name: str):
        super().__init__(f"stopped by {signal_name}")
        self.signal_name = signal_name


class StopSignals:
    """Context manager: SIGINT/SIGTERM set a flag instead of raising (see the module docstring).

    comm: the run's communicator (None: serial). Outside the main thread no handler is installed
    (Python allows handlers only there) and :meth:`requested` stays False unless :meth:`request`
    is called.
    """

    def __init__(self, comm=None):
        self.comm = comm
        self.received = 0  # signal number, 0 = none
        self.requested_name: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        self.received = int(signum)
        self._restore()  # a second signal acts at once

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask for a stop as a signal would (for threads and tests)."""
        self.received = int(signum)

    def requested(self) -> bool:
        """True on every rank when any rank has received a signal (collective over ``comm``)."""
        code = self.received
        if self.comm is not None and self.comm.size > 1:
            from mpi4py import MPI

            code = self.comm.allreduce(code, op=MPI.MAX)
        if code:
            self.requested_name = signal.Signals(code).name
        return bool(code)

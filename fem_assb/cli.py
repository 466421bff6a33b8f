"""The `fem-assb` command-line entry point.

Each sub-command lives in its own module under :mod:`fem_assb.commands` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are
discovered automatically, so adding a command never touches this file.

Failures (docs/structures.md, "Errors"): an expected failure (:class:`~fem_assb.errors.FemAssbError`,
an OS error on a file, out of memory) prints one line ``fem-assb CMD: error: ...`` and exits with
status 1; anything else is a bug and prints its traceback and a line saying so. Under MPI an
error raised on every rank (the usual case: the layers re-raise rank-0 failures on all ranks)
is printed once by rank 0 and every rank exits normally; an error on some ranks only is
printed by the failing rank, which then calls ``MPI_Abort`` so that no rank is left waiting in
a collective.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback

from fem_assb import __version__, commands
from fem_assb.errors import FemAssbError
from fem_assb.parallel import comm_world, rank

#: Seconds a failing rank waits for the other ranks to fail too (then the error is collective)
#: before it aborts the job; FEM_ASSB_ERROR_WAIT overrides it.
ERROR_WAIT = 10.0

BUG_LINE = "this is a bug in fem-assb; please report it with the command line"


class _Parser(argparse.ArgumentParser):
    """argparse that prints (usage, errors, help) on rank 0 only; every rank still exits."""

    def _print_message(self, message, file=None):
        if rank() == 0:
            super()._print_message(message, file)


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fem-assb",
        description="Microstructure-resolved electrochemistry of battery cathodes (DOLFINx).",
    )
    parser.add_argument("--version", action="version", version=f"fem-assb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _expected_message(err: BaseException) -> str | None:
    """The one-line message of an expected failure, or None for a bug."""
    if isinstance(err, FemAssbError):
        return str(err)
    if isinstance(err, MemoryError):
        return (
            "out of memory; use a smaller image or case, or more MPI ranks (--np N) on a machine "
            "with more memory."
        )
    if isinstance(err, BrokenPipeError):
        return "the output was closed before the command finished (broken pipe)."
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}; check the path and its permissions."
    return None


def _all_ranks_failed(comm, errcomm, wait: float) -> bool:
    """True if every rank reaches this point within ``wait`` seconds (a collective failure)."""
    req = errcomm.Ibarrier()
    deadline = time.monotonic() + wait
    while not req.Test():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _fail(command: str, argv, err: BaseException, comm, errcomm) -> int:
    """Report ``err`` (once) and return the exit status; aborts the MPI job if other ranks run on."""
    if isinstance(err, KeyboardInterrupt):
        status, text = 130, f"fem-assb {command}: interrupted"
    else:
        msg = _expected_message(err)
        status = 1
        if msg is not None:
            text = f"fem-assb {command}: error: {msg}"
        else:
            tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)).rstrip()
            line = " ".join(["fem-assb", *(sys.argv[1:] if argv is None else argv)])
            text = f"{tb}\nfem-assb {command}: {BUG_LINE}: {line}"
    multi = comm is not None and comm.size > 1
    if not multi:
        print(text, file=sys.stderr, flush=True)
        return status
    wait = float(os.environ.get("FEM_ASSB_ERROR_WAIT", ERROR_WAIT))
    if _all_ranks_failed(comm, errcomm, wait):
        if comm.rank == 0:
            print(text, file=sys.stderr, flush=True)
        return status
    # Only some ranks failed: the others may wait in a collective forever. Stop them all.
    print(f"{text} (on rank {comm.rank} of {comm.size}; stopping all ranks)", file=sys.stderr, flush=True)
    sys.stdout.flush()
    comm.Abort(status)
    return status  # pragma: no cover - Abort does not return


_ERRCOMM = None


def _error_comm(comm):
    """A duplicate of COMM_WORLD used only to agree on failures (never mixed with the work's
    collectives), created once, collectively, before any command runs."""
    global _ERRCOMM
    if _ERRCOMM is None:
        _ERRCOMM = comm.Dup()
    return _ERRCOMM


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    comm = comm_world()
    errcomm = _error_comm(comm) if comm is not None and comm.size > 1 else None
    try:
        return int(args._run(args) or 0)
    except (Exception, KeyboardInterrupt) as err:
        return _fail(args.command, argv, err, comm, errcomm)


if __name__ == "__main__":
    sys.exit(main())

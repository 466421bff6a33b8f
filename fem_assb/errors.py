"""Exceptions raised for bad input. Their message names the problem and the fix."""

import difflib


def did_you_mean(name, known) -> str:
    """' (did you mean 'X'?)' for the closest known name, or '' (for error messages)."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class FemAssbError(Exception):
    """Base class: the CLI prints the message and exits with status 1 (no traceback)."""


class InputError(FemAssbError, ValueError):
    """A file, parameter or option is wrong; the message says which and how to fix it."""


class PercolationError(FemAssbError):
    """A phase does not connect the faces or reservoirs it must connect."""


class SolverError(FemAssbError):
    """A nonlinear or linear solve failed even after step cutting."""


class NotSupportedError(InputError):
    """An input names physics or an option that is not built yet; the message names the
    roadmap issue that adds it."""

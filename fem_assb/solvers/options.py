"""PETSc options a user passes to one solver, kept out of PETSc's global options database.

PETSc reads run-time options (``-snes_monitor``, ``-ksp_rtol 1e-8``, ...) from one global
database. Options left there after a solver has read them leak into the next solver with the
same prefix, and options never read end in PETSc's "WARNING! There are N unused database
options" at exit. :class:`SolverOptions` therefore inserts a solver's options (under its prefix)
only while PETSc may read them, the way DOLFINx's ``NonlinearProblem`` does around
``setFromOptions``, and removes them afterwards; it also remembers which of them PETSc ever
read, so that the ones it never read (misspelt, or meaningless for this solver) can be
reported to the user.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping

from petsc4py import PETSc

from fem_assb.errors import InputError

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def normalize(options, what: str = "petsc_options") -> dict:
    """Validated option names (without the leading dash) and values as PETSc takes them.

    options: a mapping ``name -> value``, the name with or without a leading ``-``, the value a
    string, a number or a boolean (True or None: the bare flag, e.g. ``snes_monitor: true``;
    False: the value ``false``). Raises InputError naming ``what`` for anything else.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InputError(
            f"{what} must be a mapping of PETSc option names to values (e.g. "
            f"{{snes_monitor: true, ksp_rtol: 1e-8}}), got {type(options).__name__}."
        )
    out = {}
    for key, value in options.items():
        name = str(key).strip()
        name = name[1:] if name.startswith("-") else name
        if not _NAME.match(name):
            raise InputError(
                f"{what}: {key!r} is not a PETSc option name (letters, digits and underscores, "
                "e.g. snes_monitor or ksp_rtol)."
            )
        if name in out:
            raise InputError(f"{what}: the option {name!r} is given twice.")
        if value is None or isinstance(value, bool):  # None: already normalized flag
            out[name] = None if value is None or value else "false"
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise InputError(f"{what}.{name} = {value!r} must be a finite number.")
            out[name] = str(value)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise InputError(f"{what}.{name} = {value!r}: a value must be a string, a number or true/false.")
    return out


class SolverOptions:
    """One solver's PETSc options under ``prefix`` (names without the prefix, as
    :func:`normalize` returns them), inserted into PETSc's database only inside
    :meth:`active`."""

    def __init__(self, prefix: str, options: dict):
        self.prefix = prefix
        self.options = dict(options)
        self._used: set[str] = set()

    @contextlib.contextmanager
    def active(self, defaults: Mapping | None = None):
        """Insert the options (and ``defaults``, full names, for those not set already) for the
        duration of the block, then record which of the user's options PETSc read and remove
        everything that was inserted."""
        db = PETSc.Options()
        inserted = []
        for name, value in self.options.items():
            db[self.prefix + name] = value
            inserted.append(self.prefix + name)
        for full, value in (defaults or {}).items():
            if not db.hasName(full):
                db[full] = value
                inserted.append(full)
        try:
            yield
        finally:
            for name in self.options:
                if db.used(self.prefix + name):
                    self._used.add(name)
            for full in inserted:
                db.delValue(full)

    def unused(self) -> list[str]:
        """The user's options PETSc has not read in any :meth:`active` block so far."""
        return [name for name in self.options if name not in self._used]

    def given(self, name: str) -> bool:
        return name in self.options

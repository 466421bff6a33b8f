"""Atomic files: a file appears complete or not at all (callers write on rank 0 only).

A shared low-level module (beside :mod:`fem_assb.units` and :mod:`fem_assb.errors`), so that every
layer that writes files (structure.io, output) imports it downwards; ``fem_assb.output.atomic``
re-exports it.

Paths given by the user that cannot be written (a folder where a file is meant, a file where a
folder is needed, no permission) raise :class:`~fem_assb.errors.InputError` naming the path and
the fix. :func:`check_file_target` / :func:`check_folder_target` make the same checks up front,
so that a command can refuse a bad output path before it computes anything.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path

from fem_assb.errors import InputError


def _first_existing(path: Path) -> Path:
    """The nearest ancestor of ``path`` (or ``path`` itself) that exists."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_parent(path: Path, what: str) -> None:
    """The folder of ``path`` exists or can be created, and is writable."""
    anc = _first_existing(path.parent if str(path.parent) else Path("."))
    if not anc.is_dir():
        raise InputError(
            f"{what} {path}: {anc} is a file, not a folder, so nothing can be written under it; "
            "choose another path."
        )
    if not os.access(anc, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: the folder {anc} is not writable; choose another path.")


def check_file_target(path, what: str = "output file", ext: str = ".json") -> Path:
    """Raise InputError now if a file cannot be written at ``path`` later (folder, file in the way,
    no permission). Returns the path. Does not create anything."""
    path = Path(path)
    if path.is_dir():
        raise InputError(
            f"{what} {path} is a folder, not a file; give a file name, e.g. {path / ('result' + ext)}."
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} {path} exists and is not writable; choose another path.")
    _check_parent(path, what)
    return path


def check_folder_target(path, what: str = "output folder") -> Path:
    """Raise InputError now if ``path`` cannot be (or become) a writable folder. Returns the path."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{what} {path} is a file, not a folder; remove it or choose another folder.")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{what} {path} is not writable; choose another folder.")
        return path
    _check_parent(path, what)
    return path


def _os_error(err: OSError, path: Path, what: str) -> InputError:
    """An InputError for an OSError raised while creating ``path``."""
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        anc = _first_existing(path.parent)
        return InputError(
            f"{what} {path}: {anc} is a file, not a folder, so nothing can be written under it; "
            "choose another path."
        )
    if err.errno == errno.EISDIR:
        return InputError(f"{what} {path} is a folder, not a file; give a file name.")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return InputError(f"{what} {path}: permission denied ({err.strerror}); choose another path.")
    return InputError(f"{what} {path} cannot be written: {err.strerror or err}.")


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None, what: str = "output file"):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder, not a file; give a file name.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    except OSError as err:
        raise _os_error(err, path, what) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the caller's usual mode
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise _os_error(err, path, what) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, data) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")

"""The output folder of a run: checked before the simulation starts, cleared of a previous run.

:func:`prepare_output_folder` is called by the case driver before anything is built: a folder
that is a file, lies under a file or cannot be written is an :class:`InputError` at once (not an
ADIOS2 abort or a lost run at the end). When the cell is built and the simulation about to
start, :func:`clear_previous_run` removes a previous fem-assb run's files from the folder (one
with its ``summary.json``, or a ``history.csv`` of an interrupted run, or the ``checkpoint/`` of
a killed one), and only those: the names its summary lists plus :data:`RUN_FILES`, and the
hidden temporaries of :data:`TEMPORARY_PREFIXES`. Any other file in the folder is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from fem_assb.errors import InputError

#: Every name a run may write into its folder (summary.json lists the ones a run did write).
RUN_FILES = (
    "summary.json",
    "history.csv",
    "voltage.png",
    "utilization_profile.csv",
    "utilization_histogram.csv",
    "utilization.png",
    "utilization_3d.png",
    "fields.bp",
    "fields.xdmf",
    "fields.h5",
    "case.yaml",
    "checkpoint",
)
#: Hidden temporaries of the field writer and of the atomic writer (``.<name>.<random><suffix>``).
TEMPORARY_PREFIXES = (".fields.tmp.",) + tuple(f".{n}." for n in RUN_FILES if n != "fields.bp")
HISTORY_HEADER = "time_s,voltage_V"


def check_output_folder(path) -> Path:
    """Create ``path`` if needed and check that files can be written there; returns it absolute.

    Raises InputError: "output folder X is a file", "... cannot be created under Y", "... is not
    writable", each ending with "choose another with -o".
    """
    folder = Path(path).absolute()
    fix = "choose another with -o."
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output folder {folder} is a file; {fix}")
    parent = folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"output folder {folder} cannot be created under {parent}, which is a file; {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"output folder {folder} cannot be created under {parent} ({exc.strerror}); {fix}"
        ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".fem-assb-write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"output folder {folder} is not writable ({exc.strerror}); {fix}") from None
    return folder


def previous_run_files(folder) -> list[Path]:
    """The files of a previous fem-assb run in ``folder`` (existing paths, sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = {p.name for p in folder.iterdir() if p.name.startswith(TEMPORARY_PREFIXES)}
    listed = _listed_files(folder / "summary.json")
    if listed is not None or _is_history(folder / "history.csv") or _is_checkpoint(folder / "checkpoint"):
        names |= set(RUN_FILES) | (listed or set())
    return sorted(folder / n for n in names if _is_plain_name(n) and (folder / n).exists())


def remove_previous_run(folder) -> list[Path]:
    """Remove :func:`previous_run_files` (folders such as fields.bp with their content)."""
    removed = previous_run_files(folder)
    for p in removed:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return removed


def prepare_output_folder(path, comm=None) -> Path:
    """:func:`check_output_folder` on rank 0; the outcome (the folder, or the same InputError) on
    every rank of ``comm``."""
    rank = 0 if comm is None else comm.rank
    result = None
    if rank == 0:
        try:
            result = check_output_folder(path)
        except InputError as err:
            result = err
    if comm is not None and comm.size > 1:
        result = comm.bcast(result, root=0)
    if isinstance(result, InputError):
        raise result
    return result


def clear_previous_run(folder, comm=None) -> None:
    """:func:`remove_previous_run` on rank 0, the other ranks of ``comm`` waiting for it."""
    if comm is None or comm.rank == 0:
        remove_previous_run(folder)
    if comm is not None and comm.size > 1:
        comm.barrier()


def _listed_files(summary: Path) -> set[str] | None:
    """The file names a fem-assb summary.json lists (None: no such summary)."""
    try:
        data = json.loads(summary.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return None
    return {str(v) for v in data["files"].values() if isinstance(v, str)}


def _is_history(path: Path) -> bool:
    try:
        with open(path) as f:
            return f.readline().startswith(HISTORY_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def _is_checkpoint(path: Path) -> bool:
    """A run's checkpoint folder (a run killed before it wrote anything else leaves only it)."""
    try:
        return path.is_dir() and any(p.name.startswith(("step-", ".tmp-step-")) for p in path.iterdir())
    except OSError:
        return False


def _is_plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")

"""The environment of a child process (``mpirun -n 2 ...`` or ``python3 -m fem_assb ...``) that the
tests start: without the MPI singleton state of the pytest process, with the repository on the path."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: MPI variables a child keeps (running as root, oversubscribing the 2 cores)
KEEP = {"OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "PRTE_MCA_mapby"}


def child_env(quiet: bool = True, **extra) -> dict:
    """os.environ without the OMPI_/PMIX_/PRTE_/OPAL_ variables of this process (but KEEP),
    PYTHONPATH led by the repository, FEM_ASSB_QUIET=1 (quiet) or unset, then ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in KEEP or not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))
    }
    env.setdefault("PRTE_MCA_mapby", ":OVERSUBSCRIBE")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if quiet:
        env["FEM_ASSB_QUIET"] = "1"
    else:
        env.pop("FEM_ASSB_QUIET", None)
    env.update(extra)
    return env

"""`fem-assb info`: versions of the stack and the MPI layout."""

from __future__ import annotations

NAME = "info"
HELP = "print versions of fem-assb, DOLFINx, PETSc, petsc4py, MPI and the number of ranks"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the same facts as JSON")


def versions() -> dict:
    """Versions of the stack as a dict of strings (and the number of MPI ranks)."""
    import dolfinx
    import petsc4py
    from mpi4py import MPI
    from petsc4py import PETSc

    import fem_assb

    petsc = ".".join(str(v) for v in PETSc.Sys.getVersion())
    return {
        "fem-assb": fem_assb.__version__,
        "DOLFINx": dolfinx.__version__,
        "PETSc": petsc,
        "petsc4py": petsc4py.__version__,
        "mpi4py": __import__("mpi4py").__version__,
        "MPI library": MPI.Get_library_version().strip().splitlines()[0],
        "MPI ranks": MPI.COMM_WORLD.size,
        "PETSc scalar": PETSc.ScalarType.__name__,
    }


def run(args) -> int:
    import json

    from fem_assb.parallel import print0

    facts = versions()
    if args.json:
        print0(json.dumps(facts, indent=2))
    else:
        width = max(len(k) for k in facts)
        for key, value in facts.items():
            print0(f"{key:<{width}}  {value}")
    return 0

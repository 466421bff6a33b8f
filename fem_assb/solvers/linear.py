"""Linear solves with PETSc KSP: CG + algebraic multigrid for large SPD systems, LU for tiny ones.

DESIGN.md §3: a direct solver (MUMPS) for small systems, Krylov with AMG (hypre BoomerAMG or
GAMG) for large ones. ``method``:

- ``"auto"``: ``"direct"`` below ``DIRECT_LIMIT`` unknowns, else ``"cg-hypre"``;
- ``"cg-hypre"``: CG preconditioned by BoomerAMG (HMIS coarsening, ext+i interpolation,
  strong threshold 0.5: the standard settings for 3D 7-point Laplacians);
- ``"cg-gamg"``: CG with PETSc's smoothed-aggregation GAMG;
- ``"direct"``: MUMPS LU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fem_assb.errors import InputError, SolverError

#: Below this many global unknowns "auto" uses the direct solver.
DIRECT_LIMIT = 20000
METHODS = ("auto", "cg-hypre", "cg-gamg", "direct")


@dataclass
class LinearSolveInfo:
    """What a solve did: method, iterations, final relative residual, wall time [s]."""

    method: str
    iterations: int
    residual_norm: float
    time: float
    reason: int


#: BoomerAMG for 3D 7-point operators (PETSc PC options): HMIS coarsening, ext+i interpolation with
#: at most 4 entries per row, one level of aggressive coarsening. Against PETSc's defaults on the
#: potential block of a 48^3 cell: the same GMRES iterations at half the set-up and cycle time
#: (with aggressive coarsening 1.5x the iterations, still 15 % less time; docs/discharge.md).
BOOMERAMG_3D = {
    "pc_type": "hypre",
    "pc_hypre_type": "boomeramg",
    "pc_hypre_boomeramg_coarsen_type": "HMIS",
    "pc_hypre_boomeramg_interp_type": "ext+i",
    "pc_hypre_boomeramg_P_max": 4,
    "pc_hypre_boomeramg_agg_nl": 1,
}


def _options(method: str) -> dict:
    if method == "direct":
        return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
    if method == "cg-hypre":
        return {
            "ksp_type": "cg",
            **BOOMERAMG_3D,
            "pc_hypre_boomeramg_strong_threshold": 0.5,
            "pc_hypre_boomeramg_relax_type_all": "l1scaled-SOR/Jacobi",  # symmetric, for CG
        }
    if method == "cg-gamg":
        return {
            "ksp_type": "cg",
            "pc_type": "gamg",
            "pc_gamg_type": "agg",
            "pc_gamg_agg_nsmooths": 1,
            "mg_levels_ksp_type": "chebyshev",
            "mg_levels_pc_type": "jacobi",
        }
    raise InputError(f"unknown linear solver {method!r}; use one of {', '.join(METHODS)}.")


def choose_method(method: str, n_global: int) -> str:
    """Resolve ``"auto"`` by the global number of unknowns."""
    if method not in METHODS:
        raise InputError(f"unknown linear solver {method!r}; use one of {', '.join(METHODS)}.")
    if method == "auto":
        return "direct" if n_global < DIRECT_LIMIT else "cg-hypre"
    return method


def solve_spd(
    A, b, x, *, method: str = "auto", rtol: float = 1e-10, max_it: int = 1000, prefix: str = "fem_assb_lin_"
) -> LinearSolveInfo:
    """Solve A x = b for a symmetric positive definite PETSc matrix (x: PETSc Vec, updated).

    rtol: relative (unpreconditioned) residual tolerance of the Krylov methods. x may be a
    plain or a ghosted vector; its ghosts are the caller's to update (DOLFINx:
    ``uh.x.scatter_forward()``). Raises
    SolverError when the solve does not converge.
    """
    from petsc4py import PETSc

    method = choose_method(method, A.getSize()[0])
    t0 = time.perf_counter()
    ksp = PETSc.KSP().create(A.getComm())
    ksp.setOptionsPrefix(prefix)
    opts = PETSc.Options()
    for key, value in _options(method).items():
        opts[prefix + key] = value
    ksp.setOperators(A)
    if method != "direct":
        ksp.setTolerances(rtol=rtol, atol=0.0, max_it=max_it)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        A.setOption(PETSc.Mat.Option.SPD, True)
    ksp.setFromOptions()
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    info = LinearSolveInfo(
        method, ksp.getIterationNumber(), ksp.getResidualNorm(), time.perf_counter() - t0, reason
    )
    for key in _options(method):
        opts.delValue(prefix + key)
    ksp.destroy()
    if reason < 0:
        raise SolverError(
            f"linear solve ({method}) did not converge (PETSc reason {reason}) after {info.iterations} "
            f"iterations; try another --solver (direct for small problems)."
        )
    return info

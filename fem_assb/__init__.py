"""fem-assb: MPI-parallel finite-element simulation of microstructure-resolved
electrochemistry in battery cathodes (DOLFINx / UFL / PETSc).

Data path (one sub-package per layer, dependencies point downwards):
structure -> meshing -> forms -> solvers -> studies -> indicators -> output.
"""

__version__ = "0.1.0"

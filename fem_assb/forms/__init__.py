"""fem_assb.forms: the UFL residuals of the cell (electrochemistry), its transport and interface laws.

UFL walks its expression trees recursively. The interface laws solved inside the forms (the film
law and the half-cell surface correction: 3 to 16 Newton steps written into the expression) nest
the CAM's U0 once per step, and an implicit U0 such as the NMC622 MSMR inversion is itself deep:
measured, CellForms of a planar NMC622 cell with the surface correction raised RecursionError at
Python's default limit of 1000 and compiled with 20000 (session 7). The limit is raised here, for
every process that builds the forms.
"""

import sys

#: Python recursion limit while building and compiling the cell forms (see the module docstring).
RECURSION_LIMIT = 20000
if sys.getrecursionlimit() < RECURSION_LIMIT:
    sys.setrecursionlimit(RECURSION_LIMIT)

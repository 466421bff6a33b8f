"""Forms assembled in parts, to bound the memory of DOLFINx's coefficient packing.

Before it runs the kernels of an integral, DOLFINx packs the values of every coefficient on
every integration entity (cell, or facet side) into one array that lives until the assembly
returns: for the cell residual 8 doubles per facet side, about 400 B per cell, as much as the
Jacobian matrix itself (docs/discharge.md, "Memory"). A :class:`ChunkedForm` is one compiled
form created once per part of its integration entities; assembling the parts one after another
adds up to the same vector or matrix while holding the packing of one part at a time.
"""

from __future__ import annotations

import math

import numpy as np
from dolfinx import fem
from dolfinx.fem import petsc as fpetsc
from mpi4py import MPI

#: Integration entities per integral and part: 2^17 facets pack 2 x 8 doubles each, 16 MB.
MAX_ENTITIES = 2**17
_TYPES = (fem.IntegralType.cell, fem.IntegralType.exterior_facet, fem.IntegralType.interior_facet)


class ChunkedForm:
    """The UFL ``form`` (vector or matrix) compiled once and created for disjoint parts of each
    integral's entities (as many as needed for at most ``max_entities`` per integral and part,
    the same number on every rank). ``whole`` is the ordinary DOLFINx form (for sparsity
    patterns; drop it with :meth:`release` once it is not needed, it holds a copy of every
    entity list).

    Every integral needs a subdomain id: DOLFINx integrates an unmarked integral (id -1) over
    all entities whatever subdomain data it is given, so it cannot be split.
    """

    def __init__(self, form, max_entities: int = MAX_ENTITIES):
        self.whole = fem.form(form)
        cpp = self.whole._cpp_object
        comm = self.whole.mesh.comm
        domains = {}
        for itype in _TYPES:
            if itype not in cpp.integral_types:
                continue
            ids = _integral_ids(self.whole.ufcx_form, itype)
            domains[itype] = [(i, np.array(cpp.domains(itype, k))) for k, i in enumerate(ids)]
        largest = max((len(e) for d in domains.values() for _, e in d), default=0)
        self.num_parts = comm.allreduce(max(1, math.ceil(largest / max_entities)), op=MPI.MAX)
        if self.num_parts == 1:
            self.parts = [self.whole]
            return
        for itype, d in domains.items():
            if any(i == -1 for i, _ in d):
                raise ValueError(
                    f"ChunkedForm: an integral of type {itype.name} has no subdomain id; give it one "
                    "(e.g. dx(0) with subdomain_data [(0, cells)]) so it can be assembled in parts."
                )
        compiled = fem.compile_form(comm, form)
        spaces = [a.ufl_function_space() for a in sorted(form.arguments(), key=lambda a: a.number())]
        coefficients = {c: c for c in form.coefficients()}
        constants = {c: c for c in form.constants()}
        pieces = {  # each integral's entities split once: num_parts contiguous slices
            itype: [(i, np.array_split(e, self.num_parts)) for i, e in d] for itype, d in domains.items()
        }
        self.parts = []
        for p in range(self.num_parts):
            sub = {itype: [(i, np.ascontiguousarray(s[p])) for i, s in d] for itype, d in pieces.items()}
            self.parts.append(fem.create_form(compiled, spaces, spaces[0].mesh, sub, coefficients, constants))

    def release(self):
        """Drop the whole form (its entity lists) when it is not one of the parts."""
        if self.num_parts > 1:
            self.whole = None

    def assemble_vector(self, b):
        """b += the form's vector (PETSc Vec, local form; ghost accumulation is the caller's)."""
        for part in self.parts:
            fpetsc.assemble_vector(b, part)

    def assemble_matrix(self, A):
        """A += the form's matrix (PETSc Mat; call ``A.assemble()`` afterwards)."""
        for part in self.parts:
            fpetsc.assemble_matrix(A, part)


def _integral_ids(ufcx_form, itype) -> list[int]:
    """Subdomain ids of the form's integrals of one type, in DOLFINx's integral order."""
    t = int(itype.value)
    off = ufcx_form.form_integral_offsets
    return [int(ufcx_form.form_integral_ids[k]) for k in range(off[t], off[t + 1])]

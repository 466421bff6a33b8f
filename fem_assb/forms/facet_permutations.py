"""Interior-facet kernels compiled without facet permutations.

DOLFINx lets a kernel permute the quadrature points of an interior facet to match the
orientation each neighbouring cell sees, and for every form that may need it builds the mesh's
permutation data at the first assembly, edges included: about 100 B per cell that stay and a
transient of about 300 B per cell (docs/discharge.md, "Memory"). With quadrature degree 0 there
is one point per facet, its centre, which every reflection and rotation of the facet maps to
itself, so the permuted tables are identical and the data are never needed.
"""

from __future__ import annotations

from dolfinx import fem


def without_facet_permutations(form, comm):
    """Return the UFL ``form`` after marking its compiled kernels (FFCx, JIT-cached for this
    process, so every ``fem.form`` of it afterwards) as not needing facet permutations.

    Raises ValueError if an interior-facet integral has a quadrature degree other than 0, where
    the permutation would matter.
    """
    for integral in form.integrals():
        if integral.integral_type() == "interior_facet":
            degree = integral.metadata().get("quadrature_degree")
            if degree != 0:
                raise ValueError(
                    f"an interior-facet integral has quadrature degree {degree}; only degree 0 (one "
                    "point, the facet centre) is independent of the facet's orientation."
                )
    ufcx = fem.compile_form(comm, form).ufcx_form
    for k in range(ufcx.form_integral_offsets[3]):
        ufcx.form_integrals[k].needs_facet_permutations = False
    return form

"""Effective conductivity and tortuosity of one phase of a voxel image (MODEL.md §7).

The problem (seed 000 Eq. S1, seed 002 Eqs. 5 and 6): the Poisson equation div(k grad phi) = 0
on the phase alone, phi = 1 V on the face normal to the axis at index 0 and 0 V on the opposite
face, all other faces (and the phase's boundary against other phases) insulating. Then

    kappa_eff = l * i / U,   relative conductivity = kappa_eff / kappa_bulk,
    tortuosity factor tau^2 = eps * kappa_bulk / kappa_eff,   tortuosity tau = sqrt(tau^2),

with l the sample length along the axis, i the current density over the full cross-section and
eps the phase's volume fraction. Discretization (DESIGN.md §2): one unknown per voxel of the
phase, two-point fluxes between face neighbours, the boundary potential applied through the half
cell at the faces (so the potential sits exactly on the sample faces). The matrix is built
without a mesh by default (``assembly="structured"``: ``forms.structured`` on the x-slabs of
``meshing.slabs``), or with DOLFINx forms on the voxel mesh (``assembly="mesh"``, the cell's
path), the same discrete problem. Grain
boundaries between SE grains of different IDs add the linearized area resistance
R_GB = R T / (F i_GB0) in series with the two half cells (MODEL.md §3).

Clusters of the phase that do not connect the two faces carry no current; they are removed
before meshing and reported through ``percolating_fraction``. A phase with no percolating
cluster gives relative conductivity 0 with a message (not an error).

Lateral sides (``lateral``): "insulating" (default) or "periodic": the four faces parallel to the
axis are periodic, i.e. the image is one period of a laterally infinite medium (seed 002). The
image is then transposed so that the axis is the mesh's x (the slab partitioner keeps periodic
partners, which share the x index, on one rank: meshing.voxel_mesh), the percolation analysis
wraps around the lateral axes, and the two lateral faces are coupled by two-point fluxes like
interior facets.

One-line use (any rank count; the image is needed on rank 0 only)::

    from fem_assb.studies.keff import effective_conductivity
    res = effective_conductivity(labels, phase=1, axis="all")
    res["axes"]["x"]["tortuosity_factor"]
"""

from __future__ import annotations

import math
import resource
import time

import numpy as np

from fem_assb.errors import FemAssbError, InputError
from fem_assb.meshing.cell_tags import is_grain_boundary

AXES = {"x": 0, "y": 1, "z": 2}
#: Accepted values of ``lateral`` (the faces parallel to the axis).
LATERAL = ("insulating", "periodic")
#: Accepted values of ``assembly``: how the matrix is built (effective_conductivity).
ASSEMBLY = ("structured", "mesh")
#: Interior facet tags of the keff mesh: same grain (or no grain) and grain boundary.
BULK, GRAIN_BOUNDARY = 1, 2


def grain_tagger(mat_a, mat_b, grain_a, grain_b):
    """Interior facet tag: GRAIN_BOUNDARY where the cell's rule puts one
    (:func:`fem_assb.meshing.cell_tags.is_grain_boundary`), else BULK."""
    return np.where(is_grain_boundary(grain_a, grain_b), GRAIN_BOUNDARY, BULK).astype(np.int32)


def _parse_axes(axis) -> list[str]:
    if axis in (None, "all"):
        return ["x", "y", "z"]
    names = [axis] if isinstance(axis, (str, int)) else list(axis)
    out = []
    for a in names:
        a = "xyz"[a] if isinstance(a, (int, np.integer)) and 0 <= a < 3 else str(a).lower()
        if a not in AXES:
            raise InputError(f"axis {a!r} is not x, y, z or all.")
        out.append(a)
    return out


def phase_mask(image, phase) -> np.ndarray:
    """Boolean mask of ``phase`` in ``image`` (VoxelImage: material name, class or image value;
    array: image value; boolean array: the mask itself)."""
    from fem_assb.structure.image import VoxelImage

    if isinstance(image, VoxelImage):
        if isinstance(phase, (int, np.integer)) or (isinstance(phase, str) and phase.lstrip("-").isdigit()):
            value = int(phase)
            if value not in image.label_map.materials:
                raise InputError(f"image value {value} is not in the label map.")
            return image.labels == value
        return image.mask(str(phase))
    arr = np.asarray(image)
    if arr.ndim != 3:
        raise InputError(f"the image must be 3D (x, y, z); got shape {arr.shape}.")
    if arr.dtype == bool:
        return arr if phase in (None, True, 1) else ~arr
    if phase is None:
        raise InputError("give the phase: an image value (e.g. --phase 1).")
    try:
        value = int(phase)
    except (TypeError, ValueError):
        raise InputError(
            f"phase {phase!r} is a material name, but the image has no label map; give an image value "
            "(e.g. --phase 1) or a label map (--labels L.yaml)."
        ) from None
    mask = arr == value
    if not mask.any():
        raise InputError(f"the image has no voxel of value {value} (values present: {np.unique(arr)[:20]}).")
    return mask


def _peak_rss_bytes(comm) -> float:
    """Sum over ranks of the peak resident memory [bytes] (Linux ru_maxrss is in kB)."""
    from mpi4py import MPI

    return comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0, op=MPI.SUM)


class _Problem:
    """Forms of the keff problem on one mesh, compiled once for every axis.

    The two-point (interior facet) part of the matrix is assembled once per mesh; each axis
    only adds the diagonal of its two Dirichlet faces' half-cell terms (for DG0 the boundary
    term (2k/h) u v ds is diagonal), so ``--axis all`` assembles the big part once.
    """

    def __init__(self, vm, kappa: float, r_gb: float | None):
        import ufl
        from dolfinx import fem

        from fem_assb.forms.transport import boundary_transmissibility, grain_boundary_flux, two_point_flux
        from fem_assb.meshing.voxel_mesh import FACE_TAGS

        msh = vm.mesh
        self.vm = vm
        self.V = fem.functionspace(msh, ("DG", 0))
        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        self.uh = fem.Function(self.V, name="phi")
        H, n = vm.cell_size, ufl.FacetNormal(msh)
        k = fem.Constant(msh, float(kappa))
        _, ds, dS = vm.measures(interior_tags=(BULK, GRAIN_BOUNDARY))
        tags = sorted(FACE_TAGS.values())
        # Per face: weight (1 = Dirichlet face of this axis, 0 = insulating) and potential [V].
        self.weight = {t: fem.Constant(msh, 0.0) for t in tags}
        self.phi_b = {t: fem.Constant(msh, 0.0) for t in tags}
        self.select = {t: fem.Constant(msh, 0.0) for t in tags}
        tb = boundary_transmissibility(k, H, n)
        dx = ufl.Measure("dx", msh, metadata={"quadrature_degree": 0})
        # The zero cell term puts every diagonal entry in the sparsity pattern.
        a = two_point_flux(u, k, v, H, n) * dS(BULK) + fem.Constant(msh, 0.0) * u * v * dx
        if r_gb is not None:  # the cell's GB law, linearized: R_GB in series with the half cells
            r = fem.Constant(msh, float(r_gb))
            a += grain_boundary_flux(u, v, None, None, k, H, n, iterations=0, r_gb=r) * dS(GRAIN_BOUNDARY)
        diag = sum(self.weight[t] * tb * v * ds(t) for t in tags)
        L = sum(self.weight[t] * self.phi_b[t] * tb * v * ds(t) for t in tags)
        # Current [A] entering the domain through the selected face.
        current = sum(self.select[t] * tb * (self.phi_b[t] - self.uh) * ds(t) for t in tags)
        t0 = time.perf_counter()
        self.a, self.diag, self.L, self.current = fem.form(a), fem.form(diag), fem.form(L), fem.form(current)
        self.timings = {"forms": time.perf_counter() - t0}
        self.A = None

    def solve_axis(self, axis: int, voltage: float, method: str, rtol: float) -> dict:
        from dolfinx import fem
        from dolfinx.fem import petsc as fpetsc
        from mpi4py import MPI
        from petsc4py import PETSc

        from fem_assb.meshing.voxel_mesh import FACE_TAGS
        from fem_assb.solvers.linear import solve_spd

        lo, hi = FACE_TAGS[(axis, 0)], FACE_TAGS[(axis, 1)]
        for t in self.weight:
            self.weight[t].value = 1.0 if t in (lo, hi) else 0.0
            self.phi_b[t].value = voltage if t == lo else 0.0
        t0 = time.perf_counter()
        if self.A is None:
            self.A = fpetsc.assemble_matrix(self.a)
            self.A.assemble()
        vectors = []
        for form in (self.diag, self.L):
            vec = fpetsc.assemble_vector(form)
            vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            vectors.append(vec)
        d, b = vectors
        self.A.setDiagonal(d, addv=PETSc.InsertMode.ADD)
        t_asm = time.perf_counter() - t0
        self.uh.x.array[:] = 0.0
        try:
            info = solve_spd(self.A, b, self.uh.x.petsc_vec, method=method, rtol=rtol)
        finally:
            d.scale(-1.0)
            self.A.setDiagonal(d, addv=PETSc.InsertMode.ADD)  # back to the two-point part
            d.destroy()
            b.destroy()
        self.uh.x.scatter_forward()
        comm = self.vm.mesh.comm
        currents = []
        for t in (lo, hi):
            for s in self.select:
                self.select[s].value = 1.0 if s == t else 0.0
            currents.append(comm.allreduce(fem.assemble_scalar(self.current), op=MPI.SUM))
        return {"current_in": currents[0], "current_out": -currents[1], "assemble": t_asm, "solve": info}

    def destroy(self) -> None:
        if self.A is not None:
            self.A.destroy()


class _StructuredProblem:
    """The keff matrix of one phase assembled without a mesh (``forms.structured``): the same
    interface and the same discrete problem as :class:`_Problem` (their agreement to solver
    tolerance is tested). The two-point part is assembled once; each axis adds the diagonal of
    its two Dirichlet faces' half cells and removes it after the solve."""

    def __init__(self, comm, slab, h: float, kappa: float, r_gb: float | None, method: str = "auto"):
        from petsc4py import PETSc

        from fem_assb.forms import structured
        from fem_assb.memory import release_free_heap
        from fem_assb.solvers.hypre_matrix import empty_hypre_matrix
        from fem_assb.solvers.linear import choose_method

        t0 = time.perf_counter()
        self.comm, self.slab, self.h, self.kappa = comm, slab, h, kappa
        self.ids = slab.numbers(PETSc.IntType)
        n_own = slab.owned
        self.rstart = slab.first + int(slab.mask[0].sum())
        rend = self.rstart + n_own
        chunks = list(structured.row_chunks(slab))
        counts = [structured.stencil_counts(slab, self.ids, lo, hi, self.rstart, rend) for lo, hi in chunks]
        empty = np.zeros(0, dtype=PETSc.IntType)  # a rank without planes
        d_nnz, o_nnz = (np.concatenate([c[i] for c in counts] or [empty]) for i in (0, 1))
        del counts
        n_global = comm.allreduce(n_own)
        sizes = ((n_own, n_global), (n_own, n_global))
        # For BoomerAMG the matrix is built in hypre's format: PCHYPRE would otherwise convert
        # an AIJ matrix into a second copy with PETSc's COO maps (34 B per nonzero) and keep
        # both (solvers.hypre_matrix). 200^3 blobs, 2.4 M cells, one axis: peak 1334 -> 883 MB.
        A = (
            empty_hypre_matrix(comm, sizes, d_nnz, o_nnz)
            if choose_method(method, n_global) == "cg-hypre"
            else None
        )
        if A is None:
            A = PETSc.Mat().createAIJ(sizes, nnz=(d_nnz, o_nnz), comm=comm)
            A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        del d_nnz, o_nnz
        for lo, hi in chunks:  # each chunk inserted as soon as built: one chunk's temporaries at a time
            rows, indptr, cols, vals = structured.stencil_rows(slab, self.ids, lo, hi, h, kappa, r_gb)
            A.setValuesIJV(indptr, cols, vals, rowmap=rows)
            del rows, indptr, cols, vals
        A.assemble()
        release_free_heap()  # the chunks' temporaries, before the preconditioner's set-up
        self.A, self.n_global = A, n_global
        self.timings = {"matrix": time.perf_counter() - t0}

    def solve_axis(self, axis: int, voltage: float, method: str, rtol: float) -> dict:
        from mpi4py import MPI
        from petsc4py import PETSc

        from fem_assb.forms.structured import face_boundary_transmissibility, face_cells
        from fem_assb.solvers.linear import solve_spd

        t0 = time.perf_counter()
        tb = face_boundary_transmissibility(self.kappa, self.h, axis) * self.h**2  # [S] per face cell
        lo, hi = (face_cells(self.slab, self.ids, axis, side) - self.rstart for side in (0, 1))
        d, b = self.A.createVecs()
        diag = np.zeros(self.slab.owned)
        np.add.at(diag, lo, tb)
        np.add.at(diag, hi, tb)
        d.array[:] = diag
        b.array[:] = 0.0
        np.add.at(b.array, lo, tb * voltage)
        self.A.setDiagonal(d, addv=PETSc.InsertMode.ADD)
        t_asm = time.perf_counter() - t0
        x = self.A.createVecRight()
        try:
            info = solve_spd(self.A, b, x, method=method, rtol=rtol)
        finally:
            d.scale(-1.0)
            self.A.setDiagonal(d, addv=PETSc.InsertMode.ADD)  # back to the two-point part
            for vec in (d, b):
                vec.destroy()
        u = x.array_r
        current_in = self.comm.allreduce(float(np.sum(tb * (voltage - u[lo]))), op=MPI.SUM)
        current_out = self.comm.allreduce(float(np.sum(tb * u[hi])), op=MPI.SUM)
        x.destroy()
        return {"current_in": current_in, "current_out": current_out, "assemble": t_asm, "solve": info}

    def destroy(self) -> None:
        self.A.destroy()


def effective_conductivity(
    image,
    phase=None,
    axis="x",
    *,
    voxel_size=None,
    grains=None,
    bulk_conductivity=1.0,
    grain_resistance=None,
    grain_exchange_current=None,
    temperature=298.15,
    solver="auto",
    rtol=1e-10,
    lateral="insulating",
    assembly="structured",
    comm=None,
) -> dict:
    """Effective conductivity, tortuosity and percolation of ``phase`` along ``axis``.

    image: VoxelImage or 3D integer/boolean array, needed on rank 0 only (None elsewhere);
    phase: material name/class or image value (see phase_mask); axis: "x", "y", "z", "all" or a list;
    voxel_size: edge of a cubic voxel [m] (float or "0.5 um"; default the image's, else 1 um: the
    relative values do not depend on it unless grain boundaries are given);
    grains: SE grain ID per voxel (default: the VoxelImage's grain IDs);
    bulk_conductivity: kappa_bulk of the phase [S/m] (matters with grain boundaries only);
    grain_resistance: R_GB [Ohm m^2], or grain_exchange_current: i_GB0 [A/m^2] with temperature [K]
    (R_GB = R T / (F i_GB0)); solver: see fem_assb.solvers.linear; rtol: Krylov tolerance;
    lateral: "insulating" or "periodic" (the faces parallel to the axis, module docstring);
    assembly: "structured" (the matrix from numpy on x-slabs of the image, no mesh: about a
    tenth of the memory, the default) or "mesh" (DOLFINx forms on the voxel mesh, the cell's
    path; the same discrete problem, kept as its cross-check).

    Returns a dict with the inputs, ``ranks``, ``run_time_s``, ``peak_memory_bytes`` (sum over
    ranks), ``peak_memory_bytes_per_voxel`` and ``axes`` = {axis: result}; each result holds
    volume_fraction, percolating_fraction, relative_conductivity, effective_conductivity [S/m],
    tortuosity_factor, tortuosity (None when not percolating), current_density [A/m^2],
    message, cells, iterations, solver and timings [s].
    """
    from mpi4py import MPI

    t_start = time.perf_counter()
    comm = comm or MPI.COMM_WORLD
    axes = _parse_axes(axis)
    periodic = _parse_lateral(lateral)
    if assembly not in ASSEMBLY:
        raise InputError(f"assembly = {assembly!r} is unknown; use one of {', '.join(ASSEMBLY)}.")
    kappa, r_gb = _conductivities(bulk_conductivity, grain_resistance, grain_exchange_current, temperature)
    plan, masks, grain_arr = _plan_on_root(comm, image, phase, axes, voxel_size, grains, r_gb, periodic)
    shape, h = plan["shape"], plan["h"]
    n_vox = int(np.prod(shape))
    eps = plan["n_phase"] / n_vox
    results = {}
    for group in plan["groups"]:
        n_cells = plan["per_axis"][group[0]]
        base = {
            "volume_fraction": eps,
            "percolating_fraction": (n_cells / plan["n_phase"]) if plan["n_phase"] else 0.0,
            "cells": n_cells,
        }
        if n_cells == 0:
            results.update({a: _not_percolating(a, base) for a in group})
            continue
        gr = grain_arr if r_gb is not None else None
        mask_g = masks.get(group[0])
        if periodic:  # one axis per group, moved to x; the lateral y and z wrap
            mask_g, gr = _axis_first(mask_g, AXES[group[0]]), _axis_first(gr, AXES[group[0]])
        problem = build_problem(comm, assembly, mask_g, h, kappa, r_gb, gr, periodic, solver)
        for i, a in enumerate(group):
            out = problem.solve_axis(0 if periodic else AXES[a], 1.0, solver, rtol)
            res = _summarize(out, a, shape, h, kappa, eps, base)
            res["timings"] = {
                **{stage: t if i == 0 else 0.0 for stage, t in problem.timings.items()},
                "assemble": out["assemble"],
                "solve": out["solve"].time,
            }
            if plan["per_axis"][a] < plan["n_phase"]:
                res["message"] = (
                    f"{plan['n_phase'] - plan['per_axis'][a]} voxels of the phase are in clusters "
                    f"that do not connect the {a} faces; they were removed."
                )
            results[a] = res
        problem.destroy()
        del problem
    peak = _peak_rss_bytes(comm)
    return {
        "phase": None if phase is None else str(phase),
        "shape": list(shape),
        "voxel_size_m": h,
        "bulk_conductivity_S_per_m": kappa,
        "grain_boundary": None
        if r_gb is None
        else {"resistance_ohm_m2": r_gb, "resistance_ohm_cm2": r_gb * 1e4, "facets": plan["n_gb_facets"]},
        "lateral": "periodic" if periodic else "insulating",
        "assembly": assembly,
        "ranks": comm.size,
        "run_time_s": time.perf_counter() - t_start,
        "peak_memory_bytes": peak,
        "peak_memory_bytes_per_voxel": peak / n_vox,
        "axes": results,
    }


# -- stages of effective_conductivity -----------------------------------------------------------
def _parse_lateral(lateral) -> bool:
    """True for periodic lateral faces, False for insulating ones (``lateral``: one of LATERAL)."""
    value = str(lateral).lower() if lateral is not None else "insulating"
    if value not in LATERAL:
        raise InputError(
            f"lateral = {lateral!r} is unknown; use 'insulating' (the faces parallel to the axis "
            "carry no current) or 'periodic' (they are joined to the opposite face)."
        )
    return value == "periodic"


def _lateral_axes(axis: int) -> tuple[int, ...]:
    """The two image axes normal to the faces parallel to ``axis``."""
    return tuple(a for a in range(3) if a != axis)


def _axis_first(arr, axis: int):
    """``arr`` (3D or None) with ``axis`` moved to the front and the other two kept in order:
    the frame in which a periodic keff mesh is built (x = the axis of the applied voltage)."""
    if arr is None:
        return None
    return np.ascontiguousarray(np.moveaxis(arr, axis, 0))


def _conductivities(bulk_conductivity, grain_resistance, grain_exchange_current, temperature):
    """(kappa_bulk [S/m], R_GB [Ohm m^2] or None) from the inputs (units allowed), validated."""
    from fem_assb.forms.transport import grain_boundary_resistance
    from fem_assb.units import to_si

    kappa = to_si(bulk_conductivity, "S/m", name="bulk conductivity", default_unit="S/m")
    if not kappa > 0:
        raise InputError(f"bulk conductivity must be positive, got {kappa} S/m.")
    r_gb = None
    if grain_resistance is not None and grain_exchange_current is not None:
        raise InputError("give either the grain-boundary resistance or its exchange current, not both.")
    if grain_resistance is not None:
        r_gb = to_si(grain_resistance, "ohm*m^2", name="grain-boundary resistance", default_unit="ohm*m^2")
    elif grain_exchange_current is not None:
        i0 = to_si(
            grain_exchange_current, "A/m^2", name="grain-boundary exchange current", default_unit="A/m^2"
        )
        if not i0 > 0:
            raise InputError(f"grain-boundary exchange current must be positive, got {i0} A/m^2.")
        r_gb = grain_boundary_resistance(i0, float(temperature))
    if r_gb is not None and not r_gb >= 0:
        raise InputError(f"grain-boundary resistance must be >= 0, got {r_gb} Ohm m^2.")
    return kappa, r_gb


def _plan_on_root(comm, image, phase, axes, voxel_size, grains, r_gb, periodic=False):
    """Rank 0: the phase mask, its percolating clusters per axis (with ``periodic``: wrapping
    around the two other axes), axes that share one mesh (never with ``periodic``: each axis has
    its own lateral couplings) and the grain-boundary facet count. Returns (plan, masks,
    grains): the plan (shape, h [m], n_phase, per_axis cells, groups, n_gb_facets) on every
    rank, the masks {axis: bool array} and the grain IDs (int32 or None) on rank 0 ({} and None
    elsewhere). An input error on rank 0 is raised on every rank."""
    from fem_assb.structure.analysis import percolating
    from fem_assb.structure.image import VoxelImage
    from fem_assb.units import to_si

    plan, masks, grain_arr, error = None, {}, None, None
    if comm.rank == 0:
        try:
            if image is None:
                raise InputError("effective_conductivity: rank 0 must pass the image.")
            mask = phase_mask(image, phase)
            if voxel_size is None:
                h = image.voxel_size if isinstance(image, VoxelImage) else 1e-6
            else:
                h = to_si(voxel_size, "m", name="voxel size", default_unit="m")
            if grains is None and isinstance(image, VoxelImage):
                grains = image.grain_ids()
            grain_arr = None if grains is None else np.asarray(grains, dtype=np.int32)
            if grain_arr is not None and grain_arr.shape != mask.shape:
                raise InputError(f"grain IDs have shape {grain_arr.shape}, the image {mask.shape}.")
            n_phase = int(mask.sum())
            per_axis = {}
            for a in axes:
                wrap = _lateral_axes(AXES[a]) if periodic else ()
                p = percolating(mask, AXES[a], periodic=wrap) if n_phase else mask
                masks[a] = p
                per_axis[a] = int(p.sum())
            # Axes with identical percolating sets share one mesh (with insulating sides).
            groups: list[list[str]] = []
            for a in axes:
                for g in groups:
                    if not periodic and np.array_equal(masks[g[0]], masks[a]):
                        g.append(a)
                        break
                else:
                    groups.append([a])
            if r_gb is not None and (grain_arr is None or not np.any(grain_arr[mask] > 0)):
                raise InputError(
                    "a grain-boundary resistance was given but the phase has no grain IDs; give a grain-ID "
                    "image (--grains) or a label map with grain IDs (docs/structures.md)."
                )
            with_gb = grain_arr is not None and r_gb is not None
            n_gb = count_grain_boundary_faces(mask, grain_arr) if with_gb else 0
            plan = {
                "shape": mask.shape,
                "h": float(h),
                "n_phase": n_phase,
                "per_axis": per_axis,
                "groups": groups,
                "n_gb_facets": n_gb,
            }
        except FemAssbError as err:  # raise it on every rank, not only on rank 0
            error = err
    error = comm.bcast(error, root=0)
    if error is not None:
        raise error
    return comm.bcast(plan, root=0), masks, grain_arr


def count_grain_boundary_faces(mask, grains) -> int:
    """Number of voxel faces inside ``mask`` that are grain boundaries
    (:func:`fem_assb.meshing.cell_tags.is_grain_boundary`)."""
    n = 0
    for d in range(3):
        sl_a, sl_b = [slice(None)] * 3, [slice(None)] * 3
        sl_a[d], sl_b[d] = slice(0, -1), slice(1, None)
        both = mask[tuple(sl_a)] & mask[tuple(sl_b)]
        n += int((both & is_grain_boundary(grains[tuple(sl_a)], grains[tuple(sl_b)])).sum())
    return n


def build_keff_mesh(comm, mask, h: float, grains=None, periodic: bool = False):
    """The keff VoxelMesh of the voxels in ``mask`` (rank 0; None elsewhere), cubic voxels of
    edge h [m], interior facets tagged BULK or GRAIN_BOUNDARY (``grain_tagger``) when grain IDs
    are given; ``periodic``: the y and z faces are coupled (Grid.periodic = (1, 2))."""
    from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh

    grid = None
    if comm.rank == 0:
        material = np.where(mask, 0, -1).astype(np.int32)
        grid = Grid.uniform(material, h, grain=grains, periodic=(1, 2) if periodic else ())
    return build_voxel_mesh(comm, grid, grain_tagger)


def build_problem(
    comm, assembly: str, mask, h: float, kappa: float, r_gb, grains=None, periodic=False, method="auto"
):
    """The keff problem of ``mask`` (rank 0; None elsewhere) by ``assembly`` (ASSEMBLY), its set-up
    stages timed in ``problem.timings`` [s]: "distribute" and "matrix" (structured) or "mesh"
    and "forms" (mesh)."""
    from fem_assb.meshing.slabs import distribute

    t0 = time.perf_counter()
    if assembly == "structured":
        slab = distribute(comm, mask, grains, periodic=(1, 2) if periodic else ())
        t_setup = time.perf_counter() - t0
        problem = _StructuredProblem(comm, slab, h, kappa, r_gb, method)
        problem.timings = {"distribute": t_setup, **problem.timings}
    else:
        vm = build_keff_mesh(comm, mask, h, grains, periodic=periodic)
        t_setup = time.perf_counter() - t0
        problem = _Problem(vm, kappa, r_gb)
        problem.timings = {"mesh": t_setup, **problem.timings}
    return problem


def _not_percolating(a: str, base: dict) -> dict:
    """The result of an axis along which the phase does not connect the two faces."""
    msg = (
        f"the phase does not connect the {a}min and {a}max faces: no current flows, "
        "the effective conductivity is 0."
    )
    return dict(
        base,
        relative_conductivity=0.0,
        effective_conductivity=0.0,
        tortuosity_factor=None,
        tortuosity=None,
        current_density=0.0,
        message=msg,
        iterations=0,
        solver=None,
        timings={},
    )


def _summarize(out: dict, a: str, shape, h: float, kappa: float, eps: float, base: dict) -> dict:
    """kappa_eff = l i / U (U = 1 V), relative conductivity, tortuosity factor tau^2 = eps / rel
    and tortuosity from the face currents of one solve (``_Problem.solve_axis``) along axis a."""
    d = AXES[a]
    length = shape[d] * h
    area = np.prod([shape[j] * h for j in range(3) if j != d])
    current = 0.5 * (out["current_in"] + out["current_out"])
    j = current / area
    k_eff = length * j / 1.0
    rel = k_eff / kappa
    tau2 = eps / rel if rel > 0 else None
    return dict(
        base,
        relative_conductivity=rel,
        effective_conductivity=k_eff,
        tortuosity_factor=tau2,
        tortuosity=None if tau2 is None else math.sqrt(tau2),
        current_density=j,
        message="",
        current_balance=abs(out["current_in"] - out["current_out"]) / max(abs(current), 1e-300),
        iterations=out["solve"].iterations,
        solver=out["solve"].method,
    )

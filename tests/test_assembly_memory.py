"""The memory-saving assembly of the cell system gives exactly the matrix and vector of plain
DOLFINx assembly: forms assembled in parts (fem_assb.solvers.chunked) and the Jacobian stored
with its nonzero pattern only (fem_assb.solvers.sparsity)."""

from __future__ import annotations

import numpy as np
import pytest
from dolfinx import fem
from dolfinx.fem import petsc as fpetsc
from mpi4py import MPI
from petsc4py import PETSc

from fem_assb.materials import get_system
from fem_assb.memory import heap_in_use
from fem_assb.solvers.chunked import ChunkedForm
from fem_assb.solvers.sparsity import allocations, compact_matrix
from fem_assb.structure.generate import generate_composite
from fem_assb.structure.virtual_cell import Separator, VirtualCell
from fem_assb.studies.discharge import CellSimulation, build_cell_mesh


@pytest.fixture(scope="module")
def sim():
    comm = MPI.COMM_WORLD
    img = generate_composite(
        (10, 6, 6), "0.5 um", cam_fraction=0.65, se_fraction=0.35, d_cam="3 um", d_se="1.5 um", seed=3
    )
    vm, _ = build_cell_mesh(VirtualCell(img, Separator("SE", 10e-6)), comm)
    return CellSimulation(vm, get_system("NMC811_Li6PS5Cl"), 298.15, surface_iterations=0)


def _random_state(sim, seed):
    """Potentials around the initial ones and stoichiometries over (0, 1), ghosts consistent."""
    rng = np.random.default_rng(seed + 7 * MPI.COMM_WORLD.rank)
    u = sim.forms.u
    arr = u.x.array.reshape(-1, 2)
    arr[:, 0] += 0.05 * rng.standard_normal(len(arr))
    arr[:, 1] = rng.random(len(arr))
    u.x.scatter_forward()


def _vec(form_or_chunks, V):
    b = fpetsc.create_vector(V)
    with b.localForm() as bl:
        bl.set(0.0)
    if isinstance(form_or_chunks, ChunkedForm):
        form_or_chunks.assemble_vector(b)
    else:
        fpetsc.assemble_vector(b, form_or_chunks)
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return b


def test_chunked_form_equals_whole_form(sim):
    """Residual and Jacobian assembled in 5+ parts equal the ordinary assembly to round-off, and
    an unmarked integral is refused with the fix in the message."""
    f = sim.forms
    V = f.u.function_space
    _random_state(sim, 1)
    parts_F = ChunkedForm(f.F, max_entities=40)
    parts_J = ChunkedForm(f.J, max_entities=40)
    assert parts_F.num_parts >= 5 and parts_J.num_parts >= 5
    b0, b1 = _vec(fem.form(f.F), V), _vec(parts_F, V)
    assert b0.norm() > 0
    b1.axpy(-1.0, b0)
    assert b1.norm() <= 1e-12 * b0.norm()
    A0 = fpetsc.assemble_matrix(fem.form(f.J))
    A0.assemble()
    A1 = fpetsc.create_matrix(parts_J.whole)
    parts_J.assemble_matrix(A1)
    A1.assemble()
    A1.axpy(-1.0, A0)
    assert A1.norm() <= 1e-12 * A0.norm()

    import ufl

    with pytest.raises(ValueError, match="subdomain id"):
        ChunkedForm(f.u[0] * ufl.TestFunction(V)[0] * ufl.dx, max_entities=10)


def test_compact_jacobian_is_exact_and_half_the_storage(sim):
    """The compacted Jacobian (pattern probed at the simulation's generic state) equals DOLFINx's
    full-pattern matrix at other states, stores about half its entries, and needed no
    allocation during assembly (the probe found every coupling)."""
    f = sim.forms
    A_full = fpetsc.create_matrix(fem.form(f.J))
    full_nnz = A_full.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["nz_allocated"]
    A = sim.newton.A  # compacted by CellSimulation
    nnz = A.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["nz_allocated"]
    assert nnz < 0.7 * full_nnz
    J = fem.form(f.J)
    for seed in (2, 3):
        _random_state(sim, seed)
        for M in (A, A_full):
            M.zeroEntries()
            fpetsc.assemble_matrix(M, J)
            M.assemble()
        D = A_full.copy()
        D.axpy(-1.0, A, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
        assert D.norm() <= 1e-14 * A_full.norm()
        assert allocations(A) == 0
    A_full.destroy()


def test_compact_matrix_keeps_diagonal_and_takes_new_entries():
    """compact_matrix keeps zero diagonal entries and drops the other zeros; an entry outside
    the pattern is still inserted (correct, only allocated late)."""
    comm = MPI.COMM_WORLD
    n = 4 * comm.size
    A = PETSc.Mat().createAIJ(((4, n), (4, n)), nnz=(4, 4), comm=comm)
    r0, r1 = A.getOwnershipRange()
    for i in range(r0, r1):
        A.setValue(i, i, 0.0)
        A.setValue(i, (i + 1) % n, 0.0)
        A.setValue(i, (i + 2) % n, 2.0)
    A.assemble()
    B = compact_matrix(A)
    B.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, False)
    for i in range(r0, r1):
        B.setValue(i, (i + 2) % n, 2.0, addv=PETSc.InsertMode.ADD_VALUES)
        B.setValue(i, (i + 1) % n, 0.0, addv=PETSc.InsertMode.ADD_VALUES)
    B.assemble()
    assert B.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["nz_used"] == 2 * n  # diagonal + (i, i+2)
    assert allocations(B) == 0
    B.setValue(r0, (r0 + 3) % n, 5.0, addv=PETSc.InsertMode.ADD_VALUES)
    B.assemble()
    assert B.getValue(r0, (r0 + 3) % n) == 5.0


@pytest.mark.mpi
def test_chunked_form_mpi(sim):
    test_chunked_form_equals_whole_form(sim)


@pytest.mark.mpi
def test_compact_jacobian_mpi(sim):
    test_compact_jacobian_is_exact_and_half_the_storage(sim)


@pytest.mark.mpi
def test_compact_matrix_mpi():
    test_compact_matrix_keeps_diagonal_and_takes_new_entries()


def test_cell_forms_need_no_facet_permutations(sim):
    """The cell forms are compiled without facet permutations, so no edges are ever built for
    them, and they give the matrix of the same form compiled with permutations; an integral of
    degree > 0 (where orientation matters) is refused."""
    import ufl

    from fem_assb.forms.facet_permutations import without_facet_permutations

    f = sim.forms
    msh = f.vmesh.mesh
    A = fpetsc.assemble_matrix(fem.form(f.J))
    A.assemble()
    with pytest.raises(RuntimeError):  # no edges: DOLFINx never built the permutation data
        msh.topology.index_map(1)
    ref = fem.form(2.0 * f.J)  # another compiled form, with permutations
    assert ref._cpp_object.needs_facet_permutations
    A_ref = fpetsc.assemble_matrix(ref)
    A_ref.assemble()
    A_ref.axpy(-2.0, A)
    assert A_ref.norm() <= 1e-13 * A.norm()
    v = ufl.TestFunction(f.Q)
    dS2 = ufl.Measure("dS", domain=msh, metadata={"quadrature_degree": 2})
    with pytest.raises(ValueError, match="degree 2"):
        without_facet_permutations(v("+") * dS2, msh.comm)


@pytest.mark.mpi
def test_cell_forms_need_no_facet_permutations_mpi(sim):
    test_cell_forms_need_no_facet_permutations(sim)


def _phi_rows(P):
    r0, r1 = P.getOwnershipRange()
    return PETSc.IS().createStride((r1 - r0) // 2, first=r0, step=2, comm=P.getComm())


def test_hypre_phi_block_equals_petsc_conversion(sim, monkeypatch):
    """The phi block handed to hypre by hypre_submatrix is P[phi, phi]: the same action and the
    same BoomerAMG preconditioner as PETSc's own conversion (also its fallback without ctypes)."""
    from fem_assb.solvers import hypre_matrix
    from fem_assb.solvers.hypre_matrix import hypre_submatrix
    from fem_assb.solvers.linear import BOOMERAMG_3D

    _random_state(sim, 4)
    P = fpetsc.assemble_matrix(fem.form(sim.forms.J))
    P.assemble()
    rows = _phi_rows(P)
    H = hypre_submatrix(P, rows)
    ref = P.createSubMatrix(rows, rows).convert("hypre")
    assert H.getType() == "hypre"
    monkeypatch.setattr(hypre_matrix, "_petsc_library", lambda: None)  # no ctypes: PETSc's conversion
    fallback = hypre_submatrix(P, rows)
    assert fallback.getType() == "hypre"
    x, y = H.createVecs()
    x.array[:] = np.sin(np.arange(*x.getOwnershipRange()))
    H.mult(x, y)
    for other in (ref, fallback):
        y_other = y.duplicate()
        other.mult(x, y_other)
        y_other.axpy(-1.0, y)
        assert y_other.norm() <= 1e-14 * y.norm()
    applied = []
    for M in (H, ref):
        pc = PETSc.PC().create(P.getComm())
        pc.setOptionsPrefix("test_hypre_block_")
        for key, value in BOOMERAMG_3D.items():
            PETSc.Options()["test_hypre_block_" + key] = value
        pc.setFromOptions()
        pc.setOperators(M)
        pc.setUp()
        z = y.duplicate()
        pc.apply(x, z)
        applied.append(z)
        pc.destroy()
    applied[1].axpy(-1.0, applied[0])
    assert applied[1].norm() <= 1e-9 * applied[0].norm()  # summation order within rows differs
    for obj in (P, rows, H, ref, fallback):
        obj.destroy()


def test_hypre_phi_block_is_half_the_memory_of_petsc_conversion():
    """On an interleaved 2-field 7-point operator of 2 x 24^3 rows, hypre_submatrix's phi block
    takes less than half the heap of PETSc's conversion (which keeps a COO delegate matrix)."""
    from fem_assb.solvers.hypre_matrix import hypre_submatrix

    comm = MPI.COMM_WORLD
    n = 24
    A = PETSc.Mat().createAIJ((2 * n**3, 2 * n**3), nnz=(8, 8), comm=comm)
    r0, r1 = A.getOwnershipRange()
    assert r0 % 2 == 0 and r1 % 2 == 0
    for row in range(r0, r1):
        cell, field = divmod(row, 2)
        ijk = np.unravel_index(cell, (n, n, n))
        cols, vals = [row, 2 * cell + 1 - field], [6.5, -0.1]
        for axis in range(3):
            for step in (-1, 1):
                nb = list(ijk)
                nb[axis] += step
                if 0 <= nb[axis] < n:
                    cols.append(2 * int(np.ravel_multi_index(nb, (n, n, n))) + field)
                    vals.append(-1.0)
        order = np.argsort(cols)
        A.setValues(row, np.array(cols, dtype=PETSc.IntType)[order], np.array(vals)[order])
    A.assemble()
    if heap_in_use() is None:
        pytest.skip("needs glibc's mallinfo2")
    rows = _phi_rows(A)
    before = heap_in_use()
    H = hypre_submatrix(A, rows)
    ours = heap_in_use() - before
    before = heap_in_use()
    ref = A.createSubMatrix(rows, rows).convert("hypre")
    theirs = heap_in_use() - before
    assert comm.allreduce(ours) < 0.5 * comm.allreduce(theirs)
    for obj in (A, rows, H, ref):
        obj.destroy()


@pytest.mark.mpi
def test_hypre_phi_block_mpi(sim, monkeypatch):
    test_hypre_phi_block_equals_petsc_conversion(sim, monkeypatch)


@pytest.mark.mpi
def test_hypre_phi_block_memory_mpi():
    test_hypre_phi_block_is_half_the_memory_of_petsc_conversion()

"""Nonlinear diffusion flux (forms/transport.kirchhoff_flux, Eq. 3): exactness and monotonicity."""

import numpy as np
import pytest

pytest.importorskip("dolfinx")

import ufl  # noqa: E402
from dolfinx import fem  # noqa: E402
from dolfinx.fem import petsc as fpetsc  # noqa: E402
from mpi4py import MPI  # noqa: E402

from fem_assb.forms.transport import kirchhoff_flux, two_point_flux  # noqa: E402
from fem_assb.materials import get_system  # noqa: E402
from fem_assb.meshing.voxel_mesh import Grid, build_voxel_mesh  # noqa: E402

H = 0.5e-6  # m, voxel edge
N = 8  # cells in a row along x


def _chain(values):
    """A 1 x 1 row of N voxels and a DG0 Function with the given value per voxel (x order)."""
    grid = Grid.uniform(np.ones((N, 1, 1), dtype=np.int32), H) if MPI.COMM_WORLD.rank == 0 else None
    vm = build_voxel_mesh(MPI.COMM_SELF, grid, lambda ma, mb, ga, gb: np.ones_like(ma))
    Q = fem.functionspace(vm.mesh, ("DG", 0))
    c = fem.Function(Q)
    cells = Q.dofmap.list[:, 0]
    ix = np.unravel_index(vm.voxel_index, vm.grid_shape)[0]
    c.x.array[cells] = np.asarray(values)[ix]
    return vm, Q, c, ix, cells


def _measure(vm):
    return ufl.Measure("dS", domain=vm.mesh, metadata={"quadrature_degree": 0})


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial geometry check")
def test_kirchhoff_flux_is_exact_for_polynomial_D():
    """With D(c) = 1 + c + c^2 (3-point Gauss is exact) each cell's net outflow is the
    difference of the Kirchhoff potential Phi = c + c^2/2 + c^3/3 over its neighbours."""
    vals = np.array([0.1, 0.4, 0.35, 0.9, 1.3, 0.2, 0.25, 0.7])
    vm, Q, c, ix, cells = _chain(vals)
    v = ufl.TestFunction(Q)
    n = ufl.FacetNormal(vm.mesh)
    form = kirchhoff_flux(c, lambda u: 1 + u + u * u, v, vm.cell_size, n) * _measure(vm)
    b = fem.assemble_vector(fem.form(form)).array
    phi = vals + vals**2 / 2 + vals**3 / 3
    area = H * H
    expected = np.zeros(N)
    expected[:-1] += (phi[:-1] - phi[1:]) * area / H
    expected[1:] += (phi[1:] - phi[:-1]) * area / H
    got = np.empty(N)
    got[ix] = b[cells]
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial geometry check")
def test_kirchhoff_flux_is_monotone_where_the_harmonic_mean_is_not():
    """The seed NMC811 D(x) drops 10x between x = 0.23 and 0.32. Across a steep profile the
    Jacobian of the Kirchhoff flux keeps non-positive off-diagonals (an M-matrix: more gradient,
    more flux); the cell-centred harmonic mean of D does not."""
    cam = get_system("NMC811_Li6PS5Cl").cam
    vals = np.array([0.23, 0.24, 0.26, 0.30, 0.36, 0.45, 0.6, 0.8])
    vm, Q, c, ix, cells = _chain(vals)
    v, dc = ufl.TestFunction(Q), ufl.TrialFunction(Q)
    n, dS = ufl.FacetNormal(vm.mesh), _measure(vm)

    def D(x):
        return cam.D(x, 298.15, ufl)

    def offdiag_max(F):
        A = fpetsc.assemble_matrix(fem.form(ufl.derivative(F, c, dc)))
        A.assemble()
        M = A.convert("dense").getDenseArray().copy()
        np.fill_diagonal(M, 0.0)
        return M.max() / np.abs(np.diag(A.convert("dense").getDenseArray())).max()

    kirchhoff = kirchhoff_flux(c, D, v, vm.cell_size, n) * dS
    harmonic = two_point_flux(c, D(c), v, vm.cell_size, n) * dS
    assert offdiag_max(kirchhoff) <= 0.0
    assert offdiag_max(harmonic) > 1e-3

"""The same functional definitions evaluate identically in numpy and in UFL (and in DOLFINx)."""

from __future__ import annotations

import numpy as np
import pytest

from fem_assb.materials import exchange_current_density, get_system, list_systems


def _ufl_coefficients(n: int = 2):
    import basix.ufl
    import ufl

    domain = ufl.Mesh(basix.ufl.element("Lagrange", "hexahedron", 1, shape=(3,)))
    V = ufl.FunctionSpace(domain, basix.ufl.element("DG", "hexahedron", 0))
    return [ufl.Coefficient(V) for _ in range(n)]


def _functionals(system):
    out = [("cam.U0", system.cam.U0), ("cam.sigma", system.cam.sigma), ("cam.D", system.cam.D)]
    el = system.electrolyte
    for name in ("kappa", "D", "t_plus", "tdf"):
        fn = getattr(el, name)
        if fn is not None:
            out.append((f"electrolyte.{name}", fn))
    return out


@pytest.mark.parametrize("name", list_systems())
def test_numpy_and_ufl_agree(name):
    import ufl

    s = get_system(name)
    u, T = _ufl_coefficients(2)
    for label, fn in _functionals(s):
        if fn.variable == "x":
            pts = np.array([-0.02, 0.0, 0.1, s.cam.x0, 0.45, 0.7, 0.95, 0.999, 1.0, 1.03])
        else:
            pts = s.electrolyte.c0 * np.array([0.01, 0.3, 1.0, 1.7, 4.0])
        expr = fn(u, T, ufl)
        for v in pts:
            for temp in (298.15, 353.15):
                want = fn.numpy(v, temp)
                got = float(expr((0.0, 0.0, 0.0), {u: float(v), T: temp}))
                assert np.isfinite(got), f"{label} is not finite in UFL at {v}"
                assert got == pytest.approx(float(want), rel=1e-12, abs=1e-300), f"{label} at {v}, {temp} K"


def test_overrides_agree_in_ufl(tmp_path):
    import ufl

    s = get_system(
        "NMC811_LiPF6",
        overrides={
            "cam": {
                "U0": {"table": [[0.2, 4.3], [0.5, 3.9], [1.0, 3.4]], "unit": "V", "extension": "linear"},
                "sigma": {
                    "table": {"x": [0.2, 0.6, 1.0], "value": [1e-2, 1e-4, 1e-6]},
                    "unit": "S/cm",
                    "interpolate": "log",
                },
                "D": {
                    "expr": "1e-12 * exp(-2 * x) * sqrt(T / 298.15)",
                    "unit": "cm^2/s",
                    "arrhenius": {"E_A": "20 kJ/mol"},
                },
            },
            "electrolyte": {"kappa": {"expr": "max(0.1, 1 - 0.2 * (c - 1)**2)", "unit": "S/m"}},
        },
    )
    u, T = _ufl_coefficients(2)
    for fn in (s.cam.U0, s.cam.sigma, s.cam.D):
        expr = fn(u, T, ufl)
        for v in (0.0, 0.21, 0.35, 0.5, 0.77, 1.0, 1.2):
            got = float(expr((0, 0, 0), {u: v, T: 320.0}))
            assert got == pytest.approx(fn.value_at(v, 320.0), rel=1e-12)
    kappa = s.electrolyte.kappa(u, T, ufl)
    for c in (100.0, 1000.0, 3000.0, 6000.0):
        assert float(kappa((0, 0, 0), {u: c, T: 300.0})) == pytest.approx(
            s.electrolyte.kappa.value_at(c, 300.0)
        )


def test_exchange_current_agrees_in_ufl():
    import ufl

    s = get_system("NMC811_Li6PS5Cl")
    cs, ce = _ufl_coefficients(2)
    c = s.cam
    expr = exchange_current_density(c.i00, c.alpha, ce, cs, c.c_max, ufl)
    for v in (-10.0, 0.0, c.c0, 0.5 * c.c_max, c.c_max, 1.01 * c.c_max):
        want = float(exchange_current_density(c.i00, c.alpha, s.electrolyte.c0, v, c.c_max, np))
        got = float(expr((0, 0, 0), {cs: v, ce: s.electrolyte.c0}))
        assert np.isfinite(got) and got == pytest.approx(want, rel=1e-12, abs=1e-300)


@pytest.mark.mpi
def test_functionals_compile_and_evaluate_in_dolfinx():
    """U0 and sigma of NMC811 as DOLFINx Expressions on a DG0 field match numpy cell by cell."""
    import dolfinx
    import dolfinx.fem
    import ufl
    from mpi4py import MPI

    s = get_system("NMC811_Li6PS5Cl")
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 3, 3, 3, dolfinx.mesh.CellType.hexahedron)
    V = dolfinx.fem.functionspace(mesh, ("DG", 0))
    x = dolfinx.fem.Function(V)
    n = x.x.array.size
    mids = dolfinx.mesh.compute_midpoints(mesh, mesh.topology.dim, np.arange(n, dtype=np.int32))
    x.x.array[:] = -0.05 + 1.1 * mids[:, 0]  # covers both extensions beyond [0, 1]
    T = dolfinx.fem.Constant(mesh, 310.0)
    out = dolfinx.fem.Function(V)
    for fn in (s.cam.U0, s.cam.sigma, s.cam.D):
        expr = dolfinx.fem.Expression(fn(x, T, ufl), V.element.interpolation_points)
        out.interpolate(expr)
        assert np.allclose(out.x.array, fn.numpy(x.x.array, 310.0), rtol=1e-12, atol=0)

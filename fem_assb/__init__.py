"""fem-assb: MPI-parallel finite-element simulation of microstructure-resolved
electrochemistry in battery cathodes (DOLFINx / UFL / PETSc).

The Python API (:mod:`fem_assb.api`; names load on first use, so ``import fem_assb`` stays cheap
and imports neither MPI nor DOLFINx)::

    import fem_assb
    result = fem_assb.Simulation("cases/demo.yaml").run()    # history + summary, no files
    result.summary["capacity_mAh_cm2"], result.history.voltage
    fem_assb.effective_conductivity(image, phase="SE", axis="x").relative_conductivity

``load_case``, ``Simulation``, ``Sweep`` (a case with ``operation.sweep``), ``Step``,
``effective_conductivity``, ``get_system``; units as
strings ("1 mA/cm^2") or SI floats (:func:`fem_assb.units.to_si`).

Data path (one sub-package per layer, dependencies point downwards):
structure -> meshing -> forms -> solvers -> studies -> indicators -> output.
"""

__version__ = "0.1.0"

#: The public names, defined in fem_assb.api.
__all__ = [
    "load_case",
    "Simulation",
    "Step",
    "Result",
    "History",
    "Sweep",
    "SweepResult",
    "effective_conductivity",
    "get_system",
]


def __getattr__(name):
    if name in __all__:
        from fem_assb import api

        return getattr(api, name)
    raise AttributeError(f"module 'fem_assb' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)

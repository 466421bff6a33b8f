"""The Python facade of fem-assb: a case in, results out, in a few lines.

    import fem_assb

    case = fem_assb.load_case("cases/demo.yaml")         # or a dict in the YAML layout
    result = fem_assb.Simulation(case).run()             # no files unless output= is given
    result.history.voltage, result.summary["capacity_mAh_cm2"]
    sweep = fem_assb.Sweep("cases/seed004_nmc622_blps.yaml").run()  # a case with operation.sweep
    sweep.column("capacity_mAh_cm2"), sweep.rows                    # the rows of sweep.csv
    eis = fem_assb.Simulation("cases/seed004_impedance.yaml").impedance()  # docs/impedance.md
    eis.frequency, eis.Z, eis.summary["arcs"]                       # Hz, Ohm cm^2 (complex)

    res = fem_assb.effective_conductivity(image, phase="SE", axis="x", voxel_size="0.5 um")
    res.relative_conductivity, res.tortuosity_factor

    system = fem_assb.get_system("NMC811_Li6PS5Cl", cam={"D": "1e-12 cm^2/s"})

Quantities are SI floats or strings with units (``"1 mA/cm^2"``, ``"0.5 um"``;
:func:`fem_assb.units.to_si`). Everything runs unchanged under ``mpirun -n N`` (every rank calls
the same functions; only rank 0 writes files). Nothing here imports MPI or DOLFINx until a
simulation or a keff solve is run.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fem_assb.case.schema import Step
from fem_assb.errors import InputError

__all__ = [
    "History",
    "ImpedanceResult",
    "Result",
    "Simulation",
    "Step",
    "Sweep",
    "SweepResult",
    "effective_conductivity",
    "get_system",
    "load_case",
]


# --- cases --------------------------------------------------------------------------------------


def load_case(case):
    """A resolved :class:`fem_assb.case.schema.Case` (SI) from a YAML path, a dict or a Case.

    A dict has the layout of a case file (docs/cases.md) and is validated the same way; its
    paths are relative to the current directory. In a dict, ``structure.image`` may also be an
    in-memory :class:`~fem_assb.structure.image.VoxelImage` or a 3D integer array (then with
    ``voxel_size`` and optional ``labels`` as in a case file; default labels 0 PORE, 1 CAM, 2 SE).
    """
    from fem_assb.case import load_case as load_file
    from fem_assb.case import resolve_case
    from fem_assb.case.schema import Case

    if isinstance(case, Case):
        return case
    if isinstance(case, (str, os.PathLike)):
        return load_file(case)
    if not isinstance(case, dict):
        raise InputError(f"a case is a YAML path, a dict or a Case, not {type(case).__name__}.")
    structure = case.get("structure")
    image = structure.get("image") if isinstance(structure, dict) else None
    if image is None or isinstance(image, (str, os.PathLike)):
        return resolve_case(copy.deepcopy(case), base_dir=Path.cwd(), default_name="case")
    built = _in_memory_image(structure)
    raw = {**case, "structure": _PLACEHOLDER_STRUCTURE}
    resolved = resolve_case(copy.deepcopy(raw), base_dir=Path.cwd(), default_name="case", image=built)
    resolved.structure = InMemoryStructure(built)
    resolved.raw = case  # not a YAML document any more: no case.yaml copy is written
    if resolved.operation.sweep is not None:
        _in_memory_sweep(resolved, case)
    return resolved


def _in_memory_sweep(resolved, case: dict) -> None:
    """Every point of a sweep over a case with an in-memory image gets that image."""
    sweep = resolved.operation.sweep
    if any(p.split(".")[0] == "structure" for p in sweep.parameters):
        raise InputError(
            "operation.sweep: a sweep over structure keys needs the structure as a file or a generator "
            "in the case, not an in-memory image."
        )
    for point in sweep.points:
        point.case.structure, point.case.raw = resolved.structure, case


@dataclass
class InMemoryStructure:
    """A case structure given as a VoxelImage in memory (see :func:`load_case`)."""

    image: object  # VoxelImage
    kind: str = "image"
    voxel_size: float | None = None
    labels: object = None
    generator: dict | None = None

    def __post_init__(self):
        self.voxel_size, self.labels = self.image.voxel_size, self.image.label_map

    def build(self):
        return self.image


#: A valid structure section standing in for an in-memory image in the raw case (never built:
#: resolve_case gets the image itself and checks its contents).
_PLACEHOLDER_STRUCTURE = {
    "generator": {"kind": "composite", "shape": [2, 2, 2], "voxel_size": "1 um", "cam_fraction": 0.5}
}


def _in_memory_image(spec: dict):
    """The VoxelImage of a dict case's structure with ``image`` an array or a VoxelImage."""
    from fem_assb.materials.spec import check_keys
    from fem_assb.structure.image import LabelMap, VoxelImage
    from fem_assb.structure.labels import label_map_from_dict
    from fem_assb.units import to_si

    check_keys(spec, {"image", "voxel_size", "labels"}, "structure")
    image = spec["image"]
    h = to_si(spec["voxel_size"], "m", name="structure.voxel_size") if "voxel_size" in spec else None
    if h is not None and not h > 0:
        raise InputError(f"structure.voxel_size = {spec['voxel_size']!r} must be a positive length.")
    labels = spec.get("labels")
    if labels is not None and not isinstance(labels, LabelMap):
        labels = label_map_from_dict(labels)
    if isinstance(image, VoxelImage):
        changes = {k: v for k, v in (("voxel_size", h), ("label_map", labels)) if v is not None}
        image = dataclasses.replace(image, **changes) if changes else image
    elif h is None:
        raise InputError("structure: an image given as an array needs voxel_size, e.g. '0.5 um'.")
    else:
        image = VoxelImage(np.asarray(image), h, labels or LabelMap.default())
    _check_image_contents(image)
    return image


def _check_image_contents(image) -> None:
    """The loader's checks of an image's contents (voxels whose physics is not built yet), as for
    an image file. They arrive with the key-checking loader (honest branch); until then there is
    nothing to call."""
    from fem_assb.case import load

    check = getattr(load, "_check_image_supported", None)
    if check is not None:
        check(image)


# --- simulation ---------------------------------------------------------------------------------


@dataclass
class History:
    """The accepted time points of a run (numpy arrays of equal length).

    time [s], voltage [V], current [A/m^2 of the cross-section, > 0 discharge], capacity
    [mAh/cm^2, charge delivered since the start, discharge positive], mean_stoichiometry [-] of the
    CAM, step (index of the operation step).
    """

    time: np.ndarray
    voltage: np.ndarray
    current: np.ndarray
    capacity: np.ndarray
    mean_stoichiometry: np.ndarray
    step: np.ndarray

    @classmethod
    def from_table(cls, tab: dict) -> History:
        from fem_assb.indicators.capacity import C_PER_M2_PER_MAH_PER_CM2

        return cls(
            time=tab["t"],
            voltage=tab["voltage"],
            current=tab["current"],
            capacity=tab["charge"] / C_PER_M2_PER_MAH_PER_CM2,
            mean_stoichiometry=tab["x_mean"],
            step=tab["step"].astype(int),
        )


@dataclass
class Result:
    """What :meth:`Simulation.run` returns (identical on every rank).

    history: :class:`History`; summary: the dict of summary.json (capacity_mAh_cm2,
    normalized_capacity, gravimetric_capacity_mAh_g, energy_density_Wh_kg, ...; docs/discharge.md);
    output: the folder written, or None; complete: False when SIGINT/SIGTERM stopped the run.
    """

    history: History
    summary: dict
    output: Path | None = None
    complete: bool = True


class Simulation:
    """A galvanostatic cell simulation of a case (discharge, charge and rest steps).

    case: a YAML path, a dict in the case-file layout or a loaded Case (:func:`load_case`);
    steps: optional list of :class:`Step` (or dicts of Step's arguments) replacing the case's
    operation steps; output: folder for the files of ``fem-assb run`` (history.csv,
    summary.json, plots, fields.bp), None (default) to write nothing; quiet: no progress line;
    comm: MPI communicator (default COMM_WORLD).

        result = Simulation("cases/demo.yaml").run()
        result = Simulation(case, steps=[Step("discharge", current_density="1 mA/cm^2",
                                              cutoff="3.0 V")]).run()
    """

    def __init__(self, case, output=None, quiet: bool = True, comm=None, steps=None):
        if steps is not None and isinstance(case, dict):  # validated with the case, as in a file
            operation = {**(case.get("operation") or {}), "steps": [_step_dict(s) for s in _steps(steps)]}
            case = {**case, "operation": operation}
        self.case = load_case(case)
        if self.case.operation.sweep is not None:
            raise InputError(
                f"case {self.case.name} has an operation.sweep: run it with fem_assb.Sweep(case).run() "
                "(one simulation per point), or remove the sweep."
            )
        if steps is not None and not isinstance(case, dict):
            self.case = _with_steps(self.case, steps)
        self.output = Path(output) if output is not None else None
        self.quiet = quiet
        self.comm = comm

    def run(self, resume: bool = False) -> Result:
        """Build, simulate and evaluate the case; files only when ``output`` was given.

        resume: continue the run in ``output`` from its last checkpoint (written with the case's
        ``outputs.checkpoint_interval``; docs/studies.md, "Checkpoint and restart")."""
        from fem_assb.studies.run import simulate_case

        res = simulate_case(self.case, self.output, quiet=self.quiet, comm=self.comm, resume=resume)
        return Result(History.from_table(res.table), res.summary, res.output, res.complete)

    def impedance(self, frequencies=None, state: str | None = None) -> ImpedanceResult:
        """The small-signal impedance spectrum (docs/impedance.md) around the open-circuit state
        (``state="initial"``) or the state after the case's steps (``"after_steps"``, ending with
        a rest); default the case's ``impedance`` section. frequencies: Hz (floats or strings
        with units), default the section's grid. Files (impedance.csv, nyquist.png, bode.png,
        summary.json) only when ``output`` was given. Warnings (no double layer, a rest not
        relaxed) are issued as Python warnings too.

            res = Simulation("cases/seed004.yaml").impedance()
            res.frequency, res.Z            # Hz, complex Ohm cm^2 (Z_imag < 0: capacitive)
        """
        import warnings

        from fem_assb.studies.impedance import run_impedance
        from fem_assb.units import to_si

        if frequencies is not None:
            frequencies = [
                to_si(f, "Hz", name="frequencies") if isinstance(f, str) else float(f)
                for f in np.atleast_1d(np.asarray(frequencies, dtype=object))
            ]
        res = run_impedance(
            self.case, self.output, quiet=self.quiet, comm=self.comm, frequencies=frequencies, state=state
        )
        for w in res.warnings:
            warnings.warn(w, stacklevel=2)
        spec = res.spectrum
        return ImpedanceResult(spec.frequency, spec.Z_ohm_cm2, res.summary, res.output)


@dataclass
class ImpedanceResult:
    """What :meth:`Simulation.impedance` returns (identical on every rank): ``frequency`` (Hz,
    ascending), ``Z`` (complex, Ohm cm^2 of the cell cross-section, dU/dI for the charge
    current), ``summary`` (the dict of summary.json) and ``output`` (the folder, or None)."""

    frequency: np.ndarray
    Z: np.ndarray
    summary: dict
    output: Path | None = None


@dataclass
class SweepResult:
    """What :meth:`Sweep.run` returns (identical on every rank).

    rows: one dict per point, the columns of sweep.csv (``point``, ``folder``, each swept
    parameter as written and as ``<parameter>_SI``, capacity_mAh_cm2, normalized_capacity,
    gravimetric_capacity_mAh_g, energy_density_Wh_kg, mean_utilization, final_voltage_V,
    wall_time_s, status: ok / failed / stopped / not run, error); results: per point a
    :class:`Result` (None for a point that failed or did not run); output: the sweep folder or
    None; complete: False when SIGINT/SIGTERM stopped the sweep.
    """

    rows: list[dict]
    results: list[Result | None]
    output: Path | None = None
    complete: bool = True

    def column(self, name: str) -> np.ndarray:
        """One column of the rows as an array (``result.column("capacity_mAh_cm2")``)."""
        return np.array([row[name] for row in self.rows])


class Sweep:
    """The parameter sweep of a case with ``operation.sweep`` (docs/studies.md, "Sweeps"): each
    point a simulation, in its own subfolder of ``output`` (None: no files), then sweep.csv and
    the plots. ``comm``: the communicator whose ranks share the points (``concurrent: K`` splits
    it into K groups). Arguments as :class:`Simulation`.

        result = fem_assb.Sweep("cases/seed000_nmc811_lpscl.yaml", output="results/rates").run()
        result.column("capacity_mAh_cm2"), result.results[0].history.voltage
    """

    def __init__(self, case, output=None, quiet: bool = True, comm=None):
        self.case = load_case(case)
        if self.case.operation.sweep is None:
            raise InputError(
                f"case {self.case.name} has no operation.sweep; run it with fem_assb.Simulation."
            )
        self.output = Path(output) if output is not None else None
        self.quiet = quiet
        self.comm = comm

    def run(self, resume: bool = False) -> SweepResult:
        """Run every point (collective over ``comm``). resume: go on with the sweep in ``output``
        point by point (complete points read back, points with a checkpoint resumed, the others
        run; InputError when the sweep there was written by another sweep case)."""
        from fem_assb.studies.sweep import run_sweep

        res = run_sweep(self.case, self.output, quiet=self.quiet, comm=self.comm, resume=resume)
        results = []
        for p, r in zip(res.planned, res.runs, strict=True):
            if r.summary is None or r.table is None:
                results.append(None)
                continue
            out = res.output / p.folder if res.output is not None else None
            results.append(Result(History.from_table(r.table), r.summary, out, r.status == "ok"))
        return SweepResult(res.rows, results, res.output, res.complete)


def _with_steps(case, steps):
    """A copy of ``case`` with other operation steps (Step objects or dicts of their arguments)."""
    operation = dataclasses.replace(case.operation, steps=_steps(steps))
    return dataclasses.replace(case, operation=operation)


def _step_dict(step: Step) -> dict:
    """A Step in the case-file layout (SI values with their units)."""
    units = {"current_density": "A/m^2", "c_rate": "1/h", "cutoff": "V", "duration": "s"}
    out = {"kind": step.kind}
    for name, unit in units.items():
        value = getattr(step, name)
        if value is not None:
            out["cutoff_voltage" if name == "cutoff" else name] = f"{value!r} {unit}"
    return out


def _steps(steps) -> list[Step]:
    """Step objects from Steps or dicts of Step's arguments (one or a list)."""
    if isinstance(steps, (Step, dict)):
        steps = [steps]
    out = []
    for k, s in enumerate(steps):
        if isinstance(s, dict):
            try:
                s = Step(**s)
            except TypeError as exc:
                fields = ", ".join(Step.__dataclass_fields__)
                raise InputError(f"steps[{k}]: {exc}; a step takes {fields}.") from None
        if not isinstance(s, Step):
            raise InputError(f"steps[{k}] must be a fem_assb.Step or a dict, not {type(s).__name__}.")
        out.append(s)
    if not out:
        raise InputError("steps must name at least one operation step.")
    return out


# --- effective properties and materials ---------------------------------------------------------


class KeffResult(dict):
    """The dict of :func:`fem_assb.studies.keff.effective_conductivity` (inputs, ``axes`` =
    {axis: result}, timings), with the first axis's results as attributes:
    ``volume_fraction``, ``percolating_fraction``, ``relative_conductivity``,
    ``effective_conductivity`` [S/m], ``tortuosity_factor``, ``tortuosity``, ...
    """

    def __getattr__(self, name):
        axes = self.get("axes") or {}
        first = next(iter(axes.values()), {})
        if name in first:
            return first[name]
        raise AttributeError(name)


def effective_conductivity(image, phase=None, axis="x", *, voxel_size=None, labels=None, **options):
    """Effective conductivity and tortuosity of one phase of a voxel image (one line).

    image: a VoxelImage; a 3D integer array (with ``labels``, a label map or a dict as in a case,
    default 0 PORE, 1 CAM, 2 SE, 3 LE, 4 CBD) or a boolean one (the phase); or the path of an image
    file (any format of :func:`fem_assb.structure.io.read_image`, ``labels`` and ``voxel_size`` as
    there);
    phase: material name or class ("SE", "CAM") or image value; axis: "x", "y", "z", "all" or a
    list; voxel_size: "0.5 um" or m. Further keywords (bulk_conductivity [S/m],
    grain_resistance [Ohm m^2], lateral "insulating" | "periodic", solver, rtol, comm, ...) go to
    :func:`fem_assb.studies.keff.effective_conductivity`. Returns a :class:`KeffResult`.
    """
    from fem_assb.studies.keff import effective_conductivity as solve

    if isinstance(image, (str, os.PathLike)):
        from fem_assb.structure.io import read_image

        image = read_image(image, labels=labels, voxel_size=voxel_size)
        voxel_size = None
    elif isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.integer):
        from fem_assb.structure.image import LabelMap, VoxelImage
        from fem_assb.structure.labels import label_map_from_dict
        from fem_assb.units import to_si

        if isinstance(labels, dict):
            labels = label_map_from_dict(labels)
        h = to_si(voxel_size, "m", name="voxel_size") if voxel_size is not None else 1e-6
        image, voxel_size = VoxelImage(image, h, labels or LabelMap.default()), None
    elif labels is not None:
        raise InputError("labels= applies to an image file or an integer array.")
    return KeffResult(solve(image, phase=phase, axis=axis, voxel_size=voxel_size, **options))


def get_system(name: str, temperature=None, **overrides):
    """The material system ``name`` (``fem-assb materials list``) in SI, with overrides per section
    as in a case's ``materials`` (``cam={"D": "1e-12 cm^2/s"}``); temperature in K or "25 degC"."""
    from fem_assb.materials import get_system as get
    from fem_assb.materials.spec import temperature as parse_temperature

    T = parse_temperature(temperature, "temperature") if temperature is not None else None
    return get(name, overrides=overrides or None, temperature=T)

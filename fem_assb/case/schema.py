"""The resolved simulation case (SI units throughout); built by :func:`fem_assb.case.load.load_case`.

A case file has the sections ``name``, ``description``, ``structure``, ``cell``, ``materials``,
``operation``, ``numerics`` and ``outputs`` (docs/cases.md). Every quantity below is a float in
SI; paths are absolute (input paths resolved relative to the case file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fem_assb.materials import System
from fem_assb.structure.image import LabelMap

STEP_KINDS = ("discharge", "charge", "rest")
FIELD_NAMES = ("phi", "c", "x", "utilization", "material", "grain", "current")


@dataclass
class Structure:
    """The cathode microstructure: an image file with label map and voxel size, or a generator spec.

    image: path of the label image (any format of :func:`fem_assb.structure.io.read_image`);
    voxel_size [m] (None: the one stored with the image or its label map); labels: a LabelMap or
    the path of a label-map YAML file (None: the map stored with the image or in its
    ``<stem>.labels.yaml`` sidecar). generator: the
    spec dict of :func:`fem_assb.structure.generate.from_spec` (``kind`` plus its keyword arguments).
    """

    image: Path | None = None
    voxel_size: float | None = None
    labels: LabelMap | Path | None = None
    generator: dict | None = None

    @property
    def kind(self) -> str:
        return "image" if self.image is not None else "generator"

    def build(self):
        """The VoxelImage (reads the image file or runs the generator; numpy only)."""
        if self.generator is not None:
            from fem_assb.structure.generate import from_spec

            return from_spec(dict(self.generator))
        from fem_assb.structure.io import read_image

        return read_image(self.image, labels=self.labels, voxel_size=self.voxel_size)


@dataclass
class Cell:
    """The virtual-cell layers along x (MODEL.md §1), thicknesses in m (0 = layer absent).

    separator_material "SE" (dense) or "LE" (porous, soaked with liquid; porosity and
    conductivity_factor apply). Grading of the planar layers: max_cell_size [m] (None = 20
    voxels), growth [-].
    """

    separator_material: str
    separator_thickness: float
    separator_porosity: float | None = None
    separator_conductivity_factor: float | None = None
    li_metal: float = 0.0
    anode_collector: float = 0.0
    cathode_collector: float = 0.0
    max_cell_size: float | None = None
    growth: float = 1.2

    def virtual_cell(self, image):
        """The :class:`fem_assb.structure.virtual_cell.VirtualCell` of ``image`` with these layers."""
        from fem_assb.structure.virtual_cell import Separator, VirtualCell

        sep = Separator(
            self.separator_material,
            self.separator_thickness,
            porosity=self.separator_porosity,
            conductivity_factor=self.separator_conductivity_factor,
        )
        return VirtualCell(
            image,
            sep,
            li_metal_thickness=self.li_metal,
            anode_collector_thickness=self.anode_collector,
            cathode_collector_thickness=self.cathode_collector,
            max_cell_size=self.max_cell_size,
            growth=self.growth,
        )


@dataclass
class Step:
    """One operation step: kind discharge | charge | rest.

    current_density [A/m^2] (> 0; the kind gives the direction) or c_rate [1/h] of the
    theoretical capacity; cutoff_voltage [V] (lower for discharge, upper for charge);
    duration [s]: length of a rest, or an optional upper bound for a (dis)charge.
    """

    kind: str
    current_density: float | None = None
    c_rate: float | None = None
    cutoff_voltage: float | None = None
    duration: float | None = None

    @property
    def cutoff(self) -> float | None:
        return self.cutoff_voltage

    def current_density_for(self, capacity_per_area: float) -> float:
        """The current density [A/m^2] given the theoretical capacity per area [C/m^2]."""
        if self.current_density is not None:
            return self.current_density
        if self.c_rate is None:
            return 0.0
        return self.c_rate * capacity_per_area / 3600.0


@dataclass
class Sweep:
    """A parameter sweep: ``parameter`` is a dotted path into the case file
    (e.g. ``operation.steps.0.current_density`` or ``materials.electrolyte.kappa``), ``values``
    the values as written; ``values_si`` the same in SI where they are plain quantities."""

    parameter: str
    values: list
    values_si: list[float | None] = field(default_factory=list)


@dataclass
class Operation:
    """Steps, temperature [K] and an optional sweep."""

    steps: list[Step]
    temperature: float
    sweep: Sweep | None = None


@dataclass
class Newton:
    """Newton tolerances per block, on the update and the scaled residual: phi_tol [V], x_tol [-];
    max_iterations per solve (a failed solve cuts the time step)."""

    phi_tol: float = 1e-9
    x_tol: float = 1e-10
    max_iterations: int = 14  # SNES iterations; = the limit 15 of the loop before SNES (solvers.newton)


@dataclass
class Numerics:
    """Solver options: time steps [s], step limits, Newton and the linear solver."""

    dt_initial: float = 1.0
    dt_min: float = 1e-6
    dt_max: float = 600.0
    max_voltage_step: float = 0.02  # V per step
    max_stoichiometry_step: float = 0.05  # per step
    newton: Newton = field(default_factory=Newton)
    linear_solver: str = "auto"  # "direct", "iterative" or "auto" (by the number of cells)
    surface_iterations: int | None = None  # None = "auto" (studies.discharge.surface_iterations_for)
    #: PETSc options of the Newton solver (SNES, its line search, KSP and PC), names without the
    #: options prefix ``fem_assb_newton_`` and without the dash (solvers.options.normalize)
    petsc_options: dict = field(default_factory=dict)


@dataclass
class Outputs:
    """Where and what to write: folder, fields every ``field_interval`` accepted steps
    (0 = only the last), which fields, PNG plots on/off."""

    folder: Path
    fields: list[str] = field(default_factory=lambda: ["phi", "x"])
    field_interval: int = 0
    plots: bool = True


@dataclass
class Case:
    """A fully resolved case. ``raw``: the parsed YAML (for sweeps); ``path``: the case file."""

    name: str
    description: str
    structure: Structure
    cell: Cell
    materials: System
    operation: Operation
    numerics: Numerics
    outputs: Outputs
    path: Path | None = None
    raw: dict = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def temperature(self) -> float:
        return self.operation.temperature

    def sweep_cases(self) -> list[tuple[object, Case]]:
        """(value, case) for every sweep value; [(None, self)] without a sweep."""
        from fem_assb.case.load import expand_sweep

        return expand_sweep(self)

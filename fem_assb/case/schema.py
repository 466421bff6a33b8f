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
    segment: None, or the keyword arguments of :func:`fem_assb.structure.segment.segment_grains`
    (``k``, ``min_distance``, ``h``, ``seed``): the SE of the image or the generated structure is
    watershed into grains whose IDs become the image's grains (case key ``structure.segment``).
    modify: the :class:`fem_assb.structure.operations.Operation` s of ``structure.modify``, applied
    in order to the read or generated image before the segmentation.
    """

    image: Path | None = None
    voxel_size: float | None = None
    labels: LabelMap | Path | None = None
    generator: dict | None = None
    segment: dict | None = None
    modify: tuple = ()

    @property
    def kind(self) -> str:
        return "image" if self.image is not None else "generator"

    def build(self):
        """The VoxelImage (reads the image file or runs the generator, then the modifications of
        ``modify`` and the grain segmentation when ``segment`` is given; numpy only)."""
        from fem_assb.structure import operations

        if self.generator is not None:
            from fem_assb.structure.generate import from_spec

            image = from_spec(dict(self.generator))
        else:
            from fem_assb.structure.io import read_image

            image = read_image(self.image, labels=self.labels, voxel_size=self.voxel_size)
        return self.segmented(operations.apply(image, self.modify))

    def segmented(self, image):
        """``image`` with the grain IDs of ``segment`` (unchanged when segment is None); an
        InputError when the segmentation leaves no grain boundary (the key would have no effect)."""
        if self.segment is None:
            return image
        from fem_assb.errors import InputError
        from fem_assb.structure.segment import segment_grains, with_grains

        seg = segment_grains(image, **self.segment)
        s = seg.summary()
        if s["grain_boundary_faces"] == 0:
            raise InputError(
                f"structure.segment has no effect: the SE was segmented into {s['grains']} grain(s) "
                "with no grain boundary between them; lower min_distance (or h) or remove "
                "structure.segment."
            )
        return with_grains(image, seg)


@dataclass
class Cell:
    """The virtual-cell layers along x (MODEL.md §1), thicknesses in m (0 = layer absent).

    separator_material "SE" (dense solid electrolyte) or "LE" (porous, soaked with the liquid
    electrolyte, docs/liquid.md); separator_conductivity_factor [-]: the separator's ionic
    conductivity relative to the bulk electrolyte's (1 = the same material);
    separator_porosity [-]: the LE separator's porosity (None for SE). Grading of the planar
    layers: max_cell_size [m] (None = 20
    voxels), growth [-]. lateral: the y and z sides, "insulating" or "periodic" (case key
    ``cell.lateral``; a generated structure is then generated periodic in y and z).
    """

    separator_material: str
    separator_thickness: float
    separator_conductivity_factor: float = 1.0
    li_metal: float = 0.0
    anode_collector: float = 0.0
    cathode_collector: float = 0.0
    max_cell_size: float | None = None
    growth: float = 1.2
    lateral: str = "insulating"
    separator_porosity: float | None = None

    def virtual_cell(self, image, cam_materials=()):
        """The :class:`fem_assb.structure.virtual_cell.VirtualCell` of ``image`` with these layers;
        ``cam_materials``: the CAM labels with their own parameter sets (``System.cams``)."""
        from fem_assb.structure.virtual_cell import Separator, VirtualCell

        factor = self.separator_conductivity_factor
        # A factor of 1 is the Separator's default for SE (given only when it differs).
        liquid = self.separator_material == "LE"  # its factor and porosity always given
        sep = Separator(
            self.separator_material,
            self.separator_thickness,
            porosity=self.separator_porosity if liquid else None,
            conductivity_factor=factor if liquid or factor != 1.0 else None,
        )
        return VirtualCell(
            image,
            sep,
            li_metal_thickness=self.li_metal,
            anode_collector_thickness=self.anode_collector,
            cathode_collector_thickness=self.cathode_collector,
            max_cell_size=self.max_cell_size,
            growth=self.growth,
            lateral=self.lateral,
            cam_materials=tuple(cam_materials),
        )


@dataclass
class Step:
    """One operation step, the single step type of the YAML loader, the API and the simulation.

    kind           "discharge", "charge" or "rest".
    current_density
                   [A/m^2] of the cell cross-section, > 0 (the kind gives the direction);
                   or ``c_rate`` [1/h] of the theoretical capacity: exactly one of the two for a
                   (dis)charge, neither for a rest.
    cutoff         [V]: lower cut-off of a discharge, upper of a charge (required for both).
    duration       [s]: length of a rest (required), or an upper bound for a (dis)charge.

    Each quantity is an SI float or a string with units (``"1 mA/cm^2"``, ``"3.0 V"``,
    ``"1 h"``; a c_rate without a unit is per hour). They are converted to SI floats and checked
    once, here: ``Step("discharge", current_density="1 mA/cm^2", cutoff="3 V").current_density
    == 10.0``. The YAML key of the cut-off is ``cutoff_voltage`` (also an attribute here).
    """

    kind: str
    current_density: float | str | None = None
    c_rate: float | str | None = None
    cutoff: float | str | None = None
    duration: float | str | None = None

    def __post_init__(self):
        from fem_assb.errors import InputError
        from fem_assb.materials.spec import did_you_mean

        if self.kind not in STEP_KINDS:
            raise InputError(
                f"operation step kind {self.kind!r} is unknown{did_you_mean(str(self.kind), STEP_KINDS)}; "
                f"use one of {', '.join(STEP_KINDS)}."
            )
        self.current_density = _si(self.current_density, "A/m^2", "current_density")
        self.c_rate = _si(self.c_rate, "1/h", "c_rate", default_unit="1/h")
        self.cutoff = _si(self.cutoff, "V", "cutoff")
        self.duration = _si(self.duration, "s", "duration")
        if self.duration is not None and not self.duration > 0:
            raise InputError(
                f"a {self.kind} duration must be a positive time, e.g. '1 h' (got {self.duration:g} s)."
            )
        if self.kind == "rest":
            extra = [n for n in ("current_density", "c_rate", "cutoff") if getattr(self, n) is not None]
            if extra:
                raise InputError(f"a rest has no current or cut-off: remove {', '.join(extra)}.")
            if self.duration is None:
                raise InputError("a rest needs a positive duration, e.g. duration: 1 h.")
            return
        given = [v for v in (self.current_density, self.c_rate) if v is not None]
        if len(given) != 1:
            raise InputError(
                f"a {self.kind} needs exactly one of current_density (e.g. '1 mA/cm^2') or c_rate "
                "(e.g. 0.1, per hour)."
            )
        if not given[0] > 0:
            raise InputError(
                f"the {self.kind} current must be positive (got {given[0]:g}); the kind "
                f"('{self.kind}') already sets its direction."
            )
        if self.cutoff is None:
            raise InputError(f"a {self.kind} needs a cut-off voltage (cutoff_voltage: 3.0 V).")
        if not self.cutoff > 0:
            raise InputError(f"the {self.kind} cut-off voltage must be positive (got {self.cutoff:g} V).")

    @property
    def cutoff_voltage(self) -> float | None:
        """The cut-off [V] under its YAML name."""
        return self.cutoff

    def current_density_for(self, capacity_per_area: float) -> float:
        """The current density [A/m^2] given the theoretical capacity per area [C/m^2]."""
        if self.current_density is not None:
            return self.current_density
        if self.c_rate is None:
            return 0.0
        return self.c_rate * capacity_per_area / 3600.0


def _si(value, unit: str, name: str, default_unit: str | None = None) -> float | None:
    """None, an SI number (kept, checked finite) or a string with units -> SI float."""
    import math
    import numbers

    from fem_assb.errors import InputError
    from fem_assb.units import to_si

    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InputError(f"{name} = {value!r} is not a finite number.")
        return float(value)
    return to_si(value, unit, name=name, default_unit=default_unit)


@dataclass
class SweepPoint:
    """One point of a sweep: ``values`` as written (one per swept parameter), ``values_si`` the
    same in SI where they are plain quantities (else None), ``case`` the resolved case of the
    point (the case file with those values put in, without the sweep)."""

    index: int
    values: tuple
    values_si: tuple
    case: object = field(repr=False)


@dataclass
class Sweep:
    """A parameter sweep (``operation.sweep``; run by :mod:`fem_assb.studies.sweep`).

    ``parameters``: dotted paths into the case file (e.g. ``operation.steps.0.current_density``,
    ``structure.generator.d_cam``), one for ``{parameter, values}``, several for a ``grid`` (every
    combination, the last parameter varying fastest); ``values`` the values of each parameter as
    written, ``values_si`` the same in SI where they are plain quantities (else None);
    ``concurrent`` the number of points run at once on sub-communicators; ``points`` every
    point's resolved case (:class:`SweepPoint`)."""

    parameters: list[str]
    values: list[list]
    values_si: list[list] = field(default_factory=list)
    grid: bool = False
    concurrent: int = 1
    points: list[SweepPoint] = field(default_factory=list, repr=False)

    @property
    def parameter(self) -> str:
        """The swept parameter(s), joined with ' x ' for a grid."""
        return " x ".join(self.parameters)


@dataclass
class Operation:
    """Steps and temperature [K]; ``sweep``: the parameter sweep of the case, or None."""

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
class Render:
    """``outputs.render``: pictures of ``fields`` (among ``outputs.fields``) at ``times`` [s]
    (None = the end of the run), read back from the run's fields.bp."""

    times: list
    fields: list[str]


@dataclass
class Outputs:
    """Where and what to write: folder, fields every ``field_interval`` accepted steps
    (0 = only the last), which fields, PNG plots on/off. Checkpoints (``checkpoint_interval``,
    :mod:`fem_assb.studies.checkpoint`): every ``checkpoint_steps`` accepted steps or every
    ``checkpoint_wall_time`` seconds of wall time (0 = none)."""

    folder: Path
    fields: list[str] = field(default_factory=lambda: ["phi", "x"])
    field_interval: int = 0
    render: Render | None = None  # field pictures at chosen times (docs/studies.md, Pictures)
    plots: bool = True
    checkpoint_steps: int = 0
    checkpoint_wall_time: float = 0.0


#: The steady states an impedance spectrum is taken around (docs/impedance.md).
IMPEDANCE_STATES = ("initial", "after_steps")
#: The solvers of the impedance block system (fem_assb.studies.impedance.SOLVERS).
IMPEDANCE_SOLVERS = ("auto", "direct", "iterative")


@dataclass
class Impedance:
    """The case's ``impedance`` section (docs/impedance.md): log-spaced frequencies f_min .. f_max
    (Hz, both included, ``per_decade`` points per decade) around ``state``: "initial" (open
    circuit at the initial stoichiometry) or "after_steps" (the state after the operation steps,
    which must end at rest); ``solver``: "auto", "direct" (LU) or "iterative" (GMRES + PRESB)."""

    f_min: float = 1.0
    f_max: float = 7.0e6
    per_decade: int = 10
    state: str = "initial"
    solver: str = "auto"


@dataclass
class Case:
    """A fully resolved case. ``raw``: the parsed YAML; ``path``: the case file."""

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
    study: object = None  # fem_assb.case.study.Study of a study case (the `study:` section), or None
    impedance: Impedance | None = None  # the ``impedance`` section (fem-assb impedance), if given

    @property
    def temperature(self) -> float:
        """The operation temperature [K]."""
        return self.operation.temperature

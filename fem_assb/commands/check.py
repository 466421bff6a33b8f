"""`fem-assb check CASE.yaml`: validate a case and print it resolved in SI.

Beyond the case file, check builds the structure (reads the image or runs the generator) and
the virtual cell, and runs the checks `fem-assb run` makes before it solves
(:func:`fem_assb.meshing.validate.validate_cell`), so OK means that `run` accepts the cell.
"""

from __future__ import annotations

NAME = "check"
HELP = (
    "validate a YAML case (and build its structure and virtual cell as run does) and print the "
    "resolved case in SI units"
)


def add_arguments(parser) -> None:
    parser.add_argument("case", help="the case file (YAML)")
    parser.add_argument("--no-materials", action="store_true", help="omit the material parameter table")
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="check the case file only (do not build the structure and the virtual cell)",
    )


def describe(case) -> str:
    """The resolved case as text (SI units)."""
    from dataclasses import asdict

    from fem_assb.materials.report import format_value, parameter_table
    from fem_assb.units import to_si

    out = [f"case {case.name}: {case.description}".rstrip(": "), f"file: {case.path}", ""]
    st = case.structure
    if st.generator is not None:
        out.append(f"structure: generator {st.generator.get('kind', 'composite')}")
        for k, v in st.generator.items():
            if k in ("voxel_size", "d_cam", "d_se", "d_cbd"):
                out.append(f"  {k}: {format_value(to_si(v, 'm', name=k))} m")
            elif k != "kind":
                out.append(f"  {k}: {v}")
    else:
        out.append(f"structure: image {st.image}")
        out.append(f"  voxel_size: {format_value(st.voxel_size)} m")
        out.append(f"  labels: {st.labels or 'default (0 PORE, 1 CAM, 2 SE, 3 LE, 4 CBD)'}")
    for op in st.modify:  # structure.modify, in order
        value = format_value(op.value) if isinstance(op.value, float) else op.value
        out.append(f"  modify: {op.name} {value}" + "".join(f", {k} {v}" for k, v in op.options))
    cell = case.cell
    out.append("cell (m):")
    out.append(
        f"  separator: {cell.separator_material}, thickness {format_value(cell.separator_thickness)}, "
        f"conductivity factor {cell.separator_conductivity_factor}"
    )
    out.append(
        f"  li_metal {format_value(cell.li_metal)}, anode_collector {format_value(cell.anode_collector)}, "
        f"cathode_collector {format_value(cell.cathode_collector)}, max_cell_size "
        f"{format_value(cell.max_cell_size)}, growth {cell.growth}, lateral {cell.lateral}"
    )
    op = case.operation
    out.append(
        f"operation: temperature {op.temperature:.2f} K; initial OCV "
        f"{case.materials.initial_ocv():.4f} V at x0 = {case.materials.cam.x0:.4f}"
    )
    for k, s in enumerate(op.steps):
        parts = [s.kind]
        if s.current_density is not None:
            parts.append(f"current_density {format_value(s.current_density)} A/m^2")
        if s.c_rate is not None:
            parts.append(f"c_rate {format_value(s.c_rate)} 1/h")
        if s.cutoff_voltage is not None:
            parts.append(f"cutoff {format_value(s.cutoff_voltage)} V")
        if s.duration is not None:
            parts.append(f"duration {format_value(s.duration)} s")
        out.append(f"  step {k}: " + ", ".join(parts))
    if op.sweep is not None:
        sw = op.sweep
        for param, values, si in zip(sw.parameters, sw.values, sw.values_si, strict=True):
            out.append(f"  sweep {param}: {values} (SI: {si})")
        out.append(
            f"  sweep: {len(sw.points)} point(s){' (grid)' if sw.grid else ''}, {sw.concurrent} at once; "
            "check builds the case as written, each point's cell is built when it runs"
        )
    units = {"dt_initial": " s", "dt_min": " s", "dt_max": " s", "max_voltage_step": " V", "phi_tol": " V"}
    num = asdict(case.numerics)
    newton = num.pop("newton")
    if num["surface_iterations"] is None:
        num["surface_iterations"] = "auto"
    out.append("numerics: " + ", ".join(f"{k} {format_value(v)}{units.get(k, '')}" for k, v in num.items()))
    out.append(
        "  newton: " + ", ".join(f"{k} {format_value(v)}{units.get(k, '')}" for k, v in newton.items())
    )
    o = case.outputs
    out.append(
        f"outputs: folder {o.folder}, fields {o.fields} every {o.field_interval} steps, plots {o.plots}"
    )
    if case.study is not None:
        sd = case.study
        out.append(f"study: {sd.title} ({sd.source}); {len(sd.paper)} comparison(s) with the paper")
        for v in sd.variants:
            out.append(f"  {v.name}: {v.label}, {len(v.case.operation.sweep.points)} point(s)")
    for note in case.notes:
        out.append(f"note: {note}")
    return "\n".join(out), parameter_table(case.materials)


def describe_cell(image, grid, info) -> str:
    """What `run` would mesh: the structure, the grid and the clusters removed."""
    from fem_assb.materials.report import format_value

    nx, ny, nz = image.shape
    cells = int((grid.material >= 0).sum())
    return "\n".join(
        [
            f"built: structure {nx} x {ny} x {nz} voxels of {format_value(image.voxel_size)} m; "
            f"cell grid {' x '.join(map(str, grid.material.shape))}, {cells} cells",
            f"  removed isolated clusters: {100 * info.removed_cam_fraction:.2f} % of the CAM, "
            f"{100 * info.removed_electrolyte_fraction:.2f} % of the electrolyte; "
            f"{info.active_faces} CAM | electrolyte faces",
        ]
    )


def _build(case) -> str:
    from fem_assb.meshing.validate import validate_case

    image, _vcell, grid, info = validate_case(case)
    return describe_cell(image, grid, info)


def run(args) -> int:
    from fem_assb.case import load_case
    from fem_assb.parallel import on_rank0, print0

    case = load_case(args.case)
    text, table = describe(case)
    built = None if args.no_build else on_rank0(_build, case)  # the same checks as run (rank 0)
    print0(text)
    if built:
        print0(built)
    if not args.no_materials:
        print0("\nmaterials:\n" + table)
    print0(f"\n{args.case}: OK" + (" (case file only; not built)" if args.no_build else ""))
    return 0

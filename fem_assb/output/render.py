"""3D pictures (pyvista on VTK, off-screen), each PNG written atomically; rank-0 work.

- :func:`structure_picture`: a :class:`~fem_assb.structure.image.VoxelImage`, phases coloured by
  their material class (the colours of ``plots.structure_overview``), pores left out, the
  separator side (x = 0) marked by a translucent plane and an arrow towards the collector;
- :func:`utilization_picture`: the CAM voxels coloured by their utilization (0..1, colour bar),
  CAM left out of the simulation (isolated clusters) in grey: the seeds' lithiation figures;
- :func:`field_pictures`: fields of a run's own ``fields.bp`` at chosen times, read back through
  VTK's ADIOS2 VTX reader (:func:`read_vtx`, the reader ParaView uses), so that every picture is
  also a check that the file opens in ParaView.

Off-screen rendering (where no display exists: CI, containers, batch jobs) is chosen by
:func:`offscreen_backend` before VTK's rendering classes are loaded; see its docstring for what
was measured with Debian sid's VTK 9.6 and Mesa.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fem_assb.errors import FemAssbError

#: Phase colours by material class (matplotlib tab10, in MATERIAL_CLASSES order, as the 2D
#: structure overview of ``plots.structure_overview``).
PHASE_COLOURS = {
    "CAM": (0.122, 0.467, 0.706),
    "SE": (1.000, 0.498, 0.055),
    "LE": (0.173, 0.627, 0.173),
    "CBD": (0.839, 0.153, 0.157),
    "PORE": (0.580, 0.404, 0.741),
}
#: Colour of CAM voxels without a simulated value (isolated clusters removed before meshing).
NAN_COLOUR = (0.75, 0.75, 0.75)
WINDOW = (1000, 760)
#: Surface shading: enough ambient light that faces turned away from the lights keep their colour.
_SHADING = {"ambient": 0.3, "diffuse": 0.75, "specular": 0.0}
#: Scalar-bar titles (with units) of the run's output fields (``outputs.fields``).
FIELD_TITLES = {
    "phi": "phi (V)",
    "c": "c (mol/m^3)",
    "x": "x = c/c_max",
    "utilization": "utilization",
    "material": "material",
    "grain": "grain ID",
    "current": "i (A/m^2)",
}
_BAR = {"color": "black", "vertical": True, "position_x": 0.84, "position_y": 0.1, "height": 0.6}


class RenderError(FemAssbError):
    """A 3D picture cannot be made here (no pyvista, no off-screen OpenGL, an unreadable file)."""


# --- off-screen rendering ---------------------------------------------------------------------

_BACKEND: str | None = None


def offscreen_backend() -> str:
    """Prepare off-screen rendering once per process; returns the window asked for ("egl",
    "osmesa", or "x11": VTK's own choice, an X window off-screen).

    With a ``DISPLAY`` VTK's own choice is kept (a DISPLAY without X server: VTK warns "bad X
    server connection" and falls back to EGL, measured). Without one,
    ``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` is set (unless the user set the variable)
    before the first render window is made: VTK then renders through EGL, and Mesa's EGL
    (Debian libegl-mesa0, with libgl1-mesa-dri's llvmpipe) needs no X server, GPU or /dev/dri.

    Measured (Debian sid: VTK 9.6.2, pyvista 0.49.0, Mesa 26.2.6 llvmpipe, OpenGL 4.6, no
    DISPLAY; a 400 x 300 sphere, imports included):

    - vtkEGLRenderWindow: works, silent, 1.3 s;
    - nothing set: VTK 9.6 tries X first ("bad X server connection" warnings), then falls back
      to EGL: works, 1.6 s, but noisy (hence the variable);
    - vtkOSOpenGLRenderWindow: SIGSEGV, "libOSMesa not found": Mesa dropped OSMesa (25.1) and
      Debian sid ships no libOSMesa;
    - Xvfb (Debian xvfb) with DISPLAY set: works through GLX, 1.7 s plus the server's start;
      pyvista 0.49 has no ``start_xvfb`` any more, and EGL makes the X server unnecessary.
    """
    global _BACKEND
    if _BACKEND is None:
        chosen = os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")
        if not chosen and not os.environ.get("DISPLAY"):
            os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = chosen = "vtkEGLRenderWindow"
        _BACKEND = {"vtkEGLRenderWindow": "egl", "vtkOSOpenGLRenderWindow": "osmesa"}.get(chosen, "x11")
    return _BACKEND


def _pyvista():
    """pyvista, set up for off-screen rendering (RenderError when it is not installed)."""
    offscreen_backend()
    try:
        import pyvista as pv
    except ImportError as exc:
        raise RenderError(
            f"3D pictures need pyvista and VTK (Debian python3-pyvista), which cannot be imported: {exc}."
        ) from None
    pv.OFF_SCREEN = True
    return pv


def _plotter(pv, title: str):
    p = pv.Plotter(off_screen=True, window_size=list(WINDOW))
    p.set_background("white")
    if title:
        p.add_text(title, position="upper_edge", font_size=11, color="black")
    return p


def _save(plotter, path) -> None:
    from fem_assb.output.atomic import atomic_path

    with atomic_path(path, suffix=".png", what="picture") as tmp:
        plotter.screenshot(str(tmp))
    plotter.close()


def _voxel_surface(pv, mask: np.ndarray, values: np.ndarray, h: float):
    """The visible faces of the voxels in ``mask`` (those not shared with another voxel of
    ``mask``) as PolyData in um, each face carrying its voxel's ``values`` (cell array "value").

    Built face by face in numpy: memory grows with the surface, not with the voxel count (a
    threshold of the whole image to hexahedra would hold every voxel).
    """
    s = h * 1e6
    corners, vals = [], []
    square = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float)
    for a in range(3):
        b, c = [ax for ax in range(3) if ax != a]
        for side in (0, 1):
            neighbour = np.zeros_like(mask)
            src, dst = [slice(None)] * 3, [slice(None)] * 3
            src[a], dst[a] = (slice(1, None), slice(0, -1)) if side else (slice(0, -1), slice(1, None))
            neighbour[tuple(dst)] = mask[tuple(src)]
            idx = np.argwhere(mask & ~neighbour)
            if not idx.size:
                continue
            q = np.repeat(idx[:, None, :].astype(float), 4, axis=1)
            q[:, :, a] += side
            q[:, :, b] += square[:, 0]
            q[:, :, c] += square[:, 1]
            corners.append(q)
            vals.append(values[idx[:, 0], idx[:, 1], idx[:, 2]])
    if not corners:
        return None
    points = np.concatenate(corners).reshape(-1, 3) * s
    n = points.shape[0] // 4
    faces = np.hstack([np.full((n, 1), 4), np.arange(4 * n).reshape(n, 4)]).ravel()
    surf = pv.PolyData(points.astype(np.float32), faces)
    surf.cell_data["value"] = np.concatenate(vals).astype(float)
    return surf


def _surface(cells):
    """The outer faces of a set of cells, with their cell data (what is drawn)."""
    return cells.extract_surface(algorithm="dataset_surface")


def _mark_separator(pv, plotter, size_um) -> None:
    """The separator side x = 0: a translucent plane just before it, an arrow along +x (to the
    collector) under the box, and their labels."""
    lx, ly, lz = size_um
    gap = 0.03 * max(lx, ly, lz)
    plane = pv.Plane(center=(-gap, ly / 2, lz / 2), direction=(1, 0, 0), i_size=1.15 * lz, j_size=1.15 * ly)
    plotter.add_mesh(plane, color=(0.35, 0.35, 0.35), opacity=0.35)
    y_arrow = -0.12 * ly - gap
    arrow = pv.Arrow(
        start=(0.0, y_arrow, 0.0),
        direction=(1, 0, 0),
        scale=lx,
        tip_length=0.08,
        tip_radius=0.03,
        shaft_radius=0.01,
    )
    plotter.add_mesh(arrow, color="black")
    plotter.add_point_labels(
        np.array([[-gap, ly / 2, 1.1 * lz], [lx, y_arrow, 0.0]]),
        ["separator side (x = 0)", "x -> collector"],
        font_size=14,
        text_color="black",
        shape_color="white",
        shape_opacity=0.7,
        show_points=False,
        always_visible=True,
    )


def _camera(plotter, size_um) -> None:
    """Looking from the separator side (x < 0), the y = 0 face and the top (z up)."""
    lx, ly, lz = size_um
    c = np.array([lx, ly, lz]) / 2
    d = 2.6 * max(lx, ly, lz)
    plotter.camera_position = [tuple(c + d * np.array([-0.62, -0.62, 0.48])), tuple(c), (0, 0, 1)]
    plotter.reset_camera()
    plotter.camera.zoom(1.05)


def _phase_codes(image) -> tuple[np.ndarray, list[str]]:
    """(code per voxel: index into the present classes, the present classes) of an image."""
    from fem_assb.structure.image import MATERIAL_CLASSES

    codes = np.full(image.shape, -1, dtype=np.int16)
    present = []
    for k in MATERIAL_CLASSES:
        vals = [v for v, m in image.label_map.materials.items() if m.kind == k]
        mask = np.isin(image.labels, vals)
        if mask.any():
            codes[mask] = len(present)
            present.append(k)
    return codes, present


def structure_picture(image, path, title: str = "") -> Path:
    """A 3D picture of a VoxelImage (phases coloured, pores void, separator side marked) [PNG]."""
    pv = _pyvista()
    codes, present = _phase_codes(image)
    pore = present.index("PORE") if "PORE" in present else -1
    size = np.array(image.shape) * image.voxel_size * 1e6
    p = _plotter(pv, title)
    surf = _voxel_surface(pv, codes != pore, codes, image.voxel_size)
    if surf is not None:
        from matplotlib.colors import ListedColormap

        p.add_mesh(
            surf,
            scalars="value",
            cmap=ListedColormap([PHASE_COLOURS[k] for k in present]),
            clim=(-0.5, len(present) - 0.5),
            show_scalar_bar=False,
            preference="cell",
            **_SHADING,
        )
    p.add_legend(
        [[k if k != "PORE" else "PORE (void)", PHASE_COLOURS[k]] for k in present],
        bcolor="white",
        size=(0.16, 0.05 * len(present)),
        loc="upper right",
    )
    _mark_separator(pv, p, size)
    p.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="z (um)", color="black", font_size=10)
    _camera(p, size)
    _save(p, path)
    return Path(path)


def utilization_picture(image, utilization: np.ndarray, path, title: str = "") -> Path:
    """The CAM voxels of ``image`` coloured by ``utilization`` [-] (shape of the image; NaN:
    not simulated, drawn grey), with a colour bar from 0 to 1 [PNG]."""
    pv = _pyvista()
    cam = image.mask("CAM")
    values = np.where(cam, np.asarray(utilization, dtype=float), np.nan)
    size = np.array(image.shape) * image.voxel_size * 1e6
    p = _plotter(pv, title)
    surf = _voxel_surface(pv, cam, values, image.voxel_size)
    if surf is not None:
        p.add_mesh(
            surf,
            scalars="value",
            cmap="viridis",
            clim=(0.0, 1.0),
            nan_color=NAN_COLOUR,
            preference="cell",
            scalar_bar_args={"title": "utilization", **_BAR},
            **_SHADING,
        )
    _mark_separator(pv, p, size)
    p.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="z (um)", color="black", font_size=10)
    _camera(p, size)
    _save(p, path)
    return Path(path)


# --- fields.bp read back through VTK's ADIOS2 VTX reader ---------------------------------------


_CONTROLLER = None


def _serial_vtk_controller() -> None:
    """Make VTK's global controller an MPI controller on MPI_COMM_SELF (once per process).

    The VTX reader opens the file with the MPI communicator of VTK's global controller and
    crashes (SIGSEGV in RequestInformation, measured with VTK 9.6.2) when that controller is
    missing or not an MPI one, as in a plain Python process that imported pyvista. On COMM_SELF
    rank 0 reads the whole series alone while the other ranks of a run wait, as ParaView's
    serial client reads it.
    """
    global _CONTROLLER
    from vtkmodules.vtkParallelCore import vtkMultiProcessController

    if _CONTROLLER is not None and vtkMultiProcessController.GetGlobalController() is _CONTROLLER:
        return
    from mpi4py import MPI
    from vtkmodules.vtkParallelMPI import vtkMPIController
    from vtkmodules.vtkParallelMPI4Py import vtkMPI4PyCommunicator

    ctrl = vtkMPIController()
    ctrl.SetCommunicator(vtkMPI4PyCommunicator.ConvertToVTK(MPI.COMM_SELF))
    vtkMultiProcessController.SetGlobalController(ctrl)
    _CONTROLLER = ctrl


def vtx_reader_available() -> bool:
    """True when this VTK has the ADIOS2 VTX reader (module IOADIOS2, ParaView's .bp reader)."""
    try:
        from vtkmodules.vtkIOADIOS2 import vtkADIOS2VTXReader  # noqa: F401
    except ImportError:
        return False
    return True


class VTXSeries:
    """A VTX (ADIOS2 .bp) time series opened with VTK's ``vtkADIOS2VTXReader``.

    ``times``: the times [s] of the written states; :meth:`read` gives the mesh (coordinates in
    m) with its cell arrays at one of them as a pyvista UnstructuredGrid.
    """

    def __init__(self, path):
        if not vtx_reader_available():
            raise RenderError(f"cannot read {path}: this VTK has no ADIOS2 VTX reader (module vtkIOADIOS2).")
        from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline
        from vtkmodules.vtkIOADIOS2 import vtkADIOS2VTXReader

        path = Path(path)
        if not (path / "md.idx").is_file():
            raise RenderError(f"cannot read {path}: not an ADIOS2 BP4/BP5 folder (no md.idx).")
        _serial_vtk_controller()
        self.path = path
        self.reader = vtkADIOS2VTXReader()
        self.reader.SetFileName(str(path))
        self.reader.UpdateInformation()
        info = self.reader.GetOutputInformation(0)
        key = vtkStreamingDemandDrivenPipeline.TIME_STEPS()
        self.times = [float(t) for t in info.Get(key)] if info.Has(key) else [0.0]

    def read(self, t: float, unique: bool = True):
        """The mesh and its arrays at the written time ``t`` [s] (a pyvista UnstructuredGrid);
        ``unique``: each cell once (:func:`_unique_cells`), else as the reader gives them."""
        pv = _pyvista()
        from vtkmodules.vtkFiltersParallel import vtkMergeBlocks

        self.reader.UpdateTimeStep(float(t))
        merge = vtkMergeBlocks()  # the blocks and pieces (one per writing rank) into one grid
        merge.SetMergePoints(False)
        merge.SetInputConnection(self.reader.GetOutputPort())
        merge.UpdateTimeStep(float(t))
        mesh = pv.wrap(merge.GetOutput())
        if mesh is None or not mesh.n_cells:
            raise RenderError(f"{self.path} holds no cells at t = {t:g} s.")
        return _unique_cells(mesh) if unique else mesh


def _unique_cells(mesh):
    """``mesh`` with every cell once.

    A series written on N ranks holds each rank's ghost cells as well (DOLFINx 0.11's VTXWriter
    writes the local cells, owned and ghost, and flags only the ghost *points*, vtkGhostType):
    measured 500 cells for a 450-cell mesh on 2 ranks. The copies coincide and carry the same
    values; the first of each is kept (cells told apart by their centres).
    """
    centres = np.asarray(mesh.cell_centers().points, dtype=float)
    b = np.array(mesh.bounds, dtype=float).reshape(3, 2)
    scale = max(float(np.ptp(b, axis=1).max()), 1e-300) * 1e-9
    _, first = np.unique(np.round(centres / scale).astype(np.int64), axis=0, return_index=True)
    if first.size == mesh.n_cells:
        return mesh
    return mesh.extract_cells(np.sort(first))


def nearest_written(times, asked: float | None) -> float:
    """The first written time at or after ``asked`` [s] (None: the last; after the end: the last)."""
    times = sorted(times)
    if asked is None:
        return times[-1]
    later = [t for t in times if t >= asked - 1e-9 * max(abs(asked), 1.0)]
    return later[0] if later else times[-1]


def field_picture(mesh, field: str, path, title: str = "") -> Path:
    """One field of a read-back mesh (coordinates in m) as a 3D picture with a colour bar [PNG];
    CAM fields (c, x, utilization: NaN elsewhere) on the CAM cells only."""
    pv = _pyvista()
    if field not in mesh.cell_data:
        raise RenderError(f"the field series has no array {field!r} (it has {', '.join(mesh.cell_data)}).")
    mesh = mesh.copy()
    mesh.points = np.asarray(mesh.points) * 1e6
    values = np.asarray(mesh.cell_data[field], dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        raise RenderError(f"the field {field!r} has no finite value to draw.")
    lo, hi = float(values[finite].min()), float(values[finite].max())
    clim = (0.0, 1.0) if field in ("x", "utilization") else (lo, hi if hi > lo else lo + 1e-12)
    shown = mesh
    if not finite.all():
        mesh.cell_data["_finite"] = finite.astype(float)
        shown = mesh.threshold((0.5, 1.5), scalars="_finite", preference="cell")
    b = np.array(mesh.bounds).reshape(3, 2)
    size = b[:, 1] - b[:, 0]
    p = _plotter(pv, title)
    p.add_mesh(
        _surface(shown),
        scalars=field,
        cmap="viridis" if field != "phi" else "coolwarm",
        clim=clim,
        preference="cell",
        **_SHADING,
        scalar_bar_args={"title": FIELD_TITLES.get(field, field), **_BAR},
    )
    p.show_bounds(
        xtitle="x (um, anode collector -> cathode collector)",
        ytitle="y (um)",
        ztitle="z (um)",
        color="black",
        font_size=10,
    )
    lx, ly, lz = size
    c = b.mean(axis=1)
    d = 2.2 * max(size)
    p.camera_position = [tuple(c + d * np.array([-0.55, -0.7, 0.45])), tuple(c), (0, 0, 1)]
    p.reset_camera()
    _save(p, path)
    return Path(path)


def field_pictures(series_path, fields, times, out_dir, name: str = "") -> list[dict]:
    """Pictures of ``fields`` at ``times`` [s] (None = the end) from a run's ``fields.bp``, read
    through the VTX reader, as ``render_<field>_<k>.png`` (k = index of the asked time) in
    ``out_dir``. Each state is the first written at or after the asked time (the run writes
    one there, :class:`fem_assb.studies.run._Fields`). Returns one record per picture: field,
    asked_s, time_s, file."""
    series = VTXSeries(series_path)
    records = []
    for k, asked in enumerate(times):
        t = nearest_written(series.times, asked)
        mesh = series.read(t)
        for field in fields:
            fname = f"render_{field}_{k}.png"
            label = "end" if asked is None else f"{asked:g} s"
            title = f"{name}: {field} at t = {t:.4g} s (asked: {label})".lstrip(": ")
            field_picture(mesh, field, Path(out_dir) / fname, title)
            records.append({"field": field, "asked_s": asked, "time_s": t, "file": fname})
    return records

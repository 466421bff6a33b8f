"""3D pictures (issue 19): structure, end-of-run utilization and field renders, off-screen.

Each PNG is checked for content by pixel statistics (not blank: many non-background pixels,
the CAM colour present), the command-line pictures in a process without DISPLAY, and a run's own
fields.bp is read back through VTK's ADIOS2 VTX reader (ParaView's reader) and compared with the
run's summary (cell count, arrays, the mean stoichiometry of the CAM cells).
"""

from __future__ import annotations

import colorsys
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from discharge_cells import tiny_case

from fem_assb.errors import InputError
from fem_assb.structure.image import VoxelImage

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("pyvista")

from fem_assb.output import render  # noqa: E402

CAM_RGB = render.PHASE_COLOURS["CAM"]
SE_RGB = render.PHASE_COLOURS["SE"]


def _pixels(path) -> np.ndarray:
    import matplotlib.image

    img = matplotlib.image.imread(str(path))
    return img[..., :3].astype(float) / (255.0 if img.dtype == np.uint8 else 1.0)


def _hue_fraction(px: np.ndarray, rgb, tol_deg: float = 8.0) -> float:
    """Fraction of the picture's pixels with the hue of ``rgb`` (saturated pixels only): shading
    changes a face's brightness, not its hue."""
    hsv = _hsv(px)
    h0 = colorsys.rgb_to_hsv(*rgb)[0]
    dh = np.abs((hsv[..., 0] - h0 + 0.5) % 1.0 - 0.5) * 360
    return float(np.mean((dh < tol_deg) & (hsv[..., 1] > 0.35) & (hsv[..., 2] > 0.15)))


def _hsv(px):
    import matplotlib.colors

    return matplotlib.colors.rgb_to_hsv(np.clip(px, 0, 1))


def _content(px: np.ndarray) -> float:
    """Fraction of pixels that are not the white background."""
    return float(np.mean(np.any(px < 0.95, axis=-1)))


def _assert_picture(path, min_content=0.08, colours=()):
    assert Path(path).is_file(), f"{path} not written"
    px = _pixels(path)
    assert px.shape[0] >= 400 and px.shape[1] >= 400, px.shape
    assert _content(px) > min_content, f"{path}: blank ({_content(px):.3f} non-background)"
    q = (px * 15).round().astype(np.int64).reshape(-1, 3)
    colours_used = np.unique(q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]).size
    assert colours_used > 20, f"{path}: only {colours_used} colours"
    for name, rgb in colours:
        assert _hue_fraction(px, rgb) > 0.01, f"{path}: the {name} colour is missing"
    return px


def _image(nx=12, ny=10, nz=10, seed=1) -> VoxelImage:
    """CAM spheres in SE with some pores (0 PORE, 1 CAM, 2 SE)."""
    rng = np.random.default_rng(seed)
    labels = np.full((nx, ny, nz), 2, dtype=np.uint8)
    idx = np.indices((nx, ny, nz)).reshape(3, -1).T
    for c in rng.uniform(0, [nx, ny, nz], size=(6, 3)):
        labels.reshape(-1)[np.sum((idx - c) ** 2, axis=1) < 9.0] = 1
    labels[rng.random(labels.shape) < 0.05] = 0
    return VoxelImage(labels, 0.5e-6)


def _no_display_env():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("VTK_DEFAULT_OPENGL_WINDOW", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(*args, cwd):
    out = subprocess.run(
        [sys.executable, "-m", "fem_assb", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=_no_display_env(),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out


# --- structure pictures ---------------------------------------------------------------------------


def test_structure_picture_shows_the_phases(tmp_path):
    img = _image()
    png = render.structure_picture(img, tmp_path / "s.png", title="test")
    _assert_picture(png, 0.15, [("CAM", CAM_RGB), ("SE", SE_RGB)])
    # all-SE image: no CAM colour (the check above sees the phases, not just any picture)
    se = VoxelImage(np.full((8, 8, 8), 2, dtype=np.uint8), 0.5e-6)
    px = _pixels(render.structure_picture(se, tmp_path / "se.png"))
    assert _hue_fraction(px, CAM_RGB) < 0.003 < _hue_fraction(px, SE_RGB)


def test_generate_and_analyze_render_without_display(tmp_path, monkeypatch, capsys):
    """The commands' --render pictures without DISPLAY (generate in a process of its own)."""
    _cli(
        "generate", "composite", "-o", "g.npz", "--shape", "16,12,12", "--voxel-size", "0.5um",
        "--cam-fraction", "0.5", "--se-fraction", "0.45", "--d-cam", "3um", "--d-se", "1um",
        "--no-png", "--render", "g3d.png", cwd=tmp_path,
    )  # fmt: skip
    _assert_picture(tmp_path / "g3d.png", 0.15, [("CAM", CAM_RGB), ("SE", SE_RGB)])
    from fem_assb.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "g.npz", "--render", "a3d.png"]) == 0
    assert "SVF_CAM" in capsys.readouterr().out
    _assert_picture(tmp_path / "a3d.png", 0.15, [("CAM", CAM_RGB), ("SE", SE_RGB)])


def test_offscreen_backend_without_display():
    code = (
        "from fem_assb.output import render; b = render.offscreen_backend();"
        "import os; print(b, os.environ.get('VTK_DEFAULT_OPENGL_WINDOW'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_no_display_env()
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["egl", "vtkEGLRenderWindow"]


# --- utilization -----------------------------------------------------------------------------------


def test_utilization_picture_depends_on_the_state(tmp_path):
    img = _image()
    cam = img.mask("CAM")
    low = np.where(cam, 0.1, np.nan)
    x = np.arange(img.shape[0])[:, None, None] / (img.shape[0] - 1)
    graded = np.where(cam, np.broadcast_to(1 - x, img.shape), np.nan)
    a = _assert_picture(render.utilization_picture(img, low, tmp_path / "a.png"))
    b = _assert_picture(render.utilization_picture(img, graded, tmp_path / "b.png"))
    changed = np.mean(np.any(np.abs(a - b) > 0.1, axis=-1))
    assert changed > 0.02, f"the two states give nearly the same picture ({changed:.4f} of pixels differ)"
    # CAM without a value (not simulated) is drawn grey, not dropped
    part = np.where(np.indices(img.shape)[0] < 6, graded, np.nan)
    c = _pixels(render.utilization_picture(img, part, tmp_path / "c.png"))

    def grey(px):  # neutral, neither the white background nor black text (shading darkens it)
        v = px.mean(axis=-1)
        return float(np.mean((np.ptp(px, axis=-1) < 0.03) & (v > 0.2) & (v < 0.9)))

    assert grey(c) > grey(b) + 0.01, (grey(c), grey(b))


# --- a run: utilization_3d.png, outputs.render, fields.bp through the VTX reader -------------------

CASE = tiny_case(
    "render",
    shape=(8, 5, 5),
    steps=[
        {"kind": "discharge", "current_density": "5 mA/cm^2", "cutoff_voltage": "3.0 V", "duration": "30 s"}
    ],
    numerics={"dt_max": "5 s"},
    outputs={
        "fields": ["phi", "x", "material"],
        "render": {"times": ["12 s", "end"], "fields": ["x", "phi"]},
        "plots": True,
    },
)


def _case(raw, **outputs):
    from fem_assb.case import resolve_case

    raw = json.loads(json.dumps(raw))
    raw["outputs"].update(outputs)
    return resolve_case(raw)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from mpi4py import MPI

    from fem_assb.studies.run import run_case

    comm = MPI.COMM_WORLD
    out = tmp_path_factory.mktemp("run") if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    summary = run_case(_case(CASE), out / "run", quiet=True)
    return out / "run", summary


@pytest.mark.mpi
def test_run_writes_the_pictures(run_dir):
    out, summary = run_dir
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank != 0:
        return
    files = summary["files"]
    assert "render_errors" not in summary, summary.get("render_errors")
    assert files["utilization_3d"] == "utilization_3d.png"
    _assert_picture(out / "utilization_3d.png", 0.08)
    names = sorted(r["file"] for r in summary["render"])
    assert names == ["render_phi_0.png", "render_phi_1.png", "render_x_0.png", "render_x_1.png"]
    assert {files[Path(n).stem] for n in names} == set(names)
    for n in names:
        _assert_picture(out / n, 0.05)
    asked = {r["asked_s"]: r["time_s"] for r in summary["render"]}
    hist = np.loadtxt(out / "history.csv", delimiter=",", skiprows=1)[:, 0]
    assert asked[None] == pytest.approx(summary["simulated_time_s"])
    # the state shown for 12 s is the first accepted step at or after 12 s, written for it
    assert asked[12.0] == pytest.approx(hist[hist >= 12.0][0])
    assert asked[12.0] < summary["simulated_time_s"]


@pytest.mark.mpi
def test_fields_bp_opens_through_the_vtx_reader(run_dir):
    """The run's fields.bp read by vtkADIOS2VTXReader: every cell, the arrays the case asked for,
    the x of the CAM cells (NaN elsewhere) averaging to the summary's final mean stoichiometry."""
    out, summary = run_dir
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank != 0:
        return
    if not render.vtx_reader_available():
        pytest.fail("this VTK has no vtkADIOS2VTXReader (vtkmodules.vtkIOADIOS2)")
    series = render.VTXSeries(out / "fields.bp")
    assert series.times[0] == 0.0 and series.times[-1] == pytest.approx(summary["simulated_time_s"])
    assert len(series.times) >= 3  # t = 0, the asked 12 s, the end
    mesh = series.read(series.times[-1])
    assert mesh.n_cells == summary["cells"]
    raw = series.read(series.times[-1], unique=False).n_cells  # with the ranks' ghost cells
    assert raw == summary["cells"] if MPI.COMM_WORLD.size == 1 else raw > summary["cells"]
    assert {"phi", "x", "material"} <= set(mesh.cell_data)
    mat = np.asarray(mesh.cell_data["material"])
    x = np.asarray(mesh.cell_data["x"])
    cam = np.isclose(mat, 1.0)
    assert cam.any() and np.all(np.isfinite(x[cam])) and not np.isfinite(x[~cam]).any()
    assert set(np.unique(mat).round().astype(int)) == {1, 2, 3, 4, 5}  # CAM SE separator Li CC
    assert x[cam].mean() == pytest.approx(summary["final_mean_stoichiometry"], rel=1e-10)
    x0 = series.read(0.0).cell_data["x"]
    assert np.nanmax(np.abs(np.asarray(x0)[cam] - x[cam])) > 0  # the states differ


def test_no_utilization_3d_without_plots(tmp_path):
    from fem_assb.studies.run import run_case

    case = _case(CASE, plots=False, fields=[], render=None)
    summary = run_case(case, tmp_path / "r", quiet=True)
    assert not (tmp_path / "r" / "utilization_3d.png").exists()
    assert "utilization_3d" not in summary["files"]


# --- the case key ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "render_spec, match",
    [
        ({"fields": ["c"]}, r"'c' is not written .*add it to outputs.fields"),
        ({"times": ["10"]}, "has no unit"),
        ({"times": ["-1 s"]}, "must be a time >= 0"),
        ({"time": ["1 s"]}, "did you mean 'times'"),
        ({"times": []}, "is empty"),
        ("end", "must be a mapping"),
    ],
)
def test_render_key_errors(render_spec, match):
    with pytest.raises(InputError, match=match):
        _case(CASE, render=render_spec)


def test_render_key_resolves():
    r = _case(CASE, render={"times": ["1 min", "end", "0 s"]}).outputs.render
    assert r.times == [60.0, None, 0.0] and r.fields == ["x"]
    assert _case(CASE, render=None).outputs.render is None

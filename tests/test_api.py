"""The Python facade (fem_assb.load_case / Simulation / Step / effective_conductivity /
get_system), the output folder checks and the clean-up of a previous run in the same folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fem_assb
from fem_assb.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _labels():
    """6 x 4 x 4 voxels: CAM columns in a checkerboard through x, SE between (as test_discharge_run)."""
    j, k = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    lab = np.where((j + k) % 2 == 0, 1, 2)[None].repeat(6, 0).astype(np.int32)
    lab[3, :2, :] = 1
    return lab


def tiny_case(image="tiny.npy", **outputs):
    return {
        "name": "tiny",
        "structure": {"image": image, "voxel_size": "0.5 um", "labels": {0: "PORE", 1: "CAM", 2: "SE"}},
        "cell": {"separator": {"material": "SE", "thickness": "5 um"}, "cathode_collector": "0.5 um"},
        "materials": {"preset": "NMC811_Li6PS5Cl"},
        "operation": {
            "temperature": "25 degC",
            "steps": [{"kind": "discharge", "current_density": "1 mA/cm^2", "cutoff_voltage": "3.8 V"}],
        },
        "numerics": {"linear_solver": "direct", "dt_max": "30 s"},
        "outputs": {"fields": ["phi", "x"], **outputs},
    }


def test_import_is_cheap():
    """`import fem_assb` and the case / Step layer load neither MPI nor DOLFINx."""
    code = (
        "import sys, fem_assb; fem_assb.Step('rest', duration='1 h'); fem_assb.load_case;"
        "print(sorted(m for m in ('mpi4py', 'dolfinx', 'petsc4py', 'ufl') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert set(fem_assb.__all__) <= set(dir(fem_assb))


def test_step_accepts_units_and_si():
    a = fem_assb.Step("discharge", current_density="1 mA/cm^2", cutoff="3.0 V", duration="2 h")
    b = fem_assb.Step("discharge", current_density=10.0, cutoff=3.0, duration=7200.0)
    assert a == b and a.cutoff_voltage == 3.0
    assert fem_assb.Step("charge", c_rate=0.5, cutoff="4.2 V").c_rate == 0.5  # per hour
    assert fem_assb.Step("charge", c_rate="0.5 / h", cutoff=4.2).c_rate == pytest.approx(0.5)
    from fem_assb.studies.discharge import Operation

    assert Operation is fem_assb.Step  # one step type for the loader, the API and the simulation
    for kwargs, match in [
        ({"kind": "discharge", "current_density": "-1 mA/cm^2", "cutoff": 3.0}, "must be positive"),
        ({"kind": "discharge", "current_density": "1 mA", "cutoff": 3.0}, "inconsistent units"),
        ({"kind": "discharge", "current_density": 1.0}, "needs a cut-off"),
        ({"kind": "discharge", "current_density": 1.0, "c_rate": 1.0, "cutoff": 3.0}, "exactly one"),
        ({"kind": "rest", "duration": "1 h", "cutoff": 3.0}, "remove cutoff"),
        ({"kind": "rest"}, "needs a positive duration"),
        ({"kind": "dischrage", "current_density": 1.0, "cutoff": 3.0}, "did you mean 'discharge'"),
        ({"kind": "discharge", "current_density": float("nan"), "cutoff": 3.0}, "not a finite"),
    ]:
        with pytest.raises(InputError, match=match):
            fem_assb.Step(**kwargs)


def test_load_case_from_a_dict_resolves_paths_from_cwd(tmp_path, monkeypatch):
    np.save(tmp_path / "tiny.npy", _labels())
    monkeypatch.chdir(tmp_path)
    case = fem_assb.load_case(tiny_case())
    assert case.structure.image == tmp_path / "tiny.npy"
    assert case.operation.steps[0] == fem_assb.Step("discharge", current_density=10.0, cutoff=3.8)
    assert fem_assb.load_case(case) is case
    with pytest.raises(InputError, match="does not exist"):
        fem_assb.load_case(tiny_case("missing.npy"))
    with pytest.raises(InputError, match="did you mean"):
        fem_assb.load_case({**tiny_case(), "numerix": {}})


def test_get_system_with_overrides_and_units():
    base = fem_assb.get_system("NMC811_Li6PS5Cl")
    s = fem_assb.get_system("NMC811_Li6PS5Cl", temperature="35 degC", cam={"c_max": "0.05 mol/cm^3"})
    assert s.temperature == pytest.approx(308.15) and s.cam.c_max == pytest.approx(5e4)
    assert base.cam.c_max != s.cam.c_max
    with pytest.raises(InputError, match="unknown material system"):
        fem_assb.get_system("NMC811_LPSC")


@pytest.mark.mpi
def test_effective_conductivity_one_liner(shared_tmp_path):
    lab = np.ones((8, 4, 4), dtype=np.int32)
    lab[:, :2, :] = 2  # SE slab along x: half the cross-section
    res = fem_assb.effective_conductivity(lab, phase="SE", axis="x", voxel_size="0.5 um")
    assert res.relative_conductivity == pytest.approx(0.5, rel=1e-8)
    assert res["axes"]["x"]["tortuosity_factor"] == pytest.approx(1.0, rel=1e-8)
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank == 0:
        np.save(shared_tmp_path / "slab.npy", lab)
    MPI.COMM_WORLD.barrier()
    from_file = fem_assb.effective_conductivity(
        shared_tmp_path / "slab.npy", phase="SE", axis="y", labels="default", voxel_size="0.5 um"
    )
    assert from_file.volume_fraction == pytest.approx(0.5)
    assert from_file.relative_conductivity == pytest.approx(0.0)  # SE is y < 2: no path along y


@pytest.mark.mpi
def test_simulation_without_output_writes_nothing(shared_tmp_path, monkeypatch):
    from mpi4py import MPI

    work = shared_tmp_path / "nofiles"
    if MPI.COMM_WORLD.rank == 0:
        work.mkdir()
    MPI.COMM_WORLD.barrier()
    monkeypatch.chdir(work)
    result = fem_assb.Simulation(tiny_case(_labels())).run()
    MPI.COMM_WORLD.barrier()
    assert list(work.iterdir()) == []
    h, s = result.history, result.summary
    assert result.complete and result.output is None and s["complete"] is True
    assert h.time.shape == h.voltage.shape == h.capacity.shape
    assert h.capacity[-1] == pytest.approx(s["capacity_mAh_cm2"], rel=1e-12)
    assert h.capacity[-1] == pytest.approx(1.0 * h.time[-1] / 3600.0, rel=1e-9)  # 1 mA/cm^2
    assert h.voltage[-1] == pytest.approx(3.8, abs=1e-3)
    # steps= replaces the case's steps (Step objects, validated like the case's own).
    rest = fem_assb.Simulation(tiny_case(_labels()), steps=[fem_assb.Step("rest", duration="10 s")]).run()
    assert rest.history.time[-1] == pytest.approx(10.0) and rest.summary["capacity_mAh_cm2"] == 0.0
    with pytest.raises(InputError, match="not below the initial open-circuit voltage"):
        fem_assb.Simulation(
            tiny_case(_labels()), steps=[{"kind": "discharge", "c_rate": 1, "cutoff": "4.6 V"}]
        )


# --- the output folder -------------------------------------------------------------------------


def test_output_folder_is_checked_before_the_simulation(tmp_path):
    from fem_assb.output.folder import check_output_folder

    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=r"output folder .*afile is a file; choose another with -o"):
        check_output_folder(tmp_path / "afile")
    with pytest.raises(InputError, match=r"cannot be created under .*afile, which is a file; choose another"):
        check_output_folder(tmp_path / "afile" / "sub" / "out")
    assert check_output_folder(tmp_path / "new" / "out").is_dir()
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(InputError, match="is not writable"):
            check_output_folder(ro)
    # Through the API: the error comes at once, before anything is built.
    sim = fem_assb.Simulation(tiny_case(_labels()), output=tmp_path / "afile")
    with pytest.raises(InputError, match="is a file"):
        sim.run()


def test_previous_run_files_only(tmp_path):
    from fem_assb.output.folder import previous_run_files, remove_previous_run

    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "voltage.png").write_text("not ours: no previous run here")
    assert previous_run_files(out) == []  # no summary.json nor history.csv of a run: keep all
    (out / ".fields.tmp.bp").mkdir()
    (out / ".history.csv.abc123.csv").write_text("")
    assert {p.name for p in previous_run_files(out)} == {".fields.tmp.bp", ".history.csv.abc123.csv"}
    (out / "summary.json").write_text(json.dumps({"files": {"extra": "extra.csv", "bad": "../x"}}))
    (out / "extra.csv").write_text("")
    (out / "fields.bp").mkdir()
    remove_previous_run(out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.mpi
def test_rerun_leaves_only_this_runs_files(shared_tmp_path):
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    out = shared_tmp_path / "rerun"
    first = fem_assb.Simulation(tiny_case(_labels()), output=out).run()
    assert (out / "voltage.png").exists() and (out / "fields.bp").is_dir()
    if comm.rank == 0:
        (out / "my_notes.txt").write_text("keep me")
    comm.barrier()
    second = fem_assb.Simulation(tiny_case(_labels(), fields=[], plots=False), output=out).run()
    comm.barrier()
    files = json.loads((out / "summary.json").read_text())["files"]
    assert "voltage_plot" not in files and "fields" not in files
    assert sorted(p.name for p in out.iterdir()) == sorted([*files.values(), "summary.json", "my_notes.txt"])
    assert first.summary["files"]["fields"] == "fields.bp" and second.output == out.absolute()


def test_demo_case_is_package_data():
    """`fem-assb demo` reads its case from the package (importlib.resources), not the source tree."""
    from fem_assb.commands import demo

    case = demo.load_demo_case()
    assert case.name == "demo" and case.structure.kind == "generator"
    assert case.path is None
    packaged = ROOT / "fem_assb" / "data" / "demo.yaml"
    assert demo.demo_case_text() == packaged.read_text()
    assert packaged.read_text() == (ROOT / "cases" / "demo.yaml").read_text(), (
        "cases/demo.yaml and the packaged fem_assb/data/demo.yaml differ: copy one onto the other"
    )
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*.yaml" in data["tool"]["setuptools"]["package-data"]["fem_assb"]


def test_demo_from_an_installed_wheel(tmp_path):
    """Build the wheel (setuptools' PEP 517 hook), unpack it elsewhere and load the demo case from
    there, with no source tree in sight."""
    import shutil
    import zipfile

    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "fem_assb", src / "fem_assb", ignore=shutil.ignore_patterns("__pycache__"))
    hook = f"from setuptools import build_meta as b; print(b.build_wheel({str(tmp_path)!r}))"
    build = subprocess.run([sys.executable, "-c", hook], cwd=src, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = tmp_path / build.stdout.strip().splitlines()[-1]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import fem_assb; from fem_assb.commands import demo; c = demo.load_demo_case();"
        "print(fem_assb.__file__); print(c.name, c.operation.steps[0].current_density)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(site)},
    )
    assert run.returncode == 0, run.stderr
    where, loaded = run.stdout.strip().splitlines()
    assert where.startswith(str(site)) and loaded == "demo 10.0"


def test_discharge_doc_example_runs():
    """The Python block of docs/discharge.md ("Programmatic use") runs as written."""
    text = (ROOT / "docs" / "discharge.md").read_text()
    section = text[text.index("## Programmatic use") :]
    start = section.index("```python") + len("```python")
    code = section[start : section.index("```\n", start)]
    scope: dict = {}
    exec(compile(code, "docs/discharge.md", "exec"), scope)
    assert 0 < scope["capacity"] < 1.0
    assert scope["history"].voltage[-1] == pytest.approx(3.8, abs=1e-3)


def test_a_failed_run_keeps_its_history_marked_incomplete(tmp_path):
    """A solver failure during the steps (here: a time step that may not be cut) writes the
    results so far with "complete": false and the error, then raises; no temporaries."""
    from fem_assb.errors import SolverError

    case = tiny_case(_labels())
    case["numerics"] = {"linear_solver": "direct", "dt_initial": "60 s", "dt_min": "60 s", "dt_max": "60 s"}
    out = tmp_path / "failed"
    with pytest.raises(SolverError):
        fem_assb.Simulation(case, output=out).run()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["error"]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*summary["files"].values(), "summary.json"]) and "fields" not in summary["files"]
    assert (out / "history.csv").exists()


def test_dense_cam_film_is_a_valid_case(tmp_path):
    """A dense CAM slab on the separator (no electrolyte voxels: a thin-film cathode) runs through
    `fem-assb run` as a YAML case; its C_theo is that of the slab."""
    from fem_assb.cli import main
    from fem_assb.materials import get_system

    np.save(tmp_path / "film.npy", np.ones((8, 1, 1), dtype=np.int32))
    case = tiny_case(str(tmp_path / "film.npy"), fields=[], plots=False)
    case["structure"]["voxel_size"] = "0.125 um"  # a 1 um film
    case["operation"]["steps"] = [{"kind": "discharge", "c_rate": 1, "cutoff_voltage": "3.6 V"}]
    import yaml

    (tmp_path / "film.yaml").write_text(yaml.safe_dump(case))
    assert main(["run", str(tmp_path / "film.yaml"), "-o", str(tmp_path / "out"), "-q"]) == 0
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    cam = get_system("NMC811_Li6PS5Cl").cam
    assert s["theoretical_capacity_mAh_cm2"] == pytest.approx((cam.c_max - cam.c0) * 96485.33212e-6 / 3.6e4)
    assert s["complete"] and 0 < s["normalized_capacity"] < 1 and s["removed_electrolyte_fraction"] == 0


def test_demo_command_runs_the_packaged_case(tmp_path, monkeypatch, capsys):
    """`fem-assb demo` runs what load_demo_case gives (here a tiny stand-in, the demo itself
    takes minutes) and writes the case copy beside the results."""
    from fem_assb.cli import main
    from fem_assb.commands import demo

    monkeypatch.setattr(demo, "load_demo_case", lambda: fem_assb.load_case(tiny_case(_labels(), plots=False)))
    assert main(["demo", "-o", str(tmp_path / "demo"), "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["capacity_mAh_cm2"] > 0
    files = json.loads((tmp_path / "demo" / "summary.json").read_text())["files"]
    assert "case" not in files  # an in-memory image: no YAML copy that would not load


def test_a_case_that_fails_to_build_keeps_the_previous_run(tmp_path):
    """The previous run's files are removed only once the new cell is built."""
    out = tmp_path / "out"
    fem_assb.Simulation(tiny_case(_labels(), fields=[], plots=False), output=out).run()
    before = sorted(p.name for p in out.iterdir())
    no_cam = np.full((6, 4, 4), 2, dtype=np.int32)
    with pytest.raises(InputError, match="no CAM"):
        fem_assb.Simulation(tiny_case(no_cam), output=out).run()
    assert sorted(p.name for p in out.iterdir()) == before

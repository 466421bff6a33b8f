"""Parameter sweeps (operation.sweep, issue 19): a sweep's points are the separate runs, a failing
point leaves the others, a grid gives every combination, concurrent points on sub-communicators
give the serial rows, SIGTERM stops a sweep with the rows so far, bad specs are clean errors."""

from __future__ import annotations

import copy
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from discharge_cells import tiny_case

import fem_assb
from fem_assb.errors import InputError

ROOT = Path(__file__).resolve().parents[1]

#: the tiny cell of the key walk (tests/test_case_keys.py): a 6 x 4 x 4 composite, direct solver
BASE = tiny_case("sweep")
RATES = ["2 mA/cm^2", "5 mA/cm^2", "80 A/m^2"]
CD = "operation.steps.0.current_density"


def _with(raw=None, **changes) -> dict:
    """A copy of BASE (or ``raw``) with changes {"a__b__0__c": value}."""
    out = copy.deepcopy(raw or BASE)
    for path, value in changes.items():
        node, parts = out, path.split("__")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_a_sweep_equals_separate_runs(tmp_path):
    """Three current densities: each point is the run of that case (identical numbers and
    history), in its named subfolder, and sweep.csv has one row per point."""
    raw = _with(operation__sweep={"parameter": CD, "values": RATES})
    res = fem_assb.Sweep(raw, output=tmp_path / "s").run()
    assert res.complete and [r["status"] for r in res.rows] == ["ok"] * 3
    names = [r["folder"] for r in res.rows]
    assert names == [
        "000_current_density=2mA_cm2",
        "001_current_density=5mA_cm2",
        "002_current_density=80A_m2",
    ]
    rows = _rows(tmp_path / "s" / "sweep.csv")
    assert [r[CD] for r in rows] == RATES
    assert [float(r[CD + "_SI"]) for r in rows] == pytest.approx([20.0, 50.0, 80.0])
    keys = ("capacity_mAh_cm2", "normalized_capacity", "energy_density_Wh_kg", "final_voltage_V")
    for value, row, point in zip(RATES, res.rows, res.results, strict=True):
        alone = fem_assb.Simulation(_with(operation__steps__0__current_density=value)).run()
        for k in keys:
            assert row[k] == alone.summary[k], (value, k)  # the same run, bit for bit
        assert np.array_equal(point.history.voltage, alone.history.voltage)
        on_disk = json.loads((tmp_path / "s" / row["folder"] / "summary.json").read_text())
        assert on_disk["capacity_mAh_cm2"] == row["capacity_mAh_cm2"]
        written = float(rows[row["point"]]["capacity_mAh_cm2"])
        assert written == pytest.approx(row["capacity_mAh_cm2"], rel=1e-9)
    # a bounded discharge that does not reach the cut-off delivers j t (MODEL: galvanostatic)
    j_mA = np.array([2.0, 5.0, 8.0])
    assert res.column("capacity_mAh_cm2") == pytest.approx(j_mA * 20.0 / 3600.0, rel=1e-9)
    summary = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert summary["ok"] == 3 and summary["complete"] and summary["files"] == {"table": "sweep.csv"}


def test_sweep_points_with_a_kept_factorization_equal_separate_runs(tmp_path, monkeypatch):
    """The direct solver keeping its LU factorization within a time step (forced on the tiny
    cell): each point is still its separate run bit for bit; nothing of a point's factorization
    reaches the next (with GMRES and a factorization kept across steps the second point's
    capacity differed in its last digits)."""
    from fem_assb.solvers import newton

    monkeypatch.setattr(newton, "KEEP_FACTORIZATION_CELLS", 0)
    raw = _with(operation__sweep={"parameter": CD, "values": RATES[:2]})
    res = fem_assb.Sweep(raw, output=tmp_path / "s").run()
    assert res.complete
    for value, row, point in zip(RATES[:2], res.rows, res.results, strict=True):
        alone = fem_assb.Simulation(_with(operation__steps__0__current_density=value)).run()
        assert row["capacity_mAh_cm2"] == alone.summary["capacity_mAh_cm2"], value
        assert np.array_equal(point.history.time, alone.history.time)
        assert np.array_equal(point.history.voltage, alone.history.voltage)


def _images(tmp: Path) -> tuple[str, str]:
    good = np.ones((6, 4, 4), dtype=np.uint8)
    good[:, 2:] = 2  # CAM and SE columns through the cathode
    bad = np.full((6, 4, 4), 2, dtype=np.uint8)
    bad[:2] = 1  # a dense CAM layer on the separator: no ionic path into the cathode
    np.save(tmp / "good.npy", good)
    np.save(tmp / "bad.npy", bad)
    return str(tmp / "good.npy"), str(tmp / "bad.npy")


def test_a_failing_point_leaves_the_others_and_its_row(tmp_path, capsys):
    from fem_assb.cli import main

    good, bad = _images(tmp_path)
    raw = _with(structure={"image": good, "voxel_size": "0.5 um", "labels": {1: "CAM", 2: "SE"}})
    raw["operation"]["sweep"] = {"parameter": "structure.image", "values": [good, bad, good]}
    case = tmp_path / "case.yaml"
    import yaml

    case.write_text(yaml.safe_dump(raw))
    assert main(["run", str(case), "-o", str(tmp_path / "out"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "1 of 3 points failed" in err
    rows = _rows(tmp_path / "out" / "sweep.csv")
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert "no ionic path" in rows[1]["error"] and rows[1]["capacity_mAh_cm2"] == ""
    assert rows[0]["capacity_mAh_cm2"] == rows[2]["capacity_mAh_cm2"] != ""
    assert (tmp_path / "out" / rows[2]["folder"] / "history.csv").is_file()
    assert [r["folder"] for r in rows] == ["000_image=good.npy", "001_image=bad.npy", "002_image=good.npy"]


def test_a_grid_gives_every_combination_and_a_map(tmp_path):
    """Two current densities x two durations: four rows (the last parameter varies fastest),
    the delivered charge j t in each, and the curves, indicator and map PNGs."""
    grid = [
        {"parameter": CD, "values": ["2 mA/cm^2", "5 mA/cm^2"]},
        {"parameter": "operation.steps.0.duration", "values": ["10 s", "20 s"]},
    ]
    raw = _with(operation__sweep={"grid": grid}, outputs__plots=True)
    res = fem_assb.Sweep(raw, output=tmp_path / "g").run()
    rows = _rows(tmp_path / "g" / "sweep.csv")
    assert len(rows) == 2 * 2
    assert [(r[CD], r["operation.steps.0.duration"]) for r in rows] == [
        ("2 mA/cm^2", "10 s"),
        ("2 mA/cm^2", "20 s"),
        ("5 mA/cm^2", "10 s"),
        ("5 mA/cm^2", "20 s"),
    ]
    assert rows[3]["folder"] == "003_current_density=5mA_cm2_duration=20s"
    expected = [2 * 10, 2 * 20, 5 * 10, 5 * 20]
    assert res.column("capacity_mAh_cm2") == pytest.approx(np.array(expected) / 3600.0, rel=1e-9)
    for name in ("sweep_curves.png", "sweep_capacity.png", "sweep_map.png"):
        png = tmp_path / "g" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name


@pytest.mark.mpi
def test_concurrent_sweep_equals_the_serial_sweep(shared_tmp_path):
    """concurrent: N on N ranks (each point on a 1-rank sub-communicator) gives the rows of the
    same sweep run on one rank, and the points of every group write their files; on 2 ranks the
    1 x 2 sweep (every point on both ranks) agrees to solver tolerance."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    values = ["2 mA/cm^2", "4 mA/cm^2", "60 A/m^2", "8 mA/cm^2"]
    raw = _with(
        operation__sweep={"parameter": CD, "values": values, "concurrent": comm.size},
        operation__steps__0__duration="40 s",
        outputs__plots=True,
    )
    out = shared_tmp_path / "concurrent"
    res = fem_assb.Sweep(raw, output=out).run()
    serial = None
    if comm.rank == 0:
        one = _with(raw, operation__sweep={"parameter": CD, "values": values})
        serial = fem_assb.Sweep(one, comm=MPI.COMM_SELF).run()
    serial_rows = comm.bcast(serial.rows if serial else None, root=0)
    keys = ("capacity_mAh_cm2", "energy_density_Wh_kg", "final_voltage_V", "mean_utilization")
    for a, b in zip(res.rows, serial_rows, strict=True):
        assert a["status"] == b["status"] == "ok"
        for k in keys:
            assert a[k] == b[k], (a["point"], k, a[k], b[k])
    for row in res.rows:  # every group's rank 0 wrote its points' files (not only world rank 0)
        for name in ("history.csv", "summary.json", "voltage.png", "utilization_profile.csv"):
            assert (out / row["folder"] / name).is_file(), (row["folder"], name)
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["concurrent"] == comm.size and summary["ranks_per_point"] == 1
    if comm.size == 2:
        whole = fem_assb.Sweep(_with(raw, operation__sweep={"parameter": CD, "values": values})).run()
        assert whole.rows[0]["wall_time_s"] > 0
        for a, b in zip(whole.rows, serial_rows, strict=True):
            assert a["final_voltage_V"] == pytest.approx(b["final_voltage_V"], abs=1e-7)
            assert a["capacity_mAh_cm2"] == pytest.approx(b["capacity_mAh_cm2"], rel=1e-9)


@pytest.mark.parametrize(
    "sweep,message",
    [
        ({"parameter": CD.replace("density", "densty"), "values": RATES}, "did you mean 'current_density'"),
        ({"parameter": "operaton.temperature", "values": [300]}, "did you mean 'operation'"),
        ({"parameter": "operation.steps.3.current_density", "values": RATES}, "not an index of the list"),
        ({"parameter": CD, "values": ["1 mA/cm^2", "1 V"]}, r"current_density = '1 V'\).*inconsistent units"),
        ({"parameter": CD, "values": []}, "non-empty list"),
        ({"parameter": CD, "values": RATES, "concurent": 2}, "did you mean 'concurrent'"),
        ({"parameter": CD, "values": RATES, "concurrent": 0}, "concurrent = 0 must be an integer >= 1"),
        ({"grid": [{"parameter": CD, "values": RATES}]}, "two or more"),
        ({"grid": [{"parameter": CD, "values": RATES}], "parameter": CD}, "either parameter and values"),
        (
            {
                "grid": [
                    {"parameter": "operation.steps.0", "values": [{}]},
                    {"parameter": CD, "values": RATES},
                ]
            },
            "overlap",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_sweep_specs_are_clean_errors(sweep, message):
    with pytest.raises(InputError, match=message):
        fem_assb.load_case(_with(operation__sweep=sweep))


def test_concurrent_must_divide_the_ranks(tmp_path):
    from mpi4py import MPI

    n = MPI.COMM_WORLD.size
    raw = _with(operation__sweep={"parameter": CD, "values": RATES, "concurrent": n + 1})
    with pytest.raises(InputError, match=rf"concurrent = {n + 1} does not divide the {n} MPI rank"):
        fem_assb.Sweep(raw, output=tmp_path / "never").run()
    assert not (tmp_path / "never").exists()  # refused before anything is written


def test_simulation_of_a_sweep_case_points_to_sweep():
    with pytest.raises(InputError, match=r"fem_assb\.Sweep\(case\)\.run\(\)"):
        fem_assb.Simulation(_with(operation__sweep={"parameter": CD, "values": RATES}))
    with pytest.raises(InputError, match="has no operation.sweep"):
        fem_assb.Sweep(BASE)


STOP_CASE = """
name: stopsweep
structure:
  image: {image}
  voxel_size: 0.5 um
  labels: {{0: PORE, 1: CAM, 2: SE}}
cell:
  separator: {{material: SE, thickness: 5 um}}
materials:
  preset: NMC811_Li6PS5Cl
operation:
  temperature: 25 degC
  steps:
    - {{kind: rest, duration: 2 s}}
  sweep: {{parameter: operation.steps.0.duration, values: [2 s, 10 h, 2 s]}}
numerics:
  linear_solver: direct
  dt_initial: 1 s
  dt_max: 1 s
outputs:
  fields: []
  plots: false
"""


def test_sigterm_stops_the_sweep_with_the_rows_so_far(tmp_path):
    lab = np.full((4, 2, 2), 2, dtype=np.int32)
    lab[:, 0, 0] = 1
    np.save(tmp_path / "cell.npy", lab)
    case = tmp_path / "stop.yaml"
    case.write_text(STOP_CASE.format(image=tmp_path / "cell.npy"))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("FEM_ASSB_QUIET", None)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fem_assb", "run", str(case), "-o", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 300
    seen = []
    for line in proc.stderr:  # wait until the long point runs its steps
        seen.append(line)
        if "sweep point 2/3" in line and "running" in line:
            break
        assert time.monotonic() < deadline, "".join(seen)
    time.sleep(3.0)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, "".join(seen) + stderr
    rows = _rows(out / "sweep.csv")
    assert [r["status"] for r in rows] == ["ok", "stopped", "not run"]
    assert rows[1]["error"] == "stopped by SIGTERM" and "stopped by SIGTERM" in rows[2]["error"]
    point = json.loads((out / rows[1]["folder"] / "summary.json").read_text())
    assert point["complete"] is False and point["stopped_by"] == "SIGTERM"
    assert json.loads((out / "sweep.json").read_text())["complete"] is False
    assert "sweep stopped by SIGTERM" in stderr


RESUME_CASE = """
name: resumesweep
structure:
  image: {image}
  voxel_size: 0.5 um
  labels: {{0: PORE, 1: CAM, 2: SE}}
cell:
  separator: {{material: SE, thickness: 5 um}}
materials:
  preset: NMC811_Li6PS5Cl
operation:
  temperature: 25 degC
  steps:
    - {{kind: discharge, current_density: 0.5 mA/cm^2, cutoff_voltage: 3.0 V, duration: 4 s}}
  sweep: {{parameter: operation.steps.0.duration, values: {values}}}
numerics:
  linear_solver: direct
  dt_initial: 1 s
  dt_max: 1 s
outputs:
  fields: []
  plots: false
  checkpoint_interval: 2
"""
RESUME_VALUES = "[4 s, 200 s, 6 s]"


def _resume_case(tmp_path: Path, values: str = RESUME_VALUES) -> Path:
    lab = np.full((4, 2, 2), 2, dtype=np.int32)
    lab[:, 0, 0] = 1
    np.save(tmp_path / "cell.npy", lab)
    case = tmp_path / ("resume_" + "".join(c for c in values if c.isalnum()) + ".yaml")
    case.write_text(RESUME_CASE.format(image=tmp_path / "cell.npy", values=values))
    return case


def _kill_during_point_2(case: Path, out: Path) -> None:
    """Start the sweep, SIGKILL it once point 2 wrote a checkpoint (point 1 is complete then)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fem_assb", "run", str(case), "-o", str(out), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 300
    try:
        while not list(out.glob("001_*/checkpoint/step-*/state.json")):
            assert proc.poll() is None, "the sweep ended before point 2 wrote a checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait(timeout=60)


def test_a_killed_sweep_resumes_point_by_point(tmp_path, capsys):
    """SIGKILL during point 2 (after its first checkpoints): --resume keeps point 1 (not run
    again: its summary.json untouched), resumes point 2 from its checkpoint and runs point 3;
    sweep.csv then has the numbers of the uninterrupted sweep, capacities identical."""
    from fem_assb.cli import main

    case = _resume_case(tmp_path)
    whole = fem_assb.Sweep(case, output=tmp_path / "whole").run()
    assert whole.complete
    out = tmp_path / "out"
    _kill_during_point_2(case, out)
    assert not (out / "sweep.csv").exists() and (out / "sweep.json").is_file()  # the start's
    first = out / whole.rows[0]["folder"] / "summary.json"
    assert json.loads(first.read_text())["complete"] is True
    mtime, text = first.stat().st_mtime_ns, first.read_text()
    assert not (out / whole.rows[2]["folder"] / "summary.json").exists()
    assert main(["run", str(case), "-o", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "1 point(s) complete, 1 from a checkpoint, 1 from the start" in err
    assert first.stat().st_mtime_ns == mtime and first.read_text() == text  # not run again
    rows = _rows(out / "sweep.csv")
    assert [r["status"] for r in rows] == ["ok"] * 3
    keys = ("capacity_mAh_cm2", "normalized_capacity", "energy_density_Wh_kg", "final_voltage_V")
    for row, ref in zip(rows, _rows(tmp_path / "whole" / "sweep.csv"), strict=True):
        assert {k: row[k] for k in keys} == {k: ref[k] for k in keys}  # as written, identical
    for row, ref in zip(json.loads((out / "sweep.json").read_text())["rows"], whole.rows, strict=True):
        for k in (*keys, "mean_utilization", "gravimetric_capacity_mAh_g"):
            assert row[k] == ref[k], (row["folder"], k)  # in full precision
    second = json.loads((out / whole.rows[1]["folder"] / "summary.json").read_text())
    assert second["checkpoints"]["resumed_from_step"] >= 2
    for k in ("capacity_mAh_cm2", "final_voltage_V", "time_steps"):
        assert second[k] == whole.results[1].summary[k], k  # bit for bit
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["complete"] and summary["resumed"] == {"done": 1, "resume": 1, "run": 1}
    # the API on the complete sweep: every point read back, the same rows
    again = fem_assb.Sweep(case, output=out).run(resume=True)
    assert again.column("capacity_mAh_cm2").tolist() == whole.column("capacity_mAh_cm2").tolist()
    assert again.results[1].history.voltage.size == whole.results[1].history.voltage.size
    assert first.stat().st_mtime_ns == mtime


def test_resume_of_a_changed_sweep_is_refused(tmp_path):
    case = _resume_case(tmp_path, "[4 s, 6 s]")
    out = tmp_path / "out"
    fem_assb.Sweep(case, output=out).run()
    before = (out / "sweep.csv").read_text()
    changed = _resume_case(tmp_path, "[4 s, 6 s, 8 s]")  # another point list
    with pytest.raises(InputError, match="written by a different sweep case: its points are 2"):
        fem_assb.Sweep(changed, output=out).run(resume=True)
    text = case.read_text().replace("0.5 mA/cm^2", "0.6 mA/cm^2")  # the same points, another case
    other = tmp_path / "other.yaml"
    other.write_text(text)
    with pytest.raises(InputError, match=r"different sweep case: point 0 .*operation differs"):
        fem_assb.Sweep(other, output=out).run(resume=True)
    with pytest.raises(InputError, match="no sweep in"):
        fem_assb.Sweep(case, output=tmp_path / "empty").run(resume=True)
    assert (out / "sweep.csv").read_text() == before  # nothing touched


def test_a_rerun_removes_only_the_old_sweeps_point_folders(tmp_path):
    """A sweep run again (without --resume) into a folder with an earlier, larger sweep removes
    that sweep's point folders (only those listed in its sweep.json, only fem-assb's files)."""
    out = tmp_path / "out"
    fem_assb.Sweep(_resume_case(tmp_path, "[4 s, 6 s, 8 s]"), output=out).run()
    old = [r["folder"] for r in _rows(out / "sweep.csv")]
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("keep")
    (out / "999_mine").mkdir()
    (out / "999_mine" / "summary.json").write_text("{}")  # not listed: never touched
    (out / old[2] / "my_plot.png").write_text("keep")  # a user's file in an old point folder
    res = fem_assb.Sweep(_resume_case(tmp_path, "[5 s, 7 s]"), output=out).run()
    now = [r["folder"] for r in res.rows]
    assert now == ["000_duration=5s", "001_duration=7s"] and not set(now) & set(old)
    assert not (out / old[0]).exists() and not (out / old[1]).exists()
    assert sorted(p.name for p in (out / old[2]).iterdir()) == ["my_plot.png"]
    assert (out / "notes" / "mine.txt").read_text() == "keep"
    assert (out / "999_mine" / "summary.json").read_text() == "{}"
    for name in now:
        assert json.loads((out / name / "summary.json").read_text())["complete"] is True


def test_a_point_without_a_checkpoint_reruns_from_the_start_on_resume(tmp_path, capsys):
    """A point whose folder holds an incomplete run and no checkpoint (stopped before its first,
    or written by a case without checkpoints) is run again from the start by --resume: its
    history is the uninterrupted run's, and the complete point before it is not run again."""
    from fem_assb.cli import main

    case = _resume_case(tmp_path, "[4 s, 6 s]")
    out = tmp_path / "out"
    whole = fem_assb.Sweep(case, output=out).run()
    assert whole.complete
    second = out / whole.rows[1]["folder"]
    history = (second / "history.csv").read_text()
    summary = json.loads((second / "summary.json").read_text())
    summary["complete"] = False  # as a run stopped before any checkpoint leaves it
    (second / "summary.json").write_text(json.dumps(summary))
    (second / "history.csv").write_text(history.splitlines()[0] + "\n")  # nothing accepted yet
    assert not (second / "checkpoint").exists()
    first = out / whole.rows[0]["folder"] / "summary.json"
    mtime = first.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["run", str(case), "-o", str(out), "--resume"]) == 0
    assert "1 point(s) complete, 0 from a checkpoint, 1 from the start" in capsys.readouterr().err
    again = json.loads((second / "summary.json").read_text())
    assert again["complete"] is True and "resumed_from_step" not in again.get("checkpoints", {})
    assert (second / "history.csv").read_text() == history  # from the start: the same history
    assert first.stat().st_mtime_ns == mtime
    resumed = json.loads((out / "sweep.json").read_text())
    assert resumed["resumed"] == {"done": 1, "resume": 0, "run": 1}
    for row, ref in zip(resumed["rows"], whole.rows, strict=True):
        for k in ("capacity_mAh_cm2", "energy_density_Wh_kg", "final_voltage_V"):
            assert row[k] == ref[k], (row["folder"], k)  # in full precision

"""Checkpoint and restart (issue 19): a run killed with SIGKILL, or stopped by SIGINT, and resumed
from its last checkpoint gives the history of the uninterrupted run (voltage to 1e-10 V, the same
steps), serially and on 2 ranks; a resume with a changed case or without a checkpoint is refused
with a message; a checkpoint that was not completely written is never read."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from child_env import child_env
from discharge_cells import tiny_case

from fem_assb.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = 5  # accepted steps between checkpoints
KILL_AFTER = 10  # kill once the checkpoint of this step exists

CASE = tiny_case(
    "checkpoint",
    steps=[
        {"kind": "discharge", "current_density": "5 mA/cm^2", "cutoff_voltage": "3.6 V"},
        {"kind": "rest", "duration": "20 s"},
    ],
    numerics={"dt_initial": "1 s", "dt_max": "2 s"},
    outputs={"fields": ["phi"], "field_interval": 7, "plots": False, "checkpoint_interval": INTERVAL},
)

#: Runs the CLI with every time step from step SLOW_FROM on slowed by 0.3 s, so that the kill
#: lands between two checkpoints (the numerics are untouched).
WRAPPER = """
import sys, time
from fem_assb.studies import discharge
_step = discharge.CellSimulation.step
def step(self, dt):
    if self.history.steps >= {slow_from}:
        time.sleep(0.3)
    return _step(self, dt)
discharge.CellSimulation.step = step
from fem_assb.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _write_case(folder: Path, raw=None, name="case.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw or CASE, sort_keys=False))
    return path


def _changed(path: str, value) -> dict:
    raw = copy.deepcopy(CASE)
    node = raw
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = value
    return raw


def _cmd(ranks: int, *args, slow_from=None) -> list[str]:
    if slow_from is None:
        cmd = [sys.executable, "-m", "fem_assb", *args]
    else:
        cmd = [sys.executable, "-c", WRAPPER.format(slow_from=slow_from), *args]
    return ["mpirun", "-n", str(ranks), *cmd] if ranks > 1 else cmd


def _run(ranks: int, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        _cmd(ranks, *args), env=child_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _history(out: Path) -> np.ndarray:
    return np.loadtxt(out / "history.csv", delimiter=",", skiprows=1)


def _checkpoint_step(out: Path) -> int | None:
    from fem_assb.studies.checkpoint import latest_checkpoint

    path = latest_checkpoint(out)
    return None if path is None else int(path.name.split("-")[1])


def _kill_after_checkpoint(case: Path, out: Path, ranks: int) -> int:
    """Start ``fem-assb run`` on ``ranks`` ranks, SIGKILL it (every process) once the checkpoint
    of step KILL_AFTER exists; returns the step of the checkpoint left."""
    cmd = _cmd(ranks, "run", str(case), "-o", str(out), slow_from=KILL_AFTER + 1)
    proc = subprocess.Popen(
        cmd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while (_checkpoint_step(out) or 0) < KILL_AFTER:
            assert proc.poll() is None, "the run ended before it was killed:\n" + proc.stdout.read()
            assert time.monotonic() < deadline, "no checkpoint within 600 s"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # mpirun and the ranks: a crash, nothing cleaned up
        _kill_processes_of(case)  # a rank outside the process group too
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        _kill_processes_of(case)
    time.sleep(0.5)
    assert _kill_processes_of(case) == 0
    assert not (out / "summary.json").exists()
    step = _checkpoint_step(out)
    assert step is not None and step >= KILL_AFTER
    return step


def _kill_processes_of(case: Path) -> int:
    """SIGKILL every process whose command line names ``case``; returns how many there were."""
    n = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(case).encode() in cmd:
            n += 1
            try:
                os.kill(int(d.name), signal.SIGKILL)
            except OSError:
                pass
    return n


def _assert_same_history(resumed: Path, reference: Path):
    a, b = _history(resumed), _history(reference)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.max(np.abs(a[:, 1] - b[:, 1])) <= 1e-10  # voltage [V]
    assert np.array_equal(a[:, 0], b[:, 0])  # the same accepted steps (times, s)
    assert np.array_equal(a[:, 5], b[:, 5])  # operation step index
    sa = json.loads((resumed / "summary.json").read_text())
    sb = json.loads((reference / "summary.json").read_text())
    assert sa["complete"] and sa["time_steps"] == sb["time_steps"]
    assert sa["segments"] == sb["segments"] or all(
        x["stop"] == y["stop"] and abs(x["end_voltage_V"] - y["end_voltage_V"]) <= 1e-10
        for x, y in zip(sa["segments"], sb["segments"], strict=True)
    )
    assert not (resumed / "checkpoint").exists()  # a complete run keeps no checkpoint
    assert [p.name for p in resumed.iterdir() if p.name.startswith(".")] == []
    return sa


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted serial run, without checkpoints: (case file, output folder, history
    table in full precision)."""
    tmp = tmp_path_factory.mktemp("reference")
    raw = copy.deepcopy(CASE)
    raw["outputs"].pop("checkpoint_interval")
    case = _write_case(tmp, raw)
    from fem_assb.case import load_case
    from fem_assb.studies.run import simulate_case

    res = simulate_case(load_case(case), tmp / "out")
    assert res.complete and res.summary["time_steps"] >= 2 * KILL_AFTER, res.summary["time_steps"]
    return case, tmp / "out", res.table


def _subprocess_ok(ranks):
    if ranks > 1 and shutil.which("mpirun") is None:
        pytest.skip("mpirun is not available")


@pytest.mark.parametrize(("ranks", "resume_ranks"), [(1, 1), (2, 2), (2, 1)])
def test_resume_after_sigkill_equals_the_uninterrupted_run(tmp_path, reference, ranks, resume_ranks):
    """Killed on ``ranks`` ranks, resumed on ``resume_ranks`` (the cells are read by voxel index,
    so another number of ranks may resume), compared with the uninterrupted run on those."""
    _subprocess_ok(ranks)
    case = _write_case(tmp_path)
    out = tmp_path / "out"
    if resume_ranks == 1:
        ref = reference[1]
    else:  # the uninterrupted run on 2 ranks
        ref = tmp_path / "ref"
        done = _run(2, "run", str(_write_case(tmp_path, name="ref.yaml")), "-o", str(ref))
        assert done.returncode == 0, done.stdout + done.stderr
    step = _kill_after_checkpoint(case, out, ranks)
    res = _run(resume_ranks, "run", str(case), "-o", str(out), "--resume")
    assert res.returncode == 0, res.stdout + res.stderr
    summary = _assert_same_history(out, ref)
    assert summary["checkpoints"]["resumed_from_step"] == step
    assert summary["checkpoints"]["written"] >= 1


def test_resume_after_sigint_equals_the_uninterrupted_run(tmp_path, reference, monkeypatch):
    """A SIGINT stops the run cleanly (summary "complete": false) and writes a checkpoint at the
    step it stopped; the API's run(resume=True) goes on from there."""
    import fem_assb
    from fem_assb.studies import checkpoint as ck

    stop_at = 2 * INTERVAL + 2
    after_step = ck.Checkpoints.after_step

    def interrupt(self, sim):
        after_step(self, sim)
        if sim.history.steps == stop_at:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ck.Checkpoints, "after_step", interrupt)
    out = tmp_path / "out"
    first = fem_assb.Simulation(CASE, output=out).run()
    assert not first.complete and first.summary["stopped_by"] == "SIGINT"
    assert first.summary["files"]["checkpoint"] == "checkpoint"
    assert _checkpoint_step(out) == stop_at  # written at the stop, between two periodic ones
    monkeypatch.setattr(ck.Checkpoints, "after_step", after_step)
    res = fem_assb.Simulation(CASE, output=out).run(resume=True)
    assert res.complete
    _assert_same_history(out, reference[1])
    ref = reference[2]  # in full precision, not only history.csv's 12 digits
    assert np.max(np.abs(res.history.voltage - ref["voltage"])) <= 1e-10
    assert np.array_equal(res.history.time, ref["t"])
    assert res.summary["checkpoints"]["resumed_from_step"] == stop_at


@pytest.fixture
def kept_checkpoint(tmp_path, monkeypatch):
    """A complete run whose last checkpoint is kept (its removal switched off): the folder."""
    from fem_assb.case import load_case
    from fem_assb.studies import checkpoint as ck
    from fem_assb.studies.run import run_case

    monkeypatch.setattr(ck.Checkpoints, "remove", lambda self: None)
    out = tmp_path / "out"
    run_case(load_case(_write_case(tmp_path)), out, quiet=True)
    monkeypatch.undo()
    assert _checkpoint_step(out) is not None
    return out


@pytest.mark.parametrize(
    ("path", "value", "section"),
    [
        ("operation.steps.0.current_density", "4 mA/cm^2", "operation"),
        ("numerics.dt_max", "3 s", "numerics"),
        ("materials", {"preset": "NMC811_Li6PS5Cl", "cam": {"D": "1e-12 cm^2/s"}}, "materials"),
        ("cell.separator.thickness", "6 um", "cell"),
        ("structure.generator.seed", 1, "structure"),  # refused once the image is built
    ],
)
def test_resume_with_a_changed_case_is_refused(kept_checkpoint, tmp_path, path, value, section):
    from fem_assb.case import load_case
    from fem_assb.studies.run import run_case

    case = load_case(_write_case(tmp_path, _changed(path, value), name="changed.yaml"))
    before = sorted(p.name for p in kept_checkpoint.rglob("*"))
    with pytest.raises(InputError, match=rf"different case: {section} differs"):
        run_case(case, kept_checkpoint, quiet=True, resume=True)
    assert sorted(p.name for p in kept_checkpoint.rglob("*")) == before  # nothing touched


def test_outputs_and_units_may_change_on_resume(kept_checkpoint, tmp_path, reference):
    """Outputs are not part of the fingerprint, and the same quantity in other units is the same
    case; the resumed run equals the uninterrupted one."""
    from fem_assb.case import load_case
    from fem_assb.studies.run import run_case

    raw = _changed("cell.separator.thickness", "5e-6 m")
    raw["outputs"]["checkpoint_interval"] = "1 h"
    raw["outputs"]["fields"] = ["phi", "x"]
    summary = run_case(load_case(_write_case(tmp_path, raw, name="same.yaml")), kept_checkpoint, resume=True)
    assert summary["checkpoints"]["written"] == 0
    _assert_same_history(kept_checkpoint, reference[1])


def test_resume_without_a_checkpoint_is_a_clean_error(tmp_path, reference):
    from fem_assb.case import load_case
    from fem_assb.studies.run import run_case

    case = load_case(reference[0])
    with pytest.raises(InputError, match="no checkpoint in"):
        run_case(case, tmp_path / "empty", quiet=True, resume=True)
    with pytest.raises(InputError, match="is complete"):  # the reference run completed
        run_case(case, reference[1], quiet=True, resume=True)
    res = _run(1, "run", str(reference[0]), "-o", str(tmp_path / "empty"), "--resume", timeout=300)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert "no checkpoint in" in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_partial_checkpoint_is_never_read(tmp_path, reference, monkeypatch):
    """A write that fails before its rename leaves the previous checkpoint, which is the one read;
    a leftover temporary is ignored, even a torn one with a higher step and a state.json."""
    from fem_assb.case import load_case
    from fem_assb.studies import checkpoint as ck
    from fem_assb.studies.run import run_case

    real, calls = os.rename, []

    def rename(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the second checkpoint: its folder is written, never renamed
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(ck.os, "rename", rename)
    out, case = tmp_path / "out", load_case(_write_case(tmp_path))
    with pytest.raises(OSError, match="No space"):
        run_case(case, out, quiet=True)
    monkeypatch.undo()
    good = ck.latest_checkpoint(out)
    assert good is not None and good.name == f"step-{INTERVAL:08d}"
    left = sorted(p.name for p in (out / ck.FOLDER).iterdir())
    assert left == [f"{ck.TMP_PREFIX}step-{2 * INTERVAL:08d}", good.name], left
    torn = out / ck.FOLDER / f"{ck.TMP_PREFIX}step-99999999"
    shutil.copytree(good, torn)
    for f in torn.glob("cells-*.npy"):
        f.write_bytes(b"torn")
    assert ck.latest_checkpoint(out) == good
    summary = run_case(case, out, quiet=True, resume=True)
    assert summary["checkpoints"]["resumed_from_step"] == INTERVAL
    _assert_same_history(out, reference[1])  # the temporaries went with the checkpoint folder


def test_a_new_run_removes_an_old_checkpoint(kept_checkpoint, tmp_path):
    """Without --resume the folder's run is replaced, its checkpoint too (also that of a run killed
    before it wrote anything else)."""
    from fem_assb.output.folder import previous_run_files

    for name in ("summary.json", "history.csv"):
        (kept_checkpoint / name).unlink()
    assert kept_checkpoint / "checkpoint" in previous_run_files(kept_checkpoint)


def test_checkpoint_interval_key():
    from fem_assb.case import resolve_case

    def outputs(value):
        raw = _changed("outputs.checkpoint_interval", value)
        return resolve_case(raw, base_dir=ROOT).outputs

    assert (outputs(50).checkpoint_steps, outputs(50).checkpoint_wall_time) == (50, 0.0)
    assert (outputs("10 min").checkpoint_steps, outputs("10 min").checkpoint_wall_time) == (0, 600.0)
    assert outputs(0).checkpoint_steps == 0
    for bad in (-1, 2.5, True, "3 V", "0 s", [5]):
        with pytest.raises(InputError, match="checkpoint_interval"):
            outputs(bad)


def test_wall_time_interval_writes_checkpoints(tmp_path):
    from fem_assb.case import load_case
    from fem_assb.studies.run import run_case

    raw = _changed("outputs.checkpoint_interval", "1 ms")  # due after every step
    raw["operation"]["steps"] = raw["operation"]["steps"][1:]  # the 20 s rest only
    summary = run_case(load_case(_write_case(tmp_path, raw)), tmp_path / "out", quiet=True)
    assert summary["checkpoints"]["written"] == summary["time_steps"]


def test_resume_with_the_iterative_solver_agrees_to_round_off(tmp_path, monkeypatch):
    """The iterative solver's preconditioner is set up afresh after a resume (it was kept between
    solves before): not bit for bit, but the same steps and voltages within 1e-10 V (measured
    7e-13 V)."""
    import fem_assb
    from fem_assb.studies import checkpoint as ck

    raw = copy.deepcopy(CASE)
    raw["numerics"]["linear_solver"] = "iterative"
    ref = fem_assb.Simulation(raw, output=tmp_path / "ref").run()
    after_step = ck.Checkpoints.after_step

    def interrupt(self, sim):
        after_step(self, sim)
        if sim.history.steps == KILL_AFTER + 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ck.Checkpoints, "after_step", interrupt)
    assert not fem_assb.Simulation(raw, output=tmp_path / "out").run().complete
    monkeypatch.undo()
    res = fem_assb.Simulation(raw, output=tmp_path / "out").run(resume=True)
    assert res.complete and res.summary["time_steps"] == ref.summary["time_steps"]
    assert np.max(np.abs(res.history.voltage - ref.history.voltage)) <= 1e-10


def test_a_checkpoint_with_a_part_missing_is_refused(kept_checkpoint):
    from fem_assb.case import load_case
    from fem_assb.studies import checkpoint as ck
    from fem_assb.studies.run import run_case

    path = ck.latest_checkpoint(kept_checkpoint)
    (path / "cells-0000.npy").unlink()
    with pytest.raises(InputError, match=r"cells-0000.npy cannot be read"):
        run_case(load_case(kept_checkpoint.parent / "case.yaml"), kept_checkpoint, quiet=True, resume=True)


def test_resume_with_a_kept_factorization_is_bit_for_bit(tmp_path, monkeypatch):
    """The direct solver with its LU factorization kept within a time step (meshes from
    newton.KEEP_FACTORIZATION_CELLS cells on; here forced on the tiny cell): a run stopped by
    SIGINT between two periodic checkpoints and resumed gives the uninterrupted run's steps and
    voltages bit for bit (the factorization is renewed after every accepted step, so nothing of
    it crosses a point where a run can resume). The uninterrupted run is made after another run
    in this process: that must not change a bit either."""
    import fem_assb
    from fem_assb.solvers import newton
    from fem_assb.studies import checkpoint as ck

    monkeypatch.setattr(newton, "KEEP_FACTORIZATION_CELLS", 0)
    stop_at = 2 * INTERVAL + 2
    after_step = ck.Checkpoints.after_step

    def interrupt(self, sim):
        after_step(self, sim)
        assert sim.newton.keeps_factorization
        if sim.history.steps == stop_at:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ck.Checkpoints, "after_step", interrupt)
    first = fem_assb.Simulation(CASE, output=tmp_path / "out").run()
    assert not first.complete and _checkpoint_step(tmp_path / "out") == stop_at
    monkeypatch.setattr(ck.Checkpoints, "after_step", after_step)
    ref = fem_assb.Simulation(CASE, output=tmp_path / "ref").run()
    res = fem_assb.Simulation(CASE, output=tmp_path / "out").run(resume=True)
    assert res.complete and res.summary["checkpoints"]["resumed_from_step"] == stop_at
    assert np.array_equal(res.history.time, ref.history.time)
    assert np.array_equal(res.history.voltage, ref.history.voltage)
    assert res.summary["capacity_mAh_cm2"] == ref.summary["capacity_mAh_cm2"]

"""SIGINT / SIGTERM stop `fem-assb run` cleanly, serially and on 2 ranks with the signal sent to
one rank only: the history so far, a summary with "complete": false, no hidden temporaries."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from child_env import child_env

ROOT = Path(__file__).resolve().parents[1]

CASE = """
name: stop
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
    - {{kind: rest, duration: 10 h}}
numerics:
  linear_solver: direct
  dt_initial: 1 s
  dt_max: 1 s
outputs:
  fields: [phi, x]
  field_interval: 10
"""
MARKER = "cells on"  # the progress line printed when the mesh and solver are built


def _case(tmp: Path) -> Path:
    lab = np.full((4, 2, 2), 2, dtype=np.int32)
    lab[:, 0, 0] = 1
    np.save(tmp / "cell.npy", lab)
    path = tmp / "stop.yaml"
    path.write_text(CASE.format(image=tmp / "cell.npy"))
    return path


def _rank_pids(case: Path) -> dict[int, int]:
    """{rank: pid} of the processes running ``case`` under mpirun (from /proc)."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            environ = (d / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(case).encode() in cmd and b"fem_assb" in cmd and not any(b"mpirun" in c for c in cmd):
            for e in environ:
                if e.startswith(b"OMPI_COMM_WORLD_RANK="):
                    out[int(e.split(b"=")[1])] = int(d.name)
    return out


def _run_and_signal(tmp: Path, ranks: int, sig: int) -> tuple[int, str]:
    case = _case(tmp)
    cmd = [sys.executable, "-m", "fem_assb", "run", str(case), "-o", str(tmp / "out")]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), *cmd]
    proc = subprocess.Popen(
        cmd, env=child_env(quiet=False), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen, lines = threading.Event(), []

    def read():
        for line in proc.stderr:
            lines.append(line)
            if MARKER in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(180), "the run never started:\n" + "".join(lines)
        time.sleep(3.0)  # well into the time steps
        assert proc.poll() is None, "the run ended before the signal:\n" + "".join(lines)
        if ranks > 1:
            pids = _rank_pids(case)
            assert sorted(pids) == list(range(ranks)), pids
            os.kill(pids[ranks - 1], sig)  # the last rank only: the others must follow
        else:
            proc.send_signal(sig)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    return proc.returncode, stdout + "".join(lines)


def _check_stopped_outputs(out: Path, signame: str):
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["stopped_by"] == signame
    assert summary["segments"][0]["stop"] == "signal"
    rows = np.loadtxt(out / "history.csv", delimiter=",", skiprows=1)
    assert rows.shape[0] > 3 and summary["time_steps"] == rows.shape[0] - 1
    assert rows[-1, 0] < 36000.0  # stopped long before the end of the 10 h rest
    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if n.startswith(".")] == [], names
    assert sorted([*summary["files"].values(), "summary.json"]) == names
    assert (out / "fields.bp").is_dir()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_a_serial_run_cleanly(tmp_path, sig):
    code, text = _run_and_signal(tmp_path, 1, sig)
    assert code == 128 + sig, text
    assert "Traceback" not in text, text
    _check_stopped_outputs(tmp_path / "out", signal.Signals(sig).name)


def test_signal_to_one_of_two_ranks_stops_both(tmp_path):
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not available")
    code, text = _run_and_signal(tmp_path, 2, signal.SIGTERM)
    assert code != 0 and "Traceback" not in text, text
    _check_stopped_outputs(tmp_path / "out", "SIGTERM")


def test_stop_signals_restores_handlers():
    from fem_assb.interrupt import StopSignals

    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert signal.getsignal(signal.SIGTERM) is not before
        assert not stop.requested()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert stop.requested() and stop.requested_name == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) is before  # a second signal acts at once
    assert signal.getsignal(signal.SIGTERM) is before

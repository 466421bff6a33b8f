"""`fem-assb run` end to end on a tiny voxel cell: outputs exist, are consistent, and the
capacity matches the history (serial, and under mpirun -n 2 with -m mpi)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from mpi4py import MPI

from fem_assb.cli import main

CASE = """
name: tiny
structure:
  image: {image}
  voxel_size: 0.5 um
  labels: {{0: PORE, 1: CAM, 2: SE}}
cell:
  separator: {{material: SE, thickness: 5 um}}
  cathode_collector: 0.5 um
materials:
  preset: NMC811_Li6PS5Cl
operation:
  temperature: 25 degC
  steps:
    - {{kind: discharge, current_density: 1 mA/cm^2, cutoff_voltage: 3.8 V}}
    - {{kind: rest, duration: 5 min}}
numerics:
  linear_solver: direct
  dt_max: 30 s
outputs:
  fields: [phi, x, utilization, material, current]
  field_interval: 5
"""


def _case(tmp):
    nx, ny, nz = 6, 4, 4
    j, k = np.meshgrid(np.arange(ny), np.arange(nz), indexing="ij")
    lab = np.where((j + k) % 2 == 0, 1, 2)[None].repeat(nx, 0).astype(np.int32)
    lab[nx // 2, :2, :] = 1
    np.save(tmp / "tiny.npy", lab)
    (tmp / "tiny.yaml").write_text(CASE.format(image=tmp / "tiny.npy"))
    return tmp / "tiny.yaml"


@pytest.mark.mpi
def test_run_command_writes_consistent_outputs(tmp_path_factory):
    comm = MPI.COMM_WORLD
    tmp = comm.bcast(str(tmp_path_factory.mktemp("run")) if comm.rank == 0 else None, root=0)
    from pathlib import Path

    tmp = Path(tmp)
    case = _case(tmp) if comm.rank == 0 else None
    case = comm.bcast(case, root=0)
    out = tmp / "out"
    assert main(["run", str(case), "-o", str(out), "-q"]) == 0
    comm.barrier()
    summary = json.loads((out / "summary.json").read_text())
    for name in (
        "history.csv",
        "voltage.png",
        "utilization.png",
        "utilization_profile.csv",
        "utilization_histogram.csv",
        "fields.bp",
    ):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "history.csv")))
    t = np.array([float(r["time_s"]) for r in rows])
    q = np.array([float(r["capacity_mAh_cm2"]) for r in rows])
    u = np.array([float(r["voltage_V"]) for r in rows])
    step = np.array([int(float(r["step"])) for r in rows])
    assert np.all(np.diff(t) >= 0)
    # 1 mA/cm^2 for the discharge time gives the reported capacity (mAh/cm^2 = mA/cm^2 * h).
    t_dis = t[step == 0].max() - t[step == 0].min()
    assert summary["capacity_mAh_cm2"] == pytest.approx(1.0 * t_dis / 3600.0, rel=1e-9)
    assert q[-1] == pytest.approx(summary["capacity_mAh_cm2"], rel=1e-9)
    assert u[step == 0][-1] == pytest.approx(3.8, abs=1e-3)
    assert summary["segments"][1]["kind"] == "rest" and summary["segments"][1]["stop"] == "duration"
    assert 0 < summary["normalized_capacity"] < 1
    assert summary["energy_density_Wh_kg"] > 0
    # wall seconds per stage (issue 20): every stage there, the solver's parts inside its
    # Newton time, the driver's stages inside the run's wall time
    tm = summary["timings_s"]
    for stage in ("build", "simulate", "newton", "residual", "jacobian", "krylov", "indicators", "write"):
        assert tm[stage] > 0, stage
    slack = 2e-3 * 6  # the values are rounded to ms
    assert tm["residual"] + tm["jacobian"] + tm.get("pc_setup", 0) + tm["krylov"] <= tm["newton"] + slack
    assert tm["newton_other"] >= -slack and tm["newton"] <= tm["simulate"] + slack
    assert tm["build"] + tm["simulate"] <= summary["wall_time_s"] + slack
    prof = np.loadtxt(out / "utilization_profile.csv", delimiter=",", skiprows=1)
    assert prof.shape == (6, 2)
    hist = np.loadtxt(out / "utilization_histogram.csv", delimiter=",", skiprows=1)
    assert hist[:, 2].sum() == pytest.approx(1.0)

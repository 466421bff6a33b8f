"""The examples/ scripts run serially and under `mpirun -n 2` (as the DOLFINx demos are tested:
a subprocess with a timeout) and print numbers that match independent expectations."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from child_env import child_env

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
F = 96485.33212
TIMEOUT = 300  # s; each example takes well under a minute on one core


def run_example(name: str, ranks: int, cwd) -> dict:
    """Run examples/<name>.py; the ``key = value`` lines it prints, as floats."""
    cmd = [sys.executable, str(EXAMPLES / f"{name}.py")]
    if ranks > 1:
        if shutil.which("mpirun") is None:
            pytest.skip("mpirun is not available")
        cmd = ["mpirun", "-n", str(ranks), *cmd]
    proc = subprocess.run(
        cmd, cwd=cwd, env=child_env(quiet=False), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, f"{name} on {ranks} rank(s) failed:\n{proc.stdout}\n{proc.stderr}"
    values = {}
    for line in proc.stdout.splitlines():
        m = re.fullmatch(r"(\w+) = (\S+)", line.strip())
        if m:
            assert m.group(1) not in values, f"{m.group(1)} printed twice (by more than one rank?)"
            values[m.group(1)] = float(m.group(2))
    return values


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Every example on 1 and on 2 ranks, run once (in an empty folder: no files may appear)."""
    out = {}
    for name in ("planar_thin_film", "composite_discharge", "effective_conductivity"):
        for ranks in (1, 2):
            cwd = tmp_path_factory.mktemp(f"{name}-{ranks}")
            out[name, ranks] = run_example(name, ranks, cwd)
            assert list(cwd.iterdir()) == [], f"{name} wrote files without an output folder"
    return out


@pytest.mark.parametrize("name", ["planar_thin_film", "composite_discharge", "effective_conductivity"])
def test_two_ranks_print_the_serial_numbers(outputs, name):
    one, two = outputs[name, 1], outputs[name, 2]
    assert one.keys() == two.keys() and len(one) >= 3
    for key in one:
        assert two[key] == pytest.approx(one[key], rel=1e-5, abs=1e-9), key


def test_planar_thin_film(outputs):
    """The dense 1 um NMC811 film: C_theo = (c_max - c0) F L by hand; Q = I t at C/5; the
    capacity of the independent 1D method-of-lines solver (tests/reference) within 2 %."""
    from fem_assb.materials import get_system

    v = outputs["planar_thin_film", 1]
    system = get_system("NMC811_Li6PS5Cl", overrides={"cam": {"D": "8.71e-13 cm^2/s"}})
    cam = system.cam
    q_theo = (cam.c_max - cam.c0) * F * 1e-6  # C/m^2 of a 1 um film
    assert v["theoretical_capacity_mAh_cm2"] == pytest.approx(q_theo / 3.6e4, rel=1e-5)
    current = 0.2 * q_theo / 3600.0  # C/5, A/m^2
    assert v["capacity_mAh_cm2"] == pytest.approx(current * v["discharge_time_s"] / 3.6e4, rel=1e-5)
    assert v["final_voltage_V"] == pytest.approx(3.0, abs=1e-3)
    sys.path.insert(0, str(ROOT / "tests"))
    from reference.planar_1d import discharge_1d

    T = 298.15
    ref = discharge_1d(
        cam,
        I=current,
        L_cam=1e-6,
        L_sep=20e-6,
        kappa=float(system.electrolyte.kappa(system.electrolyte.c0, T, np)),
        c_e=system.electrolyte.c0,
        T=T,
        i0_li=system.anode.i0,
        U_cut=3.0,
        L_li=5e-6,
        sigma_li=system.anode.sigma,
        L_cc=1e-6,
        sigma_cc=1e5,
        n=400,
    )
    assert v["discharge_time_s"] == pytest.approx(ref["t_end"], rel=0.02)
    assert 0.5 < v["normalized_capacity"] < 1.0


def test_composite_discharge(outputs):
    """The generated composite: Q = 1 mA/cm^2 x t; C_theo of the meshed CAM at most that of the
    image's CAM (counted here from the same generator) and not far below it."""
    from fem_assb.materials import get_system
    from fem_assb.structure.generate import generate_composite

    v = outputs["composite_discharge", 1]
    assert v["capacity_mAh_cm2"] == pytest.approx(1.0 * v["discharge_time_s"] / 3600.0, rel=1e-5)
    image = generate_composite(
        [12, 12, 12], "0.5 um", cam_fraction=0.65, se_fraction=0.35, d_cam="3 um", d_se="1 um", seed=3
    )
    cam = get_system("NMC811_Li6PS5Cl").cam
    f_cam = float(np.mean(image.labels == image.label_map.values_of("CAM")[0]))
    upper = (cam.c_max - cam.c0) * F * f_cam * 6e-6 / 3.6e4  # mAh/cm^2, all of the image's CAM
    assert 0.9 * upper < v["theoretical_capacity_mAh_cm2"] <= upper * (1 + 1e-9)
    assert v["normalized_capacity"] == pytest.approx(
        v["capacity_mAh_cm2"] / v["theoretical_capacity_mAh_cm2"], rel=1e-4
    )
    assert 0.05 < v["normalized_capacity"] < 1.0
    assert v["final_voltage_V"] == pytest.approx(3.0, abs=1e-3)
    assert v["gravimetric_capacity_mAh_g"] > 0 and v["energy_density_Wh_kg"] > 0


def test_effective_conductivity(outputs):
    """Straight columns: the analytic parallel value (= volume fraction, tau^2 = 1); the composite
    between 0 and the Wiener upper bound (its SE fraction)."""
    v = outputs["effective_conductivity", 1]
    assert v["columns_volume_fraction"] == pytest.approx(0.25)
    assert v["columns_relative_conductivity"] == pytest.approx(0.25, rel=1e-6)
    assert v["columns_tortuosity_factor"] == pytest.approx(1.0, rel=1e-6)
    eps = v["composite_volume_fraction"]
    assert 0.3 < eps < 0.5
    assert 0.0 < v["composite_relative_conductivity"] < eps
    assert v["composite_tortuosity_factor"] > 1.0
    tau2 = eps / v["composite_relative_conductivity"]
    assert v["composite_tortuosity_factor"] == pytest.approx(tau2, rel=1e-5)

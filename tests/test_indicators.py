"""The summary's indicators by hand on a small cell with an isolated CAM cluster: C / C_theo,
mAh/g and Wh/kg all use the same CAM volume (the meshed CAM, the cluster removed)."""

from __future__ import annotations

import numpy as np
import pytest

import fem_assb

PORE, CAM, SE = 0, 1, 2
H = 0.5e-6  # m
F = 96485.33212
L_SEP = 5e-6


def _image():
    """6 x 4 x 4 voxels of SE with two CAM columns through x (12 voxels, touching the collector)
    and a CAM pair at (x 2..3, y 0, z 2) touching neither column: an isolated cluster."""
    lab = np.full((6, 4, 4), SE, dtype=np.int32)
    lab[:, 0, 0] = CAM
    lab[:, 2, 2] = CAM
    lab[2:4, 0, 2] = CAM
    return lab


@pytest.fixture(scope="module")
def result():
    case = {
        "name": "indicators",
        "structure": {"image": _image(), "voxel_size": "0.5 um"},
        "cell": {"separator": {"material": "SE", "thickness": "5 um"}},
        "materials": "NMC811_Li6PS5Cl",
        "operation": {
            "temperature": "25 degC",
            "steps": [{"kind": "discharge", "current_density": "1 mA/cm^2", "cutoff_voltage": "3.8 V"}],
        },
        "numerics": {"linear_solver": "direct", "dt_max": "10 s"},
    }
    return fem_assb.Simulation(case).run()


@pytest.mark.mpi
def test_indicators_by_hand(result):
    s, h = result.summary, result.history
    system = fem_assb.get_system("NMC811_Li6PS5Cl")
    cam, se = system.cam, system.electrolyte
    n_cam, n_se = 12, 6 * 16 - 14  # meshed: the isolated pair removed (its SE neighbours stay)
    area = 16 * H**2
    v_cam, v_se = n_cam * H**3, n_se * H**3
    assert s["removed_cam_fraction"] == pytest.approx(2 / 14)
    assert s["inventory"]["cam_volume"] == pytest.approx(v_cam, rel=1e-12)
    assert s["inventory"]["se_volume"] == pytest.approx(v_se, rel=1e-12)

    # C_theo = (c_max - c0) F V_CAM / A; C = I t; C / C_theo.
    q_theo = (cam.c_max - cam.c0) * F * v_cam / area  # C/m^2
    q = 10.0 * h.time[-1]  # 1 mA/cm^2 = 10 A/m^2 for the whole discharge
    assert s["theoretical_capacity_mAh_cm2"] == pytest.approx(q_theo / 3.6e4, rel=1e-9)
    assert s["capacity_mAh_cm2"] == pytest.approx(q / 3.6e4, rel=1e-9)
    assert s["normalized_capacity"] == pytest.approx(q / q_theo, rel=1e-9)
    assert 0 < s["normalized_capacity"] < 1

    # mAh/g of the same CAM: C A (mAh) / (V_CAM rho_CAM) (g).
    m_cam = v_cam * cam.density * 1e3  # g
    assert s["gravimetric_capacity_mAh_g"] == pytest.approx(q * area / 3.6 / m_cam, rel=1e-9)

    # Wh/kg: integral(i U dt) over Li (n/p = 1 to the same C_theo at 3861 mAh/g) + separator +
    # cathode (the same CAM and the meshed SE), all per m^2.
    energy = np.sum(0.5 * (h.voltage[1:] + h.voltage[:-1]) * 10.0 * np.diff(h.time))  # J/m^2
    m_anode = q_theo / (3861.0 * 3.6)
    m_sep = L_SEP * se.density * 1e3
    m_cathode = (v_cam * cam.density + v_se * se.density) * 1e3 / area
    assert s["masses_g_m2"]["anode"] == pytest.approx(m_anode, rel=1e-9)
    assert s["masses_g_m2"]["separator"] == pytest.approx(m_sep, rel=1e-9)
    assert s["masses_g_m2"]["cathode"] == pytest.approx(m_cathode, rel=1e-9)
    wh_kg = (energy / 3600.0) / ((m_anode + m_sep + m_cathode) / 1000.0)
    assert s["energy_density_Wh_kg"] == pytest.approx(wh_kg, rel=1e-9)
    assert s["energy_Wh_m2"] == pytest.approx(energy / 3600.0, rel=1e-9)


def test_inventory_is_the_one_volume():
    """CellInventory: C_theo, mAh/g and masses from its one CAM volume."""
    from fem_assb.indicators.cell import CellInventory, cell_indicators

    inv = CellInventory(
        area=1e-4,
        cam_volume=2e-9,
        se_volume=1e-9,
        separator_volume=3e-9,
        c_max=5e4,
        c0=1e4,
        cam_density=4770.0,
        se_density=1640.0,
    )
    q_theo = 4e4 * F * 2e-9 / 1e-4
    out = cell_indicators(inv, charge=0.5 * q_theo, energy_delivered=3600.0)
    assert out["normalized_capacity"] == pytest.approx(0.5)
    assert out["gravimetric_capacity_mAh_g"] == pytest.approx(0.5 * q_theo * 1e-4 / 3.6 / (2e-9 * 4770e3))
    masses = out["masses_g_m2"]
    assert masses["anode"] == pytest.approx(q_theo / (3861 * 3.6))
    assert masses["cathode"] == pytest.approx((2e-9 * 4770 + 1e-9 * 1640) * 1e3 / 1e-4)
    assert out["energy_density_Wh_kg"] == pytest.approx(1.0 / (sum(masses.values()) / 1000.0))


def test_lib_cathode_mass_counts_the_cbd_and_the_electrolyte():
    """A LIB cathode's mass is CAM + LE voxels (electrolyte density) + CBD voxels at their bulk
    density (1 - porosity) rho_CBD + porosity rho_LE; the LE separator weighs its electrolyte
    (porosity x thickness). By hand on a 6 x 4 x 4 image of CAM columns, LE and a CBD layer."""
    lab = np.full((6, 4, 4), 3, dtype=np.int32)  # LE (LabelMap.default: PORE, CAM, SE, LE, CBD)
    lab[:, 0, 0] = lab[:, 2, 2] = 1  # CAM columns through x (collector-connected)
    lab[:, 3, :] = 4  # a CBD slab at y = 3, connected to the separator
    n_cam, n_le, n_cbd = 12, 96 - 12 - 24, 24
    case = {
        "name": "lib_masses",
        "structure": {"image": lab, "voxel_size": "0.5 um"},
        "cell": {"separator": {"material": "LE", "thickness": "5 um", "porosity": 0.5}},
        "materials": {"preset": "NMC811_LiPF6", "cbd": {"density": "2.0 g/cm^3"}},
        "operation": {
            "temperature": "25 degC",
            "steps": [{"kind": "discharge", "current_density": "1 mA/cm^2", "cutoff_voltage": "3.9 V"}],
        },
        "numerics": {"linear_solver": "direct", "dt_max": "10 s"},
    }
    s = fem_assb.Simulation(case).run().summary
    system = fem_assb.get_system("NMC811_LiPF6")
    rho_cam, rho_le, p = system.cam.density, system.electrolyte.density, system.cbd.porosity
    area, v = 16 * H**2, H**3
    assert s["removed_cam_fraction"] == 0.0
    rho_cbd = (1 - p) * 2000.0 + p * rho_le
    m_cathode = (n_cam * rho_cam + n_le * rho_le + n_cbd * rho_cbd) * v * 1e3 / area
    assert s["masses_g_m2"]["cathode"] == pytest.approx(m_cathode, rel=1e-9)
    assert s["masses_g_m2"]["separator"] == pytest.approx(0.5 * L_SEP * rho_le * 1e3, rel=1e-9)
    # without the CBD's mass the cathode would be 12 % lighter: the test sees the term
    assert n_cbd * rho_cbd * v * 1e3 / area > 0.1 * m_cathode

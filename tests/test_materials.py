"""Material presets: every seed table value in SI, the i0 check, OCV properties, overrides, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fem_assb.errors import InputError
from fem_assb.materials import exchange_current_density, get_system, list_systems
from fem_assb.materials.published import x_of_u_msmr

# (system, attribute path, value in SI converted by hand from the seed table as printed).
# Functional parameters (marked * in the tables) are checked at initial conditions.
SEED_VALUES = [
    # --- 000 Table S1 / S2: NMC811 | Li6PS5Cl | Li (SE case)
    ("NMC811_Li6PS5Cl", "anode.U0", 0.0),  # 0 V
    ("NMC811_Li6PS5Cl", "anode.sigma", 100.0),  # 1 S/cm
    ("NMC811_Li6PS5Cl", "anode.i0", 259.0),  # 2.59e-2 A/cm^2
    ("NMC811_Li6PS5Cl", "anode.alpha", 0.5),
    ("NMC811_Li6PS5Cl", "cam.c0", 11310.0),  # 0.01131 mol/cm^3
    ("NMC811_Li6PS5Cl", "cam.c_max", 49030.0),  # 0.04903 mol/cm^3
    ("NMC811_Li6PS5Cl", "cam.sigma@x0", 0.883),  # 8.83e-3 S/cm *
    ("NMC811_Li6PS5Cl", "cam.D@x0", 8.71e-17),  # 8.71e-13 cm^2/s (SE) *
    ("NMC811_Li6PS5Cl", "cam.i00", 1.5392e-8),  # 1.5392e-3 A cm^2.5/mol^1.5 (SE)
    ("NMC811_Li6PS5Cl", "electrolyte.c0", 36662.0),  # 0.036662 mol/cm^3
    ("NMC811_Li6PS5Cl", "electrolyte.kappa@c0", 0.07),  # 0.7e-3 S/cm
    ("NMC811_Li6PS5Cl", "electrolyte.t_plus@c0", 1.0),
    ("NMC811_Li6PS5Cl", "separator.thickness", 20e-6),  # 20 um
    ("NMC811_Li6PS5Cl", "operation.cutoff_voltage", 3.0),
    ("NMC811_Li6PS5Cl", "anode.capacity", 3861 * 3.6 * 1000),  # 3861 mAh/g (Table S2) in C/kg
    ("NMC811_Li6PS5Cl", "electrolyte.density", 1640.0),  # 1.64 g/cm^3 (Table S2)
    ("NMC811_Li6PS5Cl", "cam.density", 4770.0),  # 4.77 g/cm^3 (Table S2)
    ("NMC811_Li6PS5Cl", "anode.density", 534.0),  # 0.534 g/cm^3 (PARAMETERS.md)
    # --- 000 Table S1: NMC811 | LiPF6 (LE case), 001 effective media
    ("NMC811_LiPF6", "cam.D@x0", 1.63e-16),  # 1.63e-12 cm^2/s (LE) *
    ("NMC811_LiPF6", "cam.i00", 2.402e-7),  # 2.402e-2 A cm^2.5/mol^1.5 (LE)
    ("NMC811_LiPF6", "electrolyte.c0", 1000.0),  # 1e-3 mol/cm^3
    ("NMC811_LiPF6", "electrolyte.kappa@c0", 0.94),  # 9.4e-3 S/cm *
    ("NMC811_LiPF6", "electrolyte.D@c0", 3.79e-10),  # 3.79e-6 cm^2/s *
    ("NMC811_LiPF6", "electrolyte.t_plus@c0", 0.25),
    ("NMC811_LiPF6", "electrolyte.tdf@c0", 1.85),
    ("NMC811_LiPF6", "separator.thickness", 20e-6),
    ("NMC811_LiPF6", "separator.porosity", 0.5),
    ("NMC811_LiPF6", "separator.kappa_factor", 0.5),
    ("NMC811_LiPF6", "cbd.porosity", 0.5),
    ("NMC811_LiPF6", "cbd.kappa_factor", 0.12),
    # --- 002 Table 1: LCO | LLZO with grain boundaries
    ("LCO_LLZO", "anode.sigma", 100.0),
    ("LCO_LLZO", "anode.i0", 259.0),
    ("LCO_LLZO", "anode.alpha", 0.5),
    ("LCO_LLZO", "electrolyte.c0", 38400.0),  # 0.0384 mol/cm^3
    ("LCO_LLZO", "electrolyte.kappa@c0", 0.0769),  # 7.69e-4 S/cm
    ("LCO_LLZO", "electrolyte.D@c0", 5.36e-13),  # 5.36e-9 cm^2/s
    ("LCO_LLZO", "electrolyte.t_plus@c0", 1.0),
    ("LCO_LLZO", "grain_boundary.i_GB0", 69.1),  # 6.91e-3 A/cm^2
    ("LCO_LLZO", "grain_boundary.C_GB", 9.75e-5),  # 9.75e-9 F/cm^2
    ("LCO_LLZO", "separator.thickness", 25e-6),
    ("LCO_LLZO", "cam.c0", 27058.0),
    ("LCO_LLZO", "cam.c_max", 51555.0),
    ("LCO_LLZO", "cam.sigma@x0", 447.0),  # 4.47 S/cm *
    ("LCO_LLZO", "cam.D@x0", 8.48e-16),  # 8.48e-12 cm^2/s *
    ("LCO_LLZO", "cam.i00", 1.16e-7),  # 0.0116 A cm^2.5/mol^1.5
    ("LCO_LLZO", "cam.alpha", 0.5),
    ("LCO_LLZO", "operation.current_density", 10.0),  # 1 mA/cm^2
    ("LCO_LLZO", "operation.cutoff_voltage", 3.4),
    # --- 002 Table 2: NMC811 | LLZO
    ("NMC811_LLZO", "cam.c0", 11310.0),
    ("NMC811_LLZO", "cam.c_max", 49030.0),
    ("NMC811_LLZO", "cam.sigma@x0", 0.883),
    ("NMC811_LLZO", "cam.D@x0", 8.71e-17),
    ("NMC811_LLZO", "cam.i00", 1.16e-7),
    ("NMC811_LLZO", "grain_boundary.i_GB0", 69.1),
    # --- 003 Table 3: HT1, HT2, LT
    ("LCO_LLZO_HT1", "temperature", 373.15),  # 100 degC
    ("LCO_LLZO_HT1", "anode.sigma", 1e4),  # 100 S/cm
    ("LCO_LLZO_HT1", "anode.i0", 10.0),  # 1e-3 A/cm^2
    ("LCO_LLZO_HT1", "anode.alpha", 0.5),
    ("LCO_LLZO_HT1", "electrolyte.c0", 38400.0),
    ("LCO_LLZO_HT1", "electrolyte.kappa@c0", 1.1),  # 1.1e-2 S/cm
    ("LCO_LLZO_HT1", "electrolyte.t_plus@c0", 1.0),
    ("LCO_LLZO_HT1", "separator.thickness", 500e-6),
    ("LCO_LLZO_HT1", "cam.c0", 27058.0),
    ("LCO_LLZO_HT1", "cam.c_max", 51555.0),
    ("LCO_LLZO_HT1", "cam.sigma@x0", 447.0),
    ("LCO_LLZO_HT1", "cam.D@x0", 8.48e-16),
    ("LCO_LLZO_HT1", "cam.i00", 9.81e-7),  # 0.0981 A cm^2.5/mol^1.5
    ("LCO_LLZO_HT1", "cam.alpha", 0.5),
    ("LCO_LLZO_HT1", "operation.current_density", 1.0),  # 0.1 mA/cm^2
    ("LCO_LLZO_HT1", "operation.cutoff_voltage", 3.4),
    ("LCO_LLZO_HT2", "temperature", 298.15),  # 25 degC
    ("LCO_LLZO_HT2", "electrolyte.kappa@c0", 0.054),  # 5.4e-4 S/cm
    ("LCO_LLZO_HT2", "anode.i0", 10.0),
    ("LCO_LLZO_HT2", "cam.i00", 9.81e-7),
    ("LCO_LLZO_HT2", "separator.thickness", 500e-6),
    ("LCO_LLZO_LT", "temperature", 353.15),  # 80 degC
    ("LCO_LLZO_LT", "anode.sigma", 1e4),
    ("LCO_LLZO_LT", "anode.i0", 12.0),  # 1.2e-3 A/cm^2
    ("LCO_LLZO_LT", "electrolyte.kappa@c0", 0.05195),  # 5.195e-4 S/cm
    ("LCO_LLZO_LT", "separator.thickness", 400e-6),
    ("LCO_LLZO_LT", "cam.i00", 1.599e-6),  # 0.1599 A cm^2.5/mol^1.5
    ("LCO_LLZO_LT", "operation.current_density", 0.5),  # 0.05 mA/cm^2
    ("LCO_LLZO_LT", "operation.cutoff_voltage", 3.4),
    # --- 003 Fig. 6 resistive film
    ("LCO_LLZO_HT1_film", "film.l_cam", 100e-9),
    ("LCO_LLZO_HT1_film", "film.sigma_cam", 100.0),  # 1 S/cm
    ("LCO_LLZO_HT1_film", "film.D_cam", 2e-17),  # 2e-13 cm^2/s at 100 degC
    ("LCO_LLZO_HT2_film", "film.D_cam", 1.55e-18),  # 1.55e-14 cm^2/s at 25 degC
    # --- 004 Table 1: NMC622 | beta-Li3PS4
    ("NMC622_bLPS", "electrolyte.c0", 10300.0),  # 0.0103 mol/cm^3
    ("NMC622_bLPS", "electrolyte.kappa@c0", 0.012),  # 1.20e-4 S/cm
    ("NMC622_bLPS", "electrolyte.t_plus@c0", 1.0),
    ("NMC622_bLPS", "electrolyte.D@c0", 2.4e-13),  # 2.4e-9 cm^2/s
    ("NMC622_bLPS", "electrolyte.tdf@c0", 1.28),
    ("NMC622_bLPS", "separator.thickness", 425e-6),
    ("NMC622_bLPS", "cam.c0", 21000.0),  # 0.021 mol/cm^3
    ("NMC622_bLPS", "cam.c_max", 51900.0),  # 0.0519 mol/cm^3
    ("NMC622_bLPS", "cam.alpha", 0.5),
    ("NMC622_bLPS", "cam.i00", 4.98e-9),  # 4.98e-4 A cm^2.5/mol^1.5
    ("NMC622_bLPS", "double_layer.cathode", 8e-3),  # 8e-7 F/cm^2
    ("NMC622_bLPS", "operation.cathode_thickness", 40e-6),
    ("NMC622_bLPS", "anode.sigma", 1e5),  # 10 * 10^2 S/cm
    ("NMC622_bLPS", "anode.U0", 0.0),
    ("NMC622_bLPS", "anode.alpha", 0.5),
    ("NMC622_bLPS", "anode.i0", 8.87),  # 8.87e-4 A/cm^2
    ("NMC622_bLPS", "double_layer.anode", 2e-3),  # 2e-7 F/cm^2
    # 004 text: sigma and D of NMC622 at x = 0.4 and x = 1
    ("NMC622_bLPS", "cam.sigma@0.4", 2.0),  # 2e-2 S/cm
    ("NMC622_bLPS", "cam.sigma@1.0", 1.6e-4),  # 1.6e-6 S/cm
    ("NMC622_bLPS", "cam.D@0.4", 1.83e-15),  # 1.83e-11 cm^2/s
    ("NMC622_bLPS", "cam.D@1.0", 3.10e-16),  # 3.10e-12 cm^2/s
]


def _value(system, path):
    path, _, at = path.partition("@")
    obj = system
    for part in path.split("."):
        obj = getattr(obj, part)
    if not at:
        return obj
    if at == "x0":
        v = system.cam.x0
    elif at == "c0":
        v = system.electrolyte.c0
    else:
        v = float(at)
    return obj.value_at(v, system.temperature)


@pytest.mark.parametrize("name,path,expected", SEED_VALUES, ids=[f"{n}:{p}" for n, p, _ in SEED_VALUES])
def test_seed_table_value_in_si(name, path, expected):
    assert _value(get_system(name), path) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_every_system_loads_with_sources():
    assert len(list_systems()) >= 8
    for name in list_systems():
        s = get_system(name)
        assert s.sources and all(isinstance(x, str) for x in s.sources)
        assert 0 < s.cam.x0 < 1
        for row in s.rows:  # every numeric parameter names where it comes from
            if isinstance(row.value, float) and not row.path.startswith(("separator.", "film.E_A")):
                assert row.source, f"{name}: {row.path} has no source"


def test_exchange_current_seed000_solid():
    """PARAMETERS.md: i0 about 6.1e-6 A/cm^2 for the seed 000 SE case (all in cm units by hand)."""
    s = get_system("NMC811_Li6PS5Cl")
    by_hand = 1.5392e-3 * math.sqrt(0.036662 * 0.01131 * (0.04903 - 0.01131))  # A/cm^2
    i0 = s.exchange_current_density() * 1e-4  # A/m^2 -> A/cm^2
    assert i0 == pytest.approx(by_hand, rel=1e-9)
    assert i0 == pytest.approx(6.1e-6, rel=0.01)


def test_exchange_current_vanishes_at_the_bounds_without_nan():
    c_max = 49030.0
    cs = np.array([-100.0, 0.0, 0.5 * c_max, c_max, c_max + 100.0])
    i0 = exchange_current_density(1.5392e-8, 0.5, 36662.0, cs, c_max, np)
    assert np.all(np.isfinite(i0))
    assert i0[2] > 1e3 * max(i0[0], i0[1], i0[3], i0[4])


@pytest.mark.parametrize("name", list_systems())
def test_ocv_finite_and_monotone_on_valid_range(name):
    s = get_system(name)
    lo, hi = s.cam.U0.valid
    x = np.linspace(max(lo, 0.0), min(hi, 1.0), 4001)
    U = s.cam.U0.numpy(x, s.temperature)
    assert np.all(np.isfinite(U))
    assert np.all(np.diff(U) < 0), "U0 must decrease strictly with lithiation on its valid range"
    assert 3.0 < U[0] < 5.0 and 2.5 < U[-1] < 4.0
    # the extension beyond the valid range stays finite and non-increasing (Newton may go there)
    xe = np.linspace(-0.05, 1.05, 2201)
    Ue = s.cam.U0.numpy(xe, s.temperature)
    assert np.all(np.isfinite(Ue)) and np.all(np.diff(Ue) <= 1e-12)


def test_nmc811_ocv_matches_parameters_md():
    """PARAMETERS.md evaluated Chen 2020: U(0.231) = 4.39, U(0.5) = 3.97, U(0.9) = 3.57, U(1) = 3.49 V."""
    U0 = get_system("NMC811_Li6PS5Cl").cam.U0
    for x, u in [(0.231, 4.39), (0.5, 3.97), (0.9, 3.57), (1.0, 3.49)]:
        assert U0.value_at(x) == pytest.approx(u, abs=0.006)


def test_lco_ocv_stoichiometry_options():
    """PARAMETERS.md: y = x reaches 3.4 V close to x = 1; y = 1.13 x near x = 0.875; 4.2 V at x0."""
    from scipy.optimize import brentq

    plain = get_system("LCO_LLZO")
    stretched = get_system("LCO_LLZO", overrides={"cam": {"U0": {"model": "lco_ramadass2004_stretched"}}})
    assert plain.initial_ocv() == pytest.approx(4.2, abs=0.02)  # the table's 4.2 V at x0 = 0.525
    assert plain.cam.U0.value_at(0.9) > 3.8
    assert brentq(lambda v: plain.cam.U0.value_at(v) - 3.4, 0.9, 1.0) == pytest.approx(0.99, abs=0.005)
    assert brentq(lambda v: stretched.cam.U0.value_at(v) - 3.4, 0.8, 0.95) == pytest.approx(0.875, abs=0.005)


def test_nmc622_msmr_table_inverts_the_published_form():
    U0 = get_system("NMC622_bLPS").cam.U0
    x = np.linspace(0.05, 0.99, 200)
    x_back = x_of_u_msmr(U0.numpy(x), 298.15)
    assert np.max(np.abs(x_back - x)) < 5e-3


def test_liquid_fits_at_one_molar():
    """Nyman kappa(1 M) = 0.949 S/m and the Landesfeind fits t+ = 0.221, TDF = 2.18 (PARAMETERS.md)."""
    from fem_assb.materials import published as P

    assert float(P.kappa_nyman2008(1000.0, 298.15, np)) == pytest.approx(0.9487, abs=1e-4)
    assert float(P.D_nyman2008(1000.0, 298.15, np)) == pytest.approx(1.7684e-10, rel=1e-4)
    s = get_system(
        "NMC811_LiPF6",
        overrides={
            "electrolyte": {
                "t_plus": {"model": "t_plus_landesfeind2019"},
                "tdf": {"model": "tdf_landesfeind2019"},
            }
        },
    )
    assert s.electrolyte.t_plus.value_at(1000.0, 298.0) == pytest.approx(0.221, abs=0.005)
    assert s.electrolyte.tdf.value_at(1000.0, 298.0) == pytest.approx(2.18, abs=0.05)


def test_film_arrhenius_reproduces_both_fits():
    """[003] Eq. 11: the 100 degC film with the implied E_A gives the 25 degC fit, and vice versa."""
    ht1 = get_system("LCO_LLZO_HT1_film")
    ht2 = get_system("LCO_LLZO_HT2_film")
    assert ht1.film.E_A == pytest.approx(
        8.314462618 * math.log(2e-13 / 1.55e-14) / (1 / 298.15 - 1 / 373.15), rel=1e-3
    )
    assert ht1.film.D_at(298.15) == pytest.approx(1.55e-18, rel=1e-3)
    cooled = get_system("LCO_LLZO_HT1_film", temperature=298.15)
    assert cooled.film.D_cam == pytest.approx(ht2.film.D_cam, rel=1e-3)
    assert ht1.film.resistance() == pytest.approx(100e-9 / 100.0)


# --- overrides ------------------------------------------------------------------------------------


def test_constant_override_turns_function_into_constant():
    s = get_system("NMC811_Li6PS5Cl", overrides={"cam": {"sigma": "8.83e-3 S/cm"}})
    vals = s.cam.sigma.numpy(np.linspace(0, 1, 11))
    assert np.allclose(vals, 0.883)
    assert s.cam.sigma.is_constant()


def test_expression_override_in_x_and_T():
    s = get_system(
        "NMC811_Li6PS5Cl",
        overrides={"cam": {"D": {"expr": "1e-12 * exp(-2 * x) * (T / 298.15)", "unit": "cm^2/s"}}},
    )
    assert s.cam.D.value_at(0.5, 596.3) == pytest.approx(1e-16 * math.exp(-1.0) * 2.0, rel=1e-12)


def test_electrolyte_expression_takes_c_in_mol_per_litre():
    s = get_system(
        "NMC811_LiPF6", overrides={"electrolyte": {"kappa": {"expr": "0.5 + 0.4 * c", "unit": "S/m"}}}
    )
    assert s.electrolyte.kappa.value_at(1000.0) == pytest.approx(0.9)
    s = get_system(
        "NMC811_LiPF6",
        overrides={
            "electrolyte": {"kappa": {"expr": "0.5 + 0.4e-3 * c", "unit": "S/m", "c_unit": "mol/m^3"}}
        },
    )
    assert s.electrolyte.kappa.value_at(1000.0) == pytest.approx(0.9)


def test_inline_table_is_monotone_and_interpolates_nodes():
    xs, ys = [0.2, 0.4, 0.7, 1.0], [4.3, 4.0, 3.9, 3.2]
    s = get_system(
        "NMC811_Li6PS5Cl", overrides={"cam": {"U0": {"table": {"x": xs, "value": ys}, "unit": "V"}}}
    )
    U0 = s.cam.U0
    assert np.allclose(U0.numpy(xs), ys)
    x = np.linspace(0.0, 1.2, 1201)
    U = U0.numpy(x)
    assert np.all(np.diff(U) <= 1e-14) and U.max() <= 4.3 + 1e-12 and U.min() >= 3.2 - 1e-12  # no overshoot
    assert U0.value_at(0.55) == pytest.approx(3.95)


def test_csv_table_with_log_interpolation(tmp_path):
    (tmp_path / "sigma.csv").write_text("x, sigma\n0.2, 1e-2\n0.6, 1e-4\n1.0, 1e-6\n")
    s = get_system(
        "NMC811_Li6PS5Cl",
        base_dir=tmp_path,
        overrides={"cam": {"sigma": {"csv": "sigma.csv", "unit": "S/cm", "interpolate": "log"}}},
    )
    assert s.cam.sigma.value_at(0.4) == pytest.approx(1e-1, rel=1e-12)  # geometric mean in S/m
    assert s.cam.sigma.value_at(0.8) == pytest.approx(1e-3, rel=1e-12)


def test_arrhenius_on_constant_and_on_function():
    E = "30 kJ/mol"
    base = get_system("LCO_LLZO")
    hot = get_system(
        "LCO_LLZO",
        temperature=350.0,
        overrides={
            "electrolyte": {"kappa": {"value": "7.69e-4 S/cm", "arrhenius": {"E_A": E, "T_ref": "298.15 K"}}},
            "cam": {"i00": {"arrhenius": {"E_A": "0.3110 eV"}}},
        },
    )
    factor = math.exp(-30e3 / 8.314462618 * (1 / 350.0 - 1 / 298.15))
    assert hot.electrolyte.kappa.value_at(hot.electrolyte.c0, 350.0) == pytest.approx(
        0.0769 * factor, rel=1e-9
    )
    f_ev = math.exp(-0.3110 * 96485.33212 / 8.314462618 * (1 / 350.0 - 1 / 298.15))
    assert hot.cam.i00 == pytest.approx(base.cam.i00 * f_ev, rel=1e-4)
    # arrhenius alone on a preset function keeps its shape
    d = get_system("NMC811_Li6PS5Cl", overrides={"cam": {"D": {"arrhenius": {"E_A": E}}}})
    ref = get_system("NMC811_Li6PS5Cl")
    x = np.linspace(0.25, 0.95, 8)
    assert np.allclose(d.cam.D.numpy(x, 350.0) / ref.cam.D.numpy(x, 350.0), factor)


def test_seed_units_and_si_give_the_same_system():
    a = get_system(
        "LCO_LLZO", overrides={"electrolyte": {"kappa": "7.69e-4 S/cm"}, "cam": {"c0": "0.027058 mol/cm^3"}}
    )
    b = get_system(
        "LCO_LLZO", overrides={"electrolyte": {"kappa": "0.0769 S/m"}, "cam": {"c0": "27058 mol/m^3"}}
    )
    assert a.electrolyte.kappa.value_at(1.0) == pytest.approx(b.electrolyte.kappa.value_at(1.0), rel=1e-12)
    assert a.cam.c0 == pytest.approx(b.cam.c0, rel=1e-12)


@pytest.mark.parametrize(
    "value,unit,si_unit",
    [
        (0.01131, "mol/cm^3", "mol/m^3"),
        (1.0, "mA/cm^2", "A/m^2"),
        (8.83e-3, "S/cm", "S/m"),
        (0.5, "um", "m"),
        (8.71e-13, "cm^2/s", "m^2/s"),
        (1.5392e-3, "A*cm^2.5/mol^1.5", "A*m^2.5/mol^1.5"),
        (9.75e-9, "F/cm^2", "F/m^2"),
        (3861.0, "mAh/g", "C/kg"),
        (4.77, "g/cm^3", "kg/m^3"),
        (25.0, "degC", "K"),
        (100.0, "nm", "m"),
        (0.3, "eV", "J"),
    ],
)
def test_unit_round_trip(value, unit, si_unit):
    from fem_assb.units import registry, to_si

    si = to_si(f"{value} {unit}", si_unit)
    back = registry().Quantity(si, si_unit).to(unit).magnitude
    assert back == pytest.approx(value, rel=1e-12)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"cam": {"sigam": "1 S/m"}}, "did you mean 'sigma'"),
        ({"electrolyt": {}}, "did you mean 'electrolyte'"),
        ({"cam": {"c_max": 49030}}, "has no unit"),
        ({"cam": {"c_max": "49030 mol/m^2"}}, "inconsistent units"),
        ({"electrolyte": {"kappa": "-0.1 S/m"}}, "must be positive"),
        ({"cam": {"i00": "nan A*m^2.5/mol^1.5"}}, "not a finite number"),
        ({"cam": {"c0": "0.1 mol/cm^3"}}, "must be below cam.c_max"),
        ({"cam": {"c0": "0.004 mol/cm^3"}}, "outside the valid range"),
        ({"cam": {"alpha": "1.5"}}, "symmetry factor"),
        ({"cam": {"D": {"model": "nmc811_chen2020"}}}, "describes U0, not D"),
        ({"cam": {"U0": {"model": "chen2020"}}}, "did you mean 'nmc811_chen2020'"),
        ({"cam": {"D": {"expr": "1e-16 * foo(x)", "unit": "m^2/s"}}}, "only the functions"),
        ({"cam": {"D": {"expr": "1e-16 * y", "unit": "m^2/s"}}}, "unknown name 'y'"),
        ({"cam": {"D": {"expr": "__import__('os')", "unit": "m^2/s"}}}, "only the functions"),
        ({"cam": {"D": {"expr": "1e-16 * x"}}}, "needs 'unit'"),
        (
            {"cam": {"U0": {"table": {"x": [0.5, 0.3], "value": [3.9, 4.0]}, "unit": "V"}}},
            "must increase strictly",
        ),
        (
            {
                "cam": {
                    "D": {"table": {"x": [0.1, 0.5, 1.0], "value": [1e-16, -1e-16, 1e-16]}, "unit": "m^2/s"}
                }
            },
            "must be positive",
        ),
        (
            {"cam": {"U0": {"table": {"x": [0.5, 1.0], "value": [3.9, 3.5]}, "unit": "V"}}},
            "outside the valid range",
        ),
        ({"cam": {"i00": {"value": "1e-8 A*m^2.5/mol^1.5", "arrhenius": {"E_A": "30 kJ"}}}}, "E_A"),
        ({"grain_boundary": {"C_GB": "1e-8 F/cm^2"}}, "misses i_GB0"),  # C_GB is optional
        ({"separator": {"material": "LE"}}, "solid electrolyte needs a dense separator"),
    ],
)
def test_bad_overrides_are_rejected(overrides, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        get_system("NMC811_Li6PS5Cl", overrides=overrides)


def test_unknown_system_suggests_name():
    with pytest.raises(InputError, match="did you mean 'NMC811_LLZO'"):
        get_system("NMC811_LLZ0")

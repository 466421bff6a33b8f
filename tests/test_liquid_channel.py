"""A liquid-electrolyte channel (seed 001's perforated LIB cathode): the `perforated` generator
and the `channel` modification with ``fill: LE`` in a liquid cell."""

import copy

import numpy as np
import pytest

import fem_assb
from fem_assb.case import resolve_case
from fem_assb.errors import InputError

CASE = {
    "name": "lib_channel",
    "structure": {
        "generator": {
            "kind": "perforated", "shape": [12, 8, 8], "voxel_size": "1 um", "radius": "4 um",
            "center": "corner", "fill": "LE", "cam_fraction": 0.65, "se_fraction": 0.0, "d_cam": "4 um",
            "pore": "LE", "seed": 0,
        }
    },
    "cell": {
        "separator": {"material": "LE", "thickness": "10 um", "porosity": 0.5, "conductivity_factor": 0.5},
        "li_metal": "0 um",
    },
    "materials": {"preset": "NMC811_LiPF6"},
    "operation": {
        "steps": [{"kind": "discharge", "current_density": "4 mA/cm^2", "cutoff_voltage": "3.6 V"}]
    },
    "outputs": {"fields": [], "plots": False},
}


def _with_radius(radius: str) -> dict:
    case = copy.deepcopy(CASE)
    case["structure"]["generator"]["radius"] = radius
    return case


def test_liquid_channel_replaces_cam_and_runs():
    """The channel's CAM becomes LE (a quarter disk at y = z = 0), and the run sees it: the
    theoretical capacity falls by exactly the CAM voxels the channel took."""
    full, holed = (resolve_case(_with_radius(r)).structure.build() for r in ("0 um", "4 um"))
    h = 1e-6
    y = (np.arange(8) + 0.5) * h
    disk = (y[:, None] ** 2 + y[None, :] ** 2) <= (4e-6) ** 2
    assert not holed.mask("CAM")[:, disk].any() and holed.mask("LE")[:, disk].all()
    assert np.array_equal(holed.mask("CAM"), full.mask("CAM") & ~disk[None])
    r0, r4 = (fem_assb.Simulation(_with_radius(r)).run().summary for r in ("0 um", "4 um"))
    ratio = r4["theoretical_capacity_mAh_cm2"] / r0["theoretical_capacity_mAh_cm2"]
    kept = [img.mask("CAM").sum() * (1 - r["removed_cam_fraction"]) for img, r in ((holed, r4), (full, r0))]
    assert ratio == pytest.approx(kept[0] / kept[1], rel=1e-9)  # CAM reaching the collector
    assert r4["complete"] and r4["final_voltage_V"] == pytest.approx(3.6, abs=2e-3)


def test_liquid_channel_in_a_solid_cathode_is_refused():
    case = copy.deepcopy(CASE)
    case["structure"]["generator"].update(pore="PORE", se_fraction=0.3)
    case["cell"]["separator"] = {"material": "SE", "thickness": "10 um"}
    case["materials"]["preset"] = "NMC811_Li6PS5Cl"
    with pytest.raises(InputError, match="both SE and LE voxels"):
        fem_assb.Simulation(case).run()

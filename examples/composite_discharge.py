"""A small generated composite cathode (NMC811 in Li6PS5Cl) discharged at 1 mA/cm^2 to 3.0 V.

12^3 voxels of 0.5 um (a 6 um thick cathode, 65 vol% CAM) on a 10 um SE separator, the seed 000
materials; the structure comes from the composite generator (fem-assb generate composite).

    python3 examples/composite_discharge.py         # or: mpirun -n 2 python3 examples/...

Prints the delivered capacity, the theoretical one of the simulated CAM, the gravimetric
capacity and energy density, and the time the discharge took.
"""

import fem_assb
from fem_assb.parallel import print0

case = (
    {
        "name": "composite_discharge",
        "structure": {
            "generator": {
                "kind": "composite",
                "shape": [12, 12, 12],
                "voxel_size": "0.5 um",
                "cam_fraction": 0.65,
                "se_fraction": 0.35,
                "d_cam": "3 um",
                "d_se": "1 um",
                "seed": 3,
            }
        },
        "cell": {"separator": {"material": "SE", "thickness": "10 um"}},
        "materials": "NMC811_Li6PS5Cl",
        "operation": {"temperature": "25 degC"},
        "numerics": {"linear_solver": "direct", "dt_max": "120 s", "max_stoichiometry_step": 0.2},
    }
)
# The operation steps through the API: SI floats or quantities with units.
step = fem_assb.Step("discharge", current_density="1 mA/cm^2", cutoff="3.0 V")
result = fem_assb.Simulation(case, steps=[step]).run()

s, h = result.summary, result.history
print0(f"cells = {s['cells']}")
print0(f"capacity_mAh_cm2 = {s['capacity_mAh_cm2']:.6f}")
print0(f"theoretical_capacity_mAh_cm2 = {s['theoretical_capacity_mAh_cm2']:.6f}")
print0(f"normalized_capacity = {s['normalized_capacity']:.6f}")
print0(f"gravimetric_capacity_mAh_g = {s['gravimetric_capacity_mAh_g']:.4f}")
print0(f"energy_density_Wh_kg = {s['energy_density_Wh_kg']:.4f}")
print0(f"discharge_time_s = {h.time[-1]:.4f}")
print0(f"final_voltage_V = {h.voltage[-1]:.4f}")
print0(f"time_steps = {s['time_steps']}")

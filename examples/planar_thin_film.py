"""A planar thin-film cell: Li metal | dense SE separator | dense CAM slab | collector.

The cathode is a 1 um NMC811 film without any electrolyte in it (a thin-film battery): the
ions enter the CAM only through its face on the separator. Discharged at C/5 to 3.0 V.

    python3 examples/planar_thin_film.py            # or: mpirun -n 2 python3 examples/...

Prints the delivered and the theoretical capacity of the film; at C/5 a 1 um film discharges
to most of its theoretical capacity (the solid diffusion time L^2/D is 3.2 h here).
"""

import numpy as np

import fem_assb
from fem_assb.parallel import print0  # print on rank 0 only

N = 20  # CAM voxels through the film
film = np.ones((N, 1, 1), dtype=np.int32)  # label 1 = CAM (default labels: 0 PORE, 1 CAM, 2 SE)

case = {
    "name": "planar_thin_film",
    "structure": {"image": film, "voxel_size": f"{1.0 / N} um"},  # 1 um film
    "cell": {
        "separator": {"material": "SE", "thickness": "20 um"},
        "li_metal": "5 um",
        "cathode_collector": "1 um",
    },
    # seed 000 NMC811 | Li6PS5Cl with D at its table value (constant, as in the planar tests)
    "materials": {"preset": "NMC811_Li6PS5Cl", "cam": {"D": "8.71e-13 cm^2/s"}},
    "operation": {
        "temperature": "25 degC",
        "steps": [{"kind": "discharge", "c_rate": 0.2, "cutoff_voltage": "3.0 V"}],
    },
    "numerics": {"linear_solver": "direct", "dt_max": "300 s"},
}

result = fem_assb.Simulation(case).run()  # no files; add output="out" for the fem-assb run files
s = result.summary
print0(f"capacity_mAh_cm2 = {s['capacity_mAh_cm2']:.6f}")
print0(f"theoretical_capacity_mAh_cm2 = {s['theoretical_capacity_mAh_cm2']:.6f}")
print0(f"normalized_capacity = {s['normalized_capacity']:.6f}")
print0(f"discharge_time_s = {result.history.time[-1]:.3f}")
print0(f"final_voltage_V = {s['final_voltage_V']:.4f}")
print0(f"time_steps = {s['time_steps']}")

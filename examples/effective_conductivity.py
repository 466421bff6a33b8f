"""Effective ionic conductivity of the solid electrolyte, in one line per structure.

1. Straight SE columns along x (a quarter of the cross-section): the analytic answer is the
   parallel (Wiener upper) bound, relative conductivity = SE volume fraction, tortuosity factor 1.
2. A generated NMC811 / SE composite (24^3 voxels of 0.5 um): a tortuous SE network, relative
   conductivity between 0 and the SE fraction, tortuosity factor above 1.

    python3 examples/effective_conductivity.py      # or: mpirun -n 2 python3 examples/...
"""

import numpy as np

import fem_assb
from fem_assb.parallel import print0

# 1. Columns: labels 1 = CAM, 2 = SE (the default label map), SE where (y, z) is in one quadrant.
columns = np.ones((16, 8, 8), dtype=np.int32)
columns[:, :4, :4] = 2
res = fem_assb.effective_conductivity(columns, phase="SE", axis="x", voxel_size="0.5 um")
print0(f"columns_volume_fraction = {res.volume_fraction:.6f}")
print0(f"columns_relative_conductivity = {res.relative_conductivity:.6f}")
print0(f"columns_tortuosity_factor = {res.tortuosity_factor:.6f}")

# 2. A generated composite (the structure generator of `fem-assb generate composite`).
from fem_assb.structure.generate import generate_composite  # noqa: E402

image = generate_composite(
    [24, 24, 24], "0.5 um", cam_fraction=0.6, se_fraction=0.4, d_cam="4 um", d_se="1 um", seed=2
)
res = fem_assb.effective_conductivity(image, phase="SE", axis="x")
print0(f"composite_volume_fraction = {res.volume_fraction:.6f}")
print0(f"composite_relative_conductivity = {res.relative_conductivity:.6f}")
print0(f"composite_tortuosity_factor = {res.tortuosity_factor:.6f}")

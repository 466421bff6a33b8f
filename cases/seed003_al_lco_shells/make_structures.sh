#!/bin/sh
# The structures of cases/seed003_al_lco_shells.yaml (seed 003 Fig. 8, reduced resolution): a
# generated LCO | LLZO composite of the LT composition (003 Table 1: 53 vol% CAM, 43 vol% SE), then
# Al-LCO shells grown into the CAM from the CAM | SE interface by the Euclidean distance transform
# (fem-assb modify --shell), 0 to 1200 nm as in the paper plus the whole CAM ("all").
# Run from this folder: sh make_structures.sh  (FEM_ASSB="./scripts/env-run python3 -m fem_assb"
# from the repository root by default).
set -e
FEM_ASSB=${FEM_ASSB:-"../../scripts/env-run python3 -m fem_assb"}
$FEM_ASSB generate composite -o base.npz --shape 40,24,24 --voxel-size 0.48um --seed 0 \
    --cam-fraction 0.53 --se-fraction 0.43 --d-cam 4um --d-se 1.41um --no-png
for t in 0 480 720 960 1200; do
    $FEM_ASSB modify base.npz shell_${t}nm.npz --shell ${t}nm
done
$FEM_ASSB modify base.npz shell_all.npz --shell 100um

"""Bad input gives clear errors (issue 8)."""

from __future__ import annotations

import numpy as np
import pytest

from fem_assb.errors import InputError, PercolationError
from fem_assb.meshing.virtual_cell_grid import virtual_cell_grid
from fem_assb.structure.image import VoxelImage
from fem_assb.structure.virtual_cell import Separator, VirtualCell
from fem_assb.studies.discharge import Operation

CAM, SE = 1, 2


def _cell(labels):
    return VirtualCell(VoxelImage(np.asarray(labels, dtype=np.int32), 0.5e-6), Separator("SE", 5e-6))


def test_negative_current_for_a_discharge():
    with pytest.raises(InputError, match="must be positive"):
        Operation("discharge", current_density=-10.0, cutoff=3.0)
    with pytest.raises(InputError, match="needs a cut-off"):
        Operation("charge", current_density=1.0)
    with pytest.raises(InputError, match="unknown"):
        Operation("discharj", current_density=1.0, cutoff=3.0)


def test_electrolyte_not_connected_to_separator():
    lab = np.full((6, 4, 4), CAM)
    lab[3:5, 1:3, 1:3] = SE  # an SE island that never reaches x = 0
    with pytest.raises(PercolationError, match="does not connect to the separator"):
        virtual_cell_grid(_cell(lab))


def test_cam_not_connected_to_collector():
    lab = np.full((6, 4, 4), SE)
    lab[1:3, 1:3, 1:3] = CAM  # a particle far from the collector face
    with pytest.raises(PercolationError, match="100 % of the CAM"):
        virtual_cell_grid(_cell(lab))


def test_isolated_cam_is_removed_and_reported():
    lab = np.full((6, 4, 4), SE)
    lab[:, 0, 0] = CAM  # a column touching the collector: 6 voxels
    lab[1, 2:4, 2:4] = CAM  # an isolated particle: 4 voxels
    grid, info = virtual_cell_grid(_cell(lab))
    assert info.removed_cam_fraction == pytest.approx(4 / 10)
    with pytest.raises(PercolationError, match="40.00 % of the CAM"):
        virtual_cell_grid(_cell(lab), isolated="error")


def test_no_interface_between_the_networks():
    from mpi4py import MPI

    from fem_assb.materials import get_system
    from fem_assb.studies.discharge import CellSimulation, build_cell_mesh

    lab = np.full((6, 4, 4), SE)
    lab[3] = 0  # a pore layer: the SE reaches the separator, the CAM the collector, never each other
    lab[4:] = CAM
    # refused before meshing (meshing.validate, the check `fem-assb check` makes too)
    with pytest.raises(InputError, match=r"no CAM \| electrolyte interface"):
        vm, _ = build_cell_mesh(_cell(lab), MPI.COMM_WORLD)
        CellSimulation(vm, get_system("NMC811_Li6PS5Cl"), 298.15)

"""The cell indicators of a run from one inventory of the simulated cell (MODEL §7).

One CAM volume for everything: the theoretical capacity, the gravimetric capacity and the
energy-density masses all use :attr:`CellInventory.cam_volume`, the CAM that is meshed and
simulated, that is the image's CAM minus the isolated clusters removed before meshing (not
connected to the collector; their fraction is reported as ``removed_cam_fraction``). Likewise
the cathode's SE mass is that of the meshed SE. So C / C_theo measures the utilization of the
CAM that can work, and the masses are those of the simulated cell.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fem_assb.indicators import capacity, energy


@dataclass(frozen=True)
class CellInventory:
    """Volumes and densities of the simulated cell over its cross-section.

    area [m^2] (collector face); cam_volume, se_volume (SE of the cathode), separator_volume
    [m^3]; c_max, c0 [mol/m^3] of the CAM; cam_density, se_density [kg/m^3].
    """

    area: float
    cam_volume: float
    se_volume: float
    separator_volume: float
    c_max: float
    c0: float
    cam_density: float
    se_density: float

    def theoretical_capacity(self) -> float:
        """C_theo [C/m^2] ([000] Eq. S2)."""
        return capacity.theoretical_capacity(self.c_max, self.c0, self.cam_volume, self.area)

    def masses(self) -> dict:
        """Anode (Li at n/p = 1 to C_theo), separator and cathode masses [g/m^2]."""
        return energy.cell_masses(
            q_theo=self.theoretical_capacity(),
            cam_volume=self.cam_volume,
            se_volume=self.se_volume,
            separator_volume=self.separator_volume,
            area=self.area,
            cam_density=self.cam_density,
            se_density=self.se_density,
        )

    def as_dict(self) -> dict:
        return asdict(self)


def cell_indicators(inventory: CellInventory, charge: float, energy_delivered: float) -> dict:
    """Capacity and energy indicators of a discharge that delivered ``charge`` [C/m^2] and
    ``energy_delivered`` [J/m^2]: mAh/cm^2, C/C_theo, mAh/g of CAM, Wh/m^2, Wh/kg of the cell."""
    q_theo = inventory.theoretical_capacity()
    masses = inventory.masses()
    return {
        "capacity_mAh_cm2": capacity.mah_per_cm2(charge),
        "theoretical_capacity_mAh_cm2": capacity.mah_per_cm2(q_theo),
        "normalized_capacity": charge / q_theo if q_theo else float("nan"),
        "gravimetric_capacity_mAh_g": capacity.gravimetric_capacity(
            charge, inventory.area, inventory.cam_volume, inventory.cam_density
        ),
        "energy_Wh_m2": energy_delivered / 3600.0,
        "energy_density_Wh_kg": energy.energy_density(energy_delivered, masses),
        "masses_g_m2": masses,
    }

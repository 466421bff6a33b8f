"""The cell indicators of a run from one inventory of the simulated cell (MODEL §7).

One CAM volume for everything: the theoretical capacity, the gravimetric capacity and the
energy-density masses all use :attr:`CellInventory.cam_volume`, the CAM that is meshed and
simulated, that is the image's CAM minus the isolated clusters removed before meshing (not
connected to the collector; their fraction is reported as ``removed_cam_fraction``). Likewise
the cathode's SE mass is that of the meshed SE. So C / C_theo measures the utilization of the
CAM that can work, and the masses are those of the simulated cell.

Several CAM materials (``materials.cams``, e.g. Al-LCO shells on LCO, seed 003): each is one
:class:`CamPart` with its own volume, c_max, c0 and density; C_theo is the sum of the parts'
(c_max - c0) F V / A, the CAM mass the sum of their rho V.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fem_assb.indicators import capacity, energy


@dataclass(frozen=True)
class CamPart:
    """One CAM material of the cell: its label name, meshed volume [m^3], c_max and c0
    [mol/m^3], density [kg/m^3]."""

    name: str
    volume: float
    c_max: float
    c0: float
    density: float

    def theoretical_capacity(self, area: float) -> float:
        """(c_max - c0) F V / A [C/m^2] of this material ([000] Eq. S2)."""
        return capacity.theoretical_capacity(self.c_max, self.c0, self.volume, area)


@dataclass(frozen=True)
class CellInventory:
    """Volumes and densities of the simulated cell over its cross-section.

    area [m^2] (collector face); cam_volume, se_volume (SE of the cathode), separator_volume
    [m^3]; c_max, c0 [mol/m^3] of the CAM; cam_density, se_density [kg/m^3]; cbd_volume [m^3]
    and cbd_density [kg/m^3], the carbon-binder domain's bulk density (solid and the electrolyte
    in its pores, :func:`fem_assb.indicators.energy.cbd_bulk_density`). ``cam_volume``,
    ``c_max``, ``c0``, ``cam_density`` are those of ``materials.cam``; ``extra_cams``: the further
    CAM materials of the cell (:class:`CamPart`, ``materials.cams``), none by default.
    """

    area: float
    cam_volume: float
    se_volume: float
    separator_volume: float
    c_max: float
    c0: float
    cam_density: float
    se_density: float
    extra_cams: tuple = ()
    cbd_volume: float = 0.0
    cbd_density: float = 0.0

    def cam_parts(self) -> tuple:
        """Every CAM material as a :class:`CamPart`, ``materials.cam``'s first."""
        main = CamPart("cam", self.cam_volume, self.c_max, self.c0, self.cam_density)
        return (main, *self.extra_cams)

    def total_cam_volume(self) -> float:
        """Volume of all CAM materials [m^3]."""
        return sum(p.volume for p in self.cam_parts())

    def cam_mass(self) -> float:
        """Mass of all CAM materials, sum of rho V [kg]."""
        return sum(p.volume * p.density for p in self.cam_parts())

    def theoretical_capacity(self) -> float:
        """C_theo [C/m^2] ([000] Eq. S2): the sum over the CAM materials of (c_max - c0) F V / A."""
        return sum(p.theoretical_capacity(self.area) for p in self.cam_parts())

    def masses(self) -> dict:
        """Anode (Li at n/p = 1 to C_theo), separator and cathode masses [g/m^2]."""
        return energy.cell_masses(
            q_theo=self.theoretical_capacity(),
            cam_volume=self.total_cam_volume(),
            se_volume=self.se_volume,
            separator_volume=self.separator_volume,
            area=self.area,
            cam_density=self.cam_mass() / self.total_cam_volume(),  # mass-weighted: the CAM's mass
            se_density=self.se_density,
            cbd_mass=self.cbd_volume * self.cbd_density,
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
            charge,
            inventory.area,
            inventory.total_cam_volume(),
            inventory.cam_mass() / inventory.total_cam_volume(),
        ),
        "energy_Wh_m2": energy_delivered / 3600.0,
        "energy_density_Wh_kg": energy.energy_density(energy_delivered, masses),
        "masses_g_m2": masses,
    }

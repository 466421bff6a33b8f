"""The built-in parameter sets: every material system of the seed papers, as printed.

Values are written exactly as in the seed tables, with the seeds' units (cm, mol/cm^3, S/cm,
A/cm^2, um); the loader converts them to SI. Each entry names its source: "000 Table S1"
means seed 000_fe15f73a0e90ac7b.txt, Table S1, and so on (MODEL.md §8). Functional
parameters (marked * in the tables) name a model of :mod:`fem_assb.materials.published`
and carry the table value at initial conditions where the model is scaled to it.

Values that are not from the seeds (densities for energy density where no seed gives one, the
temperature where a seed does not state it) say so in their source.
"""

from __future__ import annotations

I00_UNIT = "A*cm^2.5/mol^1.5"
ALPHA_NOTE = "symmetry factor; 0.5 is used everywhere in the seeds (MODEL.md §3)"
ROOM_T = {"value": "298.15 K", "source": "assumed 25 degC: the seed does not state the temperature"}

# --- building blocks: each printed table block written once -----------------------------------

LI_000 = {  # 000 Table S1 (also 002 Table 1)
    "material": "Li metal",
    "U0": {"value": "0 V", "source": "000 Table S1"},
    "sigma": {"value": "1 S/cm", "source": "000 Table S1"},
    "i0": {"value": "2.59e-2 A/cm^2", "source": "000 Table S1 [Neumann 2021]"},
    "alpha": {"value": "0.5", "source": "000 Table S1 [Finsterbusch 2018]"},
    "density": {
        "value": "0.534 g/cm^3",
        "source": "PARAMETERS.md (Li metal); not used: the energy density counts the Li of an n/p = 1 anode "
        "at 3861 mAh/g",
    },
    "capacity": {
        "value": "3861 mAh/g",
        "source": "000 Table S2 [Xu 2014]; not used as a parameter: the energy density takes this value from "
        "fem_assb.indicators.energy",
    },
}

NMC811_000 = {  # 000 Table S1 / S2 (SE case values; LE values are replaced below)
    "material": "NMC811",
    "U0": {
        "model": "nmc811_chen2020",
        "source": "000 Table S1 [3]: 4.2 V at initial conditions (functional*)",
    },
    "c0": {"value": "0.01131 mol/cm^3", "source": "000 Table S1 (calc.)"},
    "c_max": {"value": "0.04903 mol/cm^3", "source": "000 Table S1 (calc.)"},
    "sigma": {
        "model": "nmc811_sigma_nmc622_trend",
        "value": "8.83e-3 S/cm",
        "source": "000 Table S1 [Amin 2016]*",
    },
    "D": {
        "model": "nmc811_D_oregan2022_scaled",
        "value": "8.71e-13 cm^2/s",
        "source": "000 Table S1 (SE) [Ruess 2020]*",
    },
    "i00": {"value": f"1.5392e-3 {I00_UNIT}", "source": "000 Table S1 (SE), calc. from [Ruess 2020]"},
    "alpha": {"value": "0.5", "source": ALPHA_NOTE},
    "density": {"value": "4.77 g/cm^3", "source": "000 Table S2 [Bielefeld 2022]"},
}

LPSCL_000 = {  # 000 Table S1 / S2
    "kind": "solid",
    "material": "Li6PS5Cl",
    "c0": {"value": "0.036662 mol/cm^3", "source": "000 Table S1 (calc.)"},
    "kappa": {"value": "0.7e-3 S/cm", "source": "000 Table S1 [Ruess 2020]"},
    "t_plus": {"value": "1", "source": "000 Table S1"},
    "density": {"value": "1.64 g/cm^3", "source": "000 Table S2 [Materials Project]"},
}

LIPF6_000 = {  # 000 Table S1 (LE) with the functional forms of PARAMETERS.md
    "kind": "liquid",
    "material": "1 M LiPF6 in EC:EMC 3:7",
    "c0": {"value": "1e-3 mol/cm^3", "source": "000 Table S1"},
    "kappa": {"model": "kappa_nyman2008", "value": "9.4e-3 S/cm", "source": "000 Table S1 [Nyman 2008]*"},
    "D": {"model": "D_nyman2008", "value": "3.79e-6 cm^2/s", "source": "000 Table S1 [Nyman 2008]*"},
    "t_plus": {
        "model": "seed_constant",
        "value": "0.25",
        "source": "000 Table S1 [Nyman 2008]* (fit: t_plus_landesfeind2019)",
    },
    "tdf": {
        "model": "seed_constant",
        "value": "1.85",
        "source": "000 Table S1 [Landesfeind 2019]* (fit: tdf_landesfeind2019)",
    },
    "density": {
        "value": "1.2 g/cm^3",
        "source": "approximate density of 1 M LiPF6 in EC:EMC (not from the seeds)",
    },
}

LLZO_002 = {  # 002 Table 1
    "kind": "solid",
    "material": "LLZO",
    "c0": {"value": "0.0384 mol/cm^3", "source": "002 Table 1 [Neumann 2021]"},
    "kappa": {"value": "7.69e-4 S/cm", "source": "002 Table 1 [Neumann 2021]"},
    "D": {
        "value": "5.36e-9 cm^2/s",
        "source": "002 Table 1 [Neumann 2021] (self-diffusion); not used: t+ = 1, constant concentration",
    },
    "t_plus": {"value": "1", "source": "002 Table 1"},
    "density": {"value": "5.1 g/cm^3", "source": "approximate density of cubic LLZO (not from the seeds)"},
}

GB_002 = {  # 002 Table 1
    "i_GB0": {"value": "6.91e-3 A/cm^2", "source": "002 Table 1 [Neumann 2021] (R_GB about 3.7 Ohm cm^2)"},
    "C_GB": {
        "value": "9.75e-9 F/cm^2",
        "source": "002 Table 1 [Neumann 2021] (GB double layer; time steps only, docs/discharge.md)",
    },
}

LCO_002 = {  # 002 Table 1 (003 Table 3 repeats the bulk values)
    "material": "LCO",
    "U0": {
        "model": "lco_ramadass2004",
        "source": "002 Table 1 [56]: 4.2 V at initial conditions (functional*)",
    },
    "c0": {"value": "0.027058 mol/cm^3", "source": "002 Table 1 [31]"},
    "c_max": {"value": "0.051555 mol/cm^3", "source": "002 Table 1 [57]"},
    "sigma": {"model": "seed_constant", "value": "4.47 S/cm", "source": "002 Table 1 [58] (Menetrier 1999)*"},
    "D": {"model": "seed_constant", "value": "8.48e-12 cm^2/s", "source": "002 Table 1 [59]*"},
    "i00": {"value": f"0.0116 {I00_UNIT}", "source": "002 Table 1, calc. from [54] (R_CT = 2600 Ohm cm^2)"},
    "alpha": {"value": "0.5", "source": "002 Table 1 [31]"},
    "density": {
        "value": "5.1 g/cm^3",
        "source": "PARAMETERS.md: about 5.1 g/cm^3 (secondary source, approximate)",
    },
}

SEP_SE = {"material": "SE", "porosity": {"value": "0"}, "kappa_factor": {"value": "1"}}

# --- the systems --------------------------------------------------------------------------------

SYSTEMS: dict[str, dict] = {}

SYSTEMS["NMC811_Li6PS5Cl"] = {
    "description": "NMC811 | Li6PS5Cl | Li metal, the ASSB case of seeds 000/001",
    "sources": [
        "000 Table S1 (SE and Li-metal blocks)",
        "000 Table S2 (densities)",
        "001 (binder-free ASSB)",
        "PARAMETERS.md (functional forms)",
    ],
    "temperature": ROOM_T,
    "cam": NMC811_000,
    "electrolyte": LPSCL_000,
    "anode": LI_000,
    "separator": {**SEP_SE, "thickness": {"value": "20 um", "source": "000 Table S1"}},
    "operation": {"cutoff_voltage": {"value": "3.0 V", "source": "000 Table S1"}},
}

SYSTEMS["NMC811_LiPF6"] = {
    "description": "NMC811 | 1 M LiPF6 in EC:EMC 3:7 (porous separator, CBD) | Li metal, LIB case of 000/001",
    "sources": [
        "000 Table S1 (LE and Li-metal blocks)",
        "000 Table S2",
        "001 (separator and CBD effective media)",
        "PARAMETERS.md (Nyman 2008, Landesfeind 2019)",
    ],
    "temperature": ROOM_T,
    "cam": {
        **NMC811_000,
        "D": {
            "model": "nmc811_D_oregan2022_scaled",
            "value": "1.63e-12 cm^2/s",
            "source": "000 Table S1 (LE)*",
        },
        "i00": {"value": f"2.402e-2 {I00_UNIT}", "source": "000 Table S1 (LE), calc. from [Ruess 2020]"},
    },
    "electrolyte": LIPF6_000,
    "anode": LI_000,
    "separator": {
        "material": "LE",
        "porosity": {"value": "0.5", "source": "001 (porous separator soaked with LE)"},
        "kappa_factor": {"value": "0.5", "source": "001 (effective = 50 % of bulk)"},
        "D_factor": {"value": "0.5", "source": "assumed equal to kappa_factor (001 gives kappa only)"},
        "thickness": {"value": "20 um", "source": "000 Table S1"},
    },
    "cbd": {
        "porosity": {"value": "0.5", "source": "001 [59, 60]"},
        "kappa_factor": {"value": "0.12", "source": "001 (effective = 12 % of bulk)"},
        "D_factor": {"value": "0.12", "source": "assumed equal to kappa_factor (001 gives kappa only)"},
        "density": {
            "value": "1.9 g/cm^3",
            "source": "approximate solid density of carbon black (1.8-2.1 g/cm^3) and PVDF (1.78 g/cm^3) "
            "(not from the seeds); the energy density counts it over 1 - porosity and the electrolyte "
            "in the pores over the porosity",
        },
    },
    "operation": {"cutoff_voltage": {"value": "3.0 V", "source": "000 Table S1"}},
}

SYSTEMS["LCO_LLZO"] = {
    "description": "LCO | LLZO with grain boundaries | Li metal (seed 002 Table 1)",
    "sources": ["002 Table 1", "PARAMETERS.md (Ramadass 2004 OCP; densities)"],
    "temperature": ROOM_T,
    "cam": LCO_002,
    "electrolyte": LLZO_002,
    "anode": {
        **LI_000,
        "sigma": {"value": "1 S/cm", "source": "002 Table 1"},
        "i0": {"value": "2.59e-2 A/cm^2", "source": "002 Table 1 [38]"},
    },
    "separator": {**SEP_SE, "thickness": {"value": "25 um", "source": "002 Table 1"}},
    "grain_boundary": GB_002,
    "operation": {
        "current_density": {"value": "1 mA/cm^2", "source": "002 Table 1"},
        "cutoff_voltage": {"value": "3.4 V", "source": "002 Table 1"},
    },
}

SYSTEMS["NMC811_LLZO"] = {
    "description": "NMC811 | LLZO with grain boundaries | Li metal (seed 002 Table 2; rest as Table 1)",
    "sources": [
        "002 Table 2 (NMC811)",
        "002 Table 1 (LLZO, Li metal, operation)",
        "000 Table S2 (NMC811 density)",
    ],
    "temperature": ROOM_T,
    "cam": {
        **NMC811_000,
        "U0": {"model": "nmc811_chen2020", "source": "002 Table 2 [36]: 4.2 V at initial conditions*"},
        "c0": {"value": "0.01131 mol/cm^3", "source": "002 Table 2 (calc.)"},
        "c_max": {"value": "0.04903 mol/cm^3", "source": "002 Table 2 (calc.)"},
        "sigma": {
            "model": "nmc811_sigma_nmc622_trend",
            "value": "8.83e-3 S/cm",
            "source": "002 Table 2 [52]*",
        },
        "D": {
            "model": "nmc811_D_oregan2022_scaled",
            "value": "8.71e-13 cm^2/s",
            "source": "002 Table 2 [53]*",
        },
        "i00": {"value": f"0.0116 {I00_UNIT}", "source": "002 Table 2, calc. from [54] (same as LCO)"},
    },
    "electrolyte": LLZO_002,
    "anode": SYSTEMS["LCO_LLZO"]["anode"],
    "separator": SYSTEMS["LCO_LLZO"]["separator"],
    "grain_boundary": GB_002,
    "operation": SYSTEMS["LCO_LLZO"]["operation"],
}


def _lco_003(i00: str, i00_src: str) -> dict:
    return {
        **LCO_002,
        "U0": {"model": "lco_ramadass2004", "source": "003 Table 3 [48]: 4.2 V at initial conditions*"},
        "c0": {"value": "0.027058 mol/cm^3", "source": "003 Table 3 [22]"},
        "c_max": {"value": "0.051555 mol/cm^3", "source": "003 Table 3 [49]"},
        "sigma": {"model": "seed_constant", "value": "4.47 S/cm", "source": "003 Table 3 [50]*"},
        "D": {"model": "seed_constant", "value": "8.48e-12 cm^2/s", "source": "003 Table 3 [51]*"},
        "i00": {"value": f"{i00} {I00_UNIT}", "source": i00_src},
        "alpha": {"value": "0.5", "source": "003 Table 3"},
    }


def _llzo_003(kappa: str, src: str) -> dict:
    return {
        "kind": "solid",
        "material": "LLZO:Ta",
        "c0": {"value": "0.0384 mol/cm^3", "source": "003 Table 3 [22]"},
        "kappa": {"value": f"{kappa} S/cm", "source": src},
        "t_plus": {"value": "1", "source": "003 Table 3"},
        "density": LLZO_002["density"],
    }


def _li_003(i0: str, src: str) -> dict:
    return {
        **LI_000,
        "sigma": {"value": "100 S/cm", "source": "003 Table 3 [22]"},
        "i0": {"value": f"{i0} A/cm^2", "source": src},
        "alpha": {"value": "0.5", "source": "003 Table 3"},
    }


_HT_SOURCES = [
    "003 Table 3 (HT: conventional sintering [Finsterbusch 2018])",
    "PARAMETERS.md (Ramadass 2004 OCP)",
]
SYSTEMS["LCO_LLZO_HT1"] = {
    "description": "LCO | LLZO:Ta, conventionally sintered, operated at 100 degC (seed 003 Table 3, HT1)",
    "sources": _HT_SOURCES,
    "temperature": {"value": "100 degC", "source": "003 Table 3 (HT1: operation at 100 degC)"},
    "cam": _lco_003("0.0981", "003 Table 3 (HT) [22]"),
    "electrolyte": _llzo_003("1.1e-2", "003 Table 3 (HT1) [22]"),
    "anode": _li_003("1e-3", "003 Table 3 (HT) [22]"),
    "separator": {**SEP_SE, "thickness": {"value": "500 um", "source": "003 Table 3 (HT) [22]"}},
    "operation": {
        "current_density": {"value": "0.1 mA/cm^2", "source": "003 Table 3 (HT) [22]"},
        "cutoff_voltage": {"value": "3.4 V", "source": "003 Table 3"},
    },
}
SYSTEMS["LCO_LLZO_HT2"] = {
    **SYSTEMS["LCO_LLZO_HT1"],
    "description": "LCO | LLZO:Ta, conventionally sintered, operated at 25 degC (seed 003 Table 3, HT2)",
    "temperature": {"value": "25 degC", "source": "003 Table 3 (HT2: operation at 25 degC)"},
    "electrolyte": _llzo_003("5.4e-4", "003 Table 3 (HT2) [22]"),
}
SYSTEMS["LCO_LLZO_LT"] = {
    "description": "LCO | LLZO:Ta sintered by FAST/SPS, operated at 80 degC (seed 003 Table 3, LT)",
    "sources": ["003 Table 3 (LT: FAST/SPS [Ihrig])", "PARAMETERS.md (Ramadass 2004 OCP)"],
    "temperature": {"value": "80 degC", "source": "003 Table 3 (LT: operation at 80 degC)"},
    "cam": _lco_003("0.1599", "003 Table 3 (LT), calc. [30]"),
    "electrolyte": _llzo_003("5.195e-4", "003 Table 3 (LT) [30]"),
    "anode": _li_003("1.2e-3", "003 Table 3 (LT), calc. [30]"),
    "separator": {**SEP_SE, "thickness": {"value": "400 um", "source": "003 Table 3 (LT) [30]"}},
    "operation": {
        "current_density": {"value": "0.05 mA/cm^2", "source": "003 Table 3 (LT) [30]"},
        "cutoff_voltage": {"value": "3.4 V", "source": "003 Table 3"},
    },
}

# Resistive film fitted in seed 003 Fig. 6: l_RF = 100 nm, sigma_RF = 1 S/cm, D_RF = 2e-13 cm^2/s at
# 100 degC and 1.55e-14 cm^2/s at 25 degC. The paper quotes E_A of about 0.04 eV, but these two
# values imply E_A = R ln(2e-13/1.55e-14) / (1/298.15 - 1/373.15) = 31.5 kJ/mol (0.33 eV); the
# value implied by the two fitted diffusivities is used, so each set reproduces its own D_RF.
FILM_E_A = "31.54 kJ/mol"


def _film(D: str, T_ref: str) -> dict:
    return {
        "l_cam": {"value": "100 nm", "source": "003 Fig. 6 (fitted)"},
        "sigma_cam": {"value": "1 S/cm", "source": "003 Fig. 6 (fitted)"},
        "D_cam": {
            "value": f"{D} cm^2/s",
            "arrhenius": {"E_A": FILM_E_A, "T_ref": T_ref},
            "source": "003 Fig. 6 (fitted); Arrhenius (003 Eq. 11), E_A implied by the 25/100 degC fits",
        },
        "l_se": {"value": "0 nm", "source": "003 Fig. 6 uses no degraded SE layer"},
        "kappa_se": {"value": "5.4e-4 S/cm", "source": "unused while l_se = 0 (bulk LLZO value)"},
    }


SYSTEMS["LCO_LLZO_HT1_film"] = {
    **SYSTEMS["LCO_LLZO_HT1"],
    "description": "HT1 with the resistive CAM film fitted in 003 Fig. 6 (100 degC)",
    "film": _film("2e-13", "100 degC"),
}
SYSTEMS["LCO_LLZO_HT2_film"] = {
    **SYSTEMS["LCO_LLZO_HT2"],
    "description": "HT2 with the resistive CAM film fitted in 003 Fig. 6 (25 degC)",
    "film": _film("1.55e-14", "25 degC"),
}

SYSTEMS["NMC622_bLPS"] = {
    "description": "NMC622 | beta-Li3PS4 | Li metal (seed 004 Table 1)",
    "sources": [
        "004 Table 1",
        "004 text (sigma and D end points of NMC622)",
        "PARAMETERS.md (MSMR OCP, densities)",
    ],
    "temperature": {"value": "25 degC", "source": "004 section 2.2 (cycling at 25 degC)"},
    "cam": {
        "material": "NMC622",
        "U0": {
            "model": "nmc622_msmr_verbrugge2017",
            "source": "004 Table 1: Eq. S4.3 (not in the seed text)*",
        },
        "c0": {"value": "0.021 mol/cm^3", "source": "004 Table 1 (calc.)"},
        "c_max": {"value": "0.0519 mol/cm^3", "source": "004 Table 1 (calc.)"},
        "sigma": {
            "model": "nmc622_sigma_loglinear",
            "source": "004 Table 1: Eq. S4.1; end points from 004 text*",
        },
        "D": {"model": "nmc622_D_loglinear", "source": "004 Table 1: Eq. S4.2; end points from 004 text*"},
        "i00": {
            "value": f"4.98e-4 {I00_UNIT}",
            "source": "004 Table 1 (calc.; printed unit 'A/cm2/mol1.5' read as A cm^2.5/mol^1.5)",
        },
        "alpha": {"value": "0.5", "source": "004 Table 1"},
        "density": {
            "value": "4.7 g/cm^3",
            "source": "PARAMETERS.md: about 4.7 g/cm^3 (secondary source, approximate)",
        },
    },
    "electrolyte": {
        "kind": "solid",
        "material": "beta-Li3PS4",
        "c0": {"value": "0.0103 mol/cm^3", "source": "004 Table 1 (calc.)"},
        "kappa": {"value": "1.20e-4 S/cm", "source": "004 Table 1 (measured)"},
        "D": {
            "value": "2.4e-9 cm^2/s",
            "source": "004 Table 1 (NMR self-diffusion); not used: t+ = 1, constant concentration",
        },
        "t_plus": {"value": "1", "source": "004 Table 1"},
        "tdf": {
            "value": "1.28",
            "source": "004 Table 1 (thermodynamic factor); not used: t+ = 1, constant concentration",
        },
        "density": {
            "value": "1.87 g/cm^3",
            "source": "approximate crystallographic density of beta-Li3PS4 (not from the seeds)",
        },
    },
    "anode": {
        **LI_000,
        "sigma": {"value": "10e2 S/cm", "source": "004 Table 1 (printed 10 * 10^2)"},
        "i0": {"value": "8.87e-4 A/cm^2", "source": "004 Table 1 (printed as i00 in A/cm^2)"},
        "alpha": {"value": "0.5", "source": "004 Table 1"},
        "U0": {"value": "0 V", "source": "004 Table 1"},
    },
    "separator": {**SEP_SE, "thickness": {"value": "425 um", "source": "004 Table 1 (measured)"}},
    "double_layer": {
        "cathode": {
            "value": "8e-7 F/cm^2",
            "source": "004 Table 1 (NMC622)",
        },
        "anode": {
            "value": "2e-7 F/cm^2",
            "source": "004 Table 1 (Li metal)",
        },
    },
    "operation": {
        "current_density": {"value": "0.178 mA/cm^2", "source": "004 section 2.2 (0.1C, 1.78 mAh/cm^2)"},
        "cutoff_voltage": {"value": "2.6 V", "source": "004 section 2.2"},
        "max_voltage": {
            "value": "4.3 V",
            "source": "004 section 2.2; not used (reference: a charge step's cut-off)",
        },
        "cathode_thickness": {
            "value": "40 um",
            "source": "004 Table 1 (measured); not used (reference: the structure)",
        },
    },
}

# --- CAM parameter sets for further CAM materials of one cell (materials.cams) -----------------
#: A case names one per CAM-class label: ``materials: {cams: {AL_LCO: {preset: Al-LCO}}}``
#: (docs/materials.md, "Several CAM materials"). Same keys as a system's ``cam`` section.
CAM_SETS: dict[str, dict] = {}

# Seed 003 section 4.3: Al from the LLZO:Al,Ta diffuses into the LCO from the CAM | SE interface;
# DFT (003 4.3.2) gives Li9Al1Co12O24: one Al on a Li site plus two Li removed for charge balance,
# so 9 of 12 Li sites remain (c_max 75 % of LCO) and D = 4.46e-14 cm^2/s (7.98e-12 for pristine
# LCO). The seed states nothing else about the phase: U0(x), sigma and i00 are those of the LT
# LCO, the initial stoichiometry x0 = c0/c_max is LCO's (the cell starts at rest, U0 equal in both
# phases), and the density scales with the formula mass at the LCO volume.
CAM_SETS["Al-LCO"] = {
    "material": "Al-LCO",
    "U0": {
        "model": "lco_ramadass2004",
        "source": "assumed: LCO's U0(x) (003 gives no Al-LCO OCP; x = c/c_max of Al-LCO)",
    },
    "c0": {
        "value": "0.0202935 mol/cm^3",
        "source": "0.75 x LCO c0 of 003 Table 3 (0.027058 mol/cm^3): LCO's x0 = 0.5248 (assumed)",
    },
    "c_max": {
        "value": "0.03866625 mol/cm^3",
        "source": "003 4.3.3: 75 % of LCO's c_max (0.051555 mol/cm^3, 003 Table 3); "
        "Li9Al1Co12O24 (003 4.3.2)",
    },
    "sigma": {"value": "4.47 S/cm", "source": "assumed: LCO's (003 Table 3 [50]); 003 gives none for Al-LCO"},
    "D": {
        "value": "4.46e-14 cm^2/s",
        "source": "003 4.3.2-4.3.3 (DFT); the fit to the cycling data is 6e-13 cm^2/s",
    },
    "i00": {"value": f"0.1599 {I00_UNIT}", "source": "assumed: LCO's, 003 Table 3 (LT), calc. [30]"},
    "alpha": {"value": "0.5", "source": "003 Table 3"},
    "density": {
        "value": "5.127 g/cm^3",
        "source": "LCO's 5.1 g/cm^3 x formula mass Li9AlCo12O24 / Li12Co12O24 = 1180.6 / 1174.5 "
        "(2.3 wt.% Al, 003 4.3.2)",
    },
}

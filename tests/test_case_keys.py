"""Every key a case or a preset accepts changes the result or is rejected at load time (issue 15).

The accepted keys are enumerated from the code, not from a hand list: the loader's key tables
(fem_assb.case.load), the material schema (fem_assb.materials.system.SCHEMA), the parameter-spec
keys (fem_assb.materials.spec), the generator signatures (fem_assb.structure.generate.KINDS),
the label-map format (fem_assb.structure.labels) and the sections of every built-in preset. A key
added to any of them makes test_every_accepted_key_is_classified fail until KEYS below says what
it does and how that is checked:

- ``Sim(changes, metrics)``: the perturbed tiny cell (a 6 x 4 x 4 composite, 20 s of discharge,
  direct solver) gives a summary whose ``metrics`` differ from the unperturbed one;
- ``Image(base, changed)``: the built image (labels, voxel size or grains) differs;
- ``Resolved(changes, getter)``: the resolved case (or its material table) differs where the
  getter looks: for keys whose effect on the simulation another key's Sim check already proves
  (e.g. a functional's ``table`` changes the function that cam.sigma's Sim check feeds through);
- ``Files(changes, check)``: the output files differ;
- ``Rejected(changes, issue)``: loading raises NotSupportedError naming roadmap issue ``issue``,
  or (issue None) an InputError saying the key has no effect in that case;
- ``Solver(note)``: reaches the solver object and is tested where that solver is (snes tests).
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from fem_assb.case import load as L
from fem_assb.case import resolve_case
from fem_assb.errors import InputError, NotSupportedError
from fem_assb.materials import presets, spec, system
from fem_assb.structure import generate, labels

DELETE = object()

# --- the tiny cell ------------------------------------------------------------------------------

GEN = {
    "kind": "composite",
    "shape": [6, 4, 4],
    "voxel_size": "0.5 um",
    "cam_fraction": 0.6,
    "se_fraction": 0.4,
    "d_cam": "1.5 um",
    "d_se": "1 um",
    "seed": 0,
}
BASE = {
    "name": "keys",
    "description": "tiny cell of the key walk",
    "structure": {"generator": GEN},
    "cell": {"separator": {"material": "SE", "thickness": "5 um"}, "li_metal": "2 um"},
    "materials": {"preset": "NMC811_Li6PS5Cl"},
    "operation": {
        "temperature": "25 degC",
        "steps": [
            {
                "kind": "discharge",
                "current_density": "5 mA/cm^2",
                "cutoff_voltage": "3.0 V",
                "duration": "20 s",
            }
        ],
    },
    "numerics": {"dt_initial": "5 s", "dt_max": "10 s", "linear_solver": "direct"},
    "outputs": {"fields": [], "plots": False},
}
STEP = BASE["operation"]["steps"][0]


def apply(raw: dict, changes: dict) -> dict:
    """A deep copy of ``raw`` with ``changes`` {dotted.path: value} (DELETE removes the key)."""
    out = copy.deepcopy(raw)
    for path, value in changes.items():
        node = out
        parts = path.split(".")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        last = parts[-1]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = copy.deepcopy(value)
        else:
            node[last] = copy.deepcopy(value)
    return out


# --- what each key does --------------------------------------------------------------------------


@dataclass
class Sim:
    changes: dict
    metrics: tuple = ("final_voltage_V",)
    base: dict = field(default_factory=dict)  # changes applied to BASE for both runs
    pending: str = ""  # the branch that makes it act (for the failure message)


@dataclass
class Image:
    base: dict  # generator keys, or (image=True) the keys of an image structure
    changed: dict
    image: bool = False


@dataclass
class Resolved:
    changes: dict
    get: object
    base: dict = field(default_factory=dict)


@dataclass
class Files:
    changes: dict
    check: object
    base: dict = field(default_factory=dict)  # changes applied to BASE for both runs


@dataclass
class Rejected:
    changes: dict
    issue: int | None  # roadmap issue of the NotSupportedError; None: InputError "no effect"
    base: dict = field(default_factory=dict)


@dataclass
class Solver:
    note: str


@dataclass
class Spectrum:
    """The impedance spectrum of the tiny cell (fem_assb.studies.impedance.run_impedance, no
    files) differs where ``get`` looks (frequencies, Z)."""

    changes: dict
    get: object
    base: dict = field(default_factory=dict)


M = "materials."
V = ("final_voltage_V",)
STEPS = ("time_steps", "simulated_time_s", "rejected_steps", "newton_iterations")
#: The film keys' base: seed 003 HT2 with its fitted film, D_cam raised so that the tiny cell's
#: 5 mA/cm^2 do not saturate it at once, and a 10 nm SE-side layer (so kappa_se acts).
FILM = {
    M + "preset": "LCO_LLZO_HT2_film",
    M + "film": {"D_cam": "1e-10 cm^2/s", "l_se": "10 nm"},
    "operation.steps.0.cutoff_voltage": "3.4 V",
}


#: Several CAM materials: shell.npy (CAM at y < 2 whose voxels at the SE, y = 1, are AL_LCO)
#: with seed 003 LT LCO and an AL_LCO entry in materials.cams equal to materials.cam.
SHELL = {
    "structure": {
        "image": "SHELL_IMAGE",
        "voxel_size": "0.5 um",
        "labels": {1: "CAM", 2: "SE", 3: {"material": "AL_LCO", "class": "CAM"}},
    },
    M + "preset": "LCO_LLZO_LT",
    M + "cams": {"AL_LCO": {}},
    "operation.steps.0.cutoff_voltage": "3.4 V",
}
CAMS = M + "cams.AL_LCO."
#: a linear U0 [V] at x = 0 and 1 of slope -1.2 V through LCO's U0(x0 = 0.52484) = 4.185480074 V
U0_AT_REST = [4.815285136574856, 3.6152851365748555]
#: c_max and c0 of an entry change together (equal x0 = c0 / c_max: the cell starts at rest)
CAMS_75 = {CAMS + "c_max": "0.03866625 mol/cm^3", CAMS + "c0": "0.0202935 mol/cm^3"}
#: The liquid tiny cell (docs/liquid.md): the LIB preset, an LE separator, the pores LE (no SE).
LIQ = {
    M + "preset": "NMC811_LiPF6",
    "cell.separator.material": "LE",
    "structure.generator.se_fraction": 0.0,
    "structure.generator.pore": "LE",
}
#: ... at 20 mA/cm^2 (the tiny cell's electrolyte polarizes: its transport keys show)
LIQ_FAST = {**LIQ, "operation.steps.0.current_density": "20 mA/cm^2"}
#: ... with a carbon-binder domain (20 vol% CBD of 1 um particles; docs/liquid.md)
LIQ_CBD = {**LIQ_FAST, "structure.generator.cbd_fraction": 0.2, "structure.generator.d_cbd": "1 um"}


def _separator(c):
    s = c.materials.separator
    return (s.material, s.porosity, c.cell.separator_material, c.cell.separator_porosity)


#: a two-point sweep of the tiny cell (its step lasts 20 s: 10 s and 20 s deliver different charges)
SWEEP = {"parameter": "operation.steps.0.duration", "values": ["10 s", "20 s"]}
SWEEP_BASE = {"operation.sweep": SWEEP}


IMP_BASE = {"impedance": {"frequencies": {"min": "1 Hz", "max": "100 Hz", "per_decade": 2}}}


def _freqs(result):
    return np.round(result.spectrum.frequency, 9).tolist()


def _sweep_table(out: Path):
    """(header, capacities) of a sweep's sweep.csv, None without one."""
    import csv

    path = out / "sweep.csv"
    if not path.is_file():
        return None
    rows = list(csv.DictReader(path.open()))
    return tuple(rows[0]), tuple(r["capacity_mAh_cm2"] for r in rows)


#: A generated structure with liquid-filled pores (20 % of the box), for structure.modify.replace.
_POROUS = {"pore": "LE", "se_fraction": 0.2}


def _gen(**kw):
    """Changes of the generator spec (structure.generator.<key>)."""
    return {f"structure.generator.{k}": v for k, v in kw.items()}


def _step(**kw):
    return {"operation.steps.0": {**STEP, **kw}}


def _fn(path, value):
    """A functional / constant spec written for cam.sigma (or ``path``)."""
    return {M + path: value}


def _sigma(raw_case):
    return raw_case.materials.cam.sigma.value_at(0.3, raw_case.temperature)


def _table(case):
    from fem_assb.materials.report import parameter_table

    return parameter_table(case.materials)


#: a tiny composite whose collector face holds several CAM footprints (collector_contact's seed)
_FACE = {"shape": [6, 12, 12], "cam_fraction": 0.4, "se_fraction": 0.6}

KEYS: dict[str, object] = {
    # top level
    "name": Resolved({"name": "other"}, lambda c: (c.name, c.outputs.folder)),
    "description": Resolved({"description": "other"}, lambda c: c.description),
    # structure: an image file
    "structure.image": Image({}, {"image": "b.npy"}, image=True),
    "structure.voxel_size": Image({}, {"voxel_size": "0.25 um"}, image=True),
    "structure.labels": Image({}, {"labels": {1: "SE", 2: "CAM"}}, image=True),
    # label-map entries (structure.labels: {value: {material, class, grain}})
    "label.material": Image({}, {"labels": {1: "CAM", 2: {"material": "CAM"}}}, image=True),
    # a CAM-class label with its own parameter set (materials.cams) vs the same voxels as SE
    "label.class": Sim(
        {
            "structure.labels": {1: "CAM", 2: "SE", 3: {"material": "AL_LCO", "class": "SE"}},
            M + "cams": DELETE,
        },
        base=SHELL,
    ),
    "label.grain": Image({}, {"labels": {1: "CAM", 2: {"material": "SE", "grain": 3}}}, image=True),
    # label-map files (structure.labels: FILE)
    "labelfile.voxel_size": Image(
        {"labels": "FILE"}, {"labels": "FILE", "file": {"voxel_size": "0.25 um"}}, image=True
    ),
    "labelfile.labels": Image(
        {"labels": "FILE"}, {"labels": "FILE", "file": {"labels": {1: "SE", 2: "CAM"}}}, image=True
    ),
    "labelfile.axes": Image({"labels": "FILE"}, {"labels": "FILE", "file": {"axes": "zyx"}}, image=True),
    "labelfile.grain_image": Image(
        {"labels": "FILE"}, {"labels": "FILE", "file": {"grain_image": "g.npy"}}, image=True
    ),
    "labelfile.raw": Image(
        {"labels": "FILE", "image": "a.raw", "file": {"raw": {"shape": [6, 4, 4], "dtype": "uint8"}}},
        {"labels": "FILE", "image": "a.raw", "file": {"raw": {"shape": [4, 4, 6], "dtype": "uint8"}}},
        image=True,
    ),
    "labelfile.dataset": Image(
        {"labels": "FILE", "image": "a.h5", "file": {"dataset": "a"}},
        {"labels": "FILE", "image": "a.h5", "file": {"dataset": "b"}},
        image=True,
    ),
    # generators (structure.generator.<kind>.<key>)
    "structure.generator.kind": Image({}, {"kind": "perforated", "radius": "1 um"}),
    "composite.shape": Image({}, {"shape": [6, 4, 6]}),
    "composite.voxel_size": Image({}, {"voxel_size": "0.4 um"}),
    "composite.cam_fraction": Image({}, {"cam_fraction": 0.5}),
    "composite.se_fraction": Image({}, {"se_fraction": 0.3}),
    "composite.cbd_fraction": Sim(_gen(cbd_fraction=0.2), base=LIQ_FAST),
    "composite.svf_cam": Image(
        {"cam_fraction": DELETE, "se_fraction": DELETE, "svf_cam": 0.6, "density": 0.9},
        {"cam_fraction": DELETE, "se_fraction": DELETE, "svf_cam": 0.5, "density": 0.9},
    ),
    "composite.density": Image(
        {"cam_fraction": DELETE, "se_fraction": DELETE, "svf_cam": 0.6, "density": 0.9},
        {"cam_fraction": DELETE, "se_fraction": DELETE, "svf_cam": 0.6, "density": 0.8},
    ),
    "composite.d_cam": Image({}, {"d_cam": "1 um"}),
    "composite.d_se": Image({}, {"d_se": "1.5 um"}),
    "composite.d_cbd": Sim(_gen(d_cbd="1.5 um"), base=LIQ_CBD),
    "composite.spread_cam": Image({}, {"spread_cam": 0.6}),
    "composite.spread_se": Image({}, {"spread_se": 0.6}),
    "composite.spread_cbd": Sim(_gen(spread_cbd=0.6), base=LIQ_CBD),
    "composite.seed": Image({}, {"seed": 1}),
    # grain segmentation (structure.segment.<key>, seed 002): the grain IDs of the built image
    "structure.segment.ids": Image(
        {"SEGMENT": {"ids": 2, "min_distance": 1}}, {"SEGMENT": {"ids": 8, "min_distance": 1}}
    ),
    "structure.segment.min_distance": Image(
        {"SEGMENT": {"min_distance": 1}}, {"SEGMENT": {"min_distance": 2}}
    ),
    "structure.segment.h": Image(  # grains large enough for h-maxima of different heights
        {"shape": [10, 8, 8], "d_se": "2 um", "SEGMENT": {"h": 0.3}},
        {"shape": [10, 8, 8], "d_se": "2 um", "SEGMENT": {"h": 1.0}},
    ),
    "structure.segment.seed": Image(
        {"SEGMENT": {"min_distance": 1}}, {"SEGMENT": {"min_distance": 1, "seed": 1}}
    ),
    "composite.periodic": Image({}, {"periodic": True}),
    "composite.pore": Sim(_gen(pore="PORE"), base=LIQ),
    "composite.packing": Image({"se_fraction": 0.3}, {"se_fraction": 0.3, "packing": 0.4}),
    "composite.overlap": Image({"se_fraction": 0.3}, {"se_fraction": 0.3, "overlap": 0.3}),
    "perforated.radius": Image(
        {"kind": "perforated", "radius": "1 um"}, {"kind": "perforated", "radius": "1.5 um"}
    ),
    "perforated.center": Image(
        {"kind": "perforated", "radius": "1 um"}, {"kind": "perforated", "radius": "1 um", "center": "center"}
    ),
    "perforated.fill": Image(
        {"kind": "perforated", "radius": "1 um"}, {"kind": "perforated", "radius": "1 um", "fill": "LE"}
    ),
    "layered.f_first": Image(
        {"kind": "layered", "f_first": 0.5, "first": {"cam_fraction": 0.7, "se_fraction": 0.3}, "second": {}},
        {"kind": "layered", "f_first": 0.2, "first": {"cam_fraction": 0.7, "se_fraction": 0.3}, "second": {}},
    ),
    "layered.first": Image(
        {"kind": "layered", "f_first": 0.5, "first": {"cam_fraction": 0.7, "se_fraction": 0.3}, "second": {}},
        {"kind": "layered", "f_first": 0.5, "first": {"cam_fraction": 0.4, "se_fraction": 0.6}, "second": {}},
    ),
    "layered.second": Image(
        {"kind": "layered", "f_first": 0.5, "first": {}, "second": {"cam_fraction": 0.7, "se_fraction": 0.3}},
        {"kind": "layered", "f_first": 0.5, "first": {}, "second": {"cam_fraction": 0.4, "se_fraction": 0.6}},
    ),
    "layered.reverse": Image(
        {"kind": "layered", "f_first": 0.5, "first": {"cam_fraction": 0.7, "se_fraction": 0.3}, "second": {}},
        {
            "kind": "layered",
            "f_first": 0.5,
            "first": {"cam_fraction": 0.7, "se_fraction": 0.3},
            "second": {},
            "reverse": True,
        },
    ),
    "layered.seed": Image(
        {"kind": "layered", "f_first": 0.5, "first": {}, "second": {}},
        {"kind": "layered", "f_first": 0.5, "first": {}, "second": {}, "seed": 5},
    ),
    # structure modifications (structure.modify: [{operation: value, option: ...}], in order)
    "structure.modify": Image({}, {"MODIFY": [{"crop_cc": 1}]}),
    "modify.crop": Image({}, {"MODIFY": [{"crop": "0:5,:,:"}]}),
    "modify.crop_cc": Image({}, {"MODIFY": [{"crop_cc": 2}]}),
    "modify.mirror_to": Image({}, {"MODIFY": [{"mirror_to": "4 um"}]}),
    "modify.coarsen": Image({}, {"MODIFY": [{"coarsen": 2}]}),
    "modify.channel": Image({}, {"MODIFY": [{"channel": "0.6 um"}]}),
    "modify.channel.center": Image(
        {"MODIFY": [{"channel": "0.6 um"}]}, {"MODIFY": [{"channel": "0.6 um", "center": "center"}]}
    ),
    "modify.channel.fill": Image(
        {"MODIFY": [{"channel": "0.6 um"}]}, {"MODIFY": [{"channel": "0.6 um", "fill": "LE"}]}
    ),
    "modify.delaminate": Image({}, {"MODIFY": [{"delaminate": 0.5}]}),
    "modify.delaminate.seed": Image(
        {"MODIFY": [{"delaminate": 0.5}]}, {"MODIFY": [{"delaminate": 0.5, "seed": 1}]}
    ),
    "modify.collector_contact": Image({}, {"MODIFY": [{"collector_contact": 0.1}]}),
    "modify.collector_contact.seed": Image(
        {**_FACE, "MODIFY": [{"collector_contact": 0.1}]},  # 5 CAM footprints on the collector face
        {**_FACE, "MODIFY": [{"collector_contact": 0.1, "seed": 1}]},
    ),
    "modify.remove_isolated": Image(
        {"shape": [10, 8, 8]}, {"shape": [10, 8, 8], "MODIFY": ["remove_isolated"]}
    ),
    "modify.shell": Image({}, {"MODIFY": [{"shell": "0.5 um"}]}),
    "modify.shell.material": Image(
        {"MODIFY": [{"shell": "0.5 um"}]}, {"MODIFY": [{"shell": "0.5 um", "material": "LCO_SHELL"}]}
    ),
    "modify.replace": Image(_POROUS, {**_POROUS, "MODIFY": [{"replace": "LE", "by": "SE"}]}),
    "modify.replace.by": Image(
        {**_POROUS, "MODIFY": [{"replace": "LE", "by": "SE"}]},
        {**_POROUS, "MODIFY": [{"replace": "LE", "by": "CAM"}]},
    ),
    # cell
    # SE -> LE needs a liquid electrolyte and an SE-free cathode: the liquid switch (LIQ's Sim checks)
    "cell.separator.material": Resolved(LIQ, _separator),
    "cell.separator.thickness": Sim({"cell.separator.thickness": "50 um"}),
    "cell.separator.porosity": Sim({"cell.separator.porosity": 0.2}, base=LIQ_FAST),
    "cell.separator.conductivity_factor": Sim(
        {"cell.separator.conductivity_factor": 0.1}, pending="physics (kappa_sep = factor * kappa)"
    ),
    "cell.li_metal": Sim({"cell.li_metal": "20 um"}, base={M + "anode.sigma": "1e-4 S/cm"}),
    "cell.anode_collector": Resolved({"cell.anode_collector": "5 um"}, lambda c: _layers(c)),
    "cell.cathode_collector": Resolved({"cell.cathode_collector": "5 um"}, lambda c: _layers(c)),
    "cell.max_cell_size": Resolved({"cell.max_cell_size": "0.6 um"}, lambda c: _layers(c)),
    "cell.growth": Resolved({"cell.growth": 1.05}, lambda c: _layers(c)),
    # the same periodic structure with its y, z sides joined instead of insulating
    "cell.lateral": Sim({"cell.lateral": "periodic"}, base=_gen(periodic="yz")),
    # materials
    # (which parameter set, at which temperature: each parameter's and operation.temperature's
    # Sim checks prove that the resolved system reaches the simulation)
    "materials.preset": Resolved(
        {M + "preset": "LCO_LLZO_HT2", "operation.steps.0.cutoff_voltage": "3.4 V"},
        lambda c: (c.materials.name, c.materials.cam.c_max),
    ),
    "materials.temperature": Resolved(
        {M + "temperature": "60 degC"}, lambda c: c.temperature, base={"operation.temperature": DELETE}
    ),
    "cam.material": Resolved({M + "cam.material": "NMC811 (other)"}, _table),
    "cam.c_max": Sim({M + "cam.c_max": "0.05 mol/cm^3"}),
    "cam.c0": Sim({M + "cam.c0": "0.0125 mol/cm^3"}),
    "cam.alpha": Sim({M + "cam.alpha": 0.3}),
    "cam.i00": Sim({M + "cam.i00": "1e-4 A*cm^2.5/mol^1.5"}),
    "cam.density": Sim(
        {M + "cam.density": "3 g/cm^3"}, ("energy_density_Wh_kg", "gravimetric_capacity_mAh_g")
    ),
    "cam.U0": Sim({M + "cam.U0": {"table": {"x": [0.0, 1.0], "value": [4.5, 3.5]}, "unit": "V"}}),
    "cam.sigma": Sim({M + "cam.sigma": "1e-5 S/cm"}),
    "cam.D": Sim({M + "cam.D": "1e-14 cm^2/s"}),
    # materials.cams: one entry per CAM-class label (docs/materials.md, "Several CAM materials")
    "materials.cams": Sim({M + "cams.AL_LCO": {"preset": "Al-LCO"}}, base=SHELL),
    "cams.preset": Sim({CAMS + "preset": "Al-LCO"}, base=SHELL),
    "cams.material": Resolved(
        {CAMS + "material": "LCO (Al)"}, lambda c: c.materials.cams["AL_LCO"].material, base=SHELL
    ),
    "cams.c_max": Sim(CAMS_75, ("theoretical_capacity_mAh_cm2",), base=SHELL),
    "cams.c0": Sim(CAMS_75, ("theoretical_capacity_mAh_cm2",), base=SHELL),
    "cams.alpha": Sim({CAMS + "alpha": 0.3}, base=SHELL),
    "cams.i00": Sim({CAMS + "i00": "1e-4 A*cm^2.5/mol^1.5"}, base=SHELL),
    "cams.density": Sim(
        {CAMS + "density": "3 g/cm^3"}, ("energy_density_Wh_kg", "gravimetric_capacity_mAh_g"), base=SHELL
    ),
    # another U0(x) through U0_LCO(x0) = 4.18548 V at the same x0 (the cell starts at rest): the
    # CAM | CAM law's local solve of continuity of U0 and the shell's own U0 at the SE
    "cams.U0": Sim({CAMS + "U0": {"table": {"x": [0.0, 1.0], "value": U0_AT_REST}, "unit": "V"}}, base=SHELL),
    "cams.sigma": Sim({CAMS + "sigma": "1e-7 S/cm"}, base=SHELL),
    "cams.D": Sim({CAMS + "D": "1e-14 cm^2/s"}, base=SHELL),
    "electrolyte.kind": Resolved(LIQ, lambda c: c.materials.electrolyte.kind),
    "electrolyte.material": Resolved({M + "electrolyte.material": "other"}, _table),
    "electrolyte.c0": Sim({M + "electrolyte.c0": "0.01 mol/cm^3"}),
    "electrolyte.density": Sim({M + "electrolyte.density": "3 g/cm^3"}, ("energy_density_Wh_kg",)),
    "electrolyte.kappa": Sim({M + "electrolyte.kappa": "1e-5 S/cm"}),
    "electrolyte.D": Sim({M + "electrolyte.D": "1e-7 cm^2/s"}, base=LIQ_FAST),
    "electrolyte.t_plus": Sim({M + "electrolyte.t_plus": 0.9}, base=LIQ_FAST),
    "electrolyte.tdf": Sim({M + "electrolyte.tdf": 3.0}, base=LIQ_FAST),
    "anode.material": Resolved({M + "anode.material": "other"}, _table),
    "anode.U0": Sim({M + "anode.U0": "0.1 V"}, pending="physics (Li | SE law with anode.U0)"),
    "anode.i0": Sim({M + "anode.i0": "1e-5 A/cm^2"}),
    "anode.alpha": Sim({M + "anode.alpha": 0.2}, pending="physics (Li | SE law with anode.alpha)"),
    "anode.sigma": Sim({M + "anode.sigma": "1e-4 S/cm"}),
    "anode.density": Rejected({M + "anode.density": "0.6 g/cm^3"}, None),
    "anode.capacity": Rejected({M + "anode.capacity": "3000 mAh/g"}, None),
    "separator.material": Resolved(LIQ, _separator),
    "separator.porosity": Sim({M + "separator.porosity": 0.2}, base=LIQ_FAST),
    "separator.kappa_factor": Sim(
        {M + "separator.kappa_factor": 0.1}, pending="physics (kappa_sep = factor * kappa)"
    ),
    "separator.D_factor": Sim({M + "separator.D_factor": 0.1}, base=LIQ_FAST),
    "separator.thickness": Sim({M + "separator.thickness": "50 um", "cell.separator.thickness": DELETE}),
    "cbd.porosity": Sim({M + "cbd.porosity": 0.3}, base=LIQ_CBD),
    "cbd.kappa_factor": Sim({M + "cbd.kappa_factor": 0.5}, base=LIQ_CBD),
    "cbd.D_factor": Sim({M + "cbd.D_factor": 0.5}, base=LIQ_CBD),
    "cbd.density": Sim({M + "cbd.density": "3 g/cm^3"}, ("energy_density_Wh_kg",), base=LIQ_CBD),
    "grain_boundary.i_GB0": Sim({M + "grain_boundary.i_GB0": "1e-5 A/cm^2"}, base={"GRAINS": True}),
    "grain_boundary.C_GB": Sim({M + "grain_boundary.C_GB": "1 F/cm^2"}, base={"GRAINS": True}),
    # the resistive film ([003], MODEL §3) on the LCO cell of FILM (a film that does not saturate
    # the tiny cell at 5 mA/cm^2): each key changes the voltage
    "film.l_cam": Sim({M + "film.l_cam": "200 nm"}, base=FILM),
    "film.sigma_cam": Sim({M + "film.sigma_cam": "1e-4 S/cm"}, base=FILM),
    "film.D_cam": Sim({M + "film.D_cam": "3e-11 cm^2/s"}, base=FILM),
    "film.l_se": Sim({M + "film.l_se": "20 nm"}, base=FILM),
    "film.kappa_se": Sim({M + "film.kappa_se": "1e-7 S/cm"}, base=FILM),
    "double_layer.cathode": Sim({M + "double_layer.cathode": "1 F/cm^2"}),
    # In a case run every step starts from the steady state (the quasi-static solve leaves the
    # double layers out) and the Li | SE overpotential stays constant at a constant current, so
    # the Li double layer carries (almost) no current there: its effect is the transient after a
    # current step, tests/test_double_layer.py (API time steps). Here: it reaches the system.
    "double_layer.anode": Resolved(
        {M + "double_layer.anode": "1 F/cm^2"}, lambda c: getattr(c.materials.double_layer, "anode", None)
    ),
    "operation.current_density": Resolved(
        {M + "operation.current_density": "0.5 mA/cm^2"},
        lambda c: c.operation.steps[0].current_density,
        base={M + "preset": "LCO_LLZO_HT1", "operation.steps": DELETE, "operation.temperature": DELETE},
    ),
    "operation.cutoff_voltage": Resolved(
        {M + "operation.cutoff_voltage": "3.6 V"},
        lambda c: c.operation.steps[0].cutoff_voltage,
        base={M + "preset": "LCO_LLZO_HT1", "operation.steps": DELETE, "operation.temperature": DELETE},
    ),
    "operation.max_voltage": Rejected({M + "operation.max_voltage": "4.4 V"}, None),
    "operation.cathode_thickness": Rejected({M + "operation.cathode_thickness": "40 um"}, None),
    # parameter specs (materials.<section>.<param>: {...}); their effect on the simulation is the
    # parameter's own Sim check above, so these check the function or value they build.
    "functional.value": Resolved(_fn("cam.sigma", {"value": "1e-3 S/cm"}), _sigma),
    "functional.model": Resolved(_fn("cam.sigma", {"model": "seed_constant", "value": "1e-3 S/cm"}), _sigma),
    "functional.expr": Resolved(_fn("cam.sigma", {"expr": "1e-3 * (1 + x)", "unit": "S/cm"}), _sigma),
    "functional.table": Resolved(
        _fn("cam.sigma", {"table": {"x": [0, 1], "value": [1e-3, 2e-3]}, "unit": "S/cm"}), _sigma
    ),
    "functional.csv": Resolved(_fn("cam.sigma", {"csv": "SIGMA_CSV", "unit": "S/cm"}), _sigma),
    "functional.unit": Resolved(
        _fn("cam.sigma", {"table": {"x": [0, 1], "value": [1e-3, 2e-3]}, "unit": "S/m"}),
        _sigma,
        base=_fn("cam.sigma", {"table": {"x": [0, 1], "value": [1e-3, 2e-3]}, "unit": "S/cm"}),
    ),
    "functional.c_unit": Resolved(
        _fn("electrolyte.kappa", {"expr": "1e-4 * (1 + c)", "unit": "S/cm", "c_unit": "mol/m^3"}),
        lambda c: c.materials.electrolyte.kappa.value_at(c.materials.electrolyte.c0),
        base=_fn("electrolyte.kappa", {"expr": "1e-4 * (1 + c)", "unit": "S/cm"}),
    ),
    "functional.interpolate": Resolved(
        _fn(
            "cam.sigma", {"table": {"x": [0, 1], "value": [1e-4, 1e-2]}, "unit": "S/cm", "interpolate": "log"}
        ),
        _sigma,
        base=_fn("cam.sigma", {"table": {"x": [0, 1], "value": [1e-4, 1e-2]}, "unit": "S/cm"}),
    ),
    "functional.extension": Resolved(
        _fn(
            "cam.sigma",
            {"table": {"x": [0.1, 0.6], "value": [1e-3, 2e-3]}, "unit": "S/cm", "extension": "linear"},
        ),
        lambda c: c.materials.cam.sigma.value_at(0.9, c.temperature),
        base=_fn("cam.sigma", {"table": {"x": [0.1, 0.6], "value": [1e-3, 2e-3]}, "unit": "S/cm"}),
    ),
    "functional.arrhenius": Resolved(
        _fn("cam.sigma", {"value": "1e-3 S/cm", "arrhenius": {"E_A": "30 kJ/mol", "T_ref": "60 degC"}}),
        _sigma,
        base=_fn("cam.sigma", {"value": "1e-3 S/cm"}),
    ),
    "functional.source": Resolved(
        _fn("cam.sigma", {"value": "8.83e-3 S/cm", "source": "my lab"}),
        _table,
        base=_fn("cam.sigma", {"value": "8.83e-3 S/cm"}),
    ),
    "constant.value": Resolved(
        _fn("cam.i00", {"value": "1e-3 A*cm^2.5/mol^1.5"}), lambda c: c.materials.cam.i00
    ),
    "constant.arrhenius": Resolved(
        _fn("cam.i00", {"arrhenius": {"E_A": "30 kJ/mol", "T_ref": "60 degC"}}), lambda c: c.materials.cam.i00
    ),
    "constant.source": Resolved(
        _fn("cam.i00", {"value": "1e-3 A*cm^2.5/mol^1.5", "source": "my lab"}),
        _table,
        base=_fn("cam.i00", {"value": "1e-3 A*cm^2.5/mol^1.5"}),
    ),
    "arrhenius.E_A": Resolved(
        _fn("cam.i00", {"arrhenius": {"E_A": "40 kJ/mol", "T_ref": "60 degC"}}),
        lambda c: c.materials.cam.i00,
        base=_fn("cam.i00", {"arrhenius": {"E_A": "30 kJ/mol", "T_ref": "60 degC"}}),
    ),
    "arrhenius.T_ref": Resolved(
        _fn("cam.i00", {"arrhenius": {"E_A": "30 kJ/mol", "T_ref": "80 degC"}}),
        lambda c: c.materials.cam.i00,
        base=_fn("cam.i00", {"arrhenius": {"E_A": "30 kJ/mol", "T_ref": "60 degC"}}),
    ),
    # operation
    "operation.temperature": Sim({"operation.temperature": "60 degC"}),
    "operation.sweep": Files({"operation.sweep": SWEEP}, lambda out: _sweep_table(out)),
    "sweep.parameter": Files(
        {"operation.sweep.parameter": "numerics.dt_max"}, lambda out: _sweep_table(out), base=SWEEP_BASE
    ),
    "sweep.values": Files(
        {"operation.sweep.values": ["10 s", "15 s"]}, lambda out: _sweep_table(out), base=SWEEP_BASE
    ),
    "sweep.grid": Files(
        {"operation.sweep": {"grid": [SWEEP, {"parameter": "operation.temperature", "values": ["25 degC"]}]}},
        lambda out: _sweep_table(out),
        base=SWEEP_BASE,
    ),
    "sweep.concurrent": Solver(
        "the number of rank groups: tests/test_sweep.py runs concurrent 2 under mpirun -n 2 (the same "
        "rows as the serial sweep, sweep.json ranks_per_point 1) and sees the error on 1 rank"
    ),
    "step.kind": Sim(_step(kind="charge", cutoff_voltage="4.5 V")),
    "step.current_density": Sim(_step(current_density="2 mA/cm^2")),
    "step.c_rate": Sim(
        {"operation.steps.0": {k: v for k, v in {**STEP, "c_rate": 1.0}.items() if k != "current_density"}}
    ),
    "step.cutoff_voltage": Sim(_step(cutoff_voltage="3.5 V"), ("simulated_time_s", "final_voltage_V")),
    "step.duration": Sim(_step(duration="10 s"), ("simulated_time_s",)),
    # numerics: the steps, iterations and solver choices of the run
    "numerics.dt_initial": Sim({"numerics.dt_initial": "0.5 s"}, STEPS),
    "numerics.dt_min": Sim({"numerics.dt_min": "8 s"}, STEPS, base={"numerics.dt_initial": "10 s"}),
    "numerics.dt_max": Sim({"numerics.dt_max": "0.2 s"}, STEPS, base={"numerics.dt_initial": "0.2 s"}),
    "numerics.max_voltage_step": Sim({"numerics.max_voltage_step": "5 mV"}, STEPS),
    "numerics.max_stoichiometry_step": Sim({"numerics.max_stoichiometry_step": 0.01}, STEPS),
    "numerics.linear_solver": Sim(
        {"numerics.linear_solver": "iterative"}, ("linear_solver", "linear_iterations")
    ),
    # at 0.02 mA/cm^2: the half-cell surface correction (now solved to convergence) admits at
    # most about 0.1 A/m^2 per facet on these 0.5 um NMC811 voxels, below the default current
    "numerics.surface_iterations": Sim(
        {"numerics.surface_iterations": 1},
        ("surface_iterations",) + V,
        base=_step(current_density="0.02 mA/cm^2"),
    ),
    "newton.phi_tol": Sim({"numerics.newton.phi_tol": "1 mV"}, ("newton_iterations",)),
    "newton.x_tol": Sim({"numerics.newton.x_tol": 1e-3}, ("newton_iterations",)),
    "newton.max_iterations": Sim({"numerics.newton.max_iterations": 4}, STEPS),
    "numerics.petsc_options": Solver(
        "added by the snes branch: passed under the solver's options prefix; tests/test_snes*.py "
        "sets -snes_max_it 1 and sees the failure reason"
    ),
    # outputs
    "outputs.folder": Files({"outputs.folder": "FOLDER"}, lambda out: (out / "summary.json").is_file()),
    "outputs.fields": Files(
        {"outputs.fields": ["phi", "c", "x", "utilization", "material", "grain", "current"]},
        lambda out: _bp_names(out),
    ),
    "outputs.field_interval": Files(
        {"outputs.fields": ["phi"], "outputs.field_interval": 1}, lambda out: _bp_size(out)
    ),
    "outputs.plots": Files({"outputs.plots": True}, lambda out: (out / "voltage.png").is_file()),
    "outputs.checkpoint_interval": Files({"outputs.checkpoint_interval": 1}, lambda out: _checkpoints(out)),
    "outputs.render": Files(
        {"outputs.fields": ["x"], "outputs.render": {"times": ["end"], "fields": ["x"]}},
        lambda out: sorted(p.name for p in out.glob("render_*.png")),
    ),
    # impedance (fem-assb impedance; the physics: tests/test_impedance.py)
    "impedance.frequencies": Spectrum({"impedance.frequencies": {"min": "1 Hz", "max": "10 Hz"}}, _freqs),
    "frequencies.min": Spectrum({"impedance.frequencies.min": "10 Hz"}, _freqs, base=IMP_BASE),
    "frequencies.max": Spectrum({"impedance.frequencies.max": "1 kHz"}, _freqs, base=IMP_BASE),
    "frequencies.per_decade": Spectrum({"impedance.frequencies.per_decade": 3}, _freqs, base=IMP_BASE),
    # the solver changes Z at the rounding floor (~1e-5 on the tiny cell) and says so in the summary
    "impedance.solver": Spectrum(
        {"impedance.solver": "iterative"}, lambda r: r.summary["solver"], base=IMP_BASE
    ),
    "impedance.state": Spectrum(
        {"impedance.state": "after_steps"},
        lambda r: np.round(r.spectrum.Z, 12).tolist(),
        base={**IMP_BASE, "operation.steps": [STEP, {"kind": "rest", "duration": "20 s"}]},
    ),
}

#: A study case (fem_assb.case.study): the 2-point sweep with a study section; its keys reach the
#: report (tests/test_study.py checks the report's content), here the resolved study.
STUDY = {
    "title": "t",
    "source": "s",
    "label": "as written",
    "notes": ["n"],
    "variants": [{"name": "v", "label": "l", "set": {"cell.li_metal": "1 um"}}],
    "paper": [
        {
            "quantity": "q",
            "figure": "f",
            "value": 1,
            "ours": {"metric": "capacity_mAh_cm2", "where": {"operation.steps.0.duration": "20 s"}},
        }
    ],
}
STUDY_BASE = {"operation.sweep": SWEEP, "study": STUDY}
OURS = "study.paper.0.ours"


def _study(changes: dict, get):
    return Resolved(changes, lambda c: get(c.study), base=STUDY_BASE)


KEYS.update(
    {
        "study.title": _study({"study.title": "u"}, lambda s: s.title),
        "study.source": _study({"study.source": "u"}, lambda s: s.source),
        "study.label": _study({"study.label": "u"}, lambda s: s.variants[0].label),
        "study.notes": _study({"study.notes": ["m"]}, lambda s: s.notes),
        "study.ranks_per_point": _study({"study.ranks_per_point": 2}, lambda s: s.ranks_per_point),
        "study.plot": _study({"study.plot": ["normalized_capacity", "mean_utilization"]}, lambda s: s.plot),
        "study.variants": _study({"study.variants": []}, lambda s: [v.name for v in s.variants]),
        "study.paper": _study({"study.paper": STUDY["paper"] * 2}, lambda s: [c.quantity for c in s.paper]),
        "variant.name": _study({"study.variants.0.name": "w"}, lambda s: s.variants[1].name),
        "variant.label": _study({"study.variants.0.label": "m"}, lambda s: s.variants[1].label),
        "variant.set": _study(
            {"study.variants.0.set": {"cell.li_metal": "3 um"}}, lambda s: s.variants[1].case.cell.li_metal
        ),
        "variant.sweep": _study(
            {"study.variants.0.sweep": {**SWEEP, "values": ["20 s"]}},
            lambda s: len(s.variants[1].case.operation.sweep.points),
        ),
        "paper.quantity": _study({"study.paper.0.quantity": "r"}, lambda s: s.paper[0].quantity),
        "paper.figure": _study({"study.paper.0.figure": "g"}, lambda s: s.paper[0].figure),
        "paper.value": _study({"study.paper.0.value": 2}, lambda s: s.paper[0].value),
        "paper.ours": _study({OURS: None}, lambda s: s.paper[0].ours),
        "ours.metric": _study({OURS + ".metric": "final_voltage_V"}, lambda s: s.paper[0].ours.metric),
        "ours.variant": _study({OURS + ".variant": "v"}, lambda s: s.paper[0].ours.variant),
        "ours.where": _study(
            {OURS + ".where": {"operation.steps.0.duration": "10 s"}}, lambda s: s.paper[0].ours.where
        ),
        "ours.minus": _study(
            {OURS + ".minus": {"operation.steps.0.duration": "10 s"}}, lambda s: s.paper[0].ours.minus
        ),
        "ours.relative": _study(
            {OURS + ".minus": {"operation.steps.0.duration": "10 s"}, OURS + ".relative": True},
            lambda s: s.paper[0].ours.relative,
        ),
        "ours.reduce": _study({OURS + ".reduce": "max"}, lambda s: s.paper[0].ours.reduce),
        "ours.over": _study(
            {OURS + ".reduce": "argmax", OURS + ".over": "operation.steps.0.duration", OURS + ".where": {}},
            lambda s: s.paper[0].ours.over,
        ),
    }
)

#: perforated and layered pass the composite keywords on (to the composite, or to both layers):
#: each such key gets the composite key's check, on that generator.
OWN_BASE = {
    "perforated": {"kind": "perforated", "radius": "1 um"},
    "layered": {"kind": "layered", "f_first": 0.5, "first": {}, "second": {}},
}


def _alias(kind: str, composite_check):
    own = OWN_BASE[kind]
    if isinstance(composite_check, Rejected):
        return Rejected({**_gen(**own), **composite_check.changes}, composite_check.issue)
    if isinstance(composite_check, Sim):  # the same change on this kind's own base
        return Sim(composite_check.changes, composite_check.metrics, {**_gen(**own), **composite_check.base})
    return Image({**own, **composite_check.base}, {**own, **composite_check.changed})


# perforated.pore: its channel takes the image's one electrolyte (or fill, and fill: LE is #17),
# so the liquid base's change (pore: PORE leaves none) does not apply: the image check instead
KEYS["perforated.pore"] = Image(
    {**OWN_BASE["perforated"], "se_fraction": 0.2, "cam_fraction": 0.5, "fill": "SE"},
    {**OWN_BASE["perforated"], "se_fraction": 0.2, "cam_fraction": 0.5, "fill": "SE", "pore": "LE"},
)
for _kind in OWN_BASE:
    for _p in inspect.signature(generate.KINDS[_kind]).parameters:
        if f"{_kind}.{_p}" not in KEYS and f"composite.{_p}" in KEYS:
            KEYS[f"{_kind}.{_p}"] = _alias(_kind, KEYS[f"composite.{_p}"])

#: Preset entries that are reference data of the seeds and reach nothing yet: their source in the
#: parameter table (`fem-assb materials show`) must say so; a case override of them is rejected.
REFERENCE_DATA = {
    ("electrolyte", "D"),
    ("electrolyte", "tdf"),
    ("anode", "density"),
    ("anode", "capacity"),
    ("operation", "max_voltage"),
    ("operation", "cathode_thickness"),
}
#: Preset sections of a phase not built yet: parameters only while a structure has none of that
#: phase (its voxels and generator keys are rejected), every override rejected. None since the
#: CBD (#17) is built.
REJECTING_SECTIONS: dict[str, int] = {}


# --- enumeration of every accepted key ------------------------------------------------------------


def accepted_keys() -> set[str]:
    """Every key a case accepts, in the naming of KEYS, enumerated from the code's tables."""
    from fem_assb.case import study
    from fem_assb.structure import operations

    keys = {k for k in L.TOP_KEYS if k in ("name", "description")}
    containers = {"structure", "cell", "materials", "operation", "numerics", "outputs", "study", "impedance"}
    assert set(L.TOP_KEYS) == containers | {"name", "description"}, "a new top-level section: classify it"
    keys |= {f"structure.{k}" for k in L.IMAGE_KEYS}
    keys |= {f"label.{k}" for k in ("material", "class", "grain")}
    keys |= {f"labelfile.{k}" for k in labels._TOP_KEYS}
    keys.add("structure.generator.kind")
    keys |= {f"structure.segment.{k}" for k in L.SEGMENT_KEYS}
    keys.add("structure.modify")
    for op, spec_ in operations.OPERATIONS.items():
        keys |= {f"modify.{op}"} | {f"modify.{op}.{o}" for o in spec_.options}
    keys |= {f"modify.{op}" for op in operations.NOT_SUPPORTED}
    keys |= {f"study.{k}" for k in study.STUDY_KEYS}
    keys |= {f"variant.{k}" for k in study.VARIANT_KEYS}
    keys |= {f"paper.{k}" for k in study.PAPER_KEYS}
    keys |= {f"ours.{k}" for k in study.OURS_KEYS}
    for kind, func in generate.KINDS.items():
        keys |= {f"{kind}.{p}" for p in inspect.signature(func).parameters}
    keys |= {f"cell.{k}" for k in L.CELL_KEYS if k != "separator"}
    keys |= {f"cell.separator.{k}" for k in L.SEPARATOR_KEYS}
    keys |= {"materials.preset", "materials.temperature"}
    for section, params in system.SCHEMA.items():
        keys |= {f"{section}.{p}" for p in params}
    keys.add("materials.cams")
    keys |= {f"cams.{p}" for p in (*system.CAM_SET_KEYS, *system.SCHEMA["cam"])}
    keys |= {f"functional.{k}" for k in spec.FUNCTIONAL_KEYS}
    keys |= {f"constant.{k}" for k in spec.CONSTANT_KEYS}
    keys |= {f"arrhenius.{k}" for k in spec.ARRHENIUS_KEYS}
    keys |= {f"operation.{k}" for k in L.OPERATION_KEYS if k != "steps"}
    keys |= {f"sweep.{k}" for k in L.SWEEP_KEYS}
    keys |= {f"step.{k}" for k in L.STEP_KEYS}
    keys |= {f"numerics.{k}" for k in L.NUMERICS_KEYS if k != "newton"}
    keys |= {f"newton.{k}" for k in L.NEWTON_KEYS}
    keys |= {f"outputs.{k}" for k in L.OUTPUT_KEYS}
    keys |= {f"impedance.{k}" for k in L.IMPEDANCE_KEYS}
    keys |= {f"frequencies.{k}" for k in L.FREQUENCY_KEYS}
    return keys


#: Classified keys that need not exist yet (added by another branch of issue 15).
NOT_YET_MERGED = {"numerics.petsc_options"}


def test_every_accepted_key_is_classified():
    keys = accepted_keys()
    missing = sorted(keys - set(KEYS))
    assert not missing, f"accepted keys without a check in KEYS (effect or rejection): {missing}"
    stale = sorted(set(KEYS) - keys - NOT_YET_MERGED)
    assert not stale, f"KEYS lists keys the code no longer accepts: {stale}"
    # the preset sections and top keys are schema keys too
    for name, data in presets.SYSTEMS.items():
        assert set(data) <= system.TOP_KEYS, name
        for section, params in data.items():
            if isinstance(params, dict) and section in system.SCHEMA:
                assert set(params) <= set(system.SCHEMA[section]), (name, section)


# --- runners ------------------------------------------------------------------------------------

_RUNS: dict[str, dict] = {}


def _run_case(case, outdir):
    try:
        from fem_assb.studies.run import run_case
    except ImportError:
        from fem_assb.studies.discharge import run_case
    return run_case(case, outdir, quiet=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    _write_images(d)
    return d


def _resolve(raw, workdir):
    raw = _with_grains(raw, workdir)
    return resolve_case(raw, base_dir=workdir)


def _with_grains(raw, workdir):
    """GRAINS: a 6 x 4 x 4 image, CAM and SE columns, the SE in two grains (a grain boundary
    across the ionic path), with the LCO_LLZO preset (grain boundaries)."""
    if not raw.pop("GRAINS", False):
        return raw
    raw["structure"] = {
        "image": str(workdir / "grains.npy"),
        "voxel_size": "0.5 um",
        "labels": {1: "CAM", 2: {"material": "SE", "grain": 1}, 3: {"material": "SE", "grain": 2}},
    }
    preset = raw["materials"].get("preset")
    if "grain_boundary" not in presets.SYSTEMS.get(preset, {}):
        raw["materials"] = {**raw["materials"], "preset": "LCO_LLZO"}
    raw["operation"]["steps"][0]["cutoff_voltage"] = "3.4 V"
    return raw


def summary(raw, workdir) -> dict:
    key = json.dumps(raw, sort_keys=True, default=str)
    if key not in _RUNS:
        out = workdir / f"run{len(_RUNS)}"
        _RUNS[key] = _run_case(_resolve(copy.deepcopy(raw), workdir), out)
    return _RUNS[key]


def _write_images(d: Path):
    a = np.ones((6, 4, 4), dtype=np.uint8)
    a[:, 2:] = 2
    b = a.copy()
    b[:3, :2] = 2
    np.save(d / "a.npy", a)
    np.save(d / "b.npy", b)
    np.save(d / "g.npy", np.where(a == 2, 4, 0).astype(np.int32))  # one grain: no grain boundary
    a.tofile(d / "a.raw")
    import h5py

    with h5py.File(d / "a.h5", "w") as f:
        f["a"] = a
        f["b"] = b
    g = np.ones((6, 4, 4), dtype=np.int32)
    g[:, 2:] = 2
    g[3:, 2:] = 3
    np.save(d / "grains.npy", g)
    shell = a.copy()
    shell[:, 1] = 3  # the CAM voxels at the SE: the AL_LCO shell of SHELL
    np.save(d / "shell.npy", shell)
    (d / "sigma.csv").write_text("x,value\n0,1e-3\n1,3e-3\n")


def _image(changes: dict, workdir: Path, image: bool):
    """The built image: of the generator spec GEN with ``changes``, or (``image``) of an image
    structure with the keys ``image`` (default a.npy), ``voxel_size``, ``labels`` (a mapping, or
    FILE: a label-map file holding the ``file`` keys)."""
    import yaml

    changes = dict(changes)
    segment = changes.pop("SEGMENT", None)
    modify = changes.pop("MODIFY", None)
    if modify is not None:  # structure.modify on the generated cell
        raw = apply(BASE, {**_gen(**changes), "structure.modify": modify})
        return _resolve(raw, workdir).structure.build()
    if segment is not None:  # structure.segment on the generated cell, with grain boundaries
        raw = apply(BASE, {**_gen(**changes), "structure.segment": segment, M + "preset": "LCO_LLZO"})
        raw["operation"]["steps"][0]["cutoff_voltage"] = "3.4 V"
        return _resolve(raw, workdir).structure.build()
    if not image:
        return _resolve(apply(BASE, _gen(**changes)), workdir).structure.build()
    st = {
        "image": str(workdir / changes.get("image", "a.npy")),
        "voxel_size": changes.get("voxel_size", "0.5 um"),
    }
    lab = changes.get("labels", {1: "CAM", 2: "SE"})
    if lab == "FILE":
        file = {"labels": {1: "CAM", 2: "SE"}, **changes.get("file", {})}
        if "voxel_size" in file:
            st.pop("voxel_size")
        path = workdir / f"map{len(list(workdir.glob('map*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(file))
        lab = str(path)
    st["labels"] = lab
    return _resolve({**copy.deepcopy(BASE), "structure": st}, workdir).structure.build()


def _same_image(a, b) -> bool:
    from fem_assb.structure.analysis import class_mask

    ga = a.grain_ids()
    gb = b.grain_ids()
    return (
        a.shape == b.shape
        and a.voxel_size == b.voxel_size
        and np.array_equal(a.mask("CAM"), b.mask("CAM"))
        and np.array_equal(a.mask("SE"), b.mask("SE"))
        and np.array_equal(class_mask(a, ("LE",)), class_mask(b, ("LE",)))
        and np.array_equal(ga, gb)
        and _faces(a) == _faces(b)
        and np.array_equal(_names(a), _names(b))
    )


def _names(image) -> np.ndarray:
    """The material name of every voxel (a second CAM material is class CAM too)."""
    values = np.array(sorted(image.label_map.materials))
    names = np.array([image.label_map.materials[v].name for v in values])
    return names[np.searchsorted(values, image.labels)]


def _faces(image):
    """The inactive (delaminated) faces as a comparable value (None without any)."""
    if image.inactive_faces is None:
        return None
    return tuple(np.flatnonzero(f).tolist() for f in image.inactive_faces)


def _layers(case):
    from fem_assb.meshing.virtual_cell_grid import virtual_cell_grid

    grid, _ = virtual_cell_grid(case.cell.virtual_cell(case.structure.build()))
    return tuple(np.round(np.asarray(grid.x_edges) * 1e9, 3)) + tuple(np.unique(grid.material).tolist())


def _bp(out: Path) -> Path:
    found = sorted(out.glob("*.bp"))
    assert found, f"no fields written in {out}: {sorted(p.name for p in out.iterdir())}"
    return found[0]


def _bp_names(out: Path):
    """The field names in the VTX metadata (None when no fields were written)."""
    if not list(out.glob("*.bp")):
        return None
    text = b"".join(p.read_bytes() for p in _bp(out).iterdir() if p.is_file())
    return tuple(
        n
        for n in ("phi", "c", "x", "utilization", "material", "grain", "current")
        if re.search(rb"\b" + n.encode() + rb"\b", text)
    )


def _checkpoints(out: Path):
    """The checkpoints a run wrote (summary.json; the folder goes when the run completes) and
    tests/test_checkpoint.py resumes from them."""
    return json.loads((out / "summary.json").read_text()).get("checkpoints", {}).get("written", 0)


def _bp_size(out: Path):
    if not list(out.glob("*.bp")):
        return None
    return sum(p.stat().st_size for p in _bp(out).iterdir() if p.is_file())


# --- the checks -----------------------------------------------------------------------------------


def _ids(kind):
    return [k for k, v in KEYS.items() if isinstance(v, kind)]


def _prepare(changes: dict, workdir: Path) -> dict:
    out = {}
    for k, v in changes.items():
        files = {"SIGMA_CSV": "sigma.csv", "SHELL_IMAGE": "shell.npy"}
        if isinstance(v, str) and v in files:
            v = str(workdir / files[v])
        if isinstance(v, dict):
            v = {
                kk: (str(workdir / files[vv]) if isinstance(vv, str) and vv in files else vv)
                for kk, vv in v.items()
            }
        if v == "FOLDER":
            v = str(workdir / "folder_out")
        out[k] = v
    return out


@pytest.mark.parametrize("key", _ids(Sim))
def test_key_changes_the_simulation(key, workdir):
    check = KEYS[key]
    base = apply(BASE, _prepare(check.base, workdir))
    if check.base.get("GRAINS"):
        base["GRAINS"] = True
    changed = apply(base, _prepare(check.changes, workdir))
    s0, s1 = summary(base, workdir), summary(changed, workdir)
    differ = [
        m
        for m in check.metrics
        if s0[m] != s1[m]
        and not (isinstance(s0[m], float) and abs(s1[m] - s0[m]) <= 1e-9 * max(abs(s0[m]), 1e-30))
    ]
    hint = f" (made to act by the {check.pending} branch)" if check.pending else ""
    assert differ, (
        f"{key}: perturbing it changed none of {check.metrics}{hint}: "
        f"{[(m, s0[m], s1[m]) for m in check.metrics]}"
    )


@pytest.mark.parametrize("key", _ids(Image))
def test_key_changes_the_structure(key, workdir):
    check = KEYS[key]
    a = _image(_prepare(check.base, workdir), workdir, check.image)
    b = _image(_prepare(check.changed, workdir), workdir, check.image)
    assert not _same_image(a, b), f"{key}: the built image did not change"


@pytest.mark.parametrize("key", _ids(Resolved))
def test_key_changes_the_resolved_case(key, workdir):
    check = KEYS[key]
    base = apply(BASE, _prepare(check.base, workdir))
    changed = apply(base, _prepare(check.changes, workdir))
    v0, v1 = check.get(_resolve(base, workdir)), check.get(_resolve(changed, workdir))
    assert v0 != v1, f"{key}: the resolved case did not change ({v0!r})"


@pytest.mark.parametrize("key", _ids(Spectrum))
def test_key_changes_the_spectrum(key, workdir):
    from fem_assb.studies.impedance import run_impedance

    check = KEYS[key]
    base = apply(BASE, check.base)
    changed = apply(base, check.changes)
    v0, v1 = (check.get(run_impedance(_resolve(r, workdir), quiet=True)) for r in (base, changed))
    assert v0 != v1, f"{key}: the impedance spectrum did not change"


@pytest.mark.parametrize("key", _ids(Files))
def test_key_changes_the_files(key, workdir, tmp_path):
    check = KEYS[key]
    changes = _prepare(check.changes, workdir)
    base = apply(BASE, {"outputs.folder": str(tmp_path / "base"), **check.base})
    changed = apply(base, changes)
    outs = []
    for n, raw in enumerate((base, changed)):
        case = _resolve(raw, workdir)
        out = case.outputs.folder if key == "outputs.folder" else tmp_path / f"out{n}"
        _run_case(case, None if key == "outputs.folder" else out)
        outs.append(check.check(Path(out)))
    if key == "outputs.folder":
        assert outs[1] and (Path(changes["outputs.folder"]) / "summary.json").is_file()
    else:
        assert outs[0] != outs[1], f"{key}: the written files did not change ({outs[0]!r})"


@pytest.mark.parametrize("key", _ids(Rejected))
def test_key_is_rejected_at_load(key, workdir):
    check = KEYS[key]
    changes = dict(check.changes)
    raw = apply(BASE, _prepare(check.base, workdir))
    if check.base.get("GRAINS"):
        raw["GRAINS"] = True
    if changes.get("structure") == "IMAGE":
        changes.pop("structure")
        raw["structure"] = {"image": str(workdir / "a.npy"), "voxel_size": "0.5 um"}
    raw = apply(raw, changes)
    if check.issue is None:
        with pytest.raises(InputError, match="has no effect") as err:
            _resolve(raw, workdir)
        assert not isinstance(err.value, NotSupportedError)
    else:
        with pytest.raises(
            NotSupportedError, match=rf"not supported yet \(roadmap issue #{check.issue}, "
        ) as err:
            _resolve(raw, workdir)
        assert str(err.value).endswith("."), str(err.value)


def test_rejected_keys_name_themselves(workdir):
    """The message names the key (the path a user wrote), not just the physics."""
    raw = apply(BASE, {M + "electrolyte.tdf": 1.5})
    with pytest.raises(NotSupportedError, match=r"^materials\.electrolyte\.tdf: "):
        _resolve(raw, workdir)


# --- presets --------------------------------------------------------------------------------------


def _preset_keys():
    for name, data in presets.SYSTEMS.items():
        for section, params in data.items():
            if isinstance(params, dict) and section in system.SCHEMA:
                for p in params:
                    yield name, section, p


def _liquid_preset(name) -> bool:
    return presets.SYSTEMS[name]["electrolyte"]["kind"] == "liquid"


def test_every_preset_key_is_classified():
    """Every entry of every preset that loads acts (its override has an effect check), or is
    reference data whose source says it is not used (the presets that cannot load are
    test_presets_whose_physics_is_missing_fail_at_load)."""
    from fem_assb.materials import get_system

    for name, section, p in _preset_keys():
        key = f"{section}.{p}"
        liquid = _liquid_preset(name)
        if section in REJECTING_SECTIONS:  # a phase not built yet: its overrides are rejected
            assert isinstance(KEYS[key], Rejected) and KEYS[key].issue == REJECTING_SECTIONS[section], key
        elif liquid and section in ("electrolyte", "separator", "cbd"):  # the liquid's keys act (LIQ)
            assert isinstance(KEYS[key], (Sim, Resolved)), f"{name}: {key} is {type(KEYS[key]).__name__}"
        elif (section, p) in REFERENCE_DATA:
            src = str(presets.SYSTEMS[name][section][p].get("source", ""))
            assert "not used" in src, f"{name}: {key} reaches nothing; its source must say 'not used'"
        elif key == "electrolyte.t_plus":  # the single-ion conductor's value, the one used
            s = get_system(name)
            assert s.electrolyte.t_plus.value_at(s.electrolyte.c0) == 1.0, name
        elif (section, p) in {("electrolyte", "kind"), ("separator", "material"), ("separator", "porosity")}:
            s = get_system(name)  # solid, SE, 0: the cell of the Sim checks
            assert (s.electrolyte.kind, s.separator.material, s.separator.porosity) == ("solid", "SE", 0.0)
        else:
            check = KEYS[key]
            assert isinstance(check, (Sim, Resolved)), (
                f"{name}: {key} is {type(check).__name__}, not an effect"
            )
    # the top keys: temperature is materials.temperature; description and sources head the table
    from fem_assb.materials.report import parameter_table

    assert set(system.TOP_KEYS) - set(system.SCHEMA) == {"description", "sources", "temperature", "cams"}
    for name, data in presets.SYSTEMS.items():
        table = parameter_table(get_system(name))
        assert data["description"] in table and all(src in table for src in data["sources"]), name


@pytest.mark.parametrize("name", list(presets.SYSTEMS))
def test_presets_whose_physics_is_missing_fail_at_load(name, workdir):
    data = presets.SYSTEMS[name]
    raw = apply(BASE, {M + "preset": name, "operation": {"steps": [{**STEP, "cutoff_voltage": "2.6 V"}]}})
    liquid = data["electrolyte"]["kind"] == "liquid"
    if liquid:  # loads with an LE separator and an SE-free cathode (docs/liquid.md)
        with pytest.raises(InputError, match=r"cell\.separator\.material = 'SE' does not fit the liquid"):
            _resolve(raw, workdir)
        ok = apply(raw, {k: v for k, v in LIQ.items() if k != M + "preset"})
        assert _resolve(ok, workdir).materials.name == name
        cbd = _resolve(apply(ok, _gen(cbd_fraction=0.2, d_cbd="1 um")), workdir)  # the CBD (#17)
        assert cbd.materials.cbd is not None
    elif "grain_boundary" in data:
        # grain boundaries need grains: without them the section has no effect; with an image
        # that has them, or with structure.segment, the preset loads
        with pytest.raises(InputError, match="grain_boundary has no effect") as err:
            _resolve(raw, workdir)
        assert not isinstance(err.value, NotSupportedError)
        ok = apply(raw, {})
        ok["GRAINS"] = True
        ok["materials"] = {"preset": name}
        assert _resolve(ok, workdir).materials.grain_boundary is not None
        seg = apply(raw, {"structure.segment": {"ids": 8}})
        assert _resolve(seg, workdir).structure.segment == {"k": 8, "min_distance": 3}
    else:
        assert _resolve(raw, workdir).materials.name == name


def test_film_free_variant_of_a_film_preset_loads(workdir):
    raw = apply(
        BASE,
        {M + "preset": "LCO_LLZO_HT2_film", M + "film": None, "operation.steps.0.cutoff_voltage": "3.4 V"},
    )
    assert _resolve(raw, workdir).materials.film is None


# --- shipped cases --------------------------------------------------------------------------------

CASES = Path(__file__).resolve().parents[1] / "cases"
#: seed cases whose physics is not built yet, and the roadmap issue their load error names
REJECTED_CASES: dict[str, int] = {}


@pytest.mark.parametrize("path", sorted(CASES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_cases_load_or_say_what_is_missing(path):
    from fem_assb.case import load_case

    if path.name in REJECTED_CASES:
        with pytest.raises(
            NotSupportedError, match=rf"not supported yet \(roadmap issue #{REJECTED_CASES[path.name]}, "
        ):
            load_case(path)
    else:
        assert load_case(path).materials.name


# --- keys whose effect depends on the rest of the case ---------------------------------------------

CONDITIONAL = [
    ({M + "anode.sigma": "1 S/cm", "cell.li_metal": "0 um"}, "anode.sigma has no effect without a Li metal"),
    ({M + "operation.current_density": "1 mA/cm^2"}, "has no effect when operation.steps is given"),
    ({M + "temperature": "40 degC"}, "materials.temperature has no effect when operation.temperature"),
    (
        {M + "grain_boundary": {"i_GB0": "1 A/cm^2"}},
        r"grain_boundary has no effect.*structure.segment.*grain_boundary: null",
    ),
    ({**FILM, M + "film": {"kappa_se": "1 S/cm"}}, r"materials\.film\.kappa_se has no effect"),
    ({**FILM, M + "film": {"l_cam": "0 nm", "D_cam": "1e-9 cm^2/s"}}, r"film\.D_cam has no effect"),
    ({**LIQ, **_gen(d_cbd="1 um")}, r"structure\.generator\.d_cbd has no effect without a carbon-binder"),
    ({**LIQ, M + "cbd": {"porosity": 0.4}}, r"materials\.cbd has no effect: the structure has no carbon"),
    (
        {"cell.lateral": "periodic", **_gen(periodic="y")},
        r"structure\.generator\.periodic = 'y' but cell\.lateral is periodic.*periodic: yz",
    ),
]


@pytest.mark.parametrize("changes,message", CONDITIONAL, ids=[m[:40] for _, m in CONDITIONAL])
def test_keys_without_effect_in_this_case_are_rejected(changes, message, workdir):
    with pytest.raises(InputError, match=message):
        _resolve(apply(BASE, changes), workdir)


def test_grain_ids_without_grain_boundary_parameters_are_rejected(workdir):
    """SE grains in the image but no grain_boundary section: the boundaries would conduct nothing."""
    raw = apply(BASE, {"GRAINS": True, M + "grain_boundary": None})
    with pytest.raises(InputError, match="grain boundaries would conduct nothing"):
        _resolve(raw, workdir)

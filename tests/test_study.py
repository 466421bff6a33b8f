"""Seed studies (issue 19): `fem-assb study --list`, every study case of cases/studies/ loads and
builds, the report is read from sweep.csv with the paper's numbers beside ours, bad study
sections and structure.modify entries are clean errors, structure.modify changes the image."""

from __future__ import annotations

import copy
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from discharge_cells import tiny_case

from fem_assb.case import load_case, resolve_case
from fem_assb.cli import main
from fem_assb.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted((ROOT / "cases" / "studies").glob("*.yaml"))
DUR = "operation.steps.0.duration"


def tiny_study(name: str = "tiny_study") -> dict:
    """A 2-point sweep of the tiny cell (10 s and 20 s of discharge) with a study section: a
    variant with a thinner separator and three comparisons of the three kinds."""
    raw = tiny_case(name)
    raw["operation"]["sweep"] = {"parameter": DUR, "values": ["10 s", "20 s"]}
    raw["study"] = {
        "title": "A tiny study",
        "source": "[000] Fig. 0",
        "notes": ["a deviation stated in the report"],
        "variants": [
            {"name": "thin", "label": "thin separator", "set": {"cell.separator.thickness": "2 um"}}
        ],
        "paper": [
            {
                "quantity": "capacity after 20 s",
                "figure": "[000] Fig. 1",
                "value": "0.0271 mAh/cm^2",
                "ours": {"metric": "capacity_mAh_cm2", "where": {DUR: "20 s"}},
            },
            {
                "quantity": "energy-density gain of 20 s over 10 s",
                "figure": "[000] Fig. 2",
                "value": "+90 %",
                "ours": {
                    "metric": "energy_density_Wh_kg",
                    "reduce": "max",
                    "relative": True,
                    "minus": {DUR: "10 s"},
                },
            },
            {
                "quantity": "duration of the highest energy density, thin separator",
                "figure": "[000] Fig. 3",
                "value": "20 s",
                "ours": {
                    "metric": "energy_density_Wh_kg",
                    "variant": "thin",
                    "reduce": "argmax",
                    "over": DUR,
                },
            },
        ],
    }
    return raw


def _write(raw: dict, folder: Path, name: str = "tiny_study") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def _table_line(report: str, first_cell: str, section: str) -> list[str]:
    """The cells of the table row starting with ``first_cell`` below the heading ``section``."""
    part = report.split(section, 1)[1]
    for line in part.splitlines():
        if line.startswith(f"| {first_cell} |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row {first_cell!r} under {section!r}:\n{part}")


# --- the command -----------------------------------------------------------------------------------


def test_study_list_lists_every_study_yaml(capsys):
    assert len(STUDIES) >= 4
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    for path in STUDIES:
        title = yaml.safe_load(path.read_text())["study"]["title"]
        assert any(line.startswith(path.stem) and title in line for line in out), (path.stem, out)
    assert len(out) == len(STUDIES)


def test_unknown_study_names_the_known_ones(capsys):
    assert main(["study", "seed001_layerd"]) == 1
    err = capsys.readouterr().err
    assert "no study 'seed001_layerd' (did you mean 'seed001_layered'?)" in err and "--list" in err


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_study_case_loads_and_builds(path, capsys):
    """fem-assb check builds the case as written (the run's checks); every variant's sweep and
    every comparison are resolved at load time."""
    assert main(["check", str(path), "--no-materials"]) == 0
    assert f"{path}: OK" in capsys.readouterr().out
    case = load_case(path)
    study = case.study
    assert study.variants[0].case is case and study.paper
    for v in study.variants:
        assert v.case.operation.sweep.points, v.name
        assert v.case.operation.sweep.concurrent == 1  # the command sets it from the ranks
    assert all(c.ours is not None for c in study.paper), "a comparison without our number"


# --- the report ------------------------------------------------------------------------------------


def test_report_of_a_tiny_study(tmp_path, capsys):
    """The report's tables hold the numbers of sweep.csv, the comparisons ours computed from
    them beside the paper's values, the measured wall time and the command; --report-only
    writes the same report again from the files."""
    path = _write(tiny_study(), tmp_path)
    out = tmp_path / "out"
    assert main(["study", str(path), "-o", str(out), "-q"]) == 0
    report = (out / "tiny_study.md").read_text()
    main_rows = _rows(out / "main" / "sweep.csv")
    thin_rows = _rows(out / "thin" / "sweep.csv")
    assert [r["status"] for r in main_rows + thin_rows] == ["ok"] * 4
    # the points' tables: the numbers of sweep.csv
    for rows, section in ((main_rows, "### as written"), (thin_rows, "### thin separator")):
        for r in rows:
            cells = _table_line(report, r[DUR], section)
            assert float(cells[1]) == pytest.approx(float(r["capacity_mAh_cm2"]), rel=1e-3)
            assert float(cells[5]) == pytest.approx(float(r["energy_density_Wh_kg"]), rel=1e-3)
            assert cells[-1] == "ok"
    # the comparisons, computed here from sweep.csv
    cap20 = float(main_rows[1]["capacity_mAh_cm2"])
    e10, e20 = (float(r["energy_density_Wh_kg"]) for r in main_rows)
    best = max((float(r["energy_density_Wh_kg"]), r[DUR]) for r in thin_rows)[1]
    section = "## Ours beside the paper"
    c = _table_line(report, "capacity after 20 s", section)
    assert c[1:3] == ["0.0271 mAh/cm^2", "[000] Fig. 1"] and c[3] == f"{cap20:.4g} mAh/cm^2"
    c = _table_line(report, "energy-density gain of 20 s over 10 s", section)
    assert c[1] == "+90 %" and c[3] == f"{100 * (e20 - e10) / e10:.4g} % (at duration = 20 s)"
    c = _table_line(report, "duration of the highest energy density, thin separator", section)
    assert c[3].startswith(f"{best} (")
    # what was run: resolution, wall time, command, notes, plot
    info = json.loads((out / "study.json").read_text())
    assert f"**{info['wall_time_s']:.0f} s**" in report
    assert info["command"] in report and "study tiny_study" in info["command"]
    assert "6 x 4 x 4 voxels of 0.5 um" in report and "a deviation stated in the report" in report
    png = out / "tiny_study_0.png"
    assert "](tiny_study_0.png)" in report and png.stat().st_size < 200_000
    # the same report again from the files only
    (out / "tiny_study.md").unlink()
    capsys.readouterr()
    assert main(["study", str(path), "-o", str(out), "--report-only"]) == 0
    assert (out / "tiny_study.md").read_text() == report


def test_resume_runs_the_variants_a_stopped_study_had_not_begun(tmp_path):
    """A study stopped between its variants (here: the second one's folder removed) goes on with
    --resume: the finished variant's points are kept as they are, the one not begun runs."""
    path = _write(tiny_study(), tmp_path)
    out = tmp_path / "out"
    assert main(["study", str(path), "-o", str(out), "-q"]) == 0
    main_summary = (out / "main" / "000_duration=10s" / "summary.json").read_text()
    main_rows, thin_rows = _rows(out / "main" / "sweep.csv"), _rows(out / "thin" / "sweep.csv")
    shutil.rmtree(out / "thin")
    assert main(["study", str(path), "-o", str(out), "-q", "--resume"]) == 0
    # the finished variant is kept, not run again
    assert (out / "main" / "000_duration=10s" / "summary.json").read_text() == main_summary
    cap = [r["capacity_mAh_cm2"] for r in _rows(out / "main" / "sweep.csv")]
    assert cap == [r["capacity_mAh_cm2"] for r in main_rows]
    again = _rows(out / "thin" / "sweep.csv")
    assert [r["status"] for r in again] == ["ok", "ok"]
    assert [r["capacity_mAh_cm2"] for r in again] == [r["capacity_mAh_cm2"] for r in thin_rows]


def test_report_only_without_results_says_so(tmp_path, capsys):
    path = _write(tiny_study(), tmp_path)
    assert main(["study", str(path), "-o", str(tmp_path / "none"), "--report-only"]) == 1
    assert "run the study first" in capsys.readouterr().err


def test_sections_swept_as_values_are_categories_in_the_plots():
    """A sweep of whole lists (structure.modify) is plotted on a categorical axis with short
    labels, not read as numbers; quantities keep a numeric axis in the unit of the first."""
    from fem_assb.studies.report import _axis

    x, label, ticks = _axis("structure.modify", ["[]", '[{"delaminate":0.5,"seed":0}]'])
    assert list(x) == [0, 1] and label == "modify" and ticks == ["none", "delaminate:0.5, seed:0"]
    x, label, ticks = _axis("operation.steps.0.current_density", ["1 mA/cm^2", "40 A/m^2"])
    assert ticks is None and np.allclose(x, [1, 4]) and "mA" in label


@pytest.mark.mpi
def test_study_on_two_ranks_gives_the_serial_rows(shared_tmp_path):
    """Under mpirun the points run one per rank; the rows equal the serial sweep's."""
    from mpi4py import MPI

    import fem_assb

    comm = MPI.COMM_WORLD
    path = _write(tiny_study(), shared_tmp_path) if comm.rank == 0 else None
    path = comm.bcast(path, root=0)
    out = shared_tmp_path / "out"
    assert main(["study", str(path), "-o", str(out), "-q"]) == 0
    serial = None
    if comm.rank == 0:
        raw = tiny_study()
        raw.pop("study")
        serial = fem_assb.Sweep(raw, comm=MPI.COMM_SELF).run().rows
        summary = json.loads((out / "main" / "sweep.json").read_text())
        assert json.loads((out / "study.json").read_text())["ranks"] == comm.size
        assert summary["concurrent"] == comm.size
        for a, b in zip(summary["rows"], serial, strict=True):  # full precision
            for k in ("capacity_mAh_cm2", "energy_density_Wh_kg", "final_voltage_V"):
                assert a[k] == b[k], (a["point"], k)
    comm.barrier()


# --- bad study sections ------------------------------------------------------------------------------


def _ours(**kw) -> dict:
    raw = tiny_study()
    raw["study"]["paper"][0]["ours"] = {**raw["study"]["paper"][0]["ours"], **kw}
    return raw


@pytest.mark.parametrize(
    "raw,message",
    [
        (
            _ours(metric="capacity_mAh_cm"),
            r"metric 'capacity_mAh_cm' is unknown \(did you mean 'capacity_mAh_cm2'\?\)",
        ),
        (_ours(where={DUR: "30 s"}), r"duration = '30 s' is not one of the swept values"),
        (_ours(where={"cell.li_metal": "1 um"}), "'cell.li_metal' is not swept in variant main"),
        (_ours(where={}), "reduce = value needs one point; where leaves operation.steps.0.duration free"),
        (_ours(reduce="argmax"), "reduce = argmax needs over"),
        (_ours(reduce="maximum"), r"reduce 'maximum' is unknown \(did you mean 'max'"),
        (_ours(relative=True), "relative has no effect without minus"),
        (_ours(variant="thick"), r"variant 'thick' is unknown \(did you mean 'thin'\?\)"),
        (_ours(wher={DUR: "20 s"}), r"unknown key 'wher' .*did you mean 'where'"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_comparisons_are_clean_errors(raw, message):
    with pytest.raises(InputError, match=message):
        resolve_case(raw)


def _study(**kw) -> dict:
    raw = tiny_study()
    for k, v in kw.items():
        raw["study"][k] = v
    return raw


@pytest.mark.parametrize(
    "raw,message",
    [
        (_study(titel="x"), r"unknown key 'titel' in study \(did you mean 'title'\?\)"),
        (_study(paper=[]), "study.paper must be a non-empty list"),
        (_study(variants=[{"name": "main", "set": {"cell.li_metal": "1 um"}}]), "'main' is given twice"),
        (_study(variants=[{"name": "a b", "set": {"cell.li_metal": "1 um"}}]), "must be a plain name"),
        (_study(variants=[{"name": "v", "set": {"cell.li_metl": "1 um"}}]), r"variants\[0\] \(v\).*li_metl"),
        (_study(ranks_per_point=0), "ranks_per_point = 0 must be an integer >= 1"),
        (_study(plot=["normalised_capacity", "mean_utilization"]), r"did you mean 'normalized_capacity'"),
        (_study(plot=["normalized_capacity"]), "study.plot must list two indicators"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_study_sections_are_clean_errors(raw, message):
    with pytest.raises(InputError, match=message):
        resolve_case(raw)


def test_a_study_needs_a_sweep_and_sets_its_own_concurrency():
    raw = tiny_study()
    raw["operation"].pop("sweep")
    with pytest.raises(InputError, match="the case has no operation.sweep"):
        resolve_case(raw)
    raw = tiny_study()
    raw["operation"]["sweep"]["concurrent"] = 2
    with pytest.raises(InputError, match="concurrent has no effect in a study"):
        resolve_case(raw)


# --- structure.modify --------------------------------------------------------------------------------


def _built(modify, shape=(8, 6, 6)) -> object:
    raw = tiny_case("modify", shape=shape)
    if modify is not None:
        raw["structure"]["modify"] = modify
    return resolve_case(raw).structure.build()


def test_structure_modify_changes_the_built_image():
    base = _built(None)
    cropped = _built([{"crop_cc": 2}])
    assert cropped.shape == (6, 6, 6)
    assert np.array_equal(cropped.labels, base.labels[:6])
    delaminated = _built([{"delaminate": 0.5, "seed": 3}])
    assert base.inactive_faces is None and delaminated.inactive_faces is not None
    n_faces = sum(int(f.sum()) for f in delaminated.inactive_faces)
    assert n_faces > 0 and np.array_equal(delaminated.labels, base.labels)
    other_seed = _built([{"delaminate": 0.5, "seed": 4}])
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(delaminated.inactive_faces, other_seed.inactive_faces, strict=True)
    )
    # in order: crop first, then limit the contact of the new collector face
    both = _built([{"crop_cc": 1}, {"collector_contact": 0.1, "seed": 0}])
    assert both.shape == (7, 6, 6)
    assert int(both.mask("CAM")[-1].sum()) == round(0.1 * 36)
    assert np.array_equal(both.labels[:-1], base.labels[:6])
    channel = _built([{"channel": "1.2 um"}])
    assert channel.mask("CAM").sum() < base.mask("CAM").sum() and not channel.mask("CAM")[:, 0, 0].any()


def test_structure_modify_shell_and_replace():
    """shell: the CAM voxels next to the SE become the second CAM material (class CAM, a new
    label); replace: every voxel of one material becomes another (seed 001's ASSB twin)."""
    from scipy import ndimage

    base = _built(None)
    shell = _built([{"shell": "0.5 um", "material": "AL_LCO"}])
    al = shell.mask("AL_LCO")
    se = base.mask("SE")
    next_to_se = ndimage.binary_dilation(se) & base.mask("CAM")  # face neighbours of the SE
    assert al.any() and np.array_equal(al, next_to_se)
    assert np.array_equal(shell.mask("CAM"), base.mask("CAM"))  # class CAM: both materials
    liquid = _built([{"replace": "SE", "by": "LE"}])
    assert not liquid.mask("SE").any() and np.array_equal(liquid.mask("LE"), se)
    assert np.array_equal(liquid.mask("CAM"), base.mask("CAM"))


def test_collector_contact_keeps_whole_particle_footprints():
    from scipy import ndimage

    base = _built(None, shape=(8, 12, 12))
    face = base.mask("CAM")[-1]
    target = 0.25
    out = _built([{"collector_contact": target, "seed": 1}], shape=(8, 12, 12))
    kept = out.mask("CAM")[-1]
    assert int(kept.sum()) == round(target * face.size) and not (kept & ~face).any()
    labels, n = ndimage.label(face)
    partial = [c for c in range(1, n + 1) if 0 < (kept & (labels == c)).sum() < (labels == c).sum()]
    assert len(partial) <= 1  # whole clusters, the last one cut to the target
    with pytest.raises(InputError, match=r"collector face holds CAM on .* less than the 99.0 % asked"):
        _built([{"collector_contact": 0.99}], shape=(8, 12, 12))


def test_structure_modify_acts_in_a_run(tmp_path):
    """The modification reaches the simulation: delaminated faces pass no current."""
    import fem_assb

    a = tiny_case("a")
    b = copy.deepcopy(a)
    b["structure"]["modify"] = [{"delaminate": 0.6, "seed": 0}]
    ra = fem_assb.Simulation(a).run()
    rb = fem_assb.Simulation(b).run()
    assert rb.summary["final_voltage_V"] < ra.summary["final_voltage_V"] - 1e-4


@pytest.mark.parametrize(
    "modify,error,message",
    [
        ([{"delaminte": 0.5}], InputError, r"unknown operation 'delaminte' \(did you mean 'delaminate'\?\)"),
        ([{"delaminate": 0.5, "sed": 1}], InputError, r"unknown option 'sed' \(did you mean 'seed'\?\)"),
        ([{"crop_cc": 1, "delaminate": 0.5}], InputError, "has 2 operations"),
        ([{"crop_cc": 1.5}], InputError, r"crop_cc = 1.5 must be an integer >= 1"),
        ([{"channel": 5}], InputError, "has no unit"),
        ([{"delaminate": 1.5}], InputError, r"must lie in \(0, 1\]"),
        ([{"crop": "0:4,:"}], InputError, "needs three ranges"),
        ([{"stack": "other.npy"}], InputError, "layered"),
        ({"crop_cc": 1}, InputError, "must be a list of operations"),
        ([{"crop_cc": 8}], InputError, r"structure.modify\[0\] \(crop_cc\): can crop 0 to 7 layers"),
        ([{"replace": "CBD", "by": "SE"}], InputError, r"\(replace\): the image has no CBD voxels"),
        ([{"replace": "SE"}], InputError, r"needs the material it becomes, e.g. \{replace: SE, by: LE\}"),
        ([{"replace": "SE", "by": "SE"}], InputError, "are the same material"),
        ([{"replace": "SE", "by": "GLASS"}], InputError, "unknown material 'GLASS'"),
        ([{"shell": "0.1 um"}], InputError, "below the voxel size"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_structure_modify_is_a_clean_error(modify, error, message):
    with pytest.raises(error, match=message):
        _built(modify)


def test_log_axis_for_values_over_two_decades():
    """The study plots put log-spaced sweeps (a film resistance 1 to 1e5 Ohm cm^2) on a log axis,
    linear ones (f_L60 0 to 1, currents 1 to 8 mA/cm^2) on a linear one."""
    from fem_assb.output.plots import _log_spaced

    assert _log_spaced([[1.0, 1e2, 1e3, 1e5], [1.0, 10.0]])
    assert not _log_spaced([[0.0, 0.2, 0.5, 1.0]])  # zero: no log axis
    assert not _log_spaced([[1.0, 4.0, 6.0, 8.0]])
    assert not _log_spaced([])

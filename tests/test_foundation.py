"""The foundation: CLI discovery, `info`, units at the edge, atomic outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fem_assb.cli import build_parser, main
from fem_assb.errors import InputError
from fem_assb.output.atomic import atomic_path, write_json
from fem_assb.units import to_si

ROOT = Path(__file__).resolve().parents[1]


def test_info_reports_stack_versions(capsys):
    assert main(["info", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["DOLFINx"].startswith("0.11")
    assert facts["MPI ranks"] >= 1
    assert facts["PETSc scalar"] == "float64"


def test_every_command_module_is_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "info" in sub.choices
    for name, p in sub.choices.items():
        assert p.description, f"command {name} has no help text"


@pytest.mark.parametrize(
    "text, unit, expected",
    [
        ("0.5 um", "m", 0.5e-6),
        ("1 mA/cm^2", "A/m^2", 10.0),
        ("0.036662 mol/cm^3", "mol/m^3", 36662.0),
        ("0.7 mS/cm", "S/m", 0.07),
        ("8.71e-13 cm^2/s", "m^2/s", 8.71e-17),
        ("25 degC", "K", 298.15),
    ],
)
def test_units_convert_seed_units_to_si(text, unit, expected):
    assert to_si(text, unit) == pytest.approx(expected, rel=1e-12)


def test_units_round_trip():
    from fem_assb.units import registry

    q = registry().Quantity(to_si("3.7 Ohm*cm^2", "ohm*m^2"), "ohm*m^2")
    assert q.to("ohm*cm^2").magnitude == pytest.approx(3.7, rel=1e-12)


def test_units_errors_name_the_problem():
    with pytest.raises(InputError, match="has no unit"):
        to_si(0.5, "m", name="voxel_size")
    with pytest.raises(InputError, match="inconsistent units"):
        to_si("1 mA", "A/m^2", name="current_density")
    with pytest.raises(InputError, match="not a quantity"):
        to_si("five um", "m")
    assert to_si(0.5, "m", default_unit="um") == pytest.approx(0.5e-6)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("solver died")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}


def test_cli_error_exit_code_and_message():
    """A bad command line exits non-zero with a message, through `python -m fem_assb`."""
    r = subprocess.run(
        [sys.executable, "-m", "fem_assb", "no-such-command"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode != 0
    assert "invalid choice" in r.stderr


@pytest.mark.mpi
def test_info_under_mpi(comm, capsys):
    """Only rank 0 prints; the rank count is the communicator's."""
    from fem_assb.commands.info import versions

    assert versions()["MPI ranks"] == comm.size
    main(["info"])
    out = capsys.readouterr().out
    assert ("MPI ranks" in out) == (comm.rank == 0)


def test_launcher_passes_directory_arguments_and_exit_code(tmp_path):
    """./fem-assb keeps the caller's directory, output and exit status."""
    launcher = str(ROOT / "fem-assb")
    ok = subprocess.run([launcher, "info", "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout)["DOLFINx"].startswith("0.11")
    bad = subprocess.run([launcher, "analyze", "missing.npy"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1
    assert "missing.npy" in bad.stderr and "does not exist" in bad.stderr
    np_bad = subprocess.run([launcher, "--np", "zero", "info"], capture_output=True, text=True, cwd=tmp_path)
    assert np_bad.returncode == 2 and "--np must be a positive integer" in np_bad.stderr

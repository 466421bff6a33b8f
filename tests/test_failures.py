"""Failures are clean (issue 15 item 4): a one-line error naming the file or key and the fix, exit
status 1, no traceback unless it is a bug (then with a line saying so), and under MPI an error on
any rank stops every rank instead of hanging. The MPI tests run `mpirun -n 2 python3 -m
fem_assb.cli ...` as subprocesses with a timeout (they are not marked `mpi`: they start their own
ranks)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from child_env import child_env

from fem_assb.cli import BUG_LINE, main
from fem_assb.errors import InputError
from fem_assb.structure import io

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # s: a hang fails the test instead of the suite

DEMO = (ROOT / "cases" / "demo.yaml").read_text()


# ------------------------------------------------------------------------------------ helpers


def _cli(args, cwd, np_=1, **env) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "fem_assb.cli", *map(str, args)]
    if np_ > 1:
        cmd = ["mpirun", "-n", str(np_), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT, env=child_env(**env))


def _error_lines(stderr: str, command: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"fem-assb {command}: error:")]


def _main_error(capsys, argv) -> str:
    """Run cli.main in-process; assert status 1, no traceback, one error line; return that line."""
    assert main(list(map(str, argv))) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"fem-assb {argv[0]}: error: ")
    return lines[0]


def _case(tmp_path: Path, name: str, labels: np.ndarray) -> Path:
    """The demo case with ``labels`` (0 PORE, 1 CAM, 2 SE; 1 um voxels) as its structure."""
    np.save(tmp_path / f"{name}.npy", labels.astype(np.uint8))
    head, rest = DEMO.split("structure:", 1)
    rest = rest.split("cell:", 1)[1]
    text = (
        head
        + f"structure:\n  image: {name}.npy\n  voxel_size: 1 um\n  labels: {{0: PORE, 1: CAM, 2: SE}}\n\n"
        + "cell:"
        + rest
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.npy"
    np.save(path, (np.random.default_rng(0).random((8, 8, 8)) > 0.4).astype(np.uint8))
    return path


# ------------------------------------------------------------------ unreadable images (serial)
def _bad_images(d: Path) -> dict[str, Path]:
    good = (np.random.default_rng(0).random((8, 8, 8)) > 0.4).astype(np.uint8)
    np.save(d / "g.npy", good)
    blob = (d / "g.npy").read_bytes()
    files = {
        "empty.npy": b"",
        "truncated.npy": blob[: len(blob) // 2],
        "header_only.npy": blob[:100],
        "text.npy": b"hello",
        "empty.npz": b"",
        "junk.npz": b"PK junk",
        "junk.h5": b"junk",
        "junk.vti": b"junk",
        "junk.tif": b"junk",
        "wrong_size.raw": b"\x00" * 7,
    }
    out = {}
    for name, data in files.items():
        (d / name).write_bytes(data)
        out[name] = d / name
    np.save(d / "object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(d / "zero.npy", np.zeros((0, 4, 4), np.uint8))
    np.save(d / "float.npy", np.random.default_rng(1).random((4, 4, 4)))
    np.save(d / "one_d.npy", np.zeros(5, np.uint8))
    np.savez(d / "nolabels.npz", a=np.zeros(3))
    (d / "noext").write_bytes(blob)
    (d / "image.png").write_bytes(blob)
    (d / "folder").mkdir()
    for name in ("object.npy", "zero.npy", "float.npy", "one_d.npy", "nolabels.npz", "noext", "image.png"):
        out[name] = d / name
    out["folder"] = d / "folder"
    out["missing.npy"] = d / "missing.npy"
    return out


def test_unreadable_images_are_input_errors_naming_the_file(tmp_path):
    """Every format read_image supports: a broken file is an InputError that names it (no
    numpy/h5py/tifffile exception escapes)."""
    for name, path in _bad_images(tmp_path).items():
        kw = {"shape": (2, 2, 2), "dtype": "uint8"} if name.endswith(".raw") else {}
        with pytest.raises(InputError) as exc:
            io.read_image(path, labels="default", voxel_size="1 um", **kw)
        msg = str(exc.value)
        assert str(path) in msg and "\n" not in msg, (name, msg)
        if name not in ("float.npy", "one_d.npy"):  # read_array returns content as stored
            with pytest.raises(InputError):
                io.read_array(path, **kw)


@pytest.mark.parametrize(
    "name, words",
    [
        ("empty.npy", "is empty"),
        ("truncated.npy", "check that the file is complete"),
        ("object.npy", "dtype object"),
        ("zero.npy", "is empty"),
        ("text.npy", "not a .npy file"),
        ("noext", "no file extension"),
        ("image.png", "unknown image format"),
    ],
)
def test_unreadable_image_on_the_command_line(tmp_path, capsys, name, words):
    path = _bad_images(tmp_path)[name]
    line = _main_error(capsys, ["analyze", path, "--labels", "default", "--voxel-size", "1um"])
    assert str(path) in line and words in line


# ------------------------------------------------------------------------- output paths (serial)
def test_json_path_that_is_a_folder(tmp_path, capsys, good):
    line = _main_error(capsys, ["keff", good, "--phase", "1", "--json", tmp_path])
    assert f"--json {tmp_path} is a folder" in line and "give a file name" in line
    argv = ["analyze", good, "--labels", "default", "--voxel-size", "1um", "--json", tmp_path]
    line = _main_error(capsys, argv)
    assert "is a folder" in line


def test_output_path_under_a_file(tmp_path, capsys, good):
    blocker = tmp_path / "somefile"
    blocker.write_text("x")
    line = _main_error(capsys, ["keff", good, "--phase", "1", "--json", blocker / "sub" / "k.json"])
    assert f"{blocker} is a file, not a folder" in line
    gen = ["generate", "composite", "--shape", "8,8,8", "--voxel-size", "1um", "--cam-fraction", "0.5"]
    line = _main_error(capsys, [*gen, "-o", blocker / "sub.npz"])
    assert "is a file, not a folder" in line
    line = _main_error(
        capsys,
        [
            "modify",
            good,
            blocker / "m.npz",
            "--labels",
            "default",
            "--voxel-size",
            "1um",
            "--crop",
            "0:4,0:4,0:4",
        ],
    )
    assert "is a file, not a folder" in line
    assert blocker.read_text() == "x"  # nothing written


def test_atomic_writer_refuses_folders_and_files_in_the_way(tmp_path):
    from fem_assb.atomic import atomic_path, write_json

    (tmp_path / "f").write_text("x")
    for target in (tmp_path, tmp_path / "f" / "sub" / "a.json"):
        with pytest.raises(InputError, match=str(target)):
            write_json(target, {})
    with pytest.raises(InputError, match="is a folder"):
        with atomic_path(tmp_path):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_structure_io_does_not_import_the_output_layer():
    """Imports point down the data path; fem_assb.output.atomic still works (re-export)."""
    code = (
        "import sys, fem_assb.structure.io;"
        "bad = [m for m in sys.modules if m.startswith('fem_assb.output')];"
        "assert not bad, bad;"
        "from fem_assb.output.atomic import atomic_path, write_json, write_text;"
        "import fem_assb.atomic as a; assert atomic_path is a.atomic_path"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=TIMEOUT
    )
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------- generator (serial)
GEN = [
    "generate",
    "composite",
    "--shape",
    "16,16,16",
    "--voxel-size",
    "0.5um",
    "--cam-fraction",
    "0.5",
    "--se-fraction",
    "0.4",
    "--no-png",
]


def test_negative_or_fractional_seed(tmp_path, capsys):
    line = _main_error(capsys, [*GEN, "-o", tmp_path / "g.npz", "--seed", "-1"])
    assert "seed = -1 is negative" in line
    from fem_assb.structure.generate import generate_composite

    with pytest.raises(InputError, match="integer >= 0"):
        generate_composite((8, 8, 8), "1 um", cam_fraction=0.5, seed=1.5)


def test_particles_larger_than_the_box_are_refused_before_allocating(tmp_path, capsys):
    t0 = time.perf_counter()
    line = _main_error(capsys, [*GEN, "-o", tmp_path / "g.npz", "--d-cam", "2mm"])
    assert time.perf_counter() - t0 < 10  # was: 24 GB and killed after 100 s
    assert "d_cam = 2000 um is larger than the box" in line and "8 x 8 x 8 um" in line
    assert not (tmp_path / "g.npz").exists()


def test_packings_that_cannot_fit_are_refused(monkeypatch):
    from fem_assb.structure import generate

    with pytest.raises(InputError, match="particles"):
        generate.generate_composite(
            (2000, 2000, 2000), "1 um", cam_fraction=0.5, se_fraction=0.4, d_cam="5 um", d_se="2 um"
        )
    monkeypatch.setattr(generate, "_available_memory", lambda: 1e6)  # 1 MB free
    with pytest.raises(InputError, match=r"needs about .* GB of memory"):
        generate.generate_composite((32, 32, 32), "0.5 um", cam_fraction=0.5, se_fraction=0.4)


def test_lengths_without_unit_are_refused(tmp_path, capsys):
    from fem_assb.structure.generate import from_spec

    line = _main_error(capsys, [*GEN, "-o", tmp_path / "g.npz", "--d-cam", "2"])
    assert "d_cam = '2' has no unit; give a unit, e.g. '2 um'" in line
    spec = {"kind": "composite", "shape": [8, 8, 8], "voxel_size": "1 um", "cam_fraction": 0.5, "d_cam": 2}
    with pytest.raises(InputError, match="d_cam = 2 has no unit"):
        from_spec(spec)
    with pytest.raises(InputError, match="radius = 2 has no unit"):
        from_spec({**spec, "kind": "perforated", "d_cam": "3 um", "radius": 2})
    case = tmp_path / "c.yaml"
    case.write_text(DEMO.replace("d_cam: 5 um", "d_cam: 2"))
    line = _main_error(capsys, ["check", case])
    assert "d_cam = 2 has no unit; give a unit, e.g. '2 um'" in line


# ---------------------------------------------------------------------------- check = run's checks
def _structures() -> dict[str, tuple[np.ndarray, str | None]]:
    n = 8
    nocam = np.full((n, n, n), 2)
    floating = np.full((n, n, n), 2)
    floating[2:5, 2:5, 2:5] = 1
    no_ionic = np.full((n, n, n), 1)
    no_ionic[3:, :, :4] = 2
    no_interface = np.zeros((n, n, n))
    no_interface[:, :, :3] = 2
    no_interface[1:, :, 5:] = 1  # CAM reaches the collector, SE the separator; pores between
    ok = np.full((n, n, n), 2)
    ok[:, :, 4:] = 1
    return {
        "nocam": (nocam, "no CAM voxels"),
        "cam_floating": (floating, "no CAM voxel is face-connected to the cathode current collector"),
        "no_ionic_path": (no_ionic, "does not connect to the separator"),
        "no_interface": (no_interface, "no CAM | electrolyte interface"),
        "ok": (ok, None),
    }


@pytest.mark.parametrize("name", list(_structures()))
def test_check_refuses_what_run_refuses(tmp_path, capsys, name):
    labels, words = _structures()[name]
    case = _case(tmp_path, name, labels)
    if words is None:
        assert main(["check", str(case), "--no-materials"]) == 0
        out = capsys.readouterr().out
        assert "built: structure 8 x 8 x 8" in out and out.rstrip().endswith(": OK")
    else:
        assert words in _main_error(capsys, ["check", case, "--no-materials"])
        assert main(["check", str(case), "--no-materials", "--no-build"]) == 0  # the file alone is fine
        capsys.readouterr()


def test_run_refuses_the_cell_that_check_refuses(tmp_path):
    """The active-interface check of validate_cell is the one run applies (CellSimulation)."""
    labels, words = _structures()["no_interface"]
    case = _case(tmp_path, "no_interface", labels)
    r = _cli(["run", case, "-o", tmp_path / "out", "-q"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert any(words in ln for ln in _error_lines(r.stderr, "run")), r.stderr


# ------------------------------------------------------------------------------------ bugs
def test_a_bug_prints_the_traceback_and_says_so(monkeypatch, capsys):
    from fem_assb.commands import info

    def broken(args):
        return 1 // 0

    monkeypatch.setattr(info, "run", broken)
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err
    assert f"fem-assb info: {BUG_LINE}: fem-assb info" in err.splitlines()[-1]


# ----------------------------------------------------------------------------- MPI: no hangs
def test_mpi_unreadable_image_stops_every_rank(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    r = _cli(["keff", "empty.npy", "--phase", "1"], tmp_path, np_=2)
    assert r.returncode != 0
    lines = _error_lines(r.stderr, "keff")
    assert len(lines) == 1 and "empty.npy: the file is empty" in lines[0], r.stderr  # printed once
    assert "Traceback" not in r.stderr


def test_mpi_output_under_a_file_and_bad_generator(tmp_path):
    (tmp_path / "somefile").write_text("x")
    gen = [*GEN[:-1], "--no-png"]
    r = _cli([*gen, "-o", "somefile/sub.npz"], tmp_path, np_=2)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(_error_lines(r.stderr, "generate")) == 1 and "is a file, not a folder" in r.stderr
    r = _cli([*gen, "-o", "g.npz", "--d-cam", "2mm"], tmp_path, np_=2)
    assert r.returncode != 0 and "larger than the box" in r.stderr


def test_mpi_check_refuses_on_two_ranks(tmp_path):
    case = _case(tmp_path, "no_interface", _structures()["no_interface"][0])
    r = _cli(["check", case, "--no-materials"], tmp_path, np_=2)
    assert r.returncode != 0
    lines = _error_lines(r.stderr, "check")
    assert len(lines) == 1 and "no CAM | electrolyte interface" in lines[0], r.stderr


def test_mpi_error_on_one_rank_aborts_the_others(tmp_path):
    """Rank 1 fails while rank 0 waits in a collective: the job ends (MPI_Abort), no hang; an
    expected error still prints one line (with the rank), a bug its traceback and the bug line."""
    script = tmp_path / "one_rank.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from mpi4py import MPI
            from fem_assb import cli
            from fem_assb.commands import info
            from fem_assb.errors import InputError

            def run(args):
                if MPI.COMM_WORLD.rank == 1:
                    if sys.argv[1] == "bug":
                        raise KeyError("boom")
                    raise InputError("only rank 1 fails")
                MPI.COMM_WORLD.barrier()  # rank 0 would wait here forever
                return 0

            info.run = run
            sys.exit(cli.main(["info"]))
            """
        )
    )
    for kind in ("input", "bug"):
        t0 = time.perf_counter()
        r = subprocess.run(
            ["mpirun", "-n", "2", sys.executable, str(script), kind],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=TIMEOUT,
            env=child_env(FEM_ASSB_ERROR_WAIT="1"),
        )
        assert r.returncode != 0
        assert time.perf_counter() - t0 < TIMEOUT
        if kind == "input":
            lines = _error_lines(r.stderr, "info")
            assert len(lines) == 1 and "only rank 1 fails" in lines[0] and "rank 1 of 2" in lines[0]
        else:
            assert "KeyError: 'boom'" in r.stderr and BUG_LINE in r.stderr


def test_mpi_bad_option_prints_usage_once(tmp_path):
    r = _cli(["keff", "x.npy", "--axis", "w"], tmp_path, np_=2)
    assert r.returncode == 2
    assert r.stderr.count("invalid choice") == 1, r.stderr


# ------------------------------------------------------------------- input files that are not YAML
def test_case_label_map_and_spec_files_that_are_not_yaml(tmp_path, capsys, good):
    broken = tmp_path / "broken.yaml"
    broken.write_text(": : :\n")
    for argv in (
        ["check", tmp_path],
        ["check", good],
        ["check", broken],
        ["analyze", good, "--labels", broken],
        ["analyze", good, "--labels", tmp_path],
        ["generate", "composite", "-o", tmp_path / "g.npz", "--spec", broken],
        ["generate", "composite", "-o", tmp_path / "g.npz", "--spec", good],
    ):
        line = _main_error(capsys, argv)
        assert str(argv[-1]) in line, line


def test_interrupt_and_os_errors_are_one_line(monkeypatch, capsys):
    from fem_assb.commands import info

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "run", interrupted)
    assert main(["info"]) == 130
    assert capsys.readouterr().err.strip() == "fem-assb info: interrupted"

    def disk_full(args):
        raise OSError(28, "No space left on device", "out/history.csv")

    monkeypatch.setattr(info, "run", disk_full)
    line = _main_error(capsys, ["info"])
    assert "out/history.csv: No space left on device" in line

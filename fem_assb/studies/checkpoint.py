"""Checkpoint and restart of a run (``outputs.checkpoint_interval``, ``fem-assb run --resume``).

A checkpoint is one folder in the run's output folder::

    checkpoint/step-00000120/state.json       # format, case fingerprint, the run's scalars (JSON)
    checkpoint/step-00000120/cells-0000.npy   # per writing rank: voxel index, u, u_old per cell

``state.json`` holds what :meth:`CellSimulation.checkpoint_state` returns: time [s], charge
[C/m^2], applied current [A/m^2], the Newton predictor's last step [s], the operation index and
its start time [s], the step controller (:class:`fem_assb.solvers.time_stepping.SegmentState`)
and the whole History; floats are written by ``repr`` and read back bit for bit. The fields: each
rank writes its owned cells as one numpy file of records (global voxel index ``vmesh.voxel_index``,
int64; ``u`` and ``u_old`` = (phi [V], x [-]), float64). The mesh is rebuilt from the case (the
fingerprint guarantees the same case, hence the same voxels); each reading rank takes the records
of its cells, owned and ghost, by voxel index, on any number of ranks. Not adios4dolfinx (which
works here, by the input cell order): it computes the mesh's entity permutations, so DOLFINx
builds the edges, ~390 B per cell kept for the rest of the run, the memory the cell forms avoid
(docs/studies.md, "Checkpoint and restart").

Atomic: every rank writes into ``checkpoint/.tmp-step-N/``; after a barrier rank 0 writes
``state.json`` there and renames the folder to ``step-N`` (a new name: one atomic rename), and
only then removes the older step folders and leftover temporaries. A reader takes the
highest-numbered ``step-N`` folder and never a ``.tmp-*`` one, so a kill at any moment leaves
the previous checkpoint or the new one, each complete.

A resume is refused when the case differs from the one that wrote the checkpoint: the
fingerprint (:func:`case_fingerprint`) is a hash per section of the *resolved* case (the built
image, the cell layers, the material functions sampled, the operation steps, the numerics), so
the message names the sections that differ, and a change of units only ("1 um" for "1e-6 m")
is not a change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from fem_assb.errors import InputError

#: The checkpoint folder in the output folder, and the format written into state.json.
FOLDER = "checkpoint"
FORMAT = "fem-assb checkpoint 1"
TMP_PREFIX = ".tmp-"
STEP_NAME = re.compile(r"step-(\d{8,})")
#: The case sections a checkpoint must agree with (outputs and name may change on resume).
SECTIONS = ("structure", "cell", "materials", "operation", "numerics")


# --- the case fingerprint -----------------------------------------------------------------------


def case_fingerprint(case, image=None, sections=SECTIONS) -> dict[str, str]:
    """{section: sha256 hex digest} of the resolved ``case`` for each of ``sections``.

    structure: the built image (labels, voxel size [m], label map, grain IDs, inactive faces;
    ``image``: the VoxelImage when already built, else it is built); cell, operation, numerics:
    their resolved SI dataclasses; materials: every constant and, for each function of x or c,
    its values at fixed points (12 significant digits) at the case temperature [K].
    """
    digests = {
        "structure": lambda: _image_digest(image if image is not None else case.structure.build()),
        "cell": lambda: _digest(dataclasses.asdict(case.cell)),
        "materials": lambda: _digest(_materials_data(case.materials)),
        "operation": lambda: _digest(dataclasses.asdict(case.operation)),
        "numerics": lambda: _digest(dataclasses.asdict(case.numerics)),
    }
    return {s: digests[s]() for s in sections}


def differing_sections(saved: dict, now: dict, sections=SECTIONS) -> list[str]:
    """The sections whose fingerprints differ (a section missing on either side differs)."""
    return [s for s in sections if saved.get(s) is None or saved.get(s) != now.get(s)]


def _digest(data) -> str:
    text = json.dumps(_rounded(data), sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _rounded(data):
    """Floats to 12 significant digits (a unit conversion may differ in the last bit)."""
    if isinstance(data, float):
        return f"{data:.12g}"
    if isinstance(data, dict):
        return {str(k): _rounded(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_rounded(v) for v in data]
    return data


def _plain(value):
    """JSON stand-in for other objects; never a repr with a memory address (not reproducible)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if isinstance(value, np.generic):
        return value.item()
    if callable(value):
        return getattr(value, "__qualname__", type(value).__name__)
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text


def _image_digest(image) -> str:
    h = hashlib.sha256()
    labels = np.ascontiguousarray(image.labels)
    h.update(f"{labels.shape}{labels.dtype.str}{image.voxel_size!r}".encode())
    h.update(labels.tobytes())
    lm = image.label_map
    h.update(repr(sorted(lm.materials.items())).encode() + repr(sorted(lm.grains.items())).encode())
    extras = [] if image.grains is None else [image.grains]
    extras += list(image.inactive_faces or ())
    for arr in extras:
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.shape}{arr.dtype.str}".encode() + arr.tobytes())
    return h.hexdigest()


def _materials_data(system) -> dict:
    """The material system as plain data: constants, strings, functions sampled."""
    T = float(system.temperature)
    c_ref = float(getattr(system.electrolyte, "c0", 1000.0) or 1000.0)
    out = {"name": system.name, "temperature": T}
    for f in dataclasses.fields(system):
        section = getattr(system, f.name)
        if isinstance(section, dict) and all(hasattr(v, "as_dict") for v in section.values()):  # cams
            out[f.name] = {
                label: {k: _value_data(v, T, c_ref) for k, v in sorted(sec.as_dict().items())}
                for label, sec in sorted(section.items())
            }
            continue
        if not hasattr(section, "as_dict"):
            continue
        out[f.name] = {k: _value_data(v, T, c_ref) for k, v in sorted(section.as_dict().items())}
    return out


def _value_data(value, T: float, c_ref: float):
    if hasattr(value, "numpy") and hasattr(value, "variable"):  # a Functional of x or c
        pts = np.linspace(0.001, 0.999, 17) if value.variable == "x" else c_ref * np.linspace(0.05, 2.0, 17)
        try:
            vals = [f"{v:.12g}" for v in np.asarray(value.numpy(pts, T), dtype=float)]
        except Exception as exc:  # noqa: BLE001 - deterministic for the same function
            vals = repr(exc)
        return {"unit": value.unit, "variable": value.variable, "name": value.name, "values": vals}
    if isinstance(value, float):
        return f"{value:.12g}"
    return value


# --- writing ------------------------------------------------------------------------------------


#: One record per cell: global voxel index, u = (phi [V], x [-]) and u_old.
CELL_RECORD = np.dtype([("voxel", "<i8"), ("u", "<f8", (2,)), ("u_old", "<f8", (2,))])


def _cell_dofs(forms):
    """(voxel index, dof of the blocked DG0 space) of every local cell, owned first."""
    return forms.vmesh.voxel_index, forms.V.dofmap.list[:, 0]


def _write_cells(path: Path, forms) -> None:
    """This rank's owned cells as CELL_RECORDs in ``path`` (.npy)."""
    voxel, dofs = _cell_dofs(forms)
    nown = forms.vmesh.num_owned_cells
    rec = np.empty(nown, dtype=CELL_RECORD)
    rec["voxel"] = voxel[:nown]
    rec["u"] = forms.u.x.array.reshape(-1, 2)[dofs[:nown]]
    rec["u_old"] = forms.u_old.x.array.reshape(-1, 2)[dofs[:nown]]
    np.save(path, rec)


def _read_cells(folder: Path, parts: int, forms) -> None:
    """Fill u and u_old of every local cell (owned and ghost) from the parts' records."""
    voxel, dofs = _cell_dofs(forms)
    order = np.argsort(voxel)
    mine = voxel[order]
    u, u_old = forms.u.x.array.reshape(-1, 2), forms.u_old.x.array.reshape(-1, 2)
    found = np.zeros(voxel.size, dtype=bool)
    for k in range(parts):
        try:  # every rank reads every part: a part that fails, fails on all of them
            rec = np.load(folder / _part_name(k), mmap_mode="r")
            if rec.dtype != CELL_RECORD:
                raise ValueError(f"records of {rec.dtype}, not {CELL_RECORD}")
        except (OSError, ValueError) as exc:
            raise InputError(f"--resume: {folder / _part_name(k)} cannot be read ({exc}).") from None
        pos = np.minimum(np.searchsorted(mine, rec["voxel"]), max(mine.size - 1, 0))
        hit = np.flatnonzero(mine[pos] == rec["voxel"]) if mine.size else np.zeros(0, dtype=np.intp)
        cells = order[pos[hit]]
        u[dofs[cells]] = rec["u"][hit]
        u_old[dofs[cells]] = rec["u_old"][hit]
        found[cells] = True
    missing = forms.vmesh.mesh.comm.allreduce(int(voxel.size - np.count_nonzero(found)))
    if missing:
        raise InputError(
            f"--resume: the checkpoint {folder} has no values for {missing} cells of the mesh built "
            "from the case; it was not written for this mesh."
        )
    forms.u.x.scatter_forward()
    forms.u_old.x.scatter_forward()


def _part_name(rank: int) -> str:
    return f"cells-{rank:04d}.npy"


def write_checkpoint(out, sim, fingerprint: dict, extra: dict | None = None) -> Path:
    """Write the state of ``sim`` (a CellSimulation between accepted steps) as
    ``out/checkpoint/step-N`` atomically (collective); returns that folder."""
    from fem_assb.parallel import on_rank0

    comm = sim.comm
    root = Path(out) / FOLDER
    name = f"step-{sim.history.steps:08d}"
    tmp, final = root / f"{TMP_PREFIX}{name}", root / name
    state = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "ranks": comm.size,
        "steps": sim.history.steps,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **(extra or {}),
        "sim": sim.checkpoint_state(),
    }

    def prepare():
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()

    on_rank0(prepare, comm=comm)
    error = None
    try:
        _write_cells(tmp / _part_name(comm.rank), sim.forms)
    except OSError as exc:  # raised on every rank below
        error = exc
    errors = comm.allgather(error)  # also the barrier: every part is written
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first

    def finish():
        if final.exists():  # this step's checkpoint is there already (Checkpoints does not ask)
            shutil.rmtree(tmp)
            return
        (tmp / "state.json").write_text(json.dumps(state) + "\n")
        os.rename(tmp, final)  # atomic: the checkpoint appears complete
        for p in root.iterdir():  # then the older ones and any leftover temporary go
            if p != final and (STEP_NAME.fullmatch(p.name) or p.name.startswith(TMP_PREFIX)):
                shutil.rmtree(p, ignore_errors=True)

    on_rank0(finish, comm=comm)
    comm.barrier()
    return final


def folder_size(path) -> int:
    """Bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# --- reading ------------------------------------------------------------------------------------


def latest_checkpoint(out) -> Path | None:
    """The newest complete checkpoint folder in ``out`` (highest step, with its state.json), or
    None; temporaries (``.tmp-*``, a write that did not finish) are ignored."""
    root = Path(out) / FOLDER
    if not root.is_dir():
        return None
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := STEP_NAME.fullmatch(p.name)) and (p / "state.json").is_file()
    ]
    return max(found)[1] if found else None


def find_checkpoint(out, fingerprint: dict, sections=SECTIONS) -> tuple[Path, dict]:
    """(folder, state) of the checkpoint to resume in ``out``, checked against the case's
    ``fingerprint`` on ``sections``; InputError when there is none or the case differs."""
    out = Path(out)
    path = latest_checkpoint(out)
    if path is None:
        raise InputError(_nothing_to_resume(out))
    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"--resume: the checkpoint {path} cannot be read ({exc}).") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"--resume: {path} is not a checkpoint of this fem-assb ({FORMAT!r} expected).")
    differ = differing_sections(state.get("fingerprint") or {}, fingerprint, sections)
    if differ:
        raise InputError(
            f"--resume: the checkpoint in {path.parent} was written by a different case: "
            f"{', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'}. Resume with the case "
            "that wrote it, or run without --resume to start again (the folder's run is then replaced)."
        )
    return path, state


def _nothing_to_resume(out: Path) -> str:
    try:
        summary = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict) and summary.get("complete") is True:
        return (
            f"--resume: the run in {out} is complete (summary.json): there is nothing to resume; "
            "run without --resume to run it again."
        )
    return (
        f"--resume: no checkpoint in {out} (no {FOLDER}/step-N folder): set outputs.checkpoint_interval "
        "for the run to write them; run without --resume to start again."
    )


def read_checkpoint(out, sim, fingerprint: dict) -> dict:
    """Read the newest checkpoint in ``out`` into ``sim`` (collective): u and u_old, then
    :meth:`CellSimulation.restore_checkpoint`; returns the state (state.json's content).
    InputError (on every rank) when there is none or it was written by a different case."""
    from fem_assb.parallel import on_rank0

    comm = sim.comm
    found = on_rank0(find_checkpoint, out, fingerprint, comm=comm)
    path, state = comm.bcast(found, root=0) if comm.size > 1 else found
    _read_cells(path, int(state["ranks"]), sim.forms)
    sim.restore_checkpoint(state["sim"])
    return state


# --- when to write --------------------------------------------------------------------------------


class Checkpoints:
    """The checkpoints of one run: every ``outputs.checkpoint_steps`` accepted steps or every
    ``outputs.checkpoint_wall_time`` seconds (rank 0's clock, broadcast), and at a stop.
    ``last_step``: the step whose checkpoint is in the folder already (a resumed run's).

    ``written``: (step, write time in s, size in bytes) of every checkpoint written.
    """

    def __init__(self, out, outputs, fingerprint: dict, comm, last_step: int | None = None):
        self.out, self.fingerprint, self.comm = Path(out), fingerprint, comm
        self.every = int(outputs.checkpoint_steps)
        self.wall = float(outputs.checkpoint_wall_time)
        self._clock = time.monotonic()
        self._last_step = last_step  # the step of the checkpoint there is (a resumed run's)
        self.written: list[tuple[int, float, int]] = []

    def after_step(self, sim) -> None:
        """Write a checkpoint when one is due after this accepted step (collective)."""
        if not (self.every or self.wall):
            return
        if self.every:
            due = sim.history.steps % self.every == 0
        else:
            due = time.monotonic() - self._clock >= self.wall
            if self.comm.size > 1:
                due = self.comm.bcast(due, root=0)
        if due:
            self.write(sim)

    def write(self, sim) -> None:
        """Write a checkpoint now, unless this step has one already (collective)."""
        if sim.history.steps == self._last_step:
            return
        t0 = time.perf_counter()
        path = write_checkpoint(self.out, sim, self.fingerprint)
        seconds = time.perf_counter() - t0
        size = folder_size(path) if self.comm.rank == 0 else 0
        self.written.append((sim.history.steps, seconds, size))
        self._clock, self._last_step = time.monotonic(), sim.history.steps

    def remove(self) -> None:
        """Remove the checkpoint folder (the run completed; collective)."""
        if self.comm.rank == 0:
            shutil.rmtree(self.out / FOLDER, ignore_errors=True)
        self.comm.barrier()

    def summary(self) -> dict:
        """What summary.json records: the count, the last step, the mean write time [s] and size [B]."""
        if not self.written:
            return {"written": 0}
        return {
            "written": len(self.written),
            "last_step": self.written[-1][0],
            "mean_write_time_s": float(np.mean([w[1] for w in self.written])),
            "size_bytes": self.written[-1][2],
        }

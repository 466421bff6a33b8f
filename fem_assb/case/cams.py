"""Several CAM materials in one cell: the case checks of ``materials.cams`` (docs/materials.md).

A CAM-class label of the structure's label map (``{material: AL_LCO, class: CAM}``) takes the
parameters of its ``materials.cams`` entry; every other CAM voxel takes ``materials.cam``. The
checks here make every accepted key act or fail at load with the reason and the fix:

- an entry names a CAM-class label of the structure (did-you-mean), and that label has voxels;
- at most one CAM-class label is left without an entry (they would silently share ``cam``);
- ``materials.cam`` overrides act on some voxel;
- every CAM material shares U0(x) with ``materials.cam`` and starts at its x0 = c0 / c_max: the
  CAM | CAM law is continuity of the Li chemical potential, which with one U0(x) is continuity
  of x (forms.transport.cam_interface_flux), and the cell starts at rest;
- no resistive film with several CAM materials (the film law takes one CAM's parameters).
"""

from __future__ import annotations

import numpy as np

from fem_assb.errors import InputError, NotSupportedError, did_you_mean

#: Material classes of a label map: a ``cams`` entry must not be named like one (the label
#: map's ``mask`` treats a class name as the whole class).
CLASSES = ("CAM", "SE", "LE", "CBD", "PORE")


def cam_labels(image) -> dict[str, bool]:
    """CAM-class material names of ``image``'s label map -> whether they have voxels."""
    out: dict[str, bool] = {}
    for value, mat in image.label_map.materials.items():
        if mat.kind == "CAM":
            out[mat.name] = out.get(mat.name, False) or bool(np.any(image.labels == value))
    return out


def check_cam_materials(system, image, overrides: dict, generated_labels=None) -> list[str]:
    """Raise InputError / NotSupportedError for ``materials.cams`` entries (and ``cam``
    overrides) that would not act as written. ``image``: the VoxelImage of an image structure;
    None for a generator, whose CAM labels are ``generated_labels`` (default: just ``CAM``).
    Returns notes for the case: an entry whose label is in the label map but has no voxels (the
    zero point of a shell-thickness sweep, ``fem-assb modify --shell 0um``) acts on nothing."""
    cams = getattr(system, "cams", {}) or {}
    if image is not None:
        labels = cam_labels(image)
    else:
        labels = {name: True for name in (generated_labels or ("CAM",))}
    notes = []
    for name in cams:
        where = f"materials.cams.{name}"
        if name in CLASSES:
            raise InputError(
                f"{where}: {name!r} is a material class, not a label name; name the CAM-class "
                f"label of the label map (e.g. {{material: AL_LCO, class: CAM}}) and use that name."
            )
        if name not in labels:
            known = sorted(labels)
            hint = (
                " (a generated structure has only CAM: give an image with a shell label, e.g. from "
                "fem-assb modify --shell)"
                if image is None
                else ""
            )
            raise InputError(
                f"{where} names no CAM-class label of the structure{did_you_mean(name, known)}; its "
                f"CAM labels are {', '.join(known) or 'none'}{hint}."
            )
        if not labels[name]:
            notes.append(
                f"{where}: the structure has no {name} voxels (the label map names it); "
                "the entry acts on nothing."
            )
    present = [n for n, has in labels.items() if has]
    plain = [n for n in present if n not in cams]
    if len(plain) > 1:
        raise InputError(
            f"the CAM labels {', '.join(plain)} have no parameter set of their own, so all would take "
            f"materials.cam; give each but one an entry in materials.cams (e.g. cams: {{{plain[-1]}: "
            "{preset: Al-LCO}}) or map them to one label."
        )
    if cams and not plain and overrides.get("cam"):
        raise InputError(
            "materials.cam has no effect: every CAM voxel takes a materials.cams entry; remove the "
            "cam overrides or give them in the cams entries."
        )
    if not cams:
        return notes
    if getattr(system, "film", None) is not None:
        raise NotSupportedError(
            "materials.cams: a resistive film with several CAM materials is not supported yet "
            "(roadmap issue #16, interface physics: the film law takes one CAM's parameters); "
            "remove the film (materials: {film: null}) or the cams entries."
        )
    _check_equilibrium(system, cams)
    return notes


def _check_equilibrium(system, cams: dict) -> None:
    """Each CAM material shares U0(x) with ``cam`` (to 1e-9 V on x in [0, 1]) and its x0."""
    T = system.temperature
    x = np.linspace(0.0, 1.0, 201)
    u_ref = np.asarray(system.cam.U0(x, T, np), dtype=float) * np.ones_like(x)
    x0 = system.cam.x0
    for name, cam in cams.items():
        u = np.asarray(cam.U0(x, T, np), dtype=float) * np.ones_like(x)
        if not np.allclose(u, u_ref, rtol=0.0, atol=1e-9):
            k = int(np.argmax(np.abs(u - u_ref)))
            raise NotSupportedError(
                f"materials.cams.{name}.U0: a CAM material whose U0(x) differs from materials.cam's "
                f"(by {1e3 * abs(u[k] - u_ref[k]):.3g} mV at x = {x[k]:.3g}) is not supported yet "
                "(roadmap issue #16, interface physics: the CAM | CAM law, continuity of the Li chemical "
                "potential U0_a(x_a) = U0_b(x_b), is solved for a shared U0(x), where it is continuity "
                "of x); give it materials.cam's U0 (leave U0 out of the entry)."
            )
        if abs(cam.x0 - x0) > 1e-9:
            raise InputError(
                f"materials.cams.{name}: the initial stoichiometry c0/c_max = {cam.x0:.6g} differs from "
                f"materials.cam's x0 = {x0:.6g}, so the cell would not start at rest (same U0(x): "
                f"x0 must be equal); give c0 = {x0 * cam.c_max * 1e-6:.6g} mol/cm^3 (x0 times its c_max)."
            )

"""Several CAM materials in one cell: the case checks of ``materials.cams`` (docs/materials.md).

A CAM-class label of the structure's label map (``{material: AL_LCO, class: CAM}``) takes the
parameters of its ``materials.cams`` entry; every other CAM voxel takes ``materials.cam``. The
checks here make every accepted key act or fail at load with the reason and the fix:

- an entry names a CAM-class label of the structure (did-you-mean), and that label has voxels;
- at most one CAM-class label is left without an entry (they would silently share ``cam``);
- ``materials.cam`` overrides act on some voxel;
- every CAM material starts in equilibrium with ``materials.cam``, U0_k(x0_k) = U0(x0): the
  CAM | CAM law is continuity of the Li chemical potential (forms.transport.cam_interface_li_flux;
  with one U0(x), continuity of x and the same x0), and the cell starts at rest.
"""

from __future__ import annotations

import numpy as np

from fem_assb.errors import InputError, did_you_mean

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
    """Raise InputError for ``materials.cams`` entries (and ``cam``
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
    _check_equilibrium(system, cams)
    return notes


#: Largest accepted difference of U0_k(x0_k) from materials.cam's U0(x0) [V]: the cell starts at
#: rest, every CAM material at the same Li chemical potential.
REST_TOLERANCE = 1e-6


def _check_equilibrium(system, cams: dict) -> None:
    """Each CAM material starts in equilibrium with ``cam``: U0_k(x0_k) = U0_cam(x0) (to
    REST_TOLERANCE), the CAM | CAM law's condition (continuity of the Li chemical potential,
    forms.transport.cam_interface_li_flux) at rest. With the same U0(x) that is the same x0."""
    T = system.temperature
    x0 = system.cam.x0
    u_rest = float(np.asarray(system.cam.U0(x0, T, np)))
    for name, cam in cams.items():
        u = float(np.asarray(cam.U0(cam.x0, T, np)))
        if abs(u - u_rest) <= REST_TOLERANCE:
            continue
        at_rest = _stoichiometry_at(cam, u_rest, T)
        if at_rest is None:
            fix = f"no x in [0, 1] has U0 = {u_rest:.6g} V: give the entry a U0(x) that reaches it"
        else:
            fix = (
                f"x0 = {at_rest:.6g} would be at rest: give c0 = {at_rest * cam.c_max * 1e-6:.6g} mol/cm^3 "
                f"(x0 times its c_max)"
            )
        raise InputError(
            f"materials.cams.{name}: the initial stoichiometry c0/c_max = {cam.x0:.6g} has U0 = {u:.6g} V, "
            f"but materials.cam starts at U0(x0 = {x0:.6g}) = {u_rest:.6g} V, so the cell would not start "
            f"at rest (the CAM | CAM law is continuity of U0 between the materials); {fix}."
        )


def _stoichiometry_at(cam, u: float, T: float):
    """The x in [0, 1] with U0(x) = u [V] of ``cam`` (the one nearest 0.5 if several), or None."""
    from scipy.optimize import brentq

    xs = np.linspace(0.0, 1.0, 2001)
    g = np.asarray(cam.U0(xs, T, np), dtype=float) * np.ones_like(xs) - u
    roots = []
    for k in np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) <= 0):
        a, b = xs[k], xs[k + 1]
        if g[k] == 0.0:
            roots.append(a)
        elif g[k + 1] != 0.0:
            roots.append(brentq(lambda x: float(np.asarray(cam.U0(x, T, np))) - u, a, b, xtol=1e-14))
    if not roots:
        return None
    return min(roots, key=lambda r: abs(r - 0.5))

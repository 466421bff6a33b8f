"""VirtualCell -> meshing Grid: material codes per cell, graded planar layers (MODEL.md §1).

Isolated clusters are removed before meshing ([002], MODEL §1): electrolyte not face-connected
to the separator, CAM not face-connected to the cathode collector (with periodic sides,
``VirtualCell.lateral``, connections through the y and z sides count). Their fractions are reported;
an electrolyte that does not reach the separator at all, or CAM that reaches no collector at all,
is an error (nothing could be cycled).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fem_assb.errors import InputError, PercolationError
from fem_assb.meshing import cell_tags as tags
from fem_assb.structure import analysis
from fem_assb.structure.virtual_cell import VirtualCell

_LAYER_CODES = {"CC": None, "LI": tags.LI, "SE": tags.SEPARATOR, "LE": tags.SEPARATOR_LE}


@dataclass
class CellGridInfo:
    """What was assembled: layer extents (m) and the fractions of voxels removed as isolated."""

    layers: list = field(default_factory=list)  # (name, material, x0, x1, n_cells)
    cathode_slice: tuple = (0, 0)  # x cell index range [i0, i1) of the cathode image
    removed_cam_fraction: float = 0.0
    removed_electrolyte_fraction: float = 0.0
    n_cam_voxels: int = 0


def cathode_codes(vcell: VirtualCell, isolated: str = "remove") -> tuple[np.ndarray, np.ndarray, dict]:
    """Material codes (-1 = no cell) and grain IDs of the cathode image, isolated clusters removed.

    ``isolated``: "remove" (default; fractions reported) or "error" (any isolated CAM or
    electrolyte voxel is an error).
    """
    image = vcell.cathode
    kinds = {m.kind for v, m in image.label_map.materials.items() if image.mask(m.name).any()}
    if {"SE", "CBD"} <= kinds or ("CBD" in kinds and vcell.separator.material != "LE"):
        raise InputError(
            "this image has CBD voxels in a solid-electrolyte cell: the carbon-binder domain is a "
            "homogenized medium soaked with a liquid electrolyte (docs/liquid.md). Use a liquid "
            "electrolyte with a porous LE separator, or relabel the CBD as SE (a binder-free ASSB)."
        )
    if {"SE", "LE"} <= kinds:
        raise InputError(
            "this image has both SE and LE voxels: a cathode's electrolyte is either solid or liquid. "
            "Relabel one of them."
        )
    # The electrolyte of the cathode: the solid one (SE) or the liquid pores (LE, docs/liquid.md),
    # matching the separator (VirtualCell checks that).
    # The liquid network of the cathode: LE pores and the CBD (ionic through its pores; its
    # electronic conduction is not resolved, so CAM must reach the collector through CAM).
    liquid = bool({"LE", "CBD"} & kinds) or (vcell.separator.material == "LE" and "SE" not in kinds)
    ely_code = tags.LE if liquid else tags.SE
    cam = analysis.class_mask(image, ("CAM",))
    se = analysis.class_mask(image, ("LE", "CBD") if liquid else ("SE",))
    if not cam.any():
        raise InputError("the cathode image has no CAM voxels; there is nothing to (dis)charge.")
    wrap = vcell.periodic_axes
    cam_ok = analysis.connected_to_face(cam, "xmax", periodic=wrap)
    se_ok = analysis.connected_to_face(se, "xmin", periodic=wrap)
    f_cam = 1.0 - cam_ok.sum() / cam.sum()
    f_se = 1.0 - se_ok.sum() / se.sum() if se.any() else 0.0
    if se.any() and not se_ok.any():  # no SE at all: a dense CAM film on the separator
        raise PercolationError(
            f"the {'liquid' if liquid else 'solid'} electrolyte of the cathode does not connect to the "
            f"separator (no {'LE or CBD' if liquid else 'SE'} voxel on the "
            "x = 0 face is face-connected into the cathode): no ionic path, the cell cannot be cycled. "
            "Check the image orientation (axis 0 = x from the separator) or the "
            f"{'LE (pore) and CBD' if liquid else 'SE'} fraction."
        )
    if not cam_ok.any():
        raise PercolationError(
            "no CAM voxel is face-connected to the cathode current collector (last x layer): 100 % of "
            "the CAM would be removed as isolated. Check the image orientation or the CAM fraction."
        )
    if isolated == "error" and (f_cam > 0 or f_se > 0):
        raise PercolationError(
            f"{100 * f_cam:.2f} % of the CAM is not connected to the collector and {100 * f_se:.2f} % of "
            "the SE not to the separator; set isolated: remove to drop these clusters."
        )
    codes = np.full(image.shape, -1, dtype=np.int32)
    codes[cam_ok] = tags.CAM
    for name, code in cam_material_codes(vcell).items():  # CAM materials with their own parameters
        codes[cam_ok & image.mask(name)] = code
    codes[se_ok] = ely_code
    if liquid:
        codes[se_ok & analysis.class_mask(image, ("CBD",))] = tags.CBD
    grains = np.where(se_ok & (not liquid), image.grain_ids(), 0).astype(np.int32)
    return codes, grains, {"removed_cam_fraction": float(f_cam), "removed_electrolyte_fraction": float(f_se)}


def cam_material_codes(vcell: VirtualCell) -> dict[str, int]:
    """Material code of each CAM material of ``vcell.cam_materials`` (the label names that have a
    parameter set of their own, ``materials.cams``): ``cell_tags.CAM_EXTRA`` in that order. Every
    other CAM-class voxel gets ``cell_tags.CAM`` (the parameters of ``materials.cam``)."""
    names = tuple(getattr(vcell, "cam_materials", ()) or ())
    if len(names) > len(tags.CAM_EXTRA):
        raise InputError(
            f"{len(names)} CAM materials with their own parameter sets; at most {len(tags.CAM_EXTRA)} "
            "are supported besides materials.cam."
        )
    return dict(zip(names, tags.CAM_EXTRA[: len(names)], strict=True))


def virtual_cell_grid(vcell: VirtualCell, isolated: str = "remove"):
    """The rectilinear :class:`~fem_assb.meshing.voxel_mesh.Grid` of the whole cell and a CellGridInfo.

    A cathode collector of thickness 0 becomes one voxel-thick collector layer (the galvanostatic
    face needs an equipotential conductor); an anode collector of thickness 0 is omitted (phi = 0
    on the Li face, or on the separator face when there is no Li metal).
    """
    from fem_assb.meshing.voxel_mesh import Grid

    image = vcell.cathode
    nx, ny, nz = image.shape
    h = image.voxel_size
    codes_cat, grains_cat, removed = cathode_codes(vcell, isolated)
    blocks, gblocks, info = (
        [],
        [],
        CellGridInfo(**removed, n_cam_voxels=int(np.isin(codes_cat, tags.CAMS).sum())),
    )
    x_edges = [0.0]
    layers = vcell.x_layers()
    if layers[-1].name != "cathode_collector":
        from fem_assb.structure.virtual_cell import XLayer

        x1 = layers[-1].x1
        layers = layers + [XLayer("cathode_collector", "CC", x1, x1 + h, np.array([x1, x1 + h]))]
    i = 0
    for lay in layers:
        n = lay.n_cells
        if lay.name == "cathode":
            blocks.append(codes_cat)
            gblocks.append(grains_cat)
            info.cathode_slice = (i, i + n)
        else:
            code = {"anode_collector": tags.ANODE_CC, "cathode_collector": tags.CATHODE_CC}.get(
                lay.name, _LAYER_CODES.get(lay.material)
            )
            if code is None:
                raise InputError(f"layer {lay.name!r} of material {lay.material!r} is not supported.")
            blocks.append(np.full((n, ny, nz), code, dtype=np.int32))
            gblocks.append(np.zeros((n, ny, nz), dtype=np.int32))
        info.layers.append((lay.name, lay.material, lay.x0, lay.x1, n))
        x_edges.extend((lay.edges[1:] - lay.edges[0] + x_edges[-1]).tolist())
        i += n
    grid = Grid(
        np.asarray(x_edges),
        np.arange(ny + 1) * h,
        np.arange(nz + 1) * h,
        np.concatenate(blocks, axis=0),
        grain=np.concatenate(gblocks, axis=0),
        periodic=vcell.periodic_axes,
    )
    return grid, info


def deactivate_faces(vmesh, info: CellGridInfo, inactive_faces, tag: int, grid_shape=None):
    """Re-tag as insulating (0) the facets with ``tag`` that ``inactive_faces`` marks inactive.

    inactive_faces: (fx, fy, fz) boolean arrays of the cathode image (``VoxelImage.inactive_faces``:
    True marks the face between voxel i and i+1 along that axis); ``info.cathode_slice`` places the
    image in the grid. Returns the new facet MeshTags (also stored on ``vmesh.facet_tags``) and the
    number of local facets deactivated. MODEL §3: inactive (delaminated) CAM | SE facets carry no
    current [004].
    """
    from dolfinx import mesh as dmesh

    msh = vmesh.mesh
    ft = vmesh.facet_tags
    facets = ft.find(tag)
    values = ft.values.copy()
    if facets.size == 0 or inactive_faces is None:
        return ft, 0
    msh.topology.create_connectivity(2, 3)
    f2c = msh.topology.connectivity(2, 3)
    shape = vmesh.grid_shape
    # Only facets with both cells on this process are integrated as interior facets.
    facets = np.array([f for f in facets if f2c.links(f).size == 2], dtype=np.int32)
    if facets.size == 0:
        return ft, 0
    pairs = np.array([f2c.links(f) for f in facets])
    ijk = np.stack(np.unravel_index(vmesh.voxel_index[pairs], shape), axis=-1)  # (n, 2, 3)
    lo = ijk.min(axis=1)
    axis = np.argmax(np.abs(ijk[:, 0] - ijk[:, 1]), axis=1)
    lo[:, 0] -= info.cathode_slice[0]
    off = np.zeros(facets.size, dtype=bool)
    for a in range(3):
        sel = axis == a
        fa = np.asarray(inactive_faces[a], dtype=bool)
        idx = lo[sel]
        inside = np.all((idx >= 0) & (idx < np.array(fa.shape)), axis=1)
        hit = np.zeros(sel.sum(), dtype=bool)
        hit[inside] = fa[tuple(idx[inside].T)]
        off[np.flatnonzero(sel)[hit]] = True
    order = np.searchsorted(ft.indices, facets[off])
    values[order] = 0
    keep = values != 0
    new = dmesh.meshtags(msh, 2, ft.indices[keep], values[keep])
    vmesh.set_facet_tags(new)
    return new, int(off.sum())

"""Material codes of the mesh cells and facet tags of the electrochemistry (one place).

Material codes go into the meshing ``Grid.material`` array (-1 = no cell). Conductor classes:
electronic (CAM, Li metal, collectors) and ionic (composite SE, separator; the liquid network:
LE pores and the porous LE separator, ``LIQUID``, whose facets have tags of their own).
Facet tags are what :func:`facet_tagger` returns for an interior facet between two cells; each
law of :mod:`fem_assb.forms.electrochemistry` integrates over its own tag only (DESIGN §3a).
"""

from __future__ import annotations

import numpy as np

# --- material codes (cells) ---
CAM = 1  #: cathode active material (electronic conductor + Li storage)
SE = 2  #: solid electrolyte inside the composite cathode (ionic)
SEPARATOR = 3  #: dense solid-electrolyte separator (ionic)
LI = 4  #: Li metal anode (electronic)
CATHODE_CC = 5  #: cathode current collector (electronic, thin and highly conducting)
ANODE_CC = 6  #: anode current collector (electronic)
#: further CAM materials with their own parameter sets (``materials.cams``, in their order): the
#: i-th CAM-class label named there gets code CAM_EXTRA[i]; CAM is ``materials.cam``
CAM_EXTRA = (11, 12, 13, 14, 15, 16, 17, 18)
CAMS = (CAM, *CAM_EXTRA)  #: every CAM material code
LE = 7  #: liquid-electrolyte pore voxel of the cathode (ionic, c_e an unknown; eps = 1, bulk kappa, D_e)
SEPARATOR_LE = 8  #: porous separator soaked with liquid electrolyte (homogenized: porosity, factors)
#: carbon-binder domain of a liquid cell (homogenized: porosity, kappa and D factors of the
#: materials' ``cbd`` section; c_e an unknown in its pores; docs/liquid.md, "Carbon-binder domain")
CBD = 9

MATERIAL_NAMES = {
    CAM: "CAM",
    SE: "SE",
    SEPARATOR: "SEPARATOR",
    LI: "LI",
    CATHODE_CC: "CATHODE_CC",
    ANODE_CC: "ANODE_CC",
    **{c: f"CAM_{i + 2}" for i, c in enumerate(CAM_EXTRA)},
    LE: "LE",
    SEPARATOR_LE: "SEPARATOR_LE",
    CBD: "CBD",
}
ELECTRONIC = (*CAMS, LI, CATHODE_CC, ANODE_CC)
#: The liquid network: cells whose second unknown is c_e / c_e0 (docs/liquid.md). The CBD is
#: an ionic conductor through its liquid-filled pores; its electronic conduction is not resolved
#: (docs/liquid.md: a CBD cell would need a third potential).
LIQUID = (LE, SEPARATOR_LE, CBD)
#: Every electrolyte (phi_e): the solid ones and the liquid network.
IONIC = (SE, SEPARATOR) + LIQUID

# --- interior facet tags ---
NONE = 0  #: insulating (e.g. electrolyte | collector)
CAM_CAM = 1  #: electronic conduction and Li diffusion inside the CAM
CONDUCTION_E = 2  #: electronic conduction between other electronic cells (CAM|CC, CC|CC, Li|Li, Li|CC)
CONDUCTION_I = 3  #: ionic conduction between electrolyte cells not separated by a grain boundary
CAM_SE = 4  #: intercalation, Butler-Volmer (MODEL §3)
LI_SE = 5  #: Li metal | electrolyte, Butler-Volmer with constant i0
GRAIN_BOUNDARY = 6  #: SE | SE of different nonzero grain IDs (MODEL §3, [002] Eq. 1; is_grain_boundary)
LIQUID_LIQUID = 7  #: concentrated-solution transport between liquid cells (phi_e and c_e, MODEL §2)
CAM_LE = 8  #: intercalation at CAM | liquid electrolyte (LE, CBD), Butler-Volmer with i0(c_e, c_s)
LI_LE = 9  #: Li metal | liquid electrolyte, Butler-Volmer with constant i0
CAM_INTERFACE = 10  #: CAM_a | CAM_b of two CAM materials (Li: transport.cam_interface_flux; electrons)

# exterior facets on the grid's bounding box (set by build_voxel_mesh)
from fem_assb.meshing.voxel_mesh import XMAX, XMIN, YMAX, YMIN, ZMAX, ZMIN  # noqa: E402,F401


def is_grain_boundary(grain_a, grain_b) -> np.ndarray:
    """The grain-boundary facet rule (MODEL §3), one place for the cell and for keff: a facet
    between two electrolyte voxels is a grain boundary where their grain IDs differ and both
    are nonzero. The same ID is perfect contact; ID 0 means "no grain" (the separator layer, an
    SE without a grain image) and is continuous with every grain, so composite SE against the
    separator is not a grain boundary. Vectorized and symmetric in a and b."""
    ga, gb = np.asarray(grain_a), np.asarray(grain_b)
    return (ga != gb) & (ga > 0) & (gb > 0)


def facet_tagger(mat_a, mat_b, grain_a, grain_b) -> np.ndarray:
    """Vectorized, symmetric tag of interior facets between cells of materials a and b."""
    a, b = np.asarray(mat_a), np.asarray(mat_b)
    el_a, el_b = np.isin(a, ELECTRONIC), np.isin(b, ELECTRONIC)
    io_a, io_b = np.isin(a, IONIC), np.isin(b, IONIC)
    tags = np.zeros(a.shape, dtype=np.int32)
    tags[el_a & el_b] = CONDUCTION_E
    cam_a, cam_b = np.isin(a, CAMS), np.isin(b, CAMS)
    tags[cam_a & cam_b] = CAM_INTERFACE
    tags[cam_a & cam_b & (a == b)] = CAM_CAM
    tags[(a == LI) & cam_b | cam_a & (b == LI)] = NONE  # never adjacent in a valid cell
    gb = is_grain_boundary(grain_a, grain_b)
    tags[io_a & io_b & ~gb] = CONDUCTION_I
    tags[io_a & io_b & gb] = GRAIN_BOUNDARY
    tags[(cam_a & io_b) | (io_a & cam_b)] = CAM_SE
    tags[((a == LI) & io_b) | (io_a & (b == LI))] = LI_SE
    # The liquid network (docs/liquid.md): its own tags; a solid | liquid electrolyte facet
    # carries nothing (the materials never mix the two, MODEL §1).
    lq_a, lq_b = np.isin(a, LIQUID), np.isin(b, LIQUID)
    tags[(lq_a & io_b & ~lq_b) | (io_a & ~lq_a & lq_b)] = NONE
    tags[lq_a & lq_b] = LIQUID_LIQUID  # LE | CBD too: the half cells of the two media in series
    tags[(cam_a & lq_b) | (lq_a & cam_b)] = CAM_LE  # CAM | CBD: weighted by the CBD's porosity
    tags[((a == LI) & lq_b) | (lq_a & (b == LI))] = LI_LE
    return tags

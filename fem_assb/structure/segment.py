"""SE grain segmentation: marker-based watershed and K-colouring of the grains (seed 002, MODEL.md §6).

1. Markers: local maxima of the Euclidean distance transform (EDT) of the SE phase, at least
   ``min_distance`` voxels apart (``skimage.feature.peak_local_max``), or the regional maxima
   of height ``h`` (``skimage.morphology.h_maxima``); touching maxima form one marker.
2. Grains: watershed of -EDT from the markers inside the SE (``skimage.segmentation.watershed``),
   one label per grain.
3. IDs: the grain adjacency graph (grains sharing a voxel face) is coloured with K IDs (default
   8, as in seed 002) greedily, largest degree first, each grain taking the free ID least used
   so far; where no ID is free the one with the fewest shared faces is taken and a few
   local-search passes recolour the remaining conflicts. Touching grains with the same ID (no
   grain boundary between them) are reported as conflicts. Or, with a ``seed``, each grain
   draws one of the K IDs at random (seed 002's assignment, MODEL.md §3): touching grains then
   share an ID with probability about 1/K, and their common faces are no grain boundary.

The IDs go into ``VoxelImage.grains`` (0 outside the SE); faces between SE voxels of
different IDs are grain boundaries (MODEL.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fem_assb.errors import InputError
from fem_assb.structure import analysis
from fem_assb.structure.image import VoxelImage


@dataclass
class GrainSegmentation:
    """Result of :func:`segment_grains`."""

    grains: np.ndarray  # int32 grain label per voxel, 1..n_grains, 0 outside the SE
    ids: np.ndarray  # int32 grain ID per voxel, 1..k, 0 outside the SE
    n_grains: int
    k: int
    pairs: np.ndarray  # (m, 2) touching grain labels (a < b)
    faces: np.ndarray  # (m,) shared voxel faces per pair
    colour: np.ndarray  # (n_grains + 1,) ID per grain label (colour[0] = 0)
    stats: analysis.ParticleStats  # equivalent diameters of the grains [m]

    @property
    def conflicts(self) -> int:
        """Touching grain pairs that got the same ID."""
        return int(np.count_nonzero(self._same()))

    @property
    def conflict_faces(self) -> int:
        """SE | SE faces between different grains that carry the same ID (lost grain boundaries)."""
        return int(self.faces[self._same()].sum())

    def _same(self) -> np.ndarray:
        return self.colour[self.pairs[:, 0]] == self.colour[self.pairs[:, 1]]

    def mean_neighbours(self) -> float:
        """Average number of touching grains per grain."""
        return 2.0 * len(self.pairs) / self.n_grains if self.n_grains else 0.0

    def summary(self) -> dict:
        """Grain statistics as a JSON-ready dict (diameters in m)."""
        s = self.stats
        return {
            "grains": self.n_grains,
            "ids": self.k,
            "touching_pairs": int(len(self.pairs)),
            "mean_neighbours": round(self.mean_neighbours(), 3),
            "conflicts": self.conflicts,
            "conflict_faces": self.conflict_faces,
            "grain_boundary_faces": int(self.faces.sum()) - self.conflict_faces,
            "d_mean_m": s.mean,
            "d_std_m": s.std,
            "d50_volume_m": s.d50_volume,
        }


def watershed_grains(
    se: np.ndarray, *, min_distance: int = 3, h: float | None = None
) -> tuple[np.ndarray, int]:
    """Marker-based watershed of a boolean SE mask into grains; returns (labels int32, count).

    ``min_distance`` (voxels): smallest distance between two markers (EDT peaks).
    ``h`` (voxels): use h-maxima of the EDT as markers instead (larger h -> fewer grains).
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    se = np.asarray(se, bool)
    if not se.any():
        return np.zeros(se.shape, np.int32), 0
    dist = ndimage.distance_transform_edt(se)
    if h is not None:
        from skimage.morphology import h_maxima

        if not h > 0:
            raise InputError(f"h = {h} must be a positive height in voxels (e.g. 0.5).")
        peaks = h_maxima(dist, h).astype(bool)
    else:
        if int(min_distance) < 1:
            raise InputError(f"min_distance = {min_distance} must be at least 1 voxel.")
        clusters, _ = ndimage.label(se)
        coords = peak_local_max(dist, min_distance=int(min_distance), labels=clusters, exclude_border=False)
        peaks = np.zeros(se.shape, bool)
        peaks[tuple(coords.T)] = True
    markers, _ = ndimage.label(peaks, structure=np.ones((3, 3, 3), bool))
    # every SE cluster needs a marker (tiny clusters may have none)
    clusters, n_clusters = ndimage.label(se)
    has = np.zeros(n_clusters + 1, bool)
    has[clusters[markers > 0]] = True
    missing = np.flatnonzero(~has[1:]) + 1
    if missing.size:
        first = ndimage.maximum_position(dist, clusters, missing)
        base = markers.max()
        for n, pos in enumerate(first, start=1):
            markers[pos] = base + n
    grains = watershed(-dist, markers, mask=se).astype(np.int32)
    # relabel consecutively
    used = np.unique(grains[grains > 0])
    lut = np.zeros(int(grains.max()) + 1, np.int32)
    lut[used] = np.arange(1, used.size + 1, dtype=np.int32)
    return lut[grains], int(used.size)


def grain_adjacency(grains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a < b) of grain labels sharing at least one voxel face, and their face counts."""
    keys = []
    n = int(grains.max()) + 1
    for axis in range(3):
        a = np.moveaxis(grains, axis, 0)
        lo, hi = a[:-1].ravel(), a[1:].ravel()
        touch = (lo > 0) & (hi > 0) & (lo != hi)
        lo, hi = lo[touch].astype(np.int64), hi[touch].astype(np.int64)
        keys.append(np.minimum(lo, hi) * n + np.maximum(lo, hi))
    keys = np.concatenate(keys)
    if keys.size == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64)
    uniq, counts = np.unique(keys, return_counts=True)
    return np.stack([uniq // n, uniq % n], axis=1), counts


def colour_grains(
    n_grains: int, pairs: np.ndarray, faces: np.ndarray, k: int = 8, passes: int = 10
) -> np.ndarray:
    """IDs 1..k per grain label (index 0 -> 0) so that touching grains differ wherever possible.

    Greedy colouring in order of decreasing degree (Welsh-Powell); a grain takes the free ID
    used least so far (balanced IDs), or, when all k are taken by neighbours, the ID with the
    fewest shared faces. Then up to ``passes`` sweeps recolour grains in conflict to the ID of
    least shared faces with their neighbours.
    """
    if int(k) < 1:
        raise InputError(f"the number of grain IDs must be >= 1, got {k}.")
    k = int(k)
    colour = np.zeros(n_grains + 1, np.int32)
    if n_grains == 0:
        return colour
    nbrs: list[list[int]] = [[] for _ in range(n_grains + 1)]
    wts: list[list[int]] = [[] for _ in range(n_grains + 1)]
    for (a, b), w in zip(pairs.tolist(), faces.tolist(), strict=True):
        nbrs[a].append(b)
        wts[a].append(w)
        nbrs[b].append(a)
        wts[b].append(w)
    degree = np.array([len(v) for v in nbrs])
    order = np.argsort(-degree[1:], kind="stable") + 1
    used = np.zeros(k + 1, np.int64)

    def cost(g: int) -> np.ndarray:
        c = np.zeros(k + 1)
        for nb, w in zip(nbrs[g], wts[g], strict=True):
            c[colour[nb]] += w
        c[0] = np.inf
        return c

    for g in order:
        c = cost(g)
        free = np.flatnonzero(c[1:] == 0) + 1
        if free.size:
            pick = free[np.argmin(used[free])]
        else:
            pick = int(np.argmin(c))
        colour[g] = pick
        used[pick] += 1
    for _ in range(passes):
        changed = False
        same = colour[pairs[:, 0]] == colour[pairs[:, 1]]
        for g in np.unique(pairs[same].ravel()):
            c = cost(g)
            best = int(np.argmin(c))
            if c[best] < c[colour[g]]:
                colour[g] = best
                changed = True
        if not changed:
            break
    return colour


def random_ids(n_grains: int, k: int, seed: int) -> np.ndarray:
    """IDs 1..k drawn uniformly per grain label (index 0 -> 0) with ``numpy.random.default_rng(seed)``
    (seed 002: "grains are randomly assigned one of 8 IDs")."""
    if int(k) < 1:
        raise InputError(f"the number of grain IDs must be >= 1, got {k}.")
    colour = np.zeros(n_grains + 1, np.int32)
    colour[1:] = np.random.default_rng(int(seed)).integers(1, int(k) + 1, size=n_grains)
    return colour


def segment_grains(
    image: VoxelImage,
    *,
    k: int = 8,
    min_distance: int = 3,
    h: float | None = None,
    phase: str = "SE",
    seed: int | None = None,
) -> GrainSegmentation:
    """Watershed the ``phase`` (default SE) of ``image`` into grains and give them K IDs.

    ``k``: number of grain IDs (seed 002: 8). ``min_distance`` (voxels) / ``h`` (voxels): marker
    choice, see :func:`watershed_grains`. ``seed``: None colours the grain graph (touching
    grains differ where K allows); an integer draws the IDs at random (:func:`random_ids`).
    """
    se = image.mask(phase)
    if not se.any():
        raise InputError(f"the image has no {phase} voxels to segment into grains.")
    grains, n = watershed_grains(se, min_distance=min_distance, h=h)
    pairs, faces = grain_adjacency(grains)
    colour = colour_grains(n, pairs, faces, k) if seed is None else random_ids(n, k, seed)
    ids = colour[grains].astype(np.int32)
    stats = analysis.particle_sizes(image, phase, particle_ids=grains)
    return GrainSegmentation(grains, ids, n, int(k), pairs, faces, colour, stats)


def with_grains(image: VoxelImage, seg: GrainSegmentation) -> VoxelImage:
    """A copy of ``image`` whose ``grains`` are the segmentation's IDs (1..k, 0 outside the SE)."""
    return VoxelImage(
        image.labels, image.voxel_size, image.label_map, grains=seg.ids, inactive_faces=image.inactive_faces
    )

"""Stochastic composite-cathode generators (MODEL.md §6, docs/generators.md).

A composite is built in three steps, all reproducible from one integer seed:

1. **Powder**: for each solid phase (CAM, SE, optionally CBD) sphere diameters are drawn from a
   lognormal distribution (number mean ``d``, coefficient of variation ``spread``) until the
   spheres' volume reaches the phase's share of a dense *pre-sinter* packing (``packing``,
   default 0.62 of the box); centres are uniform in the packing domain: the box, extended on
   non-periodic sides by the largest mean diameter, so the box is cut out of a larger packing
   and has no wall layer (the fields of step 3 are computed on a padded grid, then cropped).
2. **Packing**: collective rearrangement pushes overlapping spheres apart (mass-weighted) until
   no pair overlaps by more than ``overlap`` (default 10 %) of the sum of radii: sintering necks.
3. **Densification** ("sintering"): every phase p grows from its spheres by a signed offset
   ``t_p``; a voxel belongs to the phase with the smallest ``sd_p(x) - t_p`` when that value
   is <= 0 and stays pore otherwise (``sd_p`` = signed distance to the nearest sphere surface of
   phase p, exact for spheres, found through a Euclidean distance transform). The offsets are
   solved by rank ordering so that every phase hits its target voxel count (to << 0.1 vol%),
   which fixes the fractions and the density (solid fraction) at the same time.

Image convention: ``LabelMap.default()`` (0 PORE, 1 CAM, 2 SE, 3 LE, 4 CBD), axis 0 = x.
All lengths in metres inside; public functions also accept strings with units ("5 um").
"""

from __future__ import annotations

import inspect
import math

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from fem_assb.errors import InputError
from fem_assb.memory import available_memory as _available_memory
from fem_assb.structure.image import VoxelImage
from fem_assb.units import quantity, to_si

#: Image values of LabelMap.default().
PORE, CAM, SE, LE, CBD = 0, 1, 2, 3, 4
_PHASE_NAMES = {CAM: "CAM", SE: "SE", CBD: "CBD"}

#: Accuracy of the densification: phase voxel counts within this fraction of the box.
FRACTION_TOLERANCE = 5e-4


# ---------------------------------------------------------------------------------------------
# input parsing


#: Keys of a generator spec that are lengths (they must carry a unit in a spec or on the command line).
LENGTH_KEYS = ("voxel_size", "d_cam", "d_se", "d_cbd", "radius")

#: Most spheres a packing may hold (the packing's neighbour lists and relaxation scale with it).
MAX_PARTICLES = 5_000_000


def _length(value, name: str) -> float:
    """A length in m from ``value`` ("5 um", a pint quantity, or a float in m from Python).

    Text must carry its unit: ``"2"`` is an error ("give a unit, e.g. '2 um'"), never metres.
    """
    if isinstance(value, str) and quantity(value, name=name).unitless:
        raise InputError(f"{name} = {value!r} has no unit; give a unit, e.g. '{value.strip()} um'.")
    out = to_si(value, "m", name=name, default_unit="m")
    if not out > 0:
        raise InputError(f"{name} = {value!r} must be a positive length, e.g. '2 um'.")
    return out


def _fraction(value, name: str, allow_none: bool = True) -> float | None:
    """A fraction in [0, 1] from a number (0..1) or a string such as ``"60 %"``."""
    if value is None:
        if allow_none:
            return None
        raise InputError(f"{name} is required (a fraction between 0 and 1, or e.g. '60 %').")
    out = to_si(value, "", name=name)
    if not 0.0 <= out <= 1.0:
        raise InputError(
            f"{name} = {value!r} must lie between 0 and 1 (or be written with '%', e.g. '60 %')."
        )
    return out


def _seed(seed) -> int:
    """The random seed: an integer >= 0 (numpy's SeedSequence takes no negative seeds)."""
    try:
        out = int(seed)
        ok = not isinstance(seed, bool) and float(seed) == out
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(f"seed = {seed!r} must be an integer >= 0, e.g. seed: 1.")
    if out < 0:
        raise InputError(f"seed = {seed!r} is negative; give an integer >= 0 (0, 1, 2, ...).")
    return out


def _shape(shape) -> tuple[int, int, int]:
    try:
        out = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise InputError(
            f"shape = {shape!r} must be three voxel counts (nx, ny, nz), e.g. [40, 40, 40]."
        ) from None
    if len(out) != 3 or min(out) < 1 or any(int(n) != float(n) for n in shape):
        raise InputError(
            f"shape = {shape!r} must be three positive integers (nx, ny, nz), e.g. [40, 40, 40]."
        )
    return out


def _periodic_axes(periodic) -> tuple[int, ...]:
    """Axes treated as periodic: ``False`` -> none, ``True``/``"yz"`` -> (1, 2), ``"y"`` -> (1,)..."""
    if periodic is None or periodic is False:
        return ()
    if periodic is True:
        return (1, 2)
    if isinstance(periodic, str) and periodic and set(periodic.lower()) <= {"y", "z"}:
        return tuple(sorted({"y": 1, "z": 2}[c] for c in periodic.lower()))
    raise InputError(f"periodic = {periodic!r}: use false, true (= periodic in y and z), 'y', 'z' or 'yz'.")


def target_fractions(
    *,
    cam_fraction=None,
    se_fraction=None,
    cbd_fraction=0.0,
    svf_cam=None,
    density=None,
) -> dict[int, float]:
    """Volume fractions of the box per phase value, from either form of the targets.

    Either ``cam_fraction`` and ``se_fraction`` (and ``cbd_fraction``) as fractions of the box
    volume, or ``svf_cam`` = V_CAM / (V_CAM + V_SE) (seed 002 Eq. 3) with ``density`` =
    solid fraction (CAM + SE + CBD) of the box. The pore fraction is 1 - density.
    """
    cam = _fraction(cam_fraction, "cam_fraction")
    se = _fraction(se_fraction, "se_fraction")
    cbd = _fraction(cbd_fraction or 0.0, "cbd_fraction", allow_none=False)
    svf = _fraction(svf_cam, "svf_cam")
    dens = _fraction(density, "density")
    if svf is not None or dens is not None:
        if cam is not None or se is not None:
            raise InputError("give either cam_fraction/se_fraction or svf_cam/density, not both.")
        if svf is None or dens is None:
            raise InputError("svf_cam and density go together: give both (e.g. svf_cam: 0.6, density: 0.9).")
        if cbd > dens:
            raise InputError(f"cbd_fraction = {cbd} exceeds density = {dens}: the CBD is part of the solid.")
        cam, se = svf * (dens - cbd), (1.0 - svf) * (dens - cbd)
    else:
        if cam is None:
            raise InputError(
                "give the composition: cam_fraction (with se_fraction), or svf_cam with density."
            )
        se = 0.0 if se is None else se
    if cam + se + cbd > 1.0 + 1e-12:
        raise InputError(
            f"volume fractions add up to {cam + se + cbd:.4f} > 1 (CAM {cam}, SE {se}, CBD {cbd}); "
            "lower one of them (the pore fraction is what is left)."
        )
    return {CAM: cam, SE: se, CBD: cbd}


# ---------------------------------------------------------------------------------------------
# step 1 + 2: powder and packing


def lognormal_diameters(rng: np.random.Generator, mean: float, spread: float, size: int) -> np.ndarray:
    """``size`` diameters with number mean ``mean`` and coefficient of variation ``spread`` (-)."""
    if spread <= 0:
        return np.full(size, float(mean))
    sigma2 = math.log1p(spread**2)
    return rng.lognormal(math.log(mean) - 0.5 * sigma2, math.sqrt(sigma2), size)


def _draw_powder(rng, volume: float, mean: float, spread: float) -> np.ndarray:
    """Radii (voxel units) whose spheres hold ``volume`` voxels, drawn in order from ``rng``."""
    if volume <= 0:
        return np.zeros(0)
    mean_vol = math.pi / 6.0 * mean**3 * (1.0 + spread**2) ** 3  # E[d^3] of the lognormal
    radii = []
    total = 0.0
    while total < volume:
        n = max(16, int(1.2 * (volume - total) / mean_vol) + 1)
        d = lognormal_diameters(rng, mean, spread, n)
        cum = total + np.cumsum(math.pi / 6.0 * d**3)
        k = int(np.searchsorted(cum, volume)) + 1
        radii.append(0.5 * d[:k])
        total = float(cum[min(k, n) - 1])
    return np.concatenate(radii)


class _Packing:
    """Sphere centres ``x`` (n, 3) and radii ``r`` (n,) in voxel units, phase per sphere."""

    def __init__(self, shape, periodic_axes, margin: float):
        self.shape = np.asarray(shape, float)
        self.periodic = np.zeros(3, bool)
        self.periodic[list(periodic_axes)] = True
        # packing domain [lo, hi): the box, extended by ``margin`` on non-periodic sides so that
        # the box is cut out of a larger packing (no wall effects inside the box)
        self.lo = np.where(self.periodic, 0.0, -margin)
        self.hi = np.where(self.periodic, self.shape, self.shape + margin)
        self.x = np.zeros((0, 3))
        self.r = np.zeros(0)
        self.phase = np.zeros(0, np.int8)

    @property
    def volume(self) -> float:
        """Volume of the packing domain (voxels)."""
        return float(np.prod(self.hi - self.lo))

    def add(self, rng, radii, phase):
        """Drop spheres with uniformly distributed centres in the packing domain."""
        x = self.lo + rng.random((radii.size, 3)) * (self.hi - self.lo)
        self.x = np.vstack([self.x, x])
        self.r = np.concatenate([self.r, radii])
        self.phase = np.concatenate([self.phase, np.full(radii.size, phase, np.int8)])

    def _separation(self, i, j) -> np.ndarray:
        """Vectors from centre i to centre j (minimum image on periodic axes)."""
        d = self.x[j] - self.x[i]
        per = self.periodic
        d[:, per] -= self.shape[per] * np.round(d[:, per] / self.shape[per])
        return d

    def _candidates(self, skin: float):
        """Index pairs (i, j) of spheres closer than r_i + r_j + skin (a Verlet list)."""
        cut = 2.0 * float(self.r.max()) + skin
        box = np.where(self.periodic, self.shape, self.hi - self.lo + 2 * cut + 1.0)  # no wrap-around pairs
        pts = np.where(self.periodic, np.mod(self.x, self.shape), self.x - self.lo)
        pts = np.minimum(pts, np.nextafter(box, 0))  # cKDTree needs data in [0, box)
        groups = [np.flatnonzero(self.phase == p) for p in np.unique(self.phase)]
        trees = [cKDTree(pts[g], boxsize=box) for g in groups]
        ii, jj = [], []
        for a, ga in enumerate(groups):
            for b in range(a, len(groups)):
                gb = groups[b]
                m = trees[a].sparse_distance_matrix(
                    trees[b], float(self.r[ga].max() + self.r[gb].max()) + skin, output_type="ndarray"
                )
                i, j = ga[m["i"]], gb[m["j"]]
                keep = (m["v"] < self.r[i] + self.r[j] + skin) & ((i < j) if a == b else True)
                ii.append(i[keep])
                jj.append(j[keep])
        return np.concatenate(ii), np.concatenate(jj)

    def relax(self, overlap: float, max_iter: int = 100, tol: float = 0.05) -> int:
        """Push overlapping spheres apart until centre distances >= (1 - overlap)(r_i + r_j).

        Each pair's excess overlap is removed in one step, shared inversely to the spheres'
        volumes (a large CAM particle moves less than a small SE particle). A pair is done when
        its excess is below ``tol`` times the smaller radius; the packing is done when at most
        0.2 % of the spheres are in pairs that are not (jammed leftovers merely sinter a little
        more). Candidate pairs come from a Verlet list (skin: half the median radius) rebuilt
        every 5 iterations and before declaring convergence. Returns the iterations used.
        """
        if self.r.size < 2:
            return 0
        vol = self.r**3
        allowed = max(1, int(0.002 * self.r.size))
        skin = 0.5 * float(np.median(self.r))
        fresh = False
        for it in range(max_iter):
            if it % 5 == 0 and not fresh:
                ci, cj = self._candidates(skin)
                fresh = True
            d = self._separation(ci, cj)
            dist = np.sqrt(np.einsum("ij,ij->i", d, d))
            excess = (1.0 - overlap) * (self.r[ci] + self.r[cj]) - dist
            rmin = np.minimum(self.r[ci], self.r[cj])
            bad = excess > tol * rmin
            if np.count_nonzero(bad) <= allowed and (excess < 0.5 * rmin).all():
                if fresh:
                    return it
                ci, cj = self._candidates(skin)  # confirm on a fresh list
                fresh = True
                continue
            i, j, d, dist, excess = ci[bad], cj[bad], d[bad], dist[bad], excess[bad]
            unit = d / np.maximum(dist, 1e-9)[:, None]
            wi = (vol[j] / (vol[i] + vol[j]))[:, None]
            step = np.zeros_like(self.x)
            np.add.at(step, i, -wi * excess[:, None] * unit)
            np.add.at(step, j, (1.0 - wi) * excess[:, None] * unit)
            self.x += step
            self._confine()
            fresh = False
        return max_iter

    def _confine(self):
        per = self.periodic
        self.x[:, per] = np.mod(self.x[:, per], self.shape[per])
        self.x[:, ~per] = np.clip(self.x[:, ~per], self.lo[~per], self.hi[~per])


# ---------------------------------------------------------------------------------------------
# step 3: signed distances and densification


def _stamp(packing: _Packing, which: np.ndarray, shape, pad: tuple[int, int, int]) -> np.ndarray:
    """Image (shape + 2 pad) of sphere index + 1 for voxels inside the chosen spheres, else 0.

    The image covers the box plus ``pad`` voxels on both sides of every axis: wrapped copies on
    periodic axes, the particles beyond the box on the others.
    """
    full = tuple(n + 2 * p for n, p in zip(shape, pad, strict=True))
    ids = np.zeros(full, np.int32)
    per = packing.periodic
    for k in which:
        c, r = packing.x[k], packing.r[k]
        idx = []
        for ax in range(3):
            lo, hi = int(math.floor(c[ax] - r - 0.5)), int(math.ceil(c[ax] + r - 0.5)) + 1
            idx.append(
                np.arange(lo, hi) if per[ax] else np.arange(max(lo, -pad[ax]), min(hi, shape[ax] + pad[ax]))
            )
        if any(i.size == 0 for i in idx):
            continue
        d2 = (
            (idx[0] + 0.5 - c[0])[:, None, None] ** 2
            + (idx[1] + 0.5 - c[1])[None, :, None] ** 2
            + (idx[2] + 0.5 - c[2])[None, None, :] ** 2
        )
        hit = np.nonzero(d2 <= r * r)
        g = [idx[ax][hit[ax]] for ax in range(3)]
        for ax in range(3):
            g[ax] = (np.mod(g[ax], shape[ax]) if per[ax] else g[ax]) + pad[ax]
        for sx in _copies(shape, pad, per, 0):
            for sy in _copies(shape, pad, per, 1):
                for sz in _copies(shape, pad, per, 2):
                    gx, gy, gz = g[0] + sx, g[1] + sy, g[2] + sz
                    ok = (gx >= 0) & (gx < full[0]) & (gy >= 0) & (gy < full[1]) & (gz >= 0) & (gz < full[2])
                    ids[gx[ok], gy[ok], gz[ok]] = k + 1
    return ids


def _copies(shape, pad, per, ax) -> tuple[int, ...]:
    """Index shifts of a voxel's periodic copies inside the padded image along ``ax``."""
    return (0, shape[ax], -shape[ax]) if per[ax] and pad[ax] else (0,)


def _signed_distance(packing: _Packing, phase: int, shape) -> np.ndarray:
    """sd(x) = |x - c| - r for the sphere of ``phase`` whose voxels are nearest to x (voxels).

    Inside a sphere the sphere itself is used (negative values). The nearest sphere is found
    by a Euclidean distance transform with indices on an image padded periodically.
    """
    which = np.flatnonzero(packing.phase == phase)
    # padding: the nearest surface of a box voxel lies within about one mean particle radius
    margin = int(math.ceil(float(packing.r[which].mean()))) + 3
    pad = tuple(min(n, margin) if packing.periodic[a] else margin for a, n in enumerate(shape))
    ids = _stamp(packing, which, shape, pad)
    if not ids.any():
        raise InputError(
            f"no {_PHASE_NAMES[phase]} particle falls on this grid (its fraction is too small for its "
            "particle "
            "size, or the particles are smaller than a voxel); use a larger box, smaller particles or voxels."
        )
    inds = np.empty((3, *ids.shape), np.int32)
    ndimage.distance_transform_edt(ids == 0, return_distances=False, return_indices=True, indices=inds)
    crop = tuple(slice(p, p + n) for p, n in zip(pad, shape, strict=True))
    owner = ids[inds[0][crop], inds[1][crop], inds[2][crop]] - 1
    del inds, ids
    sq = np.zeros(shape, np.float32)
    for ax in range(3):
        pos = (np.arange(shape[ax], dtype=np.float32) + 0.5).reshape([-1 if a == ax else 1 for a in range(3)])
        delta = pos - packing.x[:, ax].astype(np.float32)[owner]
        if packing.periodic[ax]:
            delta -= np.float32(shape[ax]) * np.round(delta / np.float32(shape[ax]))
        sq += delta * delta
    sd = np.sqrt(sq, out=sq)
    sd -= packing.r.astype(np.float32)[owner]
    return sd


def densify(sd: dict[int, np.ndarray], counts: dict[int, int], max_sweeps: int = 200) -> dict[int, float]:
    """Growth offsets t_p (voxels) so that phase p owns ``counts[p]`` voxels.

    A voxel is phase p when ``sd_p - t_p <= min(0, min_q sd_q - t_q)`` (the 0 is the pore; a
    fully dense target has no pore and drops it). For fixed offsets of the other phases this set
    grows monotonically with t_p, so t_p is the counts[p]-th smallest value of
    ``sd_p - min(0, min_q (sd_q - t_q))`` (rank ordering); the phases are updated in turn
    (Gauss-Seidel) until every count is met within ``FRACTION_TOLERANCE`` of the box.
    """
    phases = list(sd)
    t = dict.fromkeys(phases, 0.0)
    total = next(iter(sd.values())).size
    dense = sum(counts.values()) >= total
    tol = max(1, int(FRACTION_TOLERANCE * total))
    if len(phases) == 1:
        p = phases[0]
        t[p] = np.inf if dense else float(np.partition(sd[p].ravel(), counts[p] - 1)[counts[p] - 1])
        return t
    for _ in range(max_sweeps):
        for p in phases[1:] if dense else phases:  # dense: t is defined up to a common shift
            others = [sd[q] - np.float32(t[q]) for q in phases if q != p]
            m = np.minimum.reduce(others).ravel()
            key = sd[p].ravel() - (m if dense else np.minimum(m, 0.0))
            n = counts[p]
            t[p] = float(np.partition(key, n - 1)[n - 1]) if n > 0 else -np.inf
        got = _assign_counts(sd, t, dense)
        if all(abs(got[p] - counts[p]) <= tol for p in phases):
            return t
    errs = {_PHASE_NAMES[p]: (got[p] - counts[p]) / total for p in phases}
    raise InputError(
        f"densification did not reach the target fractions (errors {errs}); the packing is too far from "
        "the targets: change 'packing' or the particle sizes."
    )


def _assign(
    sd: dict[int, np.ndarray], t: dict[int, float], pore_value: int, dense: bool = False
) -> np.ndarray:
    """Labels: the phase p with the smallest ``sd_p - t_p`` where that is <= 0 (or anywhere when
    ``dense``), else ``pore_value``."""
    best = None
    labels = None
    for p in sd:
        v = sd[p] - np.float32(t[p])
        if best is None:
            best, labels = v, np.full(v.shape, p, np.uint8)
        else:
            better = v < best
            labels[better] = p
            np.minimum(best, v, out=best)
    if not dense:
        labels[best > 0] = pore_value
    return labels


def _assign_counts(sd, t, dense) -> dict[int, int]:
    counts = np.bincount(_assign(sd, t, 255, dense).ravel(), minlength=256)
    return {p: int(counts[p]) for p in sd}


# ---------------------------------------------------------------------------------------------
# public API


def generate_composite(
    shape,
    voxel_size,
    *,
    cam_fraction=None,
    se_fraction=None,
    cbd_fraction=0.0,
    svf_cam=None,
    density=None,
    d_cam="5 um",
    d_se="1.5 um",
    d_cbd="1 um",
    spread_cam=0.2,
    spread_se=0.2,
    spread_cbd=0.2,
    seed=0,
    periodic=False,
    pore="PORE",
    packing=0.62,
    overlap=0.1,
) -> VoxelImage:
    """A stochastic composite cathode of spherical particles, sintered to an exact composition.

    shape        (nx, ny, nz) voxels; axis 0 = x (through-plane).
    voxel_size   voxel edge length [m] (or "0.2 um").
    cam_fraction, se_fraction, cbd_fraction
                 volume fractions of the box [-] (or "60 %"); the rest is pore. Or instead:
    svf_cam      V_CAM / (V_CAM + V_SE) [-] (seed 002 Eq. 3), with
    density      solid fraction (CAM + SE + CBD) of the box [-]; porosity = 1 - density.
    d_cam, d_se, d_cbd
                 number-mean particle diameters before sintering [m] (or "5 um").
    spread_cam, spread_se, spread_cbd
                 coefficient of variation (std / mean) of the lognormal diameter distribution [-];
                 0 = monodisperse.
    seed         integer seed: the same seed and arguments give the same image.
    periodic     False, True (= periodic in y and z), "y", "z" or "yz".
    pore         what fills the pores: "PORE" (void, ASSB) or "LE" (liquid electrolyte, LIB).
    packing      solid fraction of the pre-sinter powder [-] (default 0.62, a dense random packing
                 as after piling; capped at 0.95 x density).
    overlap      allowed overlap of touching spheres, as a fraction of r_i + r_j [-].

    Returns a VoxelImage with LabelMap.default() values (0 PORE, 1 CAM, 2 SE, 3 LE, 4 CBD);
    each phase fraction is within FRACTION_TOLERANCE (0.05 vol%) of its target.
    """
    shape = _shape(shape)
    h = _length(voxel_size, "voxel_size")
    fractions = target_fractions(
        cam_fraction=cam_fraction,
        se_fraction=se_fraction,
        cbd_fraction=cbd_fraction,
        svf_cam=svf_cam,
        density=density,
    )
    diam = {CAM: _length(d_cam, "d_cam"), SE: _length(d_se, "d_se"), CBD: _length(d_cbd, "d_cbd")}
    spread = {
        CAM: _fraction_like(spread_cam, "spread_cam"),
        SE: _fraction_like(spread_se, "spread_se"),
        CBD: _fraction_like(spread_cbd, "spread_cbd"),
    }
    packing = _fraction(packing, "packing", allow_none=False)
    if not 0.2 <= packing <= 0.7:
        raise InputError(
            f"packing = {packing} should be a pre-sinter solid fraction between 0.2 and 0.7 (default 0.62)."
        )
    overlap = _fraction(overlap, "overlap", allow_none=False)
    if overlap >= 0.5:
        raise InputError(f"overlap = {overlap} must be below 0.5 (a fraction of r_i + r_j, typically 0.1).")
    axes = _periodic_axes(periodic)
    if pore not in ("PORE", "LE"):
        raise InputError(f"pore = {pore!r}: use 'PORE' (void) or 'LE' (liquid electrolyte).")
    pore_value = PORE if pore == "PORE" else LE
    seed = _seed(seed)

    active = [p for p in (CAM, SE, CBD) if fractions[p] > 0]
    if not active:
        raise InputError("all solid fractions are zero: give cam_fraction or svf_cam/density.")
    for p in active:
        if diam[p] / h < 1.5:
            raise InputError(
                f"d_{_PHASE_NAMES[p].lower()} = {diam[p]:.3g} m is only {diam[p] / h:.2f} voxels; "
                "resolve particles "
                "with at least 1.5 voxels per diameter (smaller voxel_size or larger particles)."
            )
    solid = sum(fractions[p] for p in active)
    pack = min(packing, 0.95 * solid)
    _check_size(shape, h, diam, spread, fractions, active, solid, pack, axes)

    streams = np.random.SeedSequence(seed).spawn(len((CAM, SE, CBD)) + 1)
    pk = _Packing(shape, axes, margin=0.5 * max(diam[p] for p in active) / h)
    for p, stream in zip((CAM, SE, CBD), streams, strict=False):
        if p not in active:
            continue
        rng = np.random.default_rng(stream)
        volume = pack * fractions[p] / solid * pk.volume
        pk.add(rng, _draw_powder(rng, volume, diam[p] / h, spread[p]), p)
    pk.relax(overlap)

    total = int(np.prod(shape))
    counts = {p: int(round(fractions[p] * total)) for p in active}
    if (1.0 - solid) * total < 0.5:  # fully dense: the counts must fill the box exactly
        counts[active[0]] = total - sum(counts[p] for p in active[1:])
    sd = {p: _signed_distance(pk, p, shape) for p in active}
    t = densify(sd, counts)
    labels = _assign(sd, t, pore_value, dense=sum(counts.values()) >= total)
    return VoxelImage(labels, h)


def memory_estimate(shape, h: float, diam: dict, spread: dict, fractions: dict, pack: float, axes) -> tuple:
    """(bytes, spheres) a composite of these settings needs: the packing's spheres and the padded
    grids of the distance transform (int32 IDs and indices) and the per-phase distances (float32)."""
    active = [p for p in diam if fractions.get(p, 0) > 0]
    solid = sum(fractions[p] for p in active)
    margin = 0.5 * max(diam[p] for p in active) / h
    per = np.zeros(3, bool)
    per[list(axes)] = True
    domain = float(np.prod([n if per[a] else n + 2 * margin for a, n in enumerate(shape)]))
    spheres = 0.0
    padded = 0.0
    for p in active:
        d = diam[p] / h
        mean_vol = math.pi / 6.0 * d**3 * (1.0 + spread[p] ** 2) ** 3
        spheres += pack * fractions[p] / solid * domain / mean_vol
        pad = math.ceil(0.5 * d) + 3
        grid = [n + 2 * (min(n, pad) if per[a] else pad) for a, n in enumerate(shape)]
        padded = max(padded, float(np.prod(grid)))
    voxels = float(np.prod(shape))
    nbytes = 32.0 * padded + 4.0 * voxels * (len(active) + 3) + 800.0 * spheres
    return nbytes, spheres


def _check_size(shape, h, diam, spread, fractions, active, solid, pack, axes) -> None:
    """Refuse, before anything is allocated, particles larger than the box and packings that
    cannot fit in memory (a 2 mm particle on a 16^3 box would ask for hundreds of GB)."""
    box = [n * h for n in shape]
    dims = " x ".join(f"{v * 1e6:.4g}" for v in box)
    for p in active:
        key = f"d_{_PHASE_NAMES[p].lower()}"
        if diam[p] > max(box):
            raise InputError(
                f"{key} = {diam[p] * 1e6:.4g} um is larger than the box ({shape[0]} x {shape[1]} x "
                f"{shape[2]} voxels of {h * 1e6:.4g} um = {dims} um); give a smaller {key} "
                "(several particles should fit in the box) or a larger shape / voxel_size."
            )
    nbytes, spheres = memory_estimate(shape, h, {p: diam[p] for p in active}, spread, fractions, pack, axes)
    if spheres > MAX_PARTICLES:
        raise InputError(
            f"the packing would hold about {spheres:.3g} particles (more than {MAX_PARTICLES:.0e}); "
            "use larger particles (d_se, d_cam, d_cbd), a larger voxel_size or a smaller shape."
        )
    avail = _available_memory()
    if avail is not None and nbytes > 0.8 * avail:
        raise InputError(
            f"generating this structure needs about {nbytes / 1e9:.3g} GB of memory, more than the "
            f"{avail / 1e9:.3g} GB available; use a smaller shape, a larger voxel_size or smaller particles."
        )


def _fraction_like(value, name: str) -> float:
    out = to_si(value, "", name=name)
    if not 0.0 <= out <= 2.0:
        raise InputError(f"{name} = {value!r} must be a coefficient of variation between 0 and 2 (e.g. 0.2).")
    return out


def generate_perforated(shape, voxel_size, *, radius, center="corner", fill=None, **composite) -> VoxelImage:
    """A composite with a cylindrical electrolyte channel along x (seed 001 perforated cathodes).

    radius     channel radius [m] (or "20 um"); 0 = no channel.
    center     "corner" (quarter hole on the edge y = z = 0, as in seed 001) or "center".
    fill       electrolyte filling the channel: "SE", "LE" or None (the image's electrolyte).
    composite  the keyword arguments of :func:`generate_composite` (fractions, sizes, seed...).
    CAM and CBD voxels inside the channel become electrolyte (fem_assb.structure.modify.perforate).
    """
    from fem_assb.structure import modify

    if isinstance(radius, str) and quantity(radius, name="radius").unitless and quantity(radius).magnitude:
        raise InputError(f"radius = {radius!r} has no unit; give a unit, e.g. '{radius.strip()} um'.")
    r = to_si(radius, "m", name="radius", default_unit="m")
    if r < 0:
        raise InputError(f"radius = {radius!r} must be >= 0 (a length such as '20 um').")
    image = generate_composite(shape, voxel_size, **composite)
    return modify.perforate(image, r, center=center, fill=fill)


def generate_layered(
    shape, voxel_size, *, f_first, first, second, reverse=False, seed=0, **common
) -> VoxelImage:
    """A two-layer cathode (seed 001): layer ``first`` at the separator side, ``second`` behind it.

    f_first    thickness fraction of the first layer [-] (seed 001: f_L60), 0..1.
    first, second
               dicts of :func:`generate_composite` keyword arguments for each layer (e.g.
               ``{cam_fraction: 0.6, se_fraction: 0.4}``); they override ``common``.
    reverse    put the first layer at the collector side instead (seed 000 Fig. S5).
    seed       the first layer uses ``seed``, the second ``seed + 1``: a sweep over f_first cuts
               the same two composites at different depths.
    common     keyword arguments shared by both layers (d_cam, d_se, periodic, ...).
    Both layers are generated at the full shape and stacked along x by
    fem_assb.structure.modify.stack (first round(f_first * nx) slices of the first layer).
    """
    from fem_assb.structure import modify

    f = _fraction(f_first, "f_first", allow_none=False)
    for name, layer in (("first", first), ("second", second)):
        if not isinstance(layer, dict):
            raise InputError(f"{name} must be a mapping of composite settings, e.g. {{cam_fraction: 0.6}}.")
        if "seed" in layer:
            raise InputError(f"give the seed once for both layers (seed: ...), not inside {name!r}.")
        known = set(inspect.signature(generate_composite).parameters) - {"shape", "voxel_size", "seed"}
        unknown = sorted(set(layer) - known)
        if unknown:
            raise InputError(
                f"layer {name!r} does not know {', '.join(unknown)}; use {', '.join(sorted(known))}."
            )
    a = generate_composite(shape, voxel_size, seed=seed, **{**common, **first})
    b = generate_composite(shape, voxel_size, seed=_seed(seed) + 1, **{**common, **second})
    return modify.stack(a, b, f, reverse=bool(reverse))


def _with_composite_keywords(func, exclude: tuple[str, ...]) -> None:
    """Give ``func`` (which takes ``**kwargs`` for generate_composite) a signature listing those
    keywords, so that inspect.signature shows every key a spec may hold."""
    own = [
        p for p in inspect.signature(func).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    names = {p.name for p in own}
    extra = [
        p
        for p in inspect.signature(generate_composite).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in names and p.name not in exclude
    ]
    func.__signature__ = inspect.Signature(own + extra)


_with_composite_keywords(generate_perforated, ())
_with_composite_keywords(generate_layered, ())

#: Generator per ``kind`` of the YAML ``generator:`` spec (docs/generators.md); the spec's other
#: keys are the keyword arguments in the function's signature.
KINDS = {"composite": generate_composite, "perforated": generate_perforated, "layered": generate_layered}


def from_spec(spec: dict) -> VoxelImage:
    """A structure from a generator spec, e.g. ``{kind: composite, shape: [40, 40, 40],
    voxel_size: "0.5 um", svf_cam: 0.6, density: 0.9, d_cam: "5 um", d_se: "1.5 um", seed: 1}``.

    ``kind`` selects the generator; every other key is that function's keyword argument.
    """
    if not isinstance(spec, dict):
        raise InputError(
            f"a generator spec must be a mapping (kind: composite, shape: ..., ...), got {spec!r}."
        )
    spec = dict(spec)
    kind = spec.pop("kind", "composite")
    if kind not in KINDS:
        raise InputError(f"generator kind {kind!r} is unknown; use one of {', '.join(KINDS)}.")
    func = KINDS[kind]
    params = inspect.signature(func).parameters
    unknown = sorted(set(spec) - set(params))
    if unknown:
        raise InputError(
            f"generator {kind!r} does not know {', '.join(unknown)}; its keys are {', '.join(params)}."
        )
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in spec]
    if missing:
        raise InputError(f"generator {kind!r} needs {', '.join(missing)}.")
    _require_units(spec)
    return func(**spec)


def _require_units(spec: dict, where: str = "") -> None:
    """A spec (YAML, command line) writes lengths with units: a bare number is an error, not metres.
    (The Python functions take SI floats.)"""
    for key in LENGTH_KEYS:
        value = spec.get(key)
        bare = isinstance(value, (int, float)) and not isinstance(value, bool)
        if bare and not (key == "radius" and value == 0):
            raise InputError(f"{where}{key} = {value!r} has no unit; give a unit, e.g. '{value} um'.")
    for layer in ("first", "second"):
        if isinstance(spec.get(layer), dict):
            _require_units(spec[layer], f"{where}{layer}.")

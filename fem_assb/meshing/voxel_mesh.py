"""One hexahedral DOLFINx mesh of the active voxels of a rectilinear grid (DESIGN.md §2).

Contract (docs/ARCHITECTURE.md, "meshing"): ``Grid`` describes a rectilinear grid with a
material code per voxel (-1 = no cell) and an optional SE grain ID; ``build_voxel_mesh``
creates one hexahedron per active voxel with ``GhostMode.shared_facet`` and tags facets:
interior facets with ``facet_tagger(mat_a, mat_b, grain_a, grain_b)``, exterior facets on the
bounding box with ``XMIN..ZMAX = 101..106``; exterior facets against a missing voxel stay
untagged (insulating).

Periodic lateral sides (``Grid.periodic``, axes 1 = y and/or 2 = z): the voxel at index 0 of
such an axis is coupled to the voxel at index n - 1 with the same other indices, as if they
shared a facet. Each coupling is one more interior-facet integration entity
(cell_a, local_facet_a, cell_b, local_facet_b) with the -y (-z) reference facet of the cell at
index 0 and the +y (+z) one of the cell at n - 1, tagged by the same ``facet_tagger`` and put
into the same ``dS`` domains as the mesh's own interior facets (``VoxelMesh.measures``); the
box faces keep their YMIN..ZMAX tags. DOLFINx computes each side's normal, and the facet area,
from that side's own cell and local facet, so n('+') = -n('-') and the two-point laws (which
take distances from the DG0 cell sizes, not from cell centres) see an ordinary facet. The two
cells of a coupling have the same x index; with periodic sides the slab partitioner cuts only
between whole x planes, so both are owned by one rank and the coupling is assembled there.

Performance: cells and points are built with numpy on rank 0. In parallel the cells are
distributed by a slab partitioner (contiguous ranges of the C-ordered voxel index, i.e. slabs
along x) that also lists the ghost ranks of every cell (its face neighbours' owners), so no
dual graph is built or partitioned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fem_assb.errors import InputError
from fem_assb.memory import release_free_heap

#: Facet tags of the six faces of the grid's bounding box.
XMIN, XMAX, YMIN, YMAX, ZMIN, ZMAX = 101, 102, 103, 104, 105, 106
#: Boundary tags by (axis, side): side 0 = low face, 1 = high face.
FACE_TAGS = {(0, 0): XMIN, (0, 1): XMAX, (1, 0): YMIN, (1, 1): YMAX, (2, 0): ZMIN, (2, 1): ZMAX}

#: DOLFINx hexahedron vertex order: (dx, dy, dz) offsets of the 8 vertices (x fastest).
_HEX_CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
    dtype=np.int64,
)


@dataclass
class Grid:
    """A rectilinear voxel grid.

    x_edges, y_edges, z_edges: (n+1,) strictly increasing cell edges along each axis [m].
    material: (nx, ny, nz) int32 material code per voxel; -1 = no cell (pore, removed).
    grain: (nx, ny, nz) int32 SE grain ID per voxel (0 = none), optional.
    periodic: lateral axes (1 = y, 2 = z) whose two box faces are coupled (periodic sides,
    module docstring); () = insulating sides.
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    z_edges: np.ndarray
    material: np.ndarray
    grain: np.ndarray | None = None
    periodic: tuple[int, ...] = ()

    def __post_init__(self):
        self.x_edges, self.y_edges, self.z_edges = (
            np.asarray(e, dtype=np.float64) for e in (self.x_edges, self.y_edges, self.z_edges)
        )
        self.material = np.ascontiguousarray(self.material, dtype=np.int32)
        if self.material.ndim != 3:
            raise InputError(f"Grid.material must be 3D (nx, ny, nz); got shape {self.material.shape}.")
        for name, edges, n in zip("xyz", self.edges, self.material.shape, strict=True):
            if edges.ndim != 1 or edges.size != n + 1:
                raise InputError(
                    f"Grid.{name}_edges must have {n + 1} entries (cells + 1), got {edges.shape}."
                )
            if not (np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)):
                raise InputError(f"Grid.{name}_edges must be finite and strictly increasing (m).")
        if self.grain is None:
            self.grain = np.zeros(self.material.shape, dtype=np.int32)
        self.grain = np.ascontiguousarray(self.grain, dtype=np.int32)
        if self.grain.shape != self.material.shape:
            raise InputError(f"Grid.grain has shape {self.grain.shape}, material has {self.material.shape}.")
        self.periodic = tuple(sorted({int(a) for a in self.periodic}))
        if not set(self.periodic) <= {1, 2}:
            raise InputError(
                f"Grid.periodic = {self.periodic}: only the lateral axes 1 (y) and 2 (z) can be periodic "
                "(x runs from the separator to the collector)."
            )

    @classmethod
    def uniform(cls, material, voxel_size: float, grain=None, origin=(0.0, 0.0, 0.0), periodic=()) -> Grid:
        """A grid of cubic voxels of edge ``voxel_size`` [m] starting at ``origin`` [m]."""
        material = np.asarray(material)
        edges = [o + voxel_size * np.arange(n + 1) for o, n in zip(origin, material.shape, strict=True)]
        return cls(*edges, material=material, grain=grain, periodic=periodic)

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (self.x_edges, self.y_edges, self.z_edges)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.material.shape)


@dataclass
class VoxelMesh:
    """The mesh and the per-cell data of the active voxels (local cells: owned + ghost).

    mesh: dolfinx Mesh (hexahedra, GhostMode.shared_facet).
    cell_size: DG0 vector Function H = (hx, hy, hz) [m] per cell.
    material, grain: int32 per local cell. voxel_index: int64 flat C-order grid index per local cell.
    facet_tags: MeshTags over facets (only facets with a non-zero tag are listed).
    grid_shape: (nx, ny, nz) of the grid; bounds: ((xmin, xmax), (ymin, ymax), (zmin, zmax)) [m].
    conductivity_factor: {material code: factor [-]} on that material's bulk conductivity, set by
    the layers that built the mesh (a separator's effective / bulk ionic conductivity).
    periodic: the grid's periodic axes; periodic_facets: {tag: (n, 4) int32 array} of this rank's
    periodic couplings (cell_a, local_facet_a, cell_b, local_facet_b), both cells owned, with their
    facet_tagger tag (nonzero). They are not mesh facets (not in facet_tags) but are integrated
    with the interior facets of their tag by the measures of :meth:`measures`.
    """

    mesh: object
    cell_size: object
    material: np.ndarray
    grain: np.ndarray
    voxel_index: np.ndarray
    facet_tags: object
    grid_shape: tuple[int, int, int]
    bounds: tuple[tuple[float, float], ...]
    conductivity_factor: dict = field(default_factory=dict)
    porosity: dict = field(default_factory=dict)  # {material code: porosity [-]} (a porous separator)
    periodic: tuple[int, ...] = ()
    periodic_facets: dict = field(default_factory=dict)
    _domains: tuple | None = field(default=None, repr=False)

    @property
    def num_owned_cells(self) -> int:
        return self.mesh.topology.index_map(3).size_local

    def measures(self, quadrature_degree: int = 0, interior_tags=()):
        """(dx, ds, dS) with quadrature degree 0 (DESIGN §3a) and the integration domains of
        every facet tag precomputed once per mesh (DOLFINx would otherwise recompute them,
        with a costly set intersection per tag, for every form).

        ds knows the six box tags, dS the interior tags present on any rank plus
        ``interior_tags`` (give every tag a form uses: a tag absent from the domain list is an
        error in DOLFINx, an empty one is fine). The interior domain of a tag includes the
        periodic couplings of that tag (``periodic_facets``)."""
        import ufl

        if self._domains is None:
            self._domains = _integration_domains(self.mesh, self.facet_tags, self.periodic_facets)
        ext, inner = self._domains
        empty = np.zeros(0, dtype=np.int32)
        known = {t for t, _ in inner}
        inner = inner + [(int(t), empty) for t in interior_tags if int(t) not in known]
        md = {"quadrature_degree": quadrature_degree}
        return (
            ufl.Measure("dx", self.mesh, metadata=md),
            ufl.Measure("ds", self.mesh, subdomain_data=ext, metadata=md),
            ufl.Measure("dS", self.mesh, subdomain_data=inner, metadata=md),
        )

    def set_facet_tags(self, facet_tags) -> None:
        """Replace ``facet_tags`` (e.g. facets re-tagged as insulating); the integration domains
        of :meth:`measures` are recomputed at its next call."""
        self.facet_tags = facet_tags
        self._domains = None

    def has_interior_tag(self, tag: int) -> bool:
        """True if some rank has an interior facet or a periodic coupling with ``tag`` (collective)."""
        local = bool(np.any(np.asarray(self.facet_tags.values) == tag)) or tag in self.periodic_facets
        return bool(self.mesh.comm.allreduce(int(local)))


def _cells_and_points(grid: Grid):
    """Hexahedra (n_active, 8) of global point indices and the used points (n_points, 3) [m]."""
    nx, ny, nz = grid.shape
    active = np.flatnonzero(grid.material.ravel() >= 0)
    i, j, k = np.unravel_index(active, grid.shape)
    # Global index of the lower corner in the (nx+1, ny+1, nz+1) point lattice.
    sy, sx = nz + 1, (ny + 1) * (nz + 1)
    base = i.astype(np.int64) * sx + j * sy + k
    offsets = _HEX_CORNERS @ np.array([sx, sy, 1], dtype=np.int64)
    cells = base[:, None] + offsets[None, :]
    used, renumber = _compact(cells, (nx + 1) * (ny + 1) * (nz + 1))
    cells = renumber[cells]
    pi, pj, pk = np.unravel_index(used, (nx + 1, ny + 1, nz + 1))
    points = np.column_stack([grid.x_edges[pi], grid.y_edges[pj], grid.z_edges[pk]])
    return active, cells, points


def _compact(indices: np.ndarray, n: int):
    """Sorted distinct values of ``indices`` (all in [0, n)) and the map value -> rank among them."""
    marker = np.zeros(n, dtype=bool)
    marker[indices.ravel()] = True
    used = np.flatnonzero(marker)
    renumber = np.full(n, -1, dtype=np.int64)
    renumber[used] = np.arange(used.size, dtype=np.int64)
    return used, renumber


def _slab_starts(n: int, nparts: int) -> np.ndarray:
    """First active-cell number of each rank's slab, and n at the end: contiguous slabs of
    (nearly) equal cell count along the C-ordered voxel index, i.e. slabs along x."""
    return np.array([-(-r * n // nparts) for r in range(nparts + 1)], dtype=np.int64)


def _partition_starts(grid: Grid, active: np.ndarray, nparts: int) -> np.ndarray:
    """:func:`_slab_starts`, and with periodic sides each cut moved to the nearer start of an x
    plane, so that the two cells of every periodic coupling (same x index) are on one rank. The
    cost is an imbalance of at most half a plane of cells per cut (a rank may get no cell when
    there are fewer x planes than ranks)."""
    starts = _slab_starts(active.size, nparts)
    if not grid.periodic or nparts == 1:
        return starts
    plane = grid.shape[1] * grid.shape[2]
    # first active-cell number of every x plane, and active.size after the last
    first = np.searchsorted(active, plane * np.arange(grid.shape[0] + 1))
    inner = starts[1:-1]
    k = np.searchsorted(first, inner, side="right") - 1  # plane whose range holds the cut
    lo, hi = first[k], first[np.minimum(k + 1, first.size - 1)]
    starts[1:-1] = np.where(inner - lo <= hi - inner, lo, hi)
    return starts


def _hex_vertices(vox: np.ndarray, shape) -> np.ndarray:
    """(n, 8) lattice point indices (DOLFINx vertex order) of the voxels with flat index ``vox``."""
    nx, ny, nz = shape
    i, j, k = np.unravel_index(vox, shape)
    sy, sx = nz + 1, (ny + 1) * (nz + 1)
    base = i.astype(np.int64) * sx + j * sy + k
    return base[:, None] + (_HEX_CORNERS @ np.array([sx, sy, 1], dtype=np.int64))[None, :]


def _local_part(grid: Grid, active: np.ndarray, rank: int, nparts: int):
    """This rank's share of the mesh: (cells, original index, ghost owners, boundary vertices,
    nodes, coordinates), computed from the grid alone (every rank has it; no communication).

    Owned cells (a contiguous range of the active voxels) come first in voxel order, then the
    ghosts: cells of other ranks sharing a facet with an owned cell (GhostMode.shared_facet).
    Vertices are lattice point indices (gaps allowed); boundary vertices are the owned cells'
    vertices that a cell of another rank also touches.
    """
    shape = grid.shape
    nx, ny, nz = shape
    npts = (nx + 1) * (ny + 1) * (nz + 1)
    starts = _partition_starts(grid, active, nparts)
    lo, hi = int(starts[rank]), int(starts[rank + 1])
    empty = (
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.float64),
    )
    if hi == lo:
        return empty
    vox_lo, vox_hi = int(active[lo]), int(active[hi - 1])
    owned = np.arange(lo, hi, dtype=np.int64)
    ghost = np.zeros(0, dtype=np.int64)
    bverts = np.zeros(0, dtype=np.int64)
    if nparts > 1:
        is_active = grid.material.ravel() >= 0
        plane = ny * nz
        # Ghost candidates: active cells of other ranks within one x plane of the slab.
        c0 = int(np.searchsorted(active, vox_lo - plane))
        c1 = int(np.searchsorted(active, vox_hi + plane, side="right"))
        cand = np.concatenate([np.arange(c0, lo), np.arange(hi, c1)]).astype(np.int64)
        cv = active[cand]
        cijk = np.unravel_index(cv, shape)
        strides = (plane, nz, 1)
        is_ghost = np.zeros(cand.size, dtype=bool)
        for axis in range(3):
            for step in (-1, 1):
                inside = (cijk[axis] + step >= 0) & (cijk[axis] + step < shape[axis])
                nb = np.where(inside, cv + step * strides[axis], 0)
                is_ghost |= inside & (nb >= vox_lo) & (nb <= vox_hi) & is_active[nb]
        ghost = cand[is_ghost]
        # Shared points: those of owned cells touched by a cell of another rank (such a cell is
        # within one plane, one row and one voxel of the slab in flat index).
        reach = plane + nz + 1
        f0 = int(np.searchsorted(active, vox_lo - reach))
        f1 = int(np.searchsorted(active, vox_hi + reach, side="right"))
        foreign = np.concatenate([active[f0:lo], active[hi:f1]])
        touched = np.zeros(npts, dtype=bool)
        touched[_hex_vertices(foreign, shape).ravel()] = True
        owned_pts, _ = _compact(_hex_vertices(active[owned], shape), npts)
        bverts = owned_pts[touched[owned_pts]]
    local = np.concatenate([owned, ghost])
    cells = _hex_vertices(active[local], shape)
    nodes, _ = _compact(cells, npts)
    pi, pj, pk = np.unravel_index(nodes, (nx + 1, ny + 1, nz + 1))
    coords = np.column_stack([grid.x_edges[pi], grid.y_edges[pj], grid.z_edges[pk]])
    ghost_owners = (np.searchsorted(starts, ghost, side="right") - 1).astype(np.int32)
    return cells.ravel(), local, ghost_owners, bverts, nodes, coords.ravel()


def _create_mesh(comm, grid: Grid, active: np.ndarray):
    """Create the DOLFINx mesh from per-rank slabs, without graph partitioning or cell
    reordering (the voxel order already has good locality)."""
    import basix.ufl
    import ufl
    from dolfinx import cpp as _cpp
    from dolfinx import mesh as dmesh
    from dolfinx.fem import coordinate_element

    mine = _local_part(grid, active, comm.rank, comm.size)
    lcells, original, ghost_owners, bverts, nodes, coords = mine
    # The binding takes std::vector: lists of Python ints convert much faster than ndarrays.
    topology = _cpp.mesh.create_topology(
        comm,
        [_cpp.mesh.CellType.hexahedron],
        [lcells.tolist()],
        [original.tolist()],
        [ghost_owners.tolist()],
        bverts.tolist(),
        1,
    )
    cmap = coordinate_element(dmesh.CellType.hexahedron, 1)
    geometry = _cpp.mesh.create_geometry(topology, [cmap._cpp_object], nodes, lcells, coords, 3)
    cpp_mesh = _cpp.mesh.Mesh_float64(comm, topology, geometry)
    element = basix.ufl.element("Lagrange", "hexahedron", 1, shape=(3,))
    return dmesh.Mesh(cpp_mesh, ufl.Mesh(element))


def _bcast_grid(comm, grid: Grid | None) -> Grid:
    """The grid on every rank (arrays are small next to the mesh: 8 bytes per voxel)."""
    if comm.size == 1:
        if grid is None:
            raise InputError("build_voxel_mesh: rank 0 must pass the grid.")
        return grid
    payload = None
    if comm.rank == 0 and grid is not None:
        payload = (grid.x_edges, grid.y_edges, grid.z_edges, grid.material, grid.grain, grid.periodic)
    payload = comm.bcast(payload, root=0)
    if payload is None:  # raised on every rank
        raise InputError("build_voxel_mesh: rank 0 must pass the grid.")
    xe, ye, ze, mat, grain, periodic = payload
    return grid if comm.rank == 0 else Grid(xe, ye, ze, mat, grain, periodic)


def build_voxel_mesh(
    comm,
    grid: Grid | None,
    facet_tagger: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> VoxelMesh:
    """Build the hexahedral mesh of ``grid``'s active voxels (see the module docstring).

    comm: MPI communicator; grid: needed on rank 0 only (None elsewhere);
    facet_tagger(mat_a, mat_b, grain_a, grain_b) -> int tags for interior facets (vectorized,
    symmetric in a/b, 0 = untagged); None tags no interior facet.
    """
    from dolfinx import fem

    grid = _bcast_grid(comm, grid)
    shape = grid.shape
    active = np.flatnonzero(grid.material.ravel() >= 0)
    if active.size == 0:
        raise InputError("the grid has no active voxel (every material code is -1): nothing to mesh.")
    msh = _create_mesh(comm, grid, active)
    release_free_heap()  # the Python integer lists handed to DOLFINx

    voxel_index = active[np.asarray(msh.topology.original_cell_index, dtype=np.int64)]
    material = grid.material.ravel()[voxel_index]
    grain = grid.grain.ravel()[voxel_index]

    # Cell sizes (hx, hy, hz) per cell as a DG0 vector field.
    ijk = np.unravel_index(voxel_index, shape)
    sizes = np.column_stack([np.diff(e)[a] for e, a in zip(grid.edges, ijk, strict=True)])
    V = fem.functionspace(msh, ("DG", 0, (3,)))
    H = fem.Function(V, name="cell_size")
    dofs = V.dofmap.list[:, 0]
    H.x.array.reshape(-1, 3)[dofs] = sizes
    H.x.scatter_forward()

    facet_tags = _tag_facets(msh, grid, voxel_index, ijk, material, grain, facet_tagger)
    nown = msh.topology.index_map(3).size_local
    pairs = _periodic_facets(grid, voxel_index, nown, material, grain, facet_tagger)
    bounds = tuple((float(e[0]), float(e[-1])) for e in grid.edges)
    return VoxelMesh(
        msh, H, material, grain, voxel_index, facet_tags, shape, bounds,
        periodic=grid.periodic, periodic_facets=pairs,
    )  # fmt: skip


#: DOLFINx reference facet of a hexahedron on each side: -x, +x, -y, +y, -z, +z.
_REF_FACET = np.array([2, 3, 1, 4, 0, 5], dtype=np.int64)


def _tag_facets(msh, grid: Grid, voxel_index, ijk, material, grain, facet_tagger):
    """MeshTags over facets: interior by the tagger, bounding-box faces 101..106 (module doc).

    Works cell by cell and side by side on the voxel lattice: the facet on side d of a cell is
    its reference facet _REF_FACET[d] (the cell keeps the input vertex order), and what lies
    across it is read from the grid, so both ranks tag a shared facet identically.
    """
    from dolfinx import mesh as dmesh

    tdim = 3
    msh.topology.create_connectivity(tdim, tdim - 1)
    c2f = np.asarray(msh.topology.connectivity(tdim, tdim - 1).array).reshape(-1, 6)
    nfacets = msh.topology.index_map(tdim - 1).size_local + msh.topology.index_map(tdim - 1).num_ghosts
    tags = np.zeros(nfacets, dtype=np.int32)
    shape = grid.shape
    strides = (shape[1] * shape[2], shape[2], 1)
    flat_mat, flat_grain = grid.material.ravel(), grid.grain.ravel()
    for axis in range(3):
        for side in (0, 1):
            d = 2 * axis + side
            facets = c2f[:, _REF_FACET[d]]
            if side == 0:
                outside = ijk[axis] == 0
            else:
                outside = ijk[axis] == shape[axis] - 1
            tags[facets[outside]] = FACE_TAGS[(axis, side)]
            # Interior facets: tag from the low side only (the +x, +y, +z side of a cell).
            if side == 1 and facet_tagger is not None:
                inner = np.flatnonzero(~outside)
                nb = voxel_index[inner] + strides[axis]
                mat_nb = flat_mat[nb]
                has = mat_nb >= 0
                inner, nb, mat_nb = inner[has], nb[has], mat_nb[has]
                t = facet_tagger(material[inner], mat_nb, grain[inner], flat_grain[nb])
                tags[facets[inner]] = np.asarray(t, dtype=np.int32)
    # The high-side cell of an interior facet may be local while its low-side neighbour is not
    # (the edge of the ghost layer): tag those from the high side too.
    if facet_tagger is not None:
        for axis in range(3):
            facets = c2f[:, _REF_FACET[2 * axis]]
            inner = np.flatnonzero(ijk[axis] > 0)
            nb = voxel_index[inner] - strides[axis]
            mat_nb = flat_mat[nb]
            has = mat_nb >= 0
            inner, nb, mat_nb = inner[has], nb[has], mat_nb[has]
            t = facet_tagger(mat_nb, material[inner], flat_grain[nb], grain[inner])
            tags[facets[inner]] = np.asarray(t, dtype=np.int32)
    marked = np.flatnonzero(tags != 0).astype(np.int32)
    return dmesh.meshtags(msh, tdim - 1, marked, tags[marked])


def _periodic_facets(grid: Grid, voxel_index, num_owned: int, material, grain, facet_tagger) -> dict:
    """{tag: (n, 4) int32 (cell_a, local_facet_a, cell_b, local_facet_b)} of the periodic
    couplings owned by this rank (module docstring): cell a at index 0 of a periodic axis with its
    -y/-z reference facet, cell b at index n - 1 with its +y/+z one, tagged by ``facet_tagger``
    (tag 0, e.g. an insulating pair, is left out). An axis with one voxel has no coupling (the
    cell would face itself)."""
    if not grid.periodic or facet_tagger is None:
        return {}
    shape = grid.shape
    strides = (shape[1] * shape[2], shape[2], 1)
    owned_vox = voxel_index[:num_owned]
    order = np.argsort(owned_vox)  # owned voxel indices, sorted, for the partner lookup
    sorted_vox = owned_vox[order]
    ijk = np.unravel_index(owned_vox, shape)
    rows, tag_list = [], []
    for axis in grid.periodic:
        n = shape[axis]
        if n < 2:
            continue
        a = np.flatnonzero(ijk[axis] == 0)
        partner = owned_vox[a] + (n - 1) * strides[axis]
        pos = np.minimum(np.searchsorted(sorted_vox, partner), max(sorted_vox.size - 1, 0))
        found = sorted_vox[pos] == partner if sorted_vox.size else np.zeros(0, dtype=bool)
        # the partner is active but not owned here: the partitioner broke a coupling (a bug)
        lost = np.count_nonzero(~found & (grid.material.ravel()[partner] >= 0))
        if lost:
            raise RuntimeError(f"{lost} periodic partners along axis {axis} are not on this rank.")
        a, b = a[found], order[pos[found]]
        t = np.asarray(facet_tagger(material[a], material[b], grain[a], grain[b]), dtype=np.int32)
        lf_a, lf_b = _REF_FACET[2 * axis], _REF_FACET[2 * axis + 1]
        rows.append(np.column_stack([a, np.full(a.size, lf_a), b, np.full(a.size, lf_b)]))
        tag_list.append(t)
    if not rows:
        return {}
    ent, tags = np.concatenate(rows).astype(np.int32), np.concatenate(tag_list)
    return {int(t): ent[tags == t] for t in np.unique(tags) if t != 0}


def _integration_domains(msh, facet_tags, periodic_facets=None):
    """([(tag, exterior-facet domain)], [(tag, interior-facet domain)]) for every tag value used
    on any rank: bounding-box tags (101..106) are exterior facets, all others interior; the
    interior domain of a tag ends with its periodic couplings (``periodic_facets``)."""
    from dolfinx import cpp as _cpp
    from dolfinx import fem

    topo = msh.topology
    tdim = topo.dim
    topo.create_connectivity(tdim - 1, tdim)
    topo.create_connectivity(tdim, tdim - 1)
    nfacets = topo.index_map(tdim - 1).size_local + topo.index_map(tdim - 1).num_ghosts
    is_ext = np.zeros(nfacets, dtype=bool)
    is_ext[_cpp.mesh.exterior_facet_indices(topo._cpp_object)] = True
    values, indices = np.asarray(facet_tags.values), np.asarray(facet_tags.indices)
    periodic_facets = periodic_facets or {}
    local = sorted(set(np.unique(values).tolist()) | set(periodic_facets))
    all_tags = sorted(set().union(*msh.comm.allgather(local)) | set(FACE_TAGS.values()))
    box = set(FACE_TAGS.values())
    exterior, interior = [], []
    for tag in all_tags:
        ents = indices[values == tag]
        if tag in box:
            ents = ents[is_ext[ents]]
            exterior.append(
                (tag, fem.compute_integration_domains(fem.IntegralType.exterior_facet, topo, ents))
            )
        else:
            domain = fem.compute_integration_domains(fem.IntegralType.interior_facet, topo, ents)
            if tag in periodic_facets:
                domain = np.concatenate([domain, periodic_facets[tag].ravel()]).astype(np.int32)
            interior.append((tag, domain))
    return exterior, interior

"""The features of a (source, candidate) pair, computed for a whole candidate pool at once.

Pure: a `FeatureSpace` is an immutable numeric snapshot of a `CooperationGraph` (sparse
adjacency, degrees, countries, themes, coordinates, kinds, homes) from which every feature of
every candidate of a query is a few vectorised operations, never a Python loop per candidate.
Whatever depends on the graph only (the weights of the indices, the crowd of every territory,
each node's theme count, an ordering of the nodes that keeps the walk's memory reads close
together) is computed once, when the space is built; a query computes only what depends on its
source. It is rebuilt when the graph has changed (see `ranking.ranker`), and the training
builds one on its own copy of the graph.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from services.matching.graph import CooperationGraph
from services.matching.territories import crowds as crowds_of

__all__ = ["FEATURES", "FeatureSpace", "SourceView"]

# The order of the columns of a feature matrix, and the names the model and the docs use.
FEATURES = (
    "common_neighbours",  # partners in common (log1p)
    "adamic_adar",  # partners in common, each weighted 1 / log(its degree)
    "resource_allocation",  # partners in common, each weighted 1 / its degree
    "jaccard",  # partners in common / partners of either
    "paths_3",  # paths of length 3 (log1p): reach beyond two hops
    "pagerank",  # personalised PageRank from the source (log10, floored)
    "country_pair",  # log lift: how much more often the two countries cooperate than chance
    "candidate_country_ties",  # candidate's ties with the source's country (log1p)
    "source_country_ties",  # source's ties with the candidate's country (log1p)
    "same_country",
    "candidate_degree",  # log1p
    "source_degree",  # log1p
    "distance",  # great-circle km (log1p), 0 when either has no coordinates
    "no_distance",  # 1 when the distance is unknown
    "kind_pair",  # log lift of the two kinds cooperating, learned like country_pair
    "same_level",
    "shared_themes",  # Jaccard overlap of themes
    "migrant_bridge",  # a migrant organisation links their two territories
    "same_network",  # members of one network or resource centre
    "crowding",  # uncoordinated partners already active in the candidate territory (log1p)
)
_PAGERANK_ALPHA = 0.2  # restart probability of the personalised walk
# 8 steps leave 0.8⁸ ≈ 17 % of the walk's mass unspread (0.5 % for the 24 it once took): on the
# real sister-city network (`make evaluate`, 5 seeds) 24, 12 and 8 steps gave recall@10
# 0.213–0.214 and MRR 0.135–0.138, and the walk is most of the cost of a first query at
# national scale. α = 0.3 at 8 steps ranked no better (0.213 / 0.136).
_PAGERANK_STEPS = 8
_PAGERANK_FLOOR = 1e-9
_NETWORK_TIES = frozenset({"member_of", "coordinates"})
# Bounds of the candidate pool (see `FeatureSpace.pool` and docs/matching.md).
_TWO_HOPS = 2_000
_BY_PAGERANK = 500
_COUNTRIES = 6
_POPULAR = 100
_POPULAR_IN_GROUP = 150
# While the rows of the nodes the walk has reached hold less than this share of the matrix's
# entries, a step reads only those rows instead of the whole matrix. Gathering an entry costs
# a few times what a whole-matrix product spends on it, and tied nodes are reached early, so
# the share is of entries, not of nodes (at 100,000 actors, 0.1–0.25 gave the fastest walks).
_SPARSE_WALK_SHARE = 0.2


@dataclass(frozen=True)
class FeatureSpace:
    """A numeric snapshot of the graph; `index[node]` is its row in every array."""

    nodes: list[str]
    index: dict[str, int]
    adjacency: sp.csr_matrix  # symmetric, 1 per tied pair (any tie)
    networks: sp.csr_matrix  # actor → network it is a member of (or is coordinated by)
    network_members: sp.csr_matrix  # its transpose: network → its members
    themes: sp.csr_matrix  # node × theme, 1 when the node works on it
    theme_count: np.ndarray  # themes per node
    degree: np.ndarray
    weights_aa: np.ndarray  # 1 / log(degree) (0 for degree ≤ 1): Adamic–Adar's weights
    weights_ra: np.ndarray  # 1 / degree (0 for degree 0): resource allocation's
    country: np.ndarray  # country index per node
    country_lift: np.ndarray  # country × country log lift
    country_ties: sp.csr_matrix  # node × country: ties of the node with actors of the country
    country_ties_by_country: sp.csc_matrix  # the same, by column
    kind: np.ndarray
    kind_lift: np.ndarray
    level: np.ndarray  # level index, -1 when none
    latitude: np.ndarray  # radians, nan when unknown
    longitude: np.ndarray
    home: np.ndarray  # row of the node's home territory, -1 when none
    # Territory row → rows of the local authorities active there without coordinating (None
    # when the space was built without them: then nowhere is crowded).
    crowds: dict[int, frozenset[int]] | None
    crowd_size: np.ndarray  # per row, how many authorities its crowd holds (0: none)
    crowd_of_member: sp.csr_matrix  # member row → the territories whose crowd holds it
    is_actor: np.ndarray  # False for country nodes, never candidates
    countries: list[str]
    kinds: list[str]
    country_pairs: np.ndarray  # country × country: observed ties
    # Rows of actors by decreasing degree: overall, per country, per theme (each capped).
    popular: np.ndarray
    popular_in_country: list[np.ndarray]
    popular_in_theme: list[np.ndarray]
    # The walk of the personalised PageRank, on the nodes renumbered so that tied nodes are
    # close together (reverse Cuthill–McKee): `walk_order[position]` is a row,
    # `walk_position[row]` its position; the adjacency and 1 / degree in that numbering.
    walk_order: np.ndarray
    walk_position: np.ndarray
    walk_adjacency: sp.csr_matrix
    walk_inverse_degree: np.ndarray

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def of(cls, graph: CooperationGraph) -> "FeatureSpace":
        """The space of `graph` as it is now, crowds included."""
        return cls.build(graph, crowds=crowds_of(graph))

    @classmethod
    def build(
        cls, graph: CooperationGraph, crowds: dict[str, list[str]] | None = None
    ) -> "FeatureSpace":
        g = graph.g
        attributes = dict(g.nodes(data=True))
        nodes = sorted(attributes)
        index = {node: i for i, node in enumerate(nodes)}
        n = len(nodes)
        rows: list[int] = []
        cols: list[int] = []
        net_rows: list[int] = []
        net_cols: list[int] = []
        for a, neighbours in g.adjacency():
            i = index[a]
            others = [index[b] for b in neighbours]
            rows += [i] * len(others)
            cols += others
            for j, data in zip(others, neighbours.values(), strict=True):
                if i > j:
                    continue  # each edge's ties once
                for tie in data["ties"].values():
                    if tie.type in _NETWORK_TIES:
                        member = i if tie.origin in (None, a) else j
                        net_rows.append(member)
                        net_cols.append(j if member == i else i)
        adjacency = sp.csr_matrix(
            (np.ones(len(rows)), (np.array(rows, dtype=np.int32), np.array(cols, dtype=np.int32))),
            shape=(n, n),
        )
        adjacency.sort_indices()
        networks = sp.csr_matrix(
            (np.ones(len(net_rows)), (net_rows, net_cols)), shape=(n, n)
        ).sign()
        degree = np.asarray(adjacency.sum(axis=1)).ravel()
        inverse = np.divide(1.0, degree, out=np.zeros(n), where=degree > 0)

        attrs = [attributes[node] for node in nodes]
        country_names = [a["country"] for a in attrs]
        countries = sorted(set(country_names))
        country_of = {c: i for i, c in enumerate(countries)}
        country = np.array([country_of[c] for c in country_names], dtype=np.int64)
        kind_names = [a["kind"] for a in attrs]
        kinds = sorted(set(kind_names))
        kind_of = {k: i for i, k in enumerate(kinds)}
        kind = np.array([kind_of[k] for k in kind_names], dtype=np.int64)
        level_names = [a.get("level") for a in attrs]
        levels = sorted({v for v in level_names if v})
        level_of = {v: i for i, v in enumerate(levels)}
        level = np.array([level_of.get(v, -1) for v in level_names], dtype=np.int64)
        node_themes = [a["themes"] for a in attrs]
        theme_names = sorted(set().union(*node_themes)) if node_themes else []
        theme_of = {t: i for i, t in enumerate(theme_names)}
        t_rows = [i for i, themes in enumerate(node_themes) for _ in themes]
        t_cols = [theme_of[t] for themes in node_themes for t in themes]
        themes = sp.csr_matrix(
            (np.ones(len(t_rows)), (t_rows, t_cols)), shape=(n, max(1, len(theme_names)))
        )
        latitude = np.radians(np.array([_coordinate(a, "latitude") for a in attrs]))
        longitude = np.radians(np.array([_coordinate(a, "longitude") for a in attrs]))
        # An actor's home (as `CooperationGraph.home_of`): itself for a local authority.
        home = np.array(
            [
                i if k == "local_authority" else index.get(a.get("based_in") or "", -1)
                for i, (k, a) in enumerate(zip(kind_names, attrs, strict=True))
            ],
            dtype=np.int64,
        )
        is_actor = np.array([k != "country" for k in kind_names], dtype=bool)
        by_degree = np.lexsort((np.arange(n), -degree))
        by_degree = by_degree[is_actor[by_degree]]
        country_one_hot = _one_hot(country, len(countries))
        country_ties = (adjacency @ country_one_hot).tocsr()
        crowd_sets = {
            index[target]: frozenset(index[m] for m in members if m in index)
            for target, members in (crowds or {}).items()
            if target in index
        }
        crowd_size = np.zeros(n)
        crowd_targets: list[int] = []
        crowd_members: list[int] = []
        for target, members in crowd_sets.items():
            crowd_size[target] = len(members)
            crowd_targets += [target] * len(members)
            crowd_members += members
        walk_order = (
            reverse_cuthill_mckee(adjacency, symmetric_mode=True).astype(np.int64)
            if n
            else np.zeros(0, dtype=np.int64)
        )
        walk_position = np.empty(n, dtype=np.int64)
        walk_position[walk_order] = np.arange(n)
        walk_adjacency = adjacency[walk_order][:, walk_order].tocsr()
        walk_adjacency.sort_indices()
        return cls(
            nodes=nodes,
            index=index,
            adjacency=adjacency,
            networks=networks,
            network_members=networks.T.tocsr(),
            themes=themes,
            theme_count=np.asarray(themes.sum(axis=1)).ravel(),
            degree=degree,
            weights_aa=np.divide(
                1.0, np.log(np.maximum(degree, 2.0)), out=np.zeros(n), where=degree > 1
            ),
            weights_ra=inverse,
            country=country,
            country_lift=_lift(adjacency, country, len(countries)),
            country_ties=country_ties,
            country_ties_by_country=country_ties.tocsc(),
            kind=kind,
            kind_lift=_lift(adjacency, kind, len(kinds)),
            level=level,
            latitude=latitude,
            longitude=longitude,
            home=home,
            crowds=crowd_sets if crowds is not None else None,
            crowd_size=crowd_size,
            crowd_of_member=sp.csr_matrix(
                (np.ones(len(crowd_members)), (crowd_members, crowd_targets)), shape=(n, n)
            ),
            is_actor=is_actor,
            countries=countries,
            kinds=kinds,
            country_pairs=(country_one_hot.T @ adjacency @ country_one_hot).toarray(),
            popular=by_degree[:_POPULAR],
            popular_in_country=_ranked_groups(by_degree, country, len(countries)),
            popular_in_theme=_ranked_columns(by_degree, themes),
            walk_order=walk_order,
            walk_position=walk_position,
            walk_adjacency=walk_adjacency,
            walk_inverse_degree=inverse[walk_order],
        )

    # --- queries ----------------------------------------------------------------------------

    def source(self, source: int) -> "SourceView":
        """What every feature of a query reads of its source, computed once for its pool."""
        return SourceView(self, source)

    def pool(
        self,
        source: int,
        pagerank: np.ndarray,
        bridged: np.ndarray | None = None,
        *,
        view: "SourceView | None" = None,
    ) -> np.ndarray:
        """The candidates worth scoring for `source`, bounded whatever the graph's size: two
        hops, the top of the personalised PageRank (three hops and beyond), the most tied
        actors of the countries the source's country cooperates with most, of its themes and
        overall, and the territories a migrant organisation links to its home. Rows, sorted;
        the source and non-actors left out (the caller removes partners)."""
        view = view if view is not None else self.source(source)
        two = view.two_hops
        if len(two) > _TWO_HOPS:
            # The best by Adamic–Adar; equal ones in row order.
            two = two[np.argsort(-view.adamic_adar[two], kind="stable")[:_TWO_HOPS]]
        reached = np.flatnonzero(pagerank > _PAGERANK_FLOOR)
        if len(reached) > _BY_PAGERANK:
            reached = reached[np.argpartition(-pagerank[reached], _BY_PAGERANK)[:_BY_PAGERANK]]
        own_country = self.country[source]
        pairs = self.country_pairs[own_country]
        partner_countries = [int(c) for c in np.argsort(-pairs, kind="stable")[:_COUNTRIES]]
        partner_countries = [c for c in partner_countries if pairs[c] > 0] or [int(own_country)]
        parts = [
            two,
            reached,
            self.popular,
            *(self.popular_in_country[c][:_POPULAR_IN_GROUP] for c in partner_countries),
            *(self.popular_in_theme[t] for t in _row_indices(self.themes, source)),
            _row_indices(self.adjacency, source),
        ]
        if bridged is not None:
            parts.append(bridged)
        rows = np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]))
        return rows[self.is_actor[rows] & (rows != source)]

    def pagerank(self, source: int) -> np.ndarray:
        """Personalised PageRank from `source`: where a walk that often returns home ends up.

        `_PAGERANK_STEPS` steps of rank ← α·restart + (1 − α)·W·rank from rank = restart, with
        W the column-stochastic walk (adjacency × 1 / degree), computed in the walk's own
        numbering; while the walk has reached few nodes, only their rows are read."""
        n = len(self.nodes)
        start = int(self.walk_position[source])
        adjacency, inverse = self.walk_adjacency, self.walk_inverse_degree
        rank = np.zeros(n)
        rank[start] = 1.0
        reached: np.ndarray | None = np.array([start])
        # Marks the reached nodes: a set union of sorted arrays cost more than the gather.
        is_reached = np.zeros(n, dtype=bool)
        is_reached[start] = True
        entries_per_row = np.diff(adjacency.indptr)
        sparse_until = _SPARSE_WALK_SHARE * adjacency.nnz
        for _ in range(_PAGERANK_STEPS):
            if reached is not None:
                # W·rank where rank is 0 outside `reached`: the adjacency is symmetric and 0/1,
                # so that is the sum of the rows of the reached nodes, each weighted by its
                # share; a gather, not a submatrix (which cost a millisecond a step). Each
                # node's sum adds the same terms in the same order as the whole product.
                columns, owner = _row_entries(adjacency, reached)
                shares = rank[reached] * inverse[reached]
                spread = _weighted_count(columns, shares[owner], n)
                # The walk now reaches the neighbours of what it had reached, and only them.
                is_reached[columns] = True
                reached = np.flatnonzero(is_reached)
                if entries_per_row[reached].sum() >= sparse_until:
                    reached = None
            else:
                spread = adjacency @ (rank * inverse)
            spread *= 1 - _PAGERANK_ALPHA
            spread[start] += _PAGERANK_ALPHA
            rank = spread
        return rank[self.walk_position]

    def ties_with_country(self, row: int, country: int) -> float:
        """Ties of the node at `row` with actors of the country of index `country`."""
        start, end = self.country_ties.indptr[row], self.country_ties.indptr[row + 1]
        found = np.flatnonzero(self.country_ties.indices[start:end] == country)
        return float(self.country_ties.data[start + found[0]]) if len(found) else 0.0

    def networks_of(self, row: int) -> np.ndarray:
        """Rows of the networks the node at `row` is a member of (or is coordinated by)."""
        return _row_indices(self.networks, row)

    def _crowding(self, source: int, candidates: np.ndarray) -> np.ndarray:
        """Per candidate territory, the uncoordinated authorities at work there, leaving out
        the source and its home (the partners it would join, not competitors); fewer than
        two is no crowd."""
        sizes = self.crowd_size[candidates].copy()
        if not self.crowds:
            return np.zeros(len(candidates))
        for member in {source, int(self.home[source])}:
            if member >= 0:
                sizes -= np.isin(candidates, _row_indices(self.crowd_of_member, member))
        return np.where(sizes >= 2, sizes, 0.0)

    def matrix(
        self,
        source: int,
        candidates: np.ndarray,
        *,
        bridged: np.ndarray | None = None,
        pagerank: np.ndarray | None = None,
        view: "SourceView | None" = None,
    ) -> np.ndarray:
        """The feature matrix of `candidates` (rows) for `source`, columns in `FEATURES` order.

        `bridged` lists the rows of the territories a migrant organisation links to the
        source's home (see `territories.bridged`)."""
        view = view if view is not None else self.source(source)
        candidates = np.asarray(candidates, dtype=np.int64)
        degree = self.degree
        cn = view.common[candidates]
        aa = view.adamic_adar[candidates]
        ra = view.resource_allocation[candidates]
        # Paths of length 3 to each candidate: its row of the adjacency times the paths of
        # length 2 from the source (whole numbers: exact in any order).
        paths_3 = self.adjacency[candidates] @ view.common
        union = degree[source] + degree[candidates] - cn
        jaccard = np.divide(cn, union, out=np.zeros_like(cn), where=union > 0)
        if pagerank is None:
            pagerank = self.pagerank(source)
        ppr = np.log10(np.maximum(pagerank[candidates], _PAGERANK_FLOOR))

        source_country, their_country = self.country[source], self.country[candidates]
        km = _great_circle_km(
            self.latitude[source],
            self.longitude[source],
            self.latitude[candidates],
            self.longitude[candidates],
        )
        known = ~np.isnan(km)
        shared = _row_products(self.themes, candidates, _dense_row(self.themes, source))
        theme_union = self.theme_count[source] + self.theme_count[candidates] - shared
        same_network = view.network_peers[candidates] > 0
        homes = self.home[candidates]
        bridge = (
            np.isin(homes, bridged) & (homes >= 0)
            if bridged is not None and len(bridged)
            else np.zeros(len(candidates), dtype=bool)
        )
        level_source = self.level[source]
        candidate_country_ties = _dense_row(self.country_ties_by_country, source_country)[
            candidates
        ]
        source_country_ties = _dense_row(self.country_ties, source)[their_country]
        columns = [
            np.log1p(cn),
            aa,
            ra,
            jaccard,
            np.log1p(paths_3),
            ppr,
            self.country_lift[source_country, their_country],
            np.log1p(candidate_country_ties),
            np.log1p(source_country_ties),
            (their_country == source_country).astype(float),
            np.log1p(degree[candidates]),
            np.full(len(candidates), np.log1p(degree[source])),
            np.where(known, np.log1p(np.nan_to_num(km)), 0.0),
            (~known).astype(float),
            self.kind_lift[self.kind[source], self.kind[candidates]],
            ((self.level[candidates] == level_source) & (level_source >= 0)).astype(float),
            np.divide(shared, theme_union, out=np.zeros_like(shared), where=theme_union > 0),
            bridge.astype(float),
            same_network.astype(float),
            np.log1p(self._crowding(source, candidates)),
        ]
        return np.column_stack(columns)


class SourceView:
    """What the features of one query read of its source, over the whole graph: paths of
    length 2 (plain, Adamic–Adar and resource-allocation weighted) and network peers, each a
    dense vector by row, computed once and shared by the pool and the feature matrix.

    Each is a weighted count over the rows of the source's partners, read straight from the
    sparse arrays: building sparse products and slices cost more here than the sums, at
    every size of graph. Each node's sum adds the same terms in the same order as the
    product `row · A` would."""

    def __init__(self, space: FeatureSpace, source: int) -> None:
        a, n = space.adjacency, len(space.nodes)
        partners = _row_indices(a, source)
        columns, owner = _row_entries(a, partners)
        self.common: np.ndarray = np.bincount(columns, minlength=n).astype(float)
        self.two_hops: np.ndarray = np.flatnonzero(self.common)
        self.adamic_adar: np.ndarray = _weighted_count(
            columns, space.weights_aa[partners][owner], n
        )
        self.resource_allocation: np.ndarray = _weighted_count(
            columns, space.weights_ra[partners][owner], n
        )
        peers, _ = _row_entries(space.network_members, _row_indices(space.networks, source))
        self.network_peers: np.ndarray = np.bincount(peers, minlength=n).astype(float)

    def __repr__(self) -> str:  # pragma: no cover - for debugging only
        return f"SourceView({len(self.two_hops)} within two hops)"


def _dense_row(matrix: sp.csr_matrix | sp.csc_matrix, row: int) -> np.ndarray:
    """One row of a CSR matrix (a column of a CSC one) as a dense vector."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    dense = np.zeros(matrix.shape[1] if isinstance(matrix, sp.csr_matrix) else matrix.shape[0])
    dense[matrix.indices[start:end]] = matrix.data[start:end]
    return dense


def _row_products(matrix: sp.csr_matrix, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix[rows] @ vector, without building the submatrix."""
    positions, owner = _row_positions(matrix, rows)
    weights = matrix.data[positions] * vector[matrix.indices[positions]]
    return _weighted_count(owner, weights, len(rows))


def _row_indices(matrix: sp.csr_matrix, row: int) -> np.ndarray:
    """The columns of the stored entries of one row of a CSR matrix, without a slice object."""
    return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]


def _weighted_count(columns: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    # bincount of no entries is an integer array: a node without partners.
    return np.bincount(columns, weights=weights, minlength=size).astype(float, copy=False)


def _row_entries(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column of every stored entry of `rows` of a CSR matrix, and which of `rows` (by
    position) each belongs to: a gather, without building the submatrix."""
    positions, owner = _row_positions(matrix, rows)
    return matrix.indices[positions], owner


def _row_positions(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the stored entries of `rows` are in a CSR matrix's arrays, and which of `rows`
    (by position) each belongs to."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[owner] + offsets, owner


def _coordinate(attrs: dict[str, Any], name: str) -> float:
    value = attrs.get(name)
    return float(value) if isinstance(value, int | float) else np.nan


def _one_hot(codes: np.ndarray, size: int) -> sp.csr_matrix:
    n = len(codes)
    return sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, max(1, size)))


def _ranked_groups(by_degree: np.ndarray, codes: np.ndarray, size: int) -> list[np.ndarray]:
    """Per group, its members in `by_degree` order, capped."""
    groups = codes[by_degree]
    return [by_degree[groups == code][:_POPULAR_IN_GROUP] for code in range(size)]


def _ranked_columns(by_degree: np.ndarray, membership: sp.csr_matrix) -> list[np.ndarray]:
    """Per column (a theme), the rows that have it in `by_degree` order, capped."""
    by_column = membership[by_degree].tocsc()
    by_column.sort_indices()
    return [
        by_degree[by_column.indices[by_column.indptr[c] : by_column.indptr[c + 1]]][
            :_POPULAR_IN_GROUP
        ]
        for c in range(membership.shape[1])
    ]


def _lift(adjacency: sp.csr_matrix, codes: np.ndarray, size: int) -> np.ndarray:
    """log((ties between groups x and y + 1) / (what chance would give + 1)), groups by code.

    Chance pairs the groups in proportion to their members' degrees; the +1 on both sides
    shrinks the lift of groups with few ties towards 0 (no evidence, no effect)."""
    one_hot = _one_hot(codes, size)
    observed = (one_hot.T @ adjacency @ one_hot).toarray()
    total = observed.sum()
    if total == 0:
        return np.zeros((max(1, size), max(1, size)))
    by_group = observed.sum(axis=1)
    expected = np.outer(by_group, by_group) / total
    return np.log((observed + 1.0) / (expected + 1.0))


def _great_circle_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))

"""The features of a (source, candidate) pair, computed for a whole candidate pool at once.

Pure: a `FeatureSpace` is an immutable numeric snapshot of a `CooperationGraph` (sparse
adjacency, degrees, countries, themes, coordinates, kinds, homes) from which every feature of
every candidate of a query is a few vectorised operations, never a Python loop per candidate.
It is rebuilt when the graph has changed (see `ranking.holder`), and the training builds one
on its own copy of the graph.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.matching.graph import CooperationGraph
from services.matching.territories import crowds

__all__ = ["FEATURES", "FeatureSpace"]

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
_PAGERANK_STEPS = 24
_PAGERANK_FLOOR = 1e-9
_NETWORK_TIES = frozenset({"member_of", "coordinates"})
# Bounds of the candidate pool (see `FeatureSpace.pool` and docs/matching.md).
_TWO_HOPS = 2_000
_BY_PAGERANK = 500
_COUNTRIES = 6
_POPULAR = 100
_POPULAR_IN_GROUP = 150


@dataclass(frozen=True)
class FeatureSpace:
    """A numeric snapshot of the graph; `index[node]` is its row in every array."""

    nodes: list[str]
    index: dict[str, int]
    adjacency: sp.csr_matrix  # symmetric, 1 per tied pair (any tie)
    networks: sp.csr_matrix  # actor → network it is a member of (or is coordinated by)
    walk: sp.csr_matrix  # column-stochastic transition matrix of the adjacency
    themes: sp.csr_matrix  # node × theme, 1 when the node works on it
    degree: np.ndarray
    country: np.ndarray  # country index per node
    country_lift: np.ndarray  # country × country log lift
    country_ties: np.ndarray  # node × country: ties of the node with actors of the country
    kind: np.ndarray
    kind_lift: np.ndarray
    level: np.ndarray  # level index, -1 when none
    latitude: np.ndarray  # radians, nan when unknown
    longitude: np.ndarray
    home: np.ndarray  # row of the node's home territory, -1 when none
    # Territory row → rows of the local authorities active there without coordinating.
    crowds: dict[int, frozenset[int]]
    is_actor: np.ndarray  # False for country nodes, never candidates
    countries: list[str]
    kinds: list[str]
    country_pairs: np.ndarray  # country × country: observed ties
    # Rows of actors by decreasing degree: overall, per country, per theme (each capped).
    popular: np.ndarray
    popular_in_country: list[np.ndarray]
    popular_in_theme: list[np.ndarray]

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def of(cls, graph: CooperationGraph) -> "FeatureSpace":
        """The space of `graph` as it is now, crowds included."""
        return cls.build(graph, crowds=crowds(graph))

    @classmethod
    def build(
        cls, graph: CooperationGraph, crowds: dict[str, list[str]] | None = None
    ) -> "FeatureSpace":
        g = graph.g
        nodes = sorted(g.nodes)
        index = {node: i for i, node in enumerate(nodes)}
        n = len(nodes)
        rows, cols, net_rows, net_cols = [], [], [], []
        for a, b, data in g.edges(data=True):
            i, j = index[a], index[b]
            rows += (i, j)
            cols += (j, i)
            for tie in data["ties"].values():
                if tie.type in _NETWORK_TIES:
                    member = i if tie.origin in (None, a) else j
                    network = j if member == i else i
                    net_rows.append(member)
                    net_cols.append(network)
        adjacency = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        networks = sp.csr_matrix(
            (np.ones(len(net_rows)), (net_rows, net_cols)), shape=(n, n)
        ).sign()
        degree = np.asarray(adjacency.sum(axis=1)).ravel()
        inverse = np.divide(1.0, degree, out=np.zeros(n), where=degree > 0)
        walk = (adjacency @ sp.diags(inverse)).tocsr()

        attrs = [g.nodes[node] for node in nodes]
        countries = sorted({a["country"] for a in attrs})
        country_of = {c: i for i, c in enumerate(countries)}
        country = np.array([country_of[a["country"]] for a in attrs], dtype=np.int64)
        kinds = sorted({a["kind"] for a in attrs})
        kind_of = {k: i for i, k in enumerate(kinds)}
        kind = np.array([kind_of[a["kind"]] for a in attrs], dtype=np.int64)
        levels = sorted({a["level"] for a in attrs if a.get("level")})
        level_of = {v: i for i, v in enumerate(levels)}
        level = np.array([level_of.get(a.get("level"), -1) for a in attrs], dtype=np.int64)
        theme_names = sorted({t for a in attrs for t in a["themes"]})
        theme_of = {t: i for i, t in enumerate(theme_names)}
        t_rows = [i for i, a in enumerate(attrs) for _ in a["themes"]]
        t_cols = [theme_of[t] for a in attrs for t in a["themes"]]
        themes = sp.csr_matrix(
            (np.ones(len(t_rows)), (t_rows, t_cols)), shape=(n, max(1, len(theme_names)))
        )
        latitude = np.radians(np.array([_coordinate(a, "latitude") for a in attrs]))
        longitude = np.radians(np.array([_coordinate(a, "longitude") for a in attrs]))
        homes = [graph.home_of(node) for node in nodes]
        home = np.array([index.get(h, -1) if h else -1 for h in homes], dtype=np.int64)
        is_actor = np.array([a["kind"] != "country" for a in attrs])
        by_degree = np.lexsort((np.arange(n), -degree))
        by_degree = by_degree[is_actor[by_degree]]
        country_one_hot = _one_hot(country, len(countries))
        return cls(
            nodes=nodes,
            index=index,
            adjacency=adjacency,
            networks=networks,
            walk=walk,
            themes=themes,
            degree=degree,
            country=country,
            country_lift=_lift(adjacency, country, len(countries)),
            country_ties=(adjacency @ country_one_hot).toarray(),
            kind=kind,
            kind_lift=_lift(adjacency, kind, len(kinds)),
            level=level,
            latitude=latitude,
            longitude=longitude,
            home=home,
            crowds={
                index[target]: frozenset(index[m] for m in members if m in index)
                for target, members in (crowds or {}).items()
                if target in index
            },
            is_actor=is_actor,
            countries=countries,
            kinds=kinds,
            country_pairs=(country_one_hot.T @ adjacency @ country_one_hot).toarray(),
            popular=by_degree[:_POPULAR],
            popular_in_country=_ranked_groups(by_degree, country, len(countries)),
            popular_in_theme=[
                by_degree[themes[by_degree, t].toarray().ravel() > 0][:_POPULAR_IN_GROUP]
                for t in range(themes.shape[1])
            ],
        )

    # --- queries ----------------------------------------------------------------------------

    def pool(
        self, source: int, pagerank: np.ndarray, bridged: np.ndarray | None = None
    ) -> np.ndarray:
        """The candidates worth scoring for `source`, bounded whatever the graph's size: two
        hops, the top of the personalised PageRank (three hops and beyond), the most tied
        actors of the countries the source's country cooperates with most, of its themes and
        overall, and the territories a migrant organisation links to its home. Rows, sorted;
        the source and non-actors left out (the caller removes partners)."""
        a = self.adjacency
        two = (a[source] @ a).indices
        if len(two) > _TWO_HOPS:
            aa = self.matrix(source, two, pagerank=pagerank)[:, 1]
            two = two[np.argsort(-aa, kind="stable")[:_TWO_HOPS]]
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
            *(self.popular_in_theme[t] for t in self.themes[source].indices),
            self.adjacency[source].indices,
        ]
        if bridged is not None:
            parts.append(bridged)
        rows = np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]))
        return rows[self.is_actor[rows] & (rows != source)]

    def pagerank(self, source: int) -> np.ndarray:
        """Personalised PageRank from `source`: where a walk that often returns home ends up."""
        restart = np.zeros(len(self.nodes))
        restart[source] = 1.0
        rank = restart.copy()
        for _ in range(_PAGERANK_STEPS):
            rank = _PAGERANK_ALPHA * restart + (1 - _PAGERANK_ALPHA) * (self.walk @ rank)
        return rank

    def _crowding(self, source: int, candidates: np.ndarray) -> np.ndarray:
        """Per candidate territory, the uncoordinated authorities at work there, leaving out
        the source and its home (the partners it would join, not competitors); fewer than
        two is no crowd."""
        sizes = np.zeros(len(candidates))
        if not self.crowds:
            return sizes
        own = {source, int(self.home[source])}
        where = {int(row): i for i, row in enumerate(candidates)}
        for target, members in self.crowds.items():
            position = where.get(target)
            if position is not None:
                size = len(members - own)
                sizes[position] = size if size >= 2 else 0
        return sizes

    def matrix(
        self,
        source: int,
        candidates: np.ndarray,
        *,
        bridged: np.ndarray | None = None,
        pagerank: np.ndarray | None = None,
    ) -> np.ndarray:
        """The feature matrix of `candidates` (rows) for `source`, columns in `FEATURES` order.

        `bridged` lists the rows of the territories a migrant organisation links to the
        source's home (see `territories.bridged`)."""
        a = self.adjacency
        row = a[source]
        degree = self.degree
        weights_aa = np.divide(
            1.0, np.log(np.maximum(degree, 2.0)), out=np.zeros_like(degree), where=degree > 1
        )
        weights_ra = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        two = row @ a
        cn = _take(two, candidates)
        aa = _take(row.multiply(weights_aa) @ a, candidates)
        ra = _take(row.multiply(weights_ra) @ a, candidates)
        paths_3 = _take(two @ a, candidates)
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
        source_themes = self.themes[source]
        shared = _take(self.themes[candidates] @ source_themes.T, None)
        theme_union = (
            source_themes.sum() + np.asarray(self.themes[candidates].sum(axis=1)).ravel() - shared
        )
        networks = self.networks
        same_network = _take(networks[source] @ networks.T, candidates) > 0
        homes = self.home[candidates]
        bridge = (
            np.isin(homes, bridged) & (homes >= 0)
            if bridged is not None and len(bridged)
            else np.zeros(len(candidates), dtype=bool)
        )
        level_source = self.level[source]
        columns = [
            np.log1p(cn),
            aa,
            ra,
            jaccard,
            np.log1p(paths_3),
            ppr,
            self.country_lift[source_country, their_country],
            np.log1p(self.country_ties[candidates, source_country]),
            np.log1p(self.country_ties[source, their_country]),
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


def _coordinate(attrs: dict[str, object], name: str) -> float:
    value = attrs.get(name)
    return float(value) if isinstance(value, int | float) else np.nan


def _one_hot(codes: np.ndarray, size: int) -> sp.csr_matrix:
    n = len(codes)
    return sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, max(1, size)))


def _ranked_groups(by_degree: np.ndarray, codes: np.ndarray, size: int) -> list[np.ndarray]:
    """Per group, its members in `by_degree` order, capped."""
    groups = codes[by_degree]
    return [by_degree[groups == code][:_POPULAR_IN_GROUP] for code in range(size)]


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


def _take(vector: sp.spmatrix | np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    dense = vector.toarray() if sp.issparse(vector) else np.asarray(vector)
    dense = dense.ravel()
    return dense if columns is None else dense[columns]


def _great_circle_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))

"""Partner suggestions: who should an actor work with, and why.

Pure: works on a `CooperationGraph`, no I/O. Candidates come from a bounded neighbourhood and
from the theme and country indexes, never from all pairs, so a query stays fast on a large
graph. Every score in [0, 1] is the clipped sum of weighted signals, each returned as a reason
with its contribution (see docs/matching.md).
"""

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from services.matching.graph import CooperationGraph
from services.matching.territories import bridged, crowding, residents

__all__ = ["WEIGHTS", "Reason", "Suggestion", "candidates", "crowding", "suggest"]

WEIGHTS = {
    "shared_themes": 0.25,
    "structural_proximity": 0.40,
    "migrant_bridge": 0.20,
    "complementarity": 0.10,
    "affinity": 0.05,
    "crowding": -0.15,
}
_NEIGHBOURHOOD_CAP = 2_000
_INDEX_CAP = 300
# Countries where French is an official or widely used language of local administration.
_FRANCOPHONE_CODES = (
    "FR BE CH LU MC CA HT SN ML BF NE CI BJ TG GN CM GA CG CD CF TD MG KM DJ RW BI MR MA TN DZ LB"
    " VU SC MU"
)
FRANCOPHONE = frozenset(_FRANCOPHONE_CODES.split())


@dataclass
class Reason:
    code: str
    contribution: float
    text: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suggestion:
    actor_id: str
    score: float
    reasons: list[Reason]


def candidates(graph: CooperationGraph, source: str) -> set[str]:
    """A bounded pool: two hops away, migrant bridges, co-actors of targets, theme × country."""
    g = graph.g
    pool: set[str] = set()
    for neighbour in g.adj[source]:
        if len(pool) >= _NEIGHBOURHOOD_CAP:
            break
        # A neighbour that is no partner (its home territory, a territory of origin) counts too.
        pool.add(neighbour)
        for second in g.adj[neighbour]:
            pool.add(second)
            if len(pool) >= _NEIGHBOURHOOD_CAP:
                break
    pool.update(bridged(graph, source))
    node = g.nodes[source]
    countries = {node["country"], *node.get("intervention_countries", ())}
    countries |= {g.nodes[t]["country"] for t, _ in graph.ties_of(source, "active_in")}
    home = graph.home_of(source)
    if home is not None and home in g:
        countries |= {
            g.nodes[o]["country"]
            for m in residents(graph, home)
            for o in g.nodes[m]["origins"]
            if o in g
        }
    for theme in node["themes"]:
        in_theme = graph.by_theme.get(theme, set())
        for country in countries:
            in_country = graph.by_country.get(country, set())
            pool.update(itertools.islice(in_country & in_theme, _INDEX_CAP))
    for theme in node["themes"]:
        # Beyond the countries it knows: an actor new to the graph has nothing else to go on.
        pool.update(itertools.islice(graph.by_theme.get(theme, ()), _INDEX_CAP))
    pool.discard(source)
    # Country nodes are targets of work, never partners.
    pool = {n for n in pool if g.nodes[n]["kind"] != "country"}
    return pool


def suggest(
    graph: CooperationGraph,
    source: str,
    *,
    limit: int = 10,
    kind: str | None = None,
    country: str | None = None,
    theme: str | None = None,
    exclude: Iterable[str] = (),
) -> list[Suggestion]:
    """Ranked candidates for `source`, each with reasons; partners and `exclude` never appear."""
    excluded = set(exclude) | graph.partners(source) | {source}
    ranked = []
    for candidate in candidates(graph, source) - excluded:
        node = graph.g.nodes[candidate]
        if kind and node["kind"] != kind:
            continue
        if country and node["country"] != country:
            continue
        if theme and theme not in node["themes"]:
            continue
        suggestion = score(graph, source, candidate)
        if suggestion.score > 0:
            ranked.append(suggestion)
    ranked.sort(key=lambda s: (-s.score, graph.g.nodes[s.actor_id]["name"]))
    return ranked[:limit]


def score(graph: CooperationGraph, source: str, candidate: str) -> Suggestion:
    reasons = [
        reason
        for reason in (
            _shared_themes(graph, source, candidate),
            _structural(graph, source, candidate),
            _migrant_bridge(graph, source, candidate),
            _complementarity(graph, source, candidate),
            _affinity(graph, source, candidate),
            _crowding(graph, source, candidate),
        )
        if reason is not None and reason.contribution != 0
    ]
    total = min(1.0, max(0.0, sum(r.contribution for r in reasons)))
    return Suggestion(candidate, round(total, 4), reasons)


# --- signals -------------------------------------------------------------------------------------


def _name(graph: CooperationGraph, actor_id: str) -> str:
    return graph.g.nodes[actor_id]["name"]


def _shared_themes(graph: CooperationGraph, a: str, b: str) -> Reason | None:
    ta, tb = graph.g.nodes[a]["themes"], graph.g.nodes[b]["themes"]
    shared = sorted(ta & tb)
    if not shared:
        return None
    jaccard = len(shared) / len(ta | tb)
    return Reason(
        "shared_themes",
        round(WEIGHTS["shared_themes"] * jaccard, 4),
        f"works on the same themes: {', '.join(shared)}",
        {"themes": shared},
    )


def _structural(graph: CooperationGraph, a: str, b: str) -> Reason | None:
    # The intermediaries that weigh most first: Adamic–Adar counts each one 1 / log(degree).
    common = sorted(nx.common_neighbors(graph.g, a, b), key=lambda n: (graph.g.degree(n), n))
    if not common:
        return None
    [(_, _, index)] = nx.adamic_adar_index(graph.g, [(a, b)])
    strength = index / (index + 1.0)
    names = [_name(graph, n) for n in common[:3]]
    return Reason(
        "structural_proximity",
        round(WEIGHTS["structural_proximity"] * strength, 4),
        f"close in the network (Adamic–Adar {index:.2f}) through {', '.join(names)}",
        {"adamic_adar": round(index, 4), "intermediaries": common[:5]},
    )


def _migrant_bridge(graph: CooperationGraph, a: str, b: str) -> Reason | None:
    home_a, home_b = graph.home_of(a), graph.home_of(b)
    if (
        not home_a
        or not home_b
        or home_a == home_b
        or home_a not in graph.g
        or home_b not in graph.g
    ):
        return None
    for x, y in ((home_a, home_b), (home_b, home_a)):
        for organisation in residents(graph, x):
            if y in graph.g.nodes[organisation]["origins"]:
                return Reason(
                    "migrant_bridge",
                    WEIGHTS["migrant_bridge"],
                    f"{_name(graph, organisation)} is based in {_name(graph, x)} and originates "
                    f"from {_name(graph, y)}",
                    {"organisation": organisation, "based_in": x, "originates_from": y},
                )
    return None


def _complementarity(graph: CooperationGraph, a: str, b: str) -> Reason | None:
    na, nb = graph.g.nodes[a], graph.g.nodes[b]
    pair = {na["kind"], nb["kind"]}
    value, why = 0.0, ""
    if (
        pair == {"local_authority"}
        and na["country"] != nb["country"]
        and "FR" in (na["country"], nb["country"])
    ):
        if na.get("level") and na.get("level") == nb.get("level"):
            value, why = 1.0, f"a French and a foreign local authority, both of level {na['level']}"
        else:
            value, why = 0.7, "a French and a foreign local authority"
    elif "local_authority" in pair and pair & {"association", "migrant_organisation"}:
        authority, other = (na, nb) if na["kind"] == "local_authority" else (nb, na)
        authority_id = a if na["kind"] == "local_authority" else b
        home = other.get("based_in")
        if home == authority_id:
            value, why = 0.8, "an organisation of the authority's own territory"
        elif home is not None and _cooperating(graph, home, authority_id):
            value = 1.0
            why = (
                f"an organisation of {_name(graph, home)}, which already cooperates with "
                f"{authority['name']}"
            )
        elif authority["country"] in other.get("intervention_countries", ()):
            value, why = 0.7, "an organisation already working in the authority's country"
    elif pair == {"association", "migrant_organisation"} and na.get("based_in") == nb.get(
        "based_in"
    ):
        value, why = 0.6, "an association and a migrant organisation of the same territory"
    elif pair & {"resource_centre", "network"}:
        value, why = 0.3, "a resource centre or network that connects actors"
    if value == 0:
        return None
    return Reason("complementarity", round(WEIGHTS["complementarity"] * value, 4), why)


def _cooperating(graph: CooperationGraph, a: str, b: str) -> bool:
    """True when a convention or a project joins the two actors (or takes one to the other)."""
    return any(t.type in ("cooperates_with", "active_in") for t in graph.ties(a, b))


def _affinity(graph: CooperationGraph, a: str, b: str) -> Reason | None:
    na, nb = graph.g.nodes[a], graph.g.nodes[b]
    coordinates = (na["latitude"], na["longitude"], nb["latitude"], nb["longitude"])
    if na["country"] == nb["country"] and None not in coordinates:
        km = _distance_km(na, nb)
        value = math.exp(-km / 150.0)
        if value < 0.05:
            return None
        return Reason(
            "affinity",
            round(WEIGHTS["affinity"] * value, 4),
            f"geographically close ({km:.0f} km)",
            {"distance_km": round(km)},
        )
    if na["country"] != nb["country"] and {na["country"], nb["country"]} <= FRANCOPHONE:
        return Reason(
            "affinity", round(WEIGHTS["affinity"] * 0.6, 4), "a shared working language: French"
        )
    return None


def _crowding(graph: CooperationGraph, source: str, candidate: str) -> Reason | None:
    node = graph.g.nodes[candidate]
    if node["kind"] != "local_authority":
        return None
    themes = graph.g.nodes[source]["themes"]
    # The source's own territory working there is the partner to join, not a competitor.
    home = graph.home_of(source) or source
    crowd = [a for a in crowding(graph, candidate, themes) if a not in (source, home)]
    if len(crowd) < 2:
        return None
    weight = min(1.0, (len(crowd) - 1) / 3)
    names = [_name(graph, a) for a in crowd[:5]]
    return Reason(
        "crowding",
        round(WEIGHTS["crowding"] * weight, 4),
        f"{len(crowd)} uncoordinated partners already work there on these themes "
        f"({', '.join(names)}): join them rather than add another bilateral tie",
        {"uncoordinated_actors": crowd, "join_instead": True},
    )


def _distance_km(a: dict[str, Any], b: dict[str, Any]) -> float:
    lat1, lon1, lat2, lon2 = map(
        math.radians, (a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    )
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))

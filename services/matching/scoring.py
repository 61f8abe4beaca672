"""Partner suggestions: who should an actor work with, and why.

Pure: works on a `CooperationGraph`, no I/O. The ranker (`ranking/`) scores a bounded pool of
candidates with a model learned from the graph's own ties (or the documented prior on a graph
too small to learn from); this module turns its additive contributions into the reasons a
person reads: the features of one kind are summed into one reason (see docs/matching.md), each
with its share of the log-odds, a sentence naming the intermediaries, the migrant organisation,
the country pattern or the partners to join instead, and details.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FEATURES, FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel
from services.matching.ranking.query import rank
from services.matching.territories import CrowdReader, bridged, crowding, residents
from services.matching.wording import article_kind, number, plural, say, theme_names
from shared.countries import country_label
from shared.language import Language

__all__ = ["REASONS", "Reason", "Suggestion", "crowding", "score", "space_of", "suggest"]

# Which reason each feature's contribution counts towards.
REASONS = {
    "common_neighbours": "structural_proximity",
    "adamic_adar": "structural_proximity",
    "resource_allocation": "structural_proximity",
    "jaccard": "structural_proximity",
    "paths_3": "structural_proximity",
    "pagerank": "structural_proximity",
    "country_pair": "country_pair",
    "candidate_country_ties": "country_pair",
    "source_country_ties": "country_pair",
    "same_country": "country_pair",
    "candidate_degree": "popularity",
    "source_degree": "popularity",
    "distance": "distance",
    "no_distance": "distance",
    "kind_pair": "complementarity",
    "same_level": "complementarity",
    "shared_themes": "shared_themes",
    "migrant_bridge": "migrant_bridge",
    "same_network": "same_network",
    "crowding": "crowding",
}
assert set(REASONS) == set(FEATURES)
_CODES = tuple(dict.fromkeys(REASONS.values()))
_GROUPS = np.array([[REASONS[f] == code for f in FEATURES] for code in _CODES], dtype=float)


@dataclass
class Reason:
    code: str
    contribution: float  # its share of the log-odds of the score
    text: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suggestion:
    actor_id: str
    score: float  # the model's probability, 1 / (1 + e^-(intercept + Σ contributions))
    reasons: list[Reason]


def space_of(graph: CooperationGraph) -> FeatureSpace:
    """A feature space of the graph as it is now (the service keeps one per graph revision)."""
    return FeatureSpace.of(graph)


def suggest(
    graph: CooperationGraph,
    source: str,
    *,
    model: RankingModel = PRIOR,
    space: FeatureSpace | None = None,
    limit: int = 10,
    kind: str | None = None,
    country: str | None = None,
    theme: str | None = None,
    exclude: Iterable[str] = (),
    language: Language = "en",
) -> list[Suggestion]:
    """Ranked candidates for `source`, each with reasons; partners and `exclude` never appear.

    `space` may be a little older than `graph` (the service rebuilds it at most every second or
    so): partners, filters and reasons are read from `graph`, which is current."""
    space = space if space is not None and source in space.index else space_of(graph)
    index = space.index
    excluded = set(exclude) | graph.partners(source) | {source}
    bridges = bridged(graph, source)
    ranked = rank(
        space,
        model,
        index[source],
        excluded=[index[n] for n in excluded if n in index],
        bridged=[index[t] for t in bridges if t in index],
    )
    grouped = ranked.contributions @ _GROUPS.T
    words = _Words(graph, space, source, language, bridges)
    found: list[Suggestion] = []
    for position, row in enumerate(ranked.rows):
        candidate = space.nodes[row]
        if candidate not in graph.g:  # deleted since the space was built
            continue
        node = graph.g.nodes[candidate]
        if node["kind"] == "country" or candidate in excluded:
            continue
        if (kind and node["kind"] != kind) or (country and node["country"] != country):
            continue
        if theme and theme not in node["themes"]:
            continue
        probability = 1.0 / (1.0 + math.exp(-float(ranked.log_odds[position])))
        reasons = _reasons(words, candidate, grouped[position])
        found.append(Suggestion(candidate, round(probability, 4), reasons))
        if len(found) >= limit:
            break
    return found


def score(
    graph: CooperationGraph,
    source: str,
    candidate: str,
    *,
    model: RankingModel = PRIOR,
    space: FeatureSpace | None = None,
    language: Language = "en",
) -> Suggestion:
    """One candidate's score and reasons, whether or not it is in the source's pool."""
    space = space or space_of(graph)
    row, other = space.index[source], space.index[candidate]
    bridges = bridged(graph, source)
    rows = np.array([space.index[t] for t in bridges if t in space.index], dtype=np.int64)
    features = space.matrix(row, np.array([other]), bridged=rows)
    contributions = model.contributions(features)
    log_odds = float(model.log_odds(contributions)[0])
    grouped = (contributions @ _GROUPS.T)[0]
    reasons = _reasons(_Words(graph, space, source, language, bridges), candidate, grouped)
    return Suggestion(candidate, round(1.0 / (1.0 + math.exp(-log_odds)), 4), reasons)


# --- reasons -------------------------------------------------------------------------------------


class _Words:
    """What the reasons of one query read of its source, read once for all its candidates."""

    def __init__(
        self,
        graph: CooperationGraph,
        space: FeatureSpace,
        source: str,
        language: Language,
        bridged: set[str],
    ) -> None:
        self.graph, self.space, self.source = graph, space, source
        self.language = language
        # The territories a migrant organisation ties to the source's home (`bridged`).
        self.bridged = bridged
        self._neighbours: set[str] | None = None
        self._networks: set[str] | None = None
        self._residents: dict[str, list[str]] = {}
        self._crowds: CrowdReader | None = None

    @property
    def neighbours(self) -> set[str]:
        if self._neighbours is None:
            self._neighbours = set(self.graph.g.adj[self.source])
        return self._neighbours

    @property
    def networks(self) -> set[str]:
        if self._networks is None:
            self._networks = _networks(self.graph, self.source)
        return self._networks

    def residents(self, territory: str) -> list[str]:
        found = self._residents.get(territory)
        if found is None:
            found = self._residents[territory] = residents(self.graph, territory)
        return found

    @property
    def crowds(self) -> CrowdReader:
        if self._crowds is None:
            self._crowds = CrowdReader(self.graph)
        return self._crowds


def _reasons(words: _Words, candidate: str, grouped: np.ndarray) -> list[Reason]:
    """A reason per kind of evidence whose contribution is not zero, largest first."""
    found = []
    for code, value in zip(_CODES, grouped, strict=True):
        contribution = round(float(value), 4)
        if contribution == 0:
            continue
        text, details = _WORDS[code](words, candidate, contribution)
        found.append(Reason(code, contribution, text, details))
    found.sort(key=lambda r: (-r.contribution, r.code))
    return found


def _name(graph: CooperationGraph, actor_id: str) -> str:
    return graph.g.nodes[actor_id]["name"]


Words = tuple[str, dict[str, Any]]


def _structural(words: _Words, b: str, contribution: float) -> Words:
    graph = words.graph
    g = graph.g
    # The intermediaries that weigh most first: Adamic–Adar counts each one 1 / log(degree).
    common = sorted(words.neighbours.intersection(g.adj[b]), key=lambda n: (g.degree(n), n))
    if common:
        index = sum(1 / math.log(g.degree(n)) for n in common if g.degree(n) > 1)
        names = ", ".join(_name(graph, n) for n in common[:3])
        text = say(
            words.language,
            "structural.through",
            index=number(words.language, index, 2),
            names=names,
        )
        return text, {
            "adamic_adar": round(index, 4),
            "intermediaries": common[:5],
        }
    if contribution > 0:
        return say(words.language, "structural.reachable"), {}
    return say(words.language, "structural.far"), {}


def _country_pair(words: _Words, b: str, contribution: float) -> Words:
    graph, space, a = words.graph, words.space, words.source
    na, nb = graph.g.nodes[a], graph.g.nodes[b]
    ca, cb = na["country"], nb["country"]
    row_a, row_b = space.index[a], space.index[b]
    lift = math.exp(float(space.country_lift[space.country[row_a], space.country[row_b]]))
    ties = int(space.ties_with_country(row_b, int(space.country[row_a])))
    language = words.language
    label_a, label_b = country_label(ca, language), country_label(cb, language)
    times = number(language, lift, 1)
    if ca == cb:
        text = say(language, "country.same", country=label_a, lift=times)
    else:
        text = say(language, "country.pair", country_a=label_a, country_b=label_b, lift=times)
    if ties:
        partners = plural(language, "partner", ties)
        text += say(
            language,
            "country.partners",
            name=nb["name"],
            ties=ties,
            partners=partners,
            country=label_a,
        )
    return text, {"countries": [ca, cb], "lift": round(lift, 2), "ties_with_country": ties}


def _popularity(words: _Words, b: str, contribution: float) -> Words:
    graph = words.graph
    # The feature counts every tie (memberships, a home territory…), so the words do too.
    ties = graph.g.degree(b)
    language = words.language
    if ties == 0:
        return say(language, "popularity.none", name=_name(graph, b)), {"ties": 0}
    actors = plural(language, "actor", ties)
    return say(language, "popularity.ties", name=_name(graph, b), ties=ties, actors=actors), {
        "ties": ties
    }


def _distance(words: _Words, b: str, contribution: float) -> Words:
    graph, a = words.graph, words.source
    na, nb = graph.g.nodes[a], graph.g.nodes[b]
    if None in (na["latitude"], na["longitude"], nb["latitude"], nb["longitude"]):
        return say(words.language, "distance.unknown"), {}
    km = _distance_km(na, nb)
    wording = "distance.close" if contribution > 0 else "distance.apart"
    return say(words.language, wording, km=f"{km:.0f}"), {"distance_km": round(km)}


def _complementarity(words: _Words, b: str, contribution: float) -> Words:
    graph, a, language = words.graph, words.source, words.language
    na, nb = graph.g.nodes[a], graph.g.nodes[b]
    if na["kind"] == "local_authority" and nb["kind"] == "local_authority":
        if na["country"] != nb["country"]:
            level = na.get("level") if na.get("level") == nb.get("level") else None
            return (
                say(language, "kinds.authorities_level", level=level)
                if level
                else say(language, "kinds.authorities_abroad")
            ), {}
        return say(language, "kinds.authorities_home"), {}
    authority, other = (a, b) if na["kind"] == "local_authority" else (b, a)
    home = graph.g.nodes[other].get("based_in")
    is_authority = graph.g.nodes[authority]["kind"] == "local_authority"
    if is_authority and home == authority:
        return say(language, "kinds.own_territory"), {}
    if (
        is_authority
        and home is not None
        and any(t.type in ("cooperates_with", "active_in") for t in graph.ties(home, authority))
    ):
        text = say(
            language,
            "kinds.partner_territory",
            home=_name(graph, home),
            authority=_name(graph, authority),
        )
        return text, {}
    how = "kinds.often" if contribution > 0 else "kinds.rarely"
    kinds = {
        "kind_a": article_kind(language, na["kind"]),
        "kind_b": article_kind(language, nb["kind"]),
    }
    return say(language, how, **kinds), {}


def _shared_themes(words: _Words, b: str, contribution: float) -> Words:
    graph, a = words.graph, words.source
    shared = sorted(graph.g.nodes[a]["themes"] & graph.g.nodes[b]["themes"])
    if not shared:
        return say(words.language, "themes.none"), {"themes": []}
    named = theme_names(words.language, shared)
    return say(words.language, "themes.shared", themes=named), {"themes": shared}


def _migrant_bridge(words: _Words, b: str, contribution: float) -> Words:
    graph, a = words.graph, words.source
    home_a, home_b = graph.home_of(a), graph.home_of(b)
    if home_b not in words.bridged:
        # No organisation ties the two homes either way: the scan below would find none, and
        # it reads every tie of a candidate's home, thousands for a large city.
        return say(words.language, "bridge.none"), {}
    for x, y in ((home_a, home_b), (home_b, home_a)):
        if not x or not y or x not in graph.g or y not in graph.g:
            continue
        for organisation in words.residents(x):
            if y in graph.g.nodes[organisation]["origins"]:
                text = say(
                    words.language,
                    "bridge.found",
                    organisation=_name(graph, organisation),
                    based_in=_name(graph, x),
                    origin=_name(graph, y),
                )
                return text, {"organisation": organisation, "based_in": x, "originates_from": y}
    return say(words.language, "bridge.none"), {}


def _same_network(words: _Words, b: str, contribution: float) -> Words:
    graph, space = words.graph, words.space
    row = space.index.get(b)
    if row is not None and words.source in space.index:
        # The networks the feature compared (the space's): a hub's ties are not read again.
        theirs = {space.nodes[n] for n in space.networks_of(row) if space.nodes[n] in graph.g}
    else:
        theirs = _networks(graph, b)
    shared = sorted(words.networks & theirs)
    if not shared:
        return say(words.language, "network.none"), {}
    names = ", ".join(_name(graph, n) for n in shared[:3])
    return say(words.language, "network.shared", names=names), {"networks": shared}


def _crowding(words: _Words, candidate: str, contribution: float) -> Words:
    graph, space, source = words.graph, words.space, words.source
    # The source's own territory working there is the partner to join, not a competitor.
    home = graph.home_of(source) or source
    row = space.index.get(candidate)
    if space.crowds is not None and row is not None:
        # The crowd the feature counted (the space's, read once per graph revision).
        members = sorted(space.nodes[m] for m in space.crowds.get(row, ()))
        crowd = [a for a in members if a not in (source, home) and a in graph.g]
    else:
        # On the themes of the work there, as the feature counts it (overlaps.py's definitions).
        themes = {t for _, tie in graph.work_in(candidate) for t in tie.themes}
        crowd = [a for a in words.crowds.at(candidate, themes) if a not in (source, home)]
    if not crowd:
        return say(words.language, "crowding.coordinated"), {}
    names = ", ".join(_name(graph, a) for a in crowd[:5])
    text = say(words.language, "crowding.crowd", count=len(crowd), names=names)
    return text, {"uncoordinated_actors": crowd, "join_instead": True}


def _networks(graph: CooperationGraph, actor: str) -> set[str]:
    return {
        other
        for other, data in graph.g.adj[actor].items()
        for tie in data["ties"].values()
        if tie.type in ("member_of", "coordinates") and tie.origin in (None, actor)
    }


_WORDS = {
    "structural_proximity": _structural,
    "country_pair": _country_pair,
    "popularity": _popularity,
    "distance": _distance,
    "complementarity": _complementarity,
    "shared_themes": _shared_themes,
    "migrant_bridge": _migrant_bridge,
    "same_network": _same_network,
    "crowding": _crowding,
}
assert set(_WORDS) == set(_CODES)


def _distance_km(a: dict[str, Any], b: dict[str, Any]) -> float:
    lat1, lon1, lat2, lon2 = map(
        math.radians, (a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    )
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))

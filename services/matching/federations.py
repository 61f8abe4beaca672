"""Federating-project proposals: pool the actors of a hotspot around a coordinator.

Pure: reads a `CooperationGraph`, no I/O. What a proposal needs of the graph around one hotspot
is read once into a `Setting` (`setting`, or a `Neighbourhood` for many hotspots); the proposal
itself (`propose_in`) is made from the setting alone, so a read model can keep settings and make
proposals without the graph, for any set of dismissed pairs.

The competition index after a proposal is not assumed: it is the index of the hotspot once
everyone pooled shares a project. Sharing one coordinates exactly the pooled pairs and changes
nothing else (no engagement, no home, no other pair's coordination), so it is the sum of the
weights of the hotspot's uncoordinated pairs that are not both pooled, in the same order.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.matching.graph import CooperationGraph
from services.matching.overlaps import Hotspot, Reader, hotspots
from shared.language import Language
from shared.themes import get_theme

__all__ = [
    "CoordinatorBasis",
    "Neighbourhood",
    "Proposal",
    "Setting",
    "coordinator_reason",
    "explain",
    "explain_in",
    "proposals",
    "propose",
    "propose_in",
    "reason_of",
    "setting",
]

_NAMESPACE = uuid.UUID("8a0c3a52-49a3-4f62-9f0e-5f3c1b7f2b61")
_GROUP_KINDS = ("resource_centre", "network")
# What a proposal shows of an actor (the API's actor summary, and the explanation).
_SHOWN = ("name", "kind", "level", "country")


@dataclass(frozen=True)
class CoordinatorBasis:
    """Why the coordinator was chosen, to be put in words in either language: a group that
    already `links` some members (`names`), or the member engaged there `since` a year."""

    why: str  # "links", "since" or "connected"
    coordinator_name: str
    names: tuple[str, ...] = ()
    year: int | None = None


@dataclass
class Proposal:
    id: str
    target: str
    themes: list[str]
    members: list[str]
    migrant_organisations: list[str]
    associations: list[str]
    coordinator: str
    coordinator_reason: str
    index_before: float
    index_after: float
    left_out: list[str]
    coordinator_basis: CoordinatorBasis | None = None

    @property
    def reduction(self) -> float:
        return round(self.index_before - self.index_after, 4)

    @property
    def everyone(self) -> list[str]:
        return sorted({*self.members, *self.migrant_organisations, *self.associations})


@dataclass(frozen=True)
class Setting:
    """Everything a proposal for one hotspot reads of the graph, whatever pairs are dismissed."""

    spot: Hotspot
    # Name, kind, level and country of every actor a proposal for it may show.
    nodes: Mapping[str, Mapping[str, Any]]
    # Per engaged actor: its home (itself, or where it is based), and the actors it is tied to
    # by a membership or a coordination, either way, that are so tied to another engaged actor.
    home_of: Mapping[str, str | None]
    tied: Mapping[str, tuple[str, ...]]
    # Per home of an engaged actor: its migrant organisations with a double anchorage.
    migrants: Mapping[str, tuple[str, ...]]
    # Organisations active in the target and based in an engaged actor's home, with that home,
    # once per tie there.
    associations: tuple[tuple[str, str | None], ...]

    @property
    def candidates(self) -> frozenset[str]:
        """Every actor a proposal may pool: only their dismissed pairs can change it."""
        return frozenset(
            {
                *self.spot.engagements,
                *(m for found in self.migrants.values() for m in found),
                *(actor for actor, _ in self.associations),
            }
        )


class Neighbourhood:
    """Reads what proposals need of the graph around hotspots, each target's, actor's and
    home's part once. Valid while the graph does not change: make one per computation."""

    def __init__(self, graph: CooperationGraph, reader: Reader | None = None) -> None:
        self.graph = graph
        self.reader = reader or Reader(graph)
        self._associations: dict[str, tuple[tuple[str, str | None], ...]] = {}
        self._residents: dict[str, list[tuple[str, set[str], set[str]]]] = {}
        self._shown: dict[str, Mapping[str, Any]] = {}

    def shown(self, actor: str) -> Mapping[str, Any]:
        """What a proposal shows of an actor (shared by every setting that shows it)."""
        found = self._shown.get(actor)
        if found is None:
            node = self.graph.g.nodes[actor]
            found = self._shown[actor] = {k: node.get(k) for k in _SHOWN}
        return found

    def associations(self, target: str) -> tuple[tuple[str, str | None], ...]:
        """Organisations active in the target and where they are based, once per tie there."""
        found = self._associations.get(target)
        if found is None:
            nodes = self.graph.g.nodes
            found = self._associations[target] = tuple(
                (actor, nodes[actor].get("based_in"))
                for actor, _tie in self.graph.work_in(target)
                if nodes[actor]["kind"] != "local_authority"
            )
        return found

    def migrants(self, target: str, home: str) -> tuple[str, ...]:
        """Migrant organisations based in `home` and originating from the target or from a
        region of the target's country (a double anchorage)."""
        g = self.graph.g
        if home not in g:
            return ()
        residents = self._residents.get(home)
        if residents is None:
            # Per migrant organisation of the home: its origins, and the countries of those
            # of its origins that are regions.
            residents = self._residents[home] = []
            for organisation, tie in self.graph.ties_of(home, "based_in"):
                node = g.nodes[organisation]
                if node["kind"] != "migrant_organisation" or tie.origin != organisation:
                    continue
                origins = {o for o in node["origins"] if o in g}
                regions = {
                    g.nodes[o]["country"] for o in origins if g.nodes[o].get("level") == "region"
                }
                residents.append((organisation, origins, regions))
        country = g.nodes[target]["country"]
        return tuple(
            sorted(
                {
                    organisation
                    for organisation, origins, regions in residents
                    if target in origins or country in regions
                }
            )
        )

    def setting(self, spot: Hotspot) -> Setting:
        """What proposals for `spot` read of the graph."""
        engaged = list(spot.engagements)
        home_of = {actor: self.graph.home_of(actor) for actor in engaged}
        # A group links members only if tied to two of them: the others need not be read.
        counts = Counter(other for actor in engaged for other in self.reader.tied(actor))
        tied = {
            actor: tuple(other for other in self.reader.tied(actor) if counts[other] >= 2)
            for actor in engaged
        }
        homes = {home for home in home_of.values() if home is not None}
        migrants = {home: self.migrants(spot.target, home) for home in homes}
        # Only organisations of an engaged actor's home may be pooled.
        associations = tuple(
            (actor, based_in)
            for actor, based_in in self.associations(spot.target)
            if based_in in homes
        )
        shown = {spot.target, *engaged, *(a for a, _ in associations)}
        shown.update(other for found in tied.values() for other in found)
        shown.update(m for found in migrants.values() for m in found)
        return Setting(
            spot=spot,
            nodes={actor: self.shown(actor) for actor in shown},
            home_of=home_of,
            tied=tied,
            migrants=migrants,
            associations=associations,
        )


def setting(graph: CooperationGraph, spot: Hotspot) -> Setting:
    return Neighbourhood(graph).setting(spot)


def _seniority(spot: Hotspot, actor: str) -> tuple[bool, str, str]:
    """Sorts the longest-engaged first (undated engagements last)."""
    start = spot.engagements[actor].starts_on
    return (start is None, start.isoformat() if start else "", actor)


def _coordinator(place: Setting, members: list[str]) -> tuple[str, CoordinatorBasis]:
    """A resource centre or network that already links members, else the longest engaged
    (`members` come longest engaged first)."""
    spot, nodes = place.spot, place.nodes
    links: dict[str, list[str]] = {}
    for member in members:
        for other in place.tied[member]:
            if nodes[other]["kind"] in _GROUP_KINDS:
                links.setdefault(other, []).append(member)
    # A group counts only if it links members of different territories: that is the gap.
    linked = {
        group: found for group, found in links.items() if len({spot.homes[m] for m in found}) >= 2
    }
    if linked:
        group = max(sorted(linked), key=lambda g: len(linked[g]))
        names = tuple(nodes[m]["name"] for m in sorted(linked[group])[:4])
        return group, CoordinatorBasis("links", nodes[group]["name"], names)

    # Members come longest engaged first. Their seniority ends with their id, so two never tie
    # on it (and the best connected of equally senior members is never looked for).
    lead = next((m for m in members if nodes[m]["kind"] == "local_authority"), members[0])
    start = spot.engagements[lead].starts_on
    if start:
        return lead, CoordinatorBasis("since", nodes[lead]["name"], year=start.year)
    return lead, CoordinatorBasis("connected", nodes[lead]["name"])


def coordinator_reason(basis: CoordinatorBasis, language: Language = "en") -> str:
    """Why this coordinator, in words."""
    if basis.why == "links":
        names = ", ".join(basis.names)
        if language == "fr":
            return f"{basis.coordinator_name} relie déjà {names}"
        return f"{basis.coordinator_name} already links {names}"
    if language == "fr":
        since = (
            f"engagé sur place depuis {basis.year}, le plus ancien"
            if basis.why == "since"
            else "le mieux relié"
        )
        return f"{basis.coordinator_name} est {since} des membres"
    since = (
        f"engaged there since {basis.year}, the longest"
        if basis.why == "since"
        else "the most connected"
    )
    return f"{basis.coordinator_name} is {since} among the members"


def propose_in(place: Setting, dismissed: set[frozenset[str]] = frozenset()) -> Proposal:
    """The proposal for a hotspot, from its setting alone."""
    spot = place.spot
    left_out: list[str] = []
    members: list[str] = []
    # Never pool two actors one of which dismissed the other: the later comer stays out.
    for actor in sorted(spot.engagements, key=lambda a: _seniority(spot, a)):
        if any(frozenset((actor, m)) in dismissed for m in members):
            left_out.append(actor)
        else:
            members.append(actor)
    homes = {home for m in members if (home := place.home_of[m]) is not None}
    migrants = [
        m
        for m in sorted({m for home in homes for m in place.migrants[home]})
        if not any(frozenset((m, x)) in dismissed for x in members)
    ]
    associations = [
        a
        for a in sorted(actor for actor, based_in in place.associations if based_in in homes)
        if a not in members and not any(frozenset((a, x)) in dismissed for x in members)
    ]
    coordinator, basis = _coordinator(place, members)
    pooled = sorted({*members, *migrants, *associations, coordinator})
    together = set(pooled)
    after = round(sum(p.weight for p in spot.pairs if not (p.a in together and p.b in together)), 4)
    key = "|".join([spot.target, spot.theme, coordinator, *pooled])
    return Proposal(
        id=str(uuid.uuid5(_NAMESPACE, key)),
        target=spot.target,
        themes=[spot.theme],
        members=sorted(members),
        migrant_organisations=migrants,
        associations=associations,
        coordinator=coordinator,
        coordinator_reason=coordinator_reason(basis),
        index_before=spot.index,
        index_after=after,
        left_out=sorted(left_out),
        coordinator_basis=basis,
    )


def propose(
    graph: CooperationGraph, spot: Hotspot, dismissed: set[frozenset[str]] = frozenset()
) -> Proposal:
    return propose_in(setting(graph, spot), dismissed)


def proposals(
    graph: CooperationGraph,
    *,
    country: str | None = None,
    theme: str | None = None,
    actor: str | None = None,
    dismissed: set[frozenset[str]] = frozenset(),
) -> list[Proposal]:
    """One proposal per hotspot matching the filters, largest reduction first."""
    found = []
    near = Neighbourhood(graph)
    for spot in hotspots(graph, country=country, theme=theme):
        proposal = propose_in(near.setting(spot), dismissed)
        if actor is not None and actor not in proposal.everyone:
            continue
        found.append(proposal)
    found.sort(key=lambda p: (-p.reduction, p.id))
    return found


def reason_of(proposal: Proposal, language: Language) -> str:
    """The proposal's coordinator reason in `language` (English as stored)."""
    if language == "en" or proposal.coordinator_basis is None:
        return proposal.coordinator_reason
    return coordinator_reason(proposal.coordinator_basis, language)


def _explain(
    node: Callable[[str], Mapping[str, Any]], proposal: Proposal, language: Language = "en"
) -> str:
    target = node(proposal.target)
    towns = [node(m)["name"] for m in proposal.members if node(m)["kind"] == "local_authority"]
    if language == "fr":
        themes = ", ".join(
            (theme.label_fr if (theme := get_theme(t)) else t) for t in proposal.themes
        )
        text = (
            f"{len(towns)} territoires ({', '.join(towns)}) travaillent chacun à "
            f"{target['name']} ({target['country']}) sur : {themes}, sans convention, projet "
            "ni réseau commun. Un projet fédérateur les réunirait"
        )
        if proposal.migrant_organisations:
            bridges = ", ".join(node(m)["name"] for m in proposal.migrant_organisations)
            text += f" avec {bridges}, ancrées à la fois dans un territoire membre et sur place"
        return text + (
            f". Coordination proposée : {reason_of(proposal, language)}. Indice de concurrence "
            f"{proposal.index_before:g} → {proposal.index_after:g}."
        )
    text = (
        f"{len(towns)} territories ({', '.join(towns)}) each work in {target['name']} "
        f"({target['country']}) on {', '.join(proposal.themes)} without a common convention, "
        f"project or network. A federating project would pool them"
    )
    if proposal.migrant_organisations:
        bridges = ", ".join(node(m)["name"] for m in proposal.migrant_organisations)
        text += f" with {bridges}, anchored both in a member territory and in the target"
    text += (
        f". Proposed coordinator: {proposal.coordinator_reason}. Competition index "
        f"{proposal.index_before:g} → {proposal.index_after:g}."
    )
    return text


def explain(graph: CooperationGraph, proposal: Proposal, language: Language = "en") -> str:
    """The proposal in plain words, for the people who would have to agree to it."""
    return _explain(graph.actor, proposal, language)


def explain_in(place: Setting, proposal: Proposal, language: Language = "en") -> str:
    """The same, from the hotspot's setting alone."""
    return _explain(place.nodes.__getitem__, proposal, language)

"""Federating-project proposals: pool the actors of a hotspot around a coordinator.

Pure: reads a `CooperationGraph`, no I/O. The competition index after a proposal is not
assumed: the proposal's coordination ties are added to a copy of the hotspot's neighbourhood
and the index is computed again on it.
"""

import uuid
from dataclasses import dataclass

import networkx as nx

from services.matching.graph import CooperationGraph, Tie
from services.matching.overlaps import Hotspot, hotspot, hotspots

__all__ = ["Proposal", "explain", "proposals", "propose"]

_NAMESPACE = uuid.UUID("8a0c3a52-49a3-4f62-9f0e-5f3c1b7f2b61")


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

    @property
    def reduction(self) -> float:
        return round(self.index_before - self.index_after, 4)

    @property
    def everyone(self) -> list[str]:
        return sorted({*self.members, *self.migrant_organisations, *self.associations})


def _name(graph: CooperationGraph, actor: str) -> str:
    return graph.g.nodes[actor]["name"]


def _kind(graph: CooperationGraph, actor: str) -> str:
    return graph.g.nodes[actor]["kind"]


def _double_anchorage(graph: CooperationGraph, spot: Hotspot, homes: set[str]) -> list[str]:
    """Migrant organisations based in a member territory and originating from the target or
    from a region of the target's country."""
    target = graph.g.nodes[spot.target]
    found = []
    for home in homes:
        if home not in graph.g:
            continue
        for organisation, tie in graph.ties_of(home, "based_in"):
            node = graph.g.nodes[organisation]
            if node["kind"] != "migrant_organisation" or tie.origin != organisation:
                continue
            origins = [o for o in node["origins"] if o in graph.g]
            if spot.target in origins or any(
                graph.g.nodes[o]["country"] == target["country"]
                and graph.g.nodes[o].get("level") == "region"
                for o in origins
            ):
                found.append(organisation)
    return sorted(set(found))


def _associations(graph: CooperationGraph, target: str, homes: set[str]) -> list[str]:
    """Organisations based in a member territory already active in the target, on any theme."""
    return sorted(
        actor
        for actor, tie in graph.ties_of(target, "active_in")
        if tie.origin == actor
        and _kind(graph, actor) != "local_authority"
        and graph.g.nodes[actor].get("based_in") in homes
    )


def _coordinator(graph: CooperationGraph, spot: Hotspot, members: list[str]) -> tuple[str, str]:
    """A resource centre or network that already links members, else the longest engaged."""
    links: dict[str, list[str]] = {}
    for member in members:
        for other, data in graph.g.adj[member].items():
            if _kind(graph, other) not in ("resource_centre", "network"):
                continue
            if any(t.type in ("member_of", "coordinates") for t in data["ties"].values()):
                links.setdefault(other, []).append(member)
    # A group counts only if it links members of different territories: that is the gap.
    linked = {
        group: found for group, found in links.items() if len({spot.homes[m] for m in found}) >= 2
    }
    if linked:
        group = max(sorted(linked), key=lambda g: len(linked[g]))
        names = ", ".join(_name(graph, m) for m in sorted(linked[group])[:4])
        return group, f"{_name(graph, group)} already links {names}"

    authorities = [m for m in members if _kind(graph, m) == "local_authority"] or members
    lead = min(authorities, key=lambda m: (_seniority(spot, m), -graph.g.degree(m)))
    start = spot.engagements[lead].starts_on
    since = f"engaged there since {start.year}, the longest" if start else "the most connected"
    return lead, f"{_name(graph, lead)} is {since} among the members"


def _seniority(spot: Hotspot, actor: str) -> tuple[bool, str, str]:
    """Sorts the longest-engaged first (undated engagements last)."""
    start = spot.engagements[actor].starts_on
    return (start is None, start.isoformat() if start else "", actor)


def _with_coordination(graph: CooperationGraph, target: str, pooled: list[str]) -> nx.Graph:
    """A copy of the target's neighbourhood in which the pooled actors share a project."""
    around = nx.ego_graph(graph.g, target, radius=2)
    copy = nx.Graph()
    copy.add_nodes_from(around.nodes(data=True))
    copy.add_edges_from((a, b, {"ties": dict(d["ties"])}) for a, b, d in around.edges(data=True))
    tie = Tie("cooperates_with", "proposal", active=False)
    for i, a in enumerate(pooled):
        for b in pooled[i + 1 :]:
            if not copy.has_edge(a, b):
                copy.add_edge(a, b, ties={})
            copy.edges[a, b]["ties"][("proposal", "cooperates_with", None)] = tie
    return copy


def propose(
    graph: CooperationGraph, spot: Hotspot, dismissed: set[frozenset[str]] = frozenset()
) -> Proposal:
    engaged = sorted(spot.engagements)
    left_out: list[str] = []
    members: list[str] = []
    # Never pool two actors one of which dismissed the other: the later comer stays out.
    for actor in sorted(engaged, key=lambda a: _seniority(spot, a)):
        if any(frozenset((actor, m)) in dismissed for m in members):
            left_out.append(actor)
        else:
            members.append(actor)
    homes = {graph.home_of(m) for m in members} - {None}
    migrants = [
        m
        for m in _double_anchorage(graph, spot, homes)  # type: ignore[arg-type]
        if not any(frozenset((m, x)) in dismissed for x in members)
    ]
    associations = [
        a
        for a in _associations(graph, spot.target, homes)  # type: ignore[arg-type]
        if a not in members and not any(frozenset((a, x)) in dismissed for x in members)
    ]
    coordinator, reason = _coordinator(graph, spot, members)
    pooled = sorted({*members, *migrants, *associations, coordinator})
    after = hotspot(graph, _with_coordination(graph, spot.target, pooled), spot.target, spot.theme)
    key = "|".join([spot.target, spot.theme, coordinator, *pooled])
    return Proposal(
        id=str(uuid.uuid5(_NAMESPACE, key)),
        target=spot.target,
        themes=[spot.theme],
        members=sorted(members),
        migrant_organisations=migrants,
        associations=associations,
        coordinator=coordinator,
        coordinator_reason=reason,
        index_before=spot.index,
        index_after=after.index,
        left_out=sorted(left_out),
    )


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
    for spot in hotspots(graph, country=country, theme=theme):
        proposal = propose(graph, spot, dismissed)
        if actor is not None and actor not in proposal.everyone:
            continue
        found.append(proposal)
    found.sort(key=lambda p: (-p.reduction, p.id))
    return found


def explain(graph: CooperationGraph, proposal: Proposal) -> str:
    """The proposal in plain words, for the people who would have to agree to it."""
    target = graph.g.nodes[proposal.target]
    towns = [_name(graph, m) for m in proposal.members if _kind(graph, m) == "local_authority"]
    text = (
        f"{len(towns)} territories ({', '.join(towns)}) each work in {target['name']} "
        f"({target['country']}) on {', '.join(proposal.themes)} without a common convention, "
        f"project or network. A federating project would pool them"
    )
    if proposal.migrant_organisations:
        bridges = ", ".join(_name(graph, m) for m in proposal.migrant_organisations)
        text += f" with {bridges}, anchored both in a member territory and in the target"
    text += (
        f". Proposed coordinator: {proposal.coordinator_reason}. Competition index "
        f"{proposal.index_before:g} → {proposal.index_after:g}."
    )
    return text

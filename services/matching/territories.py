"""Territories and the organisations that tie them: migrant organisations based in a territory,
the territories they link, and the crowding of partners already at work in a territory.

Pure: reads a `CooperationGraph`, no I/O."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from services.matching.graph import CooperationGraph
from services.matching.overlaps import Reader

__all__ = ["CrowdReader", "bridged", "crowding", "crowds", "residents"]


def residents(graph: CooperationGraph, territory: str) -> list[str]:
    """Migrant organisations based in a territory."""
    return [
        other
        for other, tie in graph.ties_of(territory, "based_in")
        if graph.g.nodes[other]["kind"] == "migrant_organisation"
    ]


def bridged(graph: CooperationGraph, source: str) -> set[str]:
    """Territories tied to the source's home by a migrant organisation (both directions)."""
    home = graph.home_of(source)
    if home is None or home not in graph.g:
        return set()
    found: set[str] = set()
    for organisation in residents(graph, home):
        found |= {o for o in graph.g.nodes[organisation]["origins"] if o in graph.g}
    for organisation, _tie in graph.ties_of(home, "originates_from"):
        based = graph.g.nodes[organisation].get("based_in")
        if based in graph.g:
            found.add(based)
    return found


def crowding(graph: CooperationGraph, target: str, themes: Iterable[str]) -> list[str]:
    """Local authorities of different home territories active in `target` on these themes
    without coordinating, by the definitions of the competition index (overlaps.py)."""
    return CrowdReader(graph).at(target, set(themes))


def crowds(graph: CooperationGraph) -> dict[str, list[str]]:
    """Per territory where local authorities are active without coordinating (on any theme of
    the work there), those authorities: the crowding a ranker weighs for every query."""
    reader = CrowdReader(graph)
    found = {}
    for node in graph.g.nodes:
        themes = {t for _, tie in graph.work_in(node) for t in tie.themes}
        if themes:
            crowd = reader.at(node, themes)
            if crowd:
                found[node] = crowd
    return found


class CrowdReader(Reader):
    """Reads crowds, each actor's home and groups once (`overlaps.Reader`; valid while the
    graph does not change).

    An authority is in a crowd when another one of a different home works there and the two
    do not coordinate (no convention or project together, no network or resource centre in
    common): per authority, the others it coordinates with are gathered from its own groups
    and ties, so a target with k authorities costs about k times their groups, not k² pair
    checks."""

    def at(self, target: str, wanted: set[str]) -> list[str]:
        nodes = self.g.nodes
        active: dict[str, str] = {}
        for actor, tie in self.graph.work_in(target):
            if (
                actor not in active
                and tie.active
                and tie.themes & wanted
                and nodes[actor]["kind"] == "local_authority"
            ):
                active[actor] = self.home(actor)
        by_home: dict[str, set[str]] = defaultdict(set)
        for actor, home in active.items():
            by_home[home].add(actor)
        if len(by_home) < 2:
            return []
        members: dict[str, set[str]] = defaultdict(set)
        for actor in active:
            for group in self.groups(actor):
                members[group].add(actor)
        adjacency = self.adj  # plain dicts: this runs for every tie of every territory
        everyone = set(active)
        uncoordinated = []
        for x in sorted(active):
            same_home = by_home[active[x]]
            others = len(active) - len(same_home)
            groups = self.groups(x)
            neighbours = adjacency[x]
            # x coordinates with no more actors than its groups hold and it is tied to.
            if sum(len(members[group]) for group in groups) + len(neighbours) < others:
                uncoordinated.append(x)
                continue
            # Everyone of another home must coordinate with x for x to be out of the crowd.
            remaining = everyone - same_home
            for group in groups:
                remaining -= members[group]
            if any(not _cooperate(neighbours.get(y)) for y in remaining):
                uncoordinated.append(x)
        return uncoordinated


def _cooperate(edge: dict[str, Any] | None) -> bool:
    """Whether the ties of an edge (None: no edge) hold a convention or a project."""
    return edge is not None and any(t.type == "cooperates_with" for t in edge["ties"].values())

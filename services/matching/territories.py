"""Territories and the organisations that tie them: migrant organisations based in a territory,
the territories they link, and the crowding of partners already at work in a territory.

Pure: reads a `CooperationGraph`, no I/O."""

from collections.abc import Iterable

from services.matching.graph import CooperationGraph
from services.matching.overlaps import coordinated, home_territory

__all__ = ["bridged", "crowding", "crowds", "residents"]


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
    wanted = set(themes)
    active: dict[str, str] = {}
    for actor, tie in graph.ties_of(target, "active_in"):
        if tie.active and tie.themes & wanted and graph.g.nodes[actor]["kind"] == "local_authority":
            active.setdefault(actor, home_territory(graph, actor))
    actors = sorted(active)
    uncoordinated = set()
    for i, x in enumerate(actors):
        for y in actors[i + 1 :]:
            if active[x] != active[y] and not coordinated(graph.g, x, y):
                uncoordinated |= {x, y}
    return sorted(uncoordinated)


def crowds(graph: CooperationGraph) -> dict[str, list[str]]:
    """Per territory where local authorities are active without coordinating (on any theme of
    the work there), those authorities: the crowding a ranker weighs for every query."""
    found = {}
    for node in graph.g.nodes:
        themes = {t for _, tie in graph.ties_of(node, "active_in") for t in tie.themes}
        if themes:
            crowd = crowding(graph, node, themes)
            if crowd:
                found[node] = crowd
    return found

"""Where territories work side by side without knowing it, and how much: the competition index.

Pure: reads a `CooperationGraph`, no I/O. Definitions (also in docs/matching.md):

- An actor's **home territory** is its French département (from the INSEE code of the local
  authority, or of the authority an organisation is based in), or the authority itself when it
  has no département (foreign, intermunicipal). Two communes of one département share a home.
- A **hotspot** is a target local authority and a theme on which actors of at least two home
  territories are active (through conventions or projects) with at least one uncoordinated pair.
- Two actors are **coordinated** when they share a convention or project, are members of the
  same network or resource centre, or are coordinated by the same resource centre.
- The **competition index** of a hotspot is the sum, over its uncoordinated pairs of actors
  from different homes, of theme overlap × period overlap × activity (1 when both ties are
  active, 0.5 when one has ended, 0.25 when both have).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import networkx as nx

from services.matching.graph import CooperationGraph, Tie

__all__ = [
    "Engagement",
    "Hotspot",
    "Pair",
    "coordinated",
    "home_territory",
    "hotspot",
    "hotspots",
]


@dataclass
class Engagement:
    """How one actor works in the target: the ties (conventions, projects) that bring it there."""

    actor: str
    ties: list[Tie] = field(default_factory=list)

    @property
    def themes(self) -> frozenset[str]:
        return frozenset().union(*(tie.themes for tie in self.ties))

    @property
    def active(self) -> bool:
        return any(tie.active for tie in self.ties)

    @property
    def starts_on(self) -> date | None:
        starts = [tie.starts_on for tie in self.ties]
        return None if None in starts or not starts else min(s for s in starts if s)

    @property
    def ends_on(self) -> date | None:
        ends = [tie.ends_on for tie in self.ties]
        return None if None in ends or not ends else max(e for e in ends if e)


@dataclass
class Pair:
    a: str
    b: str
    weight: float
    theme_overlap: float
    period_overlap: float
    activity: float


@dataclass
class Hotspot:
    target: str
    theme: str
    engagements: dict[str, Engagement]
    homes: dict[str, str]
    pairs: list[Pair]

    @property
    def index(self) -> float:
        return round(sum(pair.weight for pair in self.pairs), 4)


def home_territory(graph: CooperationGraph, actor_id: str) -> str:
    """The département of an actor (see the module docstring), else its home authority."""
    home = graph.home_of(actor_id) or actor_id
    node = graph.g.nodes.get(home, {})
    code = node.get("insee_code")
    if node.get("country") == "FR" and code:
        level = node.get("level")
        if level == "municipality":
            return "FR-" + (code[:3] if code.startswith("97") else code[:2])
        if level == "department":
            return "FR-" + code
    return home


def _groups(g: nx.Graph, actor: str) -> set[str]:
    """Networks and resource centres the actor is a member of or coordinated by."""
    found = set()
    for other, data in g.adj[actor].items():
        for tie in data["ties"].values():
            member = tie.type == "member_of" and tie.origin == actor
            coordinated_by = tie.type == "coordinates" and tie.origin == other
            if member or coordinated_by:
                found.add(other)
    return found


def coordinated(g: nx.Graph, a: str, b: str) -> bool:
    data = g.get_edge_data(a, b)
    if data and any(t.type == "cooperates_with" for t in data["ties"].values()):
        return True
    return bool(_groups(g, a) & _groups(g, b))


def _overlap(a: Engagement, b: Engagement, today: date) -> float:
    """Share of the two engagements' combined span during which both run (1 when undated)."""
    if not a.starts_on or not b.starts_on:
        return 1.0
    a_end, b_end = a.ends_on or today, b.ends_on or today
    shared = (min(a_end, b_end) - max(a.starts_on, b.starts_on)).days
    span = (max(a_end, b_end) - min(a.starts_on, b.starts_on)).days
    if span <= 0:
        return 1.0
    return max(0.0, shared / span)


def _pair(a: Engagement, b: Engagement, today: date) -> Pair:
    themes = len(a.themes & b.themes) / len(a.themes | b.themes)
    period = _overlap(a, b, today)
    activity = {2: 1.0, 1: 0.5, 0: 0.25}[int(a.active) + int(b.active)]
    return Pair(
        a.actor,
        b.actor,
        round(themes * period * activity, 4),
        round(themes, 4),
        round(period, 4),
        activity,
    )


def engagements(
    g: nx.Graph, target: str, theme: str, graph: CooperationGraph
) -> dict[str, Engagement]:
    """Actors with a territory of their own active in `target` on `theme`.

    Funders and national bodies with no territory are left out: they do not compete."""
    found: dict[str, Engagement] = {}
    for actor, data in g.adj[target].items():
        if graph.home_of(actor) is None:
            continue
        for tie in data["ties"].values():
            if tie.type == "active_in" and tie.origin == actor and theme in tie.themes:
                found.setdefault(actor, Engagement(actor)).ties.append(tie)
    return found


def hotspot(
    graph: CooperationGraph, g: nx.Graph, target: str, theme: str, today: date | None = None
) -> Hotspot:
    """The actors active in `target` on `theme` in `g` (the graph, or a changed copy of it),
    and their uncoordinated pairs; homes are read from `graph`."""
    today = today or date.today()
    engaged = engagements(g, target, theme, graph)
    homes = {actor: home_territory(graph, actor) for actor in engaged}
    actors = sorted(engaged)
    pairs = [
        _pair(engaged[a], engaged[b], today)
        for i, a in enumerate(actors)
        for b in actors[i + 1 :]
        if homes[a] != homes[b] and not coordinated(g, a, b)
    ]
    return Hotspot(target, theme, engaged, {a: homes[a] for a in actors}, pairs)


def hotspots(
    graph: CooperationGraph,
    *,
    country: str | None = None,
    target: str | None = None,
    theme: str | None = None,
    min_actors: int = 2,
) -> list[Hotspot]:
    """Every hotspot matching the filters, highest competition index first."""
    g = graph.g
    by_target: dict[str, set[str]] = defaultdict(set)
    for a, b, data in g.edges(data=True):
        for tie in data["ties"].values():
            if tie.type == "active_in":
                place = b if tie.origin == a else a
                by_target[place] |= tie.themes
    found = []
    for place, themes in by_target.items():
        if target is not None and place != target:
            continue
        if country is not None and g.nodes[place]["country"] != country:
            continue
        for subject in sorted(themes if theme is None else themes & {theme}):
            engaged = engagements(g, place, subject, graph)
            homes = {actor: home_territory(graph, actor) for actor in engaged}
            if len(engaged) < min_actors or len(set(homes.values())) < 2:
                continue
            spot = hotspot(graph, g, place, subject)
            if spot.pairs:
                found.append(spot)
    found.sort(key=lambda s: (-s.index, g.nodes[s.target]["name"], s.theme))
    return found

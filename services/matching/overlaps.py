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

`hotspots` computes them all from scratch; `services.matching.hotspots` keeps them as a read
model, recomputing with `hotspots_at` only the (target, theme) keys a change may have affected.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import networkx as nx

from services.matching.graph import CooperationGraph, Tie

__all__ = [
    "Engagement",
    "Hotspot",
    "Pair",
    "Reader",
    "candidate_keys",
    "coordinated",
    "groups_of",
    "home_territory",
    "hotspot",
    "hotspots",
    "hotspots_at",
    "order",
]

_ACTIVITY = {2: 1.0, 1: 0.5, 0: 0.25}


@dataclass(slots=True)
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


@dataclass(slots=True)
class Pair:
    a: str
    b: str
    weight: float
    theme_overlap: float
    period_overlap: float
    activity: float


@dataclass(slots=True)
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


def groups_of(g: nx.Graph, actor: str) -> frozenset[str]:
    """Networks and resource centres the actor is a member of or coordinated by."""
    found = set()
    # networkx's own dict of dicts, walked read-only: its views are many times slower.
    for other, data in g._adj[actor].items():
        for tie in data["ties"].values():
            member = tie.type == "member_of" and tie.origin == actor
            coordinated_by = tie.type == "coordinates" and tie.origin == other
            if member or coordinated_by:
                found.add(other)
    return frozenset(found)


def coordinated(g: nx.Graph, a: str, b: str) -> bool:
    data = g.get_edge_data(a, b)
    if data and any(t.type == "cooperates_with" for t in data["ties"].values()):
        return True
    return bool(groups_of(g, a) & groups_of(g, b))


class Reader:
    """Reads the graph for many hotspots at once, each actor's home and groups once.

    Valid while the graph does not change: make one per computation."""

    def __init__(self, graph: CooperationGraph, g: nx.Graph | None = None) -> None:
        self.graph = graph
        # Engagements and coordination are read in `g` (the graph, or a changed copy of it).
        self.g = graph.g if g is None else g
        # networkx's own dict of dicts, walked read-only: its views are many times slower.
        self.adj: dict[str, dict[str, dict]] = self.g._adj
        self._homes: dict[str, str] = {}
        self._home_of: dict[str, str | None] = {}
        self._groups: dict[str, frozenset[str]] = {}
        self._tied: dict[str, tuple[str, ...]] = {}

    def home_of(self, actor: str) -> str | None:
        """`CooperationGraph.home_of`, read once."""
        try:
            return self._home_of[actor]
        except KeyError:
            found = self._home_of[actor] = self.graph.home_of(actor)
            return found

    def home(self, actor: str) -> str:
        found = self._homes.get(actor)
        if found is None:
            found = self._homes[actor] = home_territory(self.graph, actor)
        return found

    def groups(self, actor: str) -> frozenset[str]:
        """Networks and resource centres the actor is a member of or coordinated by."""
        found = self._groups.get(actor)
        if found is None:
            self._scan(actor)
            found = self._groups[actor]
        return found

    def tied(self, actor: str) -> tuple[str, ...]:
        """The actors tied to this one by a membership or a coordination, either way."""
        found = self._tied.get(actor)
        if found is None:
            self._scan(actor)
            found = self._tied[actor]
        return found

    def _scan(self, actor: str) -> None:
        groups, tied = set(), []
        for other, data in self.adj[actor].items():
            linked = False
            for tie in data["ties"].values():
                if tie.type == "member_of":
                    linked = True
                    if tie.origin == actor:
                        groups.add(other)
                elif tie.type == "coordinates":
                    linked = True
                    if tie.origin == other:
                        groups.add(other)
            if linked:
                tied.append(other)
        self._groups[actor], self._tied[actor] = frozenset(groups), tuple(tied)


def candidate_keys(graph: CooperationGraph) -> dict[str, set[str]]:
    """Every target with the themes of the work there: where a hotspot may be."""
    by_target: dict[str, set[str]] = defaultdict(set)
    # Each tie is seen from both ends of its edge: an `active_in` one is taken from its origin.
    for actor, neighbours in graph.g._adj.items():
        for place, data in neighbours.items():
            for tie in data["ties"].values():
                if tie.type == "active_in" and tie.origin == actor:
                    by_target[place] |= tie.themes
    return by_target


def _engagements_at(
    reader: Reader, target: str, themes: Iterable[str] | None, single: bool = False
) -> dict[str, dict[str, Engagement]]:
    """Per theme (all of them, or those asked), the actors with a territory of their own active
    in `target` on it (themes with a single one only if `single`). Funders and national bodies
    with no territory are left out: they do not compete."""
    wanted = None if themes is None else frozenset(themes)
    working: list[tuple[str, list[Tie]]] = []
    counts: dict[str, int] = defaultdict(int)
    for actor, data in reader.adj[target].items():
        ties = [
            tie for tie in data["ties"].values() if tie.type == "active_in" and tie.origin == actor
        ]
        if not ties or reader.home_of(actor) is None:
            continue
        working.append((actor, ties))
        for theme in frozenset().union(*(tie.themes for tie in ties)):
            counts[theme] += 1
    # Most targets have one actor on a theme: no hotspot there, nothing more to read.
    found: dict[str, dict[str, Engagement]] = defaultdict(dict)
    kept = {t for t, n in counts.items() if (n >= 2 or single) and (wanted is None or t in wanted)}
    if not kept:
        return found
    for actor, ties in working:
        for tie in ties:
            for theme in tie.themes & kept:
                engaged = found[theme]
                if actor not in engaged:
                    engaged[actor] = Engagement(actor)
                engaged[actor].ties.append(tie)
    return found


def engagements(
    g: nx.Graph, target: str, theme: str, graph: CooperationGraph
) -> dict[str, Engagement]:
    """Actors with a territory of their own active in `target` on `theme`."""
    return _engagements_at(Reader(graph, g), target, [theme], single=True).get(theme, {})


def _build(
    reader: Reader, target: str, theme: str, engaged: dict[str, Engagement], today: date
) -> Hotspot:
    """The hotspot of these engagements: every uncoordinated pair of different homes."""
    actors = sorted(engaged)
    homes = {actor: reader.home(actor) for actor in actors}
    # What each actor brings to a pair, read once rather than once per pair (the loop below is
    # most of the work on a large hotspot): its home, groups, ties, and its engagement's themes,
    # activity and period.
    facts = []
    for actor in actors:
        e = engaged[actor]
        facts.append(
            (
                actor,
                homes[actor],
                reader.groups(actor),
                reader.adj[actor],
                e.themes,
                e.active,
                e.starts_on,
                e.ends_on,
            )
        )
    pairs = []
    for i, (a, home_a, groups_a, adjacent, themes_a, active_a, start_a, end_a) in enumerate(facts):
        for b, home_b, groups_b, _, themes_b, active_b, start_b, end_b in facts[i + 1 :]:
            if home_b == home_a or not groups_a.isdisjoint(groups_b):
                continue
            if b in adjacent and any(
                t.type == "cooperates_with" for t in adjacent[b]["ties"].values()
            ):
                continue
            themes = len(themes_a & themes_b) / len(themes_a | themes_b)
            # Share of the combined span during which both run (1 when undated).
            period = 1.0
            if start_a and start_b:
                a_end, b_end = end_a or today, end_b or today
                span = (max(a_end, b_end) - min(start_a, start_b)).days
                if span > 0:
                    shared = (min(a_end, b_end) - max(start_a, start_b)).days
                    period = max(0.0, shared / span)
            activity = _ACTIVITY[active_a + active_b]
            pairs.append(
                Pair(
                    a,
                    b,
                    round(themes * period * activity, 4),
                    round(themes, 4),
                    round(period, 4),
                    activity,
                )
            )
    return Hotspot(target, theme, engaged, homes, pairs)


def hotspot(
    graph: CooperationGraph, g: nx.Graph, target: str, theme: str, today: date | None = None
) -> Hotspot:
    """The actors active in `target` on `theme` in `g` (the graph, or a changed copy of it),
    and their uncoordinated pairs; homes are read from `graph`."""
    reader = Reader(graph, g)
    engaged = _engagements_at(reader, target, [theme], single=True).get(theme, {})
    return _build(reader, target, theme, engaged, today or date.today())


def hotspots_at(
    reader: Reader, target: str, themes: Iterable[str] | None = None, today: date | None = None
) -> dict[str, Hotspot]:
    """The hotspots of one target, on all its themes or on those asked, by theme."""
    today = today or date.today()
    found = {}
    for theme, engaged in _engagements_at(reader, target, themes).items():
        if len(engaged) < 2 or len({reader.home(actor) for actor in engaged}) < 2:
            continue
        spot = _build(reader, target, theme, engaged, today)
        if spot.pairs:
            found[theme] = spot
    return found


def order(index: float, target_name: str, theme: str, target: str) -> tuple[float, str, str, str]:
    """How hotspots are listed: highest index first, then by target name, theme and id."""
    return (-index, target_name, theme, target)


def hotspots(
    graph: CooperationGraph,
    *,
    country: str | None = None,
    target: str | None = None,
    theme: str | None = None,
    min_actors: int = 2,
) -> list[Hotspot]:
    """Every hotspot matching the filters, highest competition index first, from scratch."""
    g = graph.g
    reader = Reader(graph)
    today = date.today()
    found = []
    for place, themes in candidate_keys(graph).items():
        if target is not None and place != target:
            continue
        if country is not None and g.nodes[place]["country"] != country:
            continue
        wanted = themes if theme is None else themes & {theme}
        for spot in hotspots_at(reader, place, wanted, today).values():
            if len(spot.engagements) >= min_actors:
                found.append(spot)
    found.sort(key=lambda s: order(s.index, g.nodes[s.target]["name"], s.theme, s.target))
    return found

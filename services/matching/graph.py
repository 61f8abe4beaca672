"""The cooperation graph: actors as nodes, typed ties as edges, kept current event by event.

Pure: no I/O. The graph is built from registry resources (the records of `shared.records`,
as the registry's listings and feed carry them) and changed by applying the registry's
events, idempotently: a resource older than the one the graph holds is ignored, so replaying
events or overlapping a snapshot with the feed is safe.

Edges are those of an undirected ``networkx.Graph`` (so the link-prediction functions of
networkx apply); each edge carries ``ties``, a dict from the tie's source key to its
description, because two actors can be tied by several conventions, projects or memberships.
That dict is replaced on every change, never changed in place, so that copies taken for work
outside the lock (`read_copy`) share it instead of copying some 400,000 of them.

Tie types: ``cooperates_with`` (a convention or project between two actors), ``member_of``,
``supports``, ``coordinates`` (relationships), ``based_in`` (association or migrant
organisation → its home local authority), ``originates_from`` (migrant organisation → a
territory of origin), ``active_in`` (an actor → the target territory of its convention or
project; a ``country:XX`` node when only the target country is known).
"""

import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import networkx as nx

from shared.countries import country_label
from shared.events import Event
from shared.records import (
    ActorRecord,
    ConventionRecord,
    ProjectRecord,
    Record,
    RelationshipRecord,
)

__all__ = ["COORDINATION", "COUNTRY_PREFIX", "CooperationGraph", "Tie"]

# Work known only at country level targets a node of its own, e.g. "country:ML".
COUNTRY_PREFIX = "country:"

# Ties that mean two actors already coordinate (or a third one coordinates them).
COORDINATION = frozenset({"cooperates_with", "member_of", "coordinates"})
_PARTNERSHIP = COORDINATION | {"supports", "active_in"}


@dataclass(frozen=True, slots=True)  # slots: a national graph holds some 700,000 of them
class Tie:
    type: str
    source: str  # e.g. "convention:<id>", "relationship:<id>", "actor:<id>"
    themes: frozenset[str] = frozenset()
    starts_on: date | None = None
    ends_on: date | None = None
    active: bool = True
    # For directed meanings (member_of, based_in, …): the actor the tie goes from.
    origin: str | None = None


@dataclass
class CooperationGraph:
    g: nx.Graph = field(default_factory=nx.Graph)
    versions: dict[str, int] = field(default_factory=dict)
    # Source key → the edges it created, to remove them when the source changes.
    _edges_of: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    # Indexes for bounded candidate generation.
    by_theme: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_country: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Ties whose other actor has not arrived yet, by source; linked by `retry_waiting`.
    _waiting: dict[str, list[tuple[str, str, Tie]]] = field(default_factory=dict)
    # How many edges `g` has, kept by every change here: networkx counts them by walking every
    # node, 50 ms at national scale, and /health, /ready and /metrics ask under the lock that
    # suggestions and the follower need.
    edge_count: int = 0

    def read_copy(
        self, lock: AbstractContextManager[Any] | None = None, *, step: int = 2_000
    ) -> "CooperationGraph":
        """A copy of the actors and their ties to read from another thread, taken `step` actors
        at a time, each step under `lock` (the writer's lock), so that the writer waits at
        most one step, never the whole copy.

        Each actor's attributes and each edge's ties are copied as they were at one moment,
        but different steps see different moments: an actor added during the copy may be
        missing, one deleted during it may be there without its ties. Good for what reads a
        snapshot a little behind anyway (the feature space, training); `versions`, the indexes
        by theme and country and the waiting ties are not copied."""
        guard = lock if lock is not None else nullcontext()
        copy = CooperationGraph()
        nodes, adjacency = copy.g._node, copy.g._adj
        with guard:
            names = list(self.g._node)
        for start in range(0, len(names), step):
            with guard:
                source_nodes, source_adjacency = self.g._node, self.g._adj
                for name in names[start : start + step]:
                    attributes = source_nodes.get(name)
                    if attributes is None:
                        continue  # deleted since the copy began
                    nodes[name] = dict(attributes)
                    # Every neighbour in the graph's own order (so that reading the copy
                    # meets edges in the same order as the graph); an edge's data is made by
                    # whichever end comes first and shared with the other. Its ties dict is
                    # the graph's own: the graph replaces it on a change, never changes it.
                    mine = adjacency[name] = {}
                    for other, data in source_adjacency[name].items():
                        theirs = adjacency.get(other)
                        shared = theirs.get(name) if theirs is not None else None
                        if shared is None:
                            shared = {"ties": data["ties"]}
                            if theirs is not None:  # tied since `other` was copied
                                theirs[name] = shared
                        mine[other] = shared
        # Ties to actors deleted, or undone, before the other end's turn.
        for name, neighbours in adjacency.items():
            gone = [o for o in neighbours if o not in nodes or name not in adjacency[o]]
            for other in gone:
                del neighbours[other]
        copy.edge_count = sum(map(len, adjacency.values())) // 2  # no edge joins a node to itself
        return copy

    def discard(self) -> None:
        """Empty this graph now (a copy that has served): networkx keeps a graph in a
        reference cycle with its cached views, so without this only the cycle collector, a
        second's pause of every thread at national scale, would free it."""
        self.g.clear()
        self.versions.clear()
        self._edges_of.clear()
        self.by_theme.clear()
        self.by_country.clear()
        self._waiting.clear()
        self.edge_count = 0

    def remove_edge(self, a: str, b: str) -> None:
        """Remove the edge between two actors, whatever ties it holds."""
        self.g.remove_edge(a, b)
        self.edge_count -= 1

    # --- reading -------------------------------------------------------------------------------

    def actor(self, actor_id: str) -> dict[str, Any]:
        return self.g.nodes[actor_id]

    def has_actor(self, actor_id: str) -> bool:
        return actor_id in self.g

    def ties(self, a: str, b: str) -> list[Tie]:
        data = self.g.get_edge_data(a, b)
        return list(data["ties"].values()) if data else []

    def ties_of(self, actor_id: str, tie_type: str) -> Iterator[tuple[str, Tie]]:
        """(other actor, tie) for every tie of this type at this actor."""
        for other, data in self.g.adj[actor_id].items():
            for tie in data["ties"].values():
                if tie.type == tie_type:
                    yield other, tie

    def work_in(self, target: str) -> Iterator[tuple[str, Tie]]:
        """(actor, tie) for every `active_in` tie of an actor working in this target; not the
        target's own work elsewhere, which the same edges also carry."""
        for other, tie in self.ties_of(target, "active_in"):
            if tie.origin == other:
                yield other, tie

    def partners(self, actor_id: str) -> set[str]:
        """Actors already working with this one: a convention, a project (including one in its
        territory) or a relationship; suggesting them again would tell nothing new."""
        return {
            other
            for other, data in self.g.adj[actor_id].items()
            if any(t.type in _PARTNERSHIP for t in data["ties"].values())
        }

    def home_of(self, actor_id: str) -> str | None:
        """An actor's territory: itself for a local authority, else where it is based."""
        node = self.g.nodes[actor_id]
        if node.get("kind") == "local_authority":
            return actor_id
        return node.get("based_in")

    # --- building --------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Apply one registry event (the envelope of /v1/events, parsed with the contract)."""
        data = event.data
        if isinstance(data, ActorRecord):
            self.put_actor(data)
        elif isinstance(data, ConventionRecord):
            self.put_convention(data)
        elif isinstance(data, ProjectRecord):
            self.put_project(data)
        elif isinstance(data, RelationshipRecord):
            self.put_relationship(data)

    def _is_stale(self, key: str, record: Record) -> bool:
        if self.versions.get(key, -1) > record.version:
            return True
        self.versions[key] = record.version
        return False

    def put_actor(self, actor: ActorRecord) -> None:
        key = f"actor:{actor.id}"
        if self._is_stale(key, actor):
            return
        actor_id = _id(actor.id)
        self._drop_source(key)
        if actor.deleted_at:
            self._remove_actor(actor_id)
            return
        self._unindex(actor_id)
        # Plain strings in the graph: exports (GraphML) and comparisons need no enum types.
        self.g.add_node(
            actor_id,
            name=actor.name,
            kind=str(actor.kind),
            level=_str(actor.level),
            insee_code=actor.insee_code,
            country=actor.country,
            themes=frozenset(actor.themes),
            latitude=actor.latitude,
            longitude=actor.longitude,
            population=actor.population,
            based_in=_id(actor.based_in_id) if actor.based_in_id else None,
            origins=frozenset(_id(o) for o in actor.origin_ids),
            intervention_countries=frozenset(actor.intervention_countries),
        )
        for theme in actor.themes:
            self.by_theme[theme].add(actor_id)
        self.by_country[actor.country].add(actor_id)
        if actor.based_in_id:
            self._link(actor_id, _id(actor.based_in_id), Tie("based_in", key, origin=actor_id))
        for origin in actor.origin_ids:
            self._link(actor_id, _id(origin), Tie("originates_from", key, origin=actor_id))

    def put_convention(self, convention: ConventionRecord) -> None:
        parties = [_id(p.actor_id) for p in convention.parties]
        self._put_cooperation("convention", convention, parties)

    def put_project(self, project: ProjectRecord) -> None:
        members = [_id(project.lead_id)] + [_id(p.actor_id) for p in project.partners]
        self._put_cooperation("project", project, members)

    def put_relationship(self, relationship: RelationshipRecord) -> None:
        key = f"relationship:{relationship.id}"
        if self._is_stale(key, relationship):
            return
        self._drop_source(key)
        if relationship.deleted_at:
            return
        subject, obj = _id(relationship.subject_id), _id(relationship.object_id)
        ends_on = _date(relationship.ends_on)
        tie = Tie(
            str(relationship.kind),
            key,
            starts_on=_date(relationship.starts_on),
            ends_on=ends_on,
            active=ends_on is None or ends_on >= date.today(),
            origin=subject,
        )
        self._link(subject, obj, tie)

    def _put_cooperation(
        self, kind: str, work: ConventionRecord | ProjectRecord, members: list[str]
    ) -> None:
        key = f"{kind}:{work.id}"
        if self._is_stale(key, work):
            return
        self._drop_source(key)
        if work.deleted_at:
            return
        draft = work.status == "draft"
        tie_args = {
            "source": key,
            "themes": frozenset(work.themes),
            "starts_on": _date(work.starts_on),
            "ends_on": _date(work.ends_on),
            # Ended work stays in the graph, marked, so history still explains proximity.
            "active": work.status in ("active", "suspended"),
        }
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                self._link(a, b, Tie("cooperates_with", **tie_args))
        target = _id(work.target_id) if work.target_id else None
        if target is None and work.target_country:
            target = self._country(work.target_country)
        # A draft (e.g. an adopted federation proposal) already coordinates its members, but
        # none of them works in the target through it yet.
        if target is not None and not draft:
            for member in members:
                if member != target:
                    self._link(member, target, Tie("active_in", origin=member, **tie_args))

    # --- internals -----------------------------------------------------------------------------

    def _country(self, code: str) -> str:
        """A node standing for a country, target of work whose town is not known."""
        key = COUNTRY_PREFIX + code
        if key not in self.g:
            self.g.add_node(
                key,
                name=country_label(code, "en"),
                kind="country",
                level=None,
                insee_code=None,
                country=code,
                themes=frozenset(),
                latitude=None,
                longitude=None,
                population=None,
                based_in=None,
                origins=frozenset(),
                intervention_countries=frozenset(),
            )
        return key

    def _link(self, a: str, b: str, tie: Tie) -> None:
        if a == b:
            return
        if a not in self.g or b not in self.g:
            # An endpoint unknown here (deleted, or not yet seen) adds no edge; the actor's own
            # event will come and the source is re-applied on its next change or resync.
            self._pending(tie.source, a, b, tie)
            return
        if not self.g.has_edge(a, b):
            self.g.add_edge(a, b, ties={})
            self.edge_count += 1
        edge = self.g.edges[a, b]
        # A new dict, never a change to the one there: copies of the graph share it.
        edge["ties"] = {**edge["ties"], (tie.source, tie.type, tie.origin): tie}
        self._edges_of[tie.source].add((a, b))

    def _pending(self, source: str, a: str, b: str, tie: Tie) -> None:
        self._waiting.setdefault(source, []).append((a, b, tie))

    def _drop_source(self, source: str) -> None:
        self._waiting.pop(source, None)
        for a, b in self._edges_of.pop(source, set()):
            if not self.g.has_edge(a, b):
                continue
            edge = self.g.edges[a, b]
            kept = {key: tie for key, tie in edge["ties"].items() if key[0] != source}
            if kept:
                edge["ties"] = kept  # replaced, not changed: copies share the old one
            else:
                self.remove_edge(a, b)

    def _remove_actor(self, actor_id: str) -> None:
        if actor_id not in self.g:
            return
        self._unindex(actor_id)
        self.edge_count -= len(self.g.adj[actor_id])
        self.g.remove_node(actor_id)

    def _unindex(self, actor_id: str) -> None:
        if actor_id not in self.g:
            return
        node = self.g.nodes[actor_id]
        for theme in node.get("themes", ()):
            self.by_theme[theme].discard(actor_id)
        if node.get("country"):
            self.by_country[node["country"]].discard(actor_id)

    def retry_waiting(self) -> None:
        """Link ties whose actors arrived after them (events may come in any order)."""
        waiting, self._waiting = self._waiting, {}
        for links in waiting.values():
            for a, b, tie in links:
                self._link(a, b, tie)

    @classmethod
    def from_resources(
        cls,
        actors: Iterable[ActorRecord],
        conventions: Iterable[ConventionRecord],
        projects: Iterable[ProjectRecord],
        relationships: Iterable[RelationshipRecord],
    ) -> "CooperationGraph":
        graph = cls()
        for actor in actors:
            graph.put_actor(actor)
        for convention in conventions:
            graph.put_convention(convention)
        for project in projects:
            graph.put_project(project)
        for relationship in relationships:
            graph.put_relationship(relationship)
        graph.retry_waiting()
        return graph


def _id(value: Any) -> str:
    """An actor id as the graph keeps it: one string object per actor, however many ties name
    it (each tie used to bring its own copy of the id, ~70 MB at 100,000 actors)."""
    return sys.intern(str(value))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))

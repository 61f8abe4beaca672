"""The hotspot read model: every hotspot and its federation proposal, kept current as the graph
changes, read without the graph's lock.

`GET /v1/overlaps`, `/v1/metrics/coordination` and `/v1/federations` answer from an
`OverlapModel`: an immutable object (the hotspots in listing order, with their proposals in
ranking order, and the feed sequence they reflect) that a request reaches through one attribute
of the graph holder, so it never waits for the follower or holds up suggestions.

The follower keeps the writer's side, an `OverlapIndex`. It is built from scratch with each graph
(a snapshot); then, while the follower applies events under the graph's lock, it notes what each
one changed (the ties of the event's source that appeared or went, an actor's attributes before
the change), and after the page of events, outside the lock (the follower is the only thread that
changes the graph), it recomputes only the (target, theme) keys those changes may affect and
publishes a new model in one assignment. A key may be affected by:

- a tie `active_in` from an actor to a target: that target on the tie's themes, and if the
  actor is an organisation, the hotspots of that target on any theme in which its home is a
  member's home (whose proposals pool the organisations of members' homes active there);
- a `cooperates_with` tie: the keys on which both actors are engaged (one pair's coordination);
- a `member_of` or `coordinates` tie: the keys on which one end is engaged with the other end
  or with someone tied to it by such a tie (their groups changed, so their coordination, and
  the groups a proposal may pick as coordinator, which must link two members);
- a `based_in` or `originates_from` tie: the hotspots in which its home is a member's home (the
  migrant organisations with a double anchorage there);
- an actor's name, kind, level or country: the hotspots that show it; its kind or where it is
  based: whether it is engaged, its home, and whether it is an association or a migrant
  organisation of a member's home (the hotspots of that home); its INSEE code, level or
  country: the home territory of itself and of everyone based in it, and whether it is a region
  some migrant organisations come from; its origins: the hotspots of its home; its themes,
  coordinates or population: nothing. A deleted actor's ties all go, each counted as above.

Each hotspot is stored with the nodes it read (`Entry.reads`: the target, the engaged actors,
their homes, the groups tied to two of them, the migrant organisations and associations a
proposal may pool), so "the hotspots that show or read X" is one look-up. The competition index
depends on today's date (engagements with no end run until today): the model is rebuilt once a
day.
"""

import gc
import heapq
import uuid
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from pydantic import TypeAdapter

from services.matching.federations import (
    Neighbourhood,
    Proposal,
    Setting,
    explain_in,
    propose_in,
    reason_of,
)
from services.matching.graph import COUNTRY_PREFIX, CooperationGraph, Tie
from services.matching.overlaps import Hotspot, Reader, candidate_keys, hotspots_at, order
from services.matching.schemas import (
    ActorSummary,
    EngagedActor,
    EngagementTie,
    FederationRead,
    HotspotRead,
    HotspotSummary,
    UncoordinatedPair,
)
from shared.language import Language
from shared.operations.metrics import OVERLAP_SECONDS
from shared.records import (
    ActorRecord,
    ConventionRecord,
    ProjectRecord,
    Record,
    RelationshipRecord,
)

__all__ = [
    "Entry",
    "OverlapIndex",
    "OverlapModel",
    "actor_summary",
    "federation_read",
    "hotspot_read",
]

Key = tuple[str, str]

_HOTSPOT_JSON = TypeAdapter(HotspotRead)
_FEDERATION_JSON = TypeAdapter(FederationRead)

# Actor attributes that overlaps and proposals read; a change of any other one affects nothing.
_READ = ("name", "kind", "level", "country", "insee_code", "based_in", "origins")
_GROUP_TIES = ("member_of", "coordinates")
# Those the home territory (of the actor and of everyone based in it) and origin regions read.
_HOME = frozenset({"insee_code", "level", "country"})


def actor_summary(nodes: Mapping[str, Mapping[str, Any]], actor_id: str) -> ActorSummary:
    """An actor as the API names it, from the graph's node attributes (live or copied)."""
    node = nodes[actor_id]
    return ActorSummary(
        id=None if actor_id.startswith(COUNTRY_PREFIX) else uuid.UUID(actor_id),
        name=node["name"],
        kind=node["kind"],
        level=node.get("level"),
        country=node["country"],
    )


class Entry:
    """One hotspot as the API shows it, and what its federation proposals are made from.

    Never changed once made (what the API sends of it is kept on first use)."""

    def __init__(self, place: Setting) -> None:
        spot = place.spot
        target = place.nodes[spot.target]
        self.place = place
        self.target, self.theme = spot.target, spot.theme
        self.key: Key = (spot.target, spot.theme)
        self.country: str = target["country"]
        self.index = spot.index
        self.actors = len(spot.engagements)
        self.rank = order(self.index, target["name"], spot.theme, spot.target)
        # The proposal when no pair among its actors was dismissed (the usual case).
        self.proposal = propose_in(place)
        self.proposal_rank = (-self.proposal.reduction, self.proposal.id)
        self.candidates = place.candidates
        # What the API sends of it, kept once made (as JSON: the objects weigh far more).
        self._read_json: bytes | None = None
        self._summary: HotspotSummary | None = None
        self._federation_json: bytes | None = None

    @property
    def reads(self) -> set[str]:
        """The graph nodes whose ties or attributes this entry was computed from."""
        homes = {home for home in self.place.home_of.values() if home is not None}
        return {*self.place.nodes, *homes}

    def read(self) -> HotspotRead:
        return hotspot_read(self.place.spot, self.place.nodes)

    def read_json(self) -> bytes:
        """`read()` as the API sends it: most of a listing's work, done once."""
        if self._read_json is None:
            self._read_json = _HOTSPOT_JSON.dump_json(self.read(), by_alias=True)
        return self._read_json

    def summary(self) -> HotspotSummary:
        if self._summary is None:
            self._summary = HotspotSummary(
                target=actor_summary(self.place.nodes, self.target),
                theme=self.theme,
                competition_index=self.index,
                actors=self.actors,
            )
        return self._summary

    def federation(self, proposal: Proposal, language: Language = "en") -> FederationRead:
        """A proposal for this hotspot (its usual one, or one made with dismissed pairs)."""
        explanation = explain_in(self.place, proposal, language)
        return federation_read(proposal, self.place.nodes, explanation, language)

    def federation_json(self, proposal: Proposal, language: Language = "en") -> bytes:
        if proposal is not self.proposal or language != "en":
            # Kept in English only: the language API clients read, and the one listings
            # answer in most; a French listing writes its few proposals each time.
            return _FEDERATION_JSON.dump_json(self.federation(proposal, language), by_alias=True)
        if self._federation_json is None:
            self._federation_json = _FEDERATION_JSON.dump_json(
                self.federation(proposal), by_alias=True
            )
        return self._federation_json


def hotspot_read(spot: Hotspot, nodes: Mapping[str, Mapping[str, Any]]) -> HotspotRead:
    """A hotspot as the API shows it; `nodes`: the graph's node attributes (live or copied)."""
    return HotspotRead(
        target=actor_summary(nodes, spot.target),
        theme=spot.theme,
        competition_index=spot.index,
        actors=[
            EngagedActor(
                actor=actor_summary(nodes, actor),
                home_territory=spot.homes[actor],
                ties=[
                    EngagementTie(
                        source_type=tie.source.split(":")[0],
                        source_id=uuid.UUID(tie.source.split(":")[1]),
                        themes=sorted(tie.themes),
                        starts_on=tie.starts_on,
                        ends_on=tie.ends_on,
                        active=tie.active,
                    )
                    for tie in engagement.ties
                ],
            )
            for actor, engagement in sorted(spot.engagements.items())
        ],
        uncoordinated_pairs=[
            UncoordinatedPair(
                a=uuid.UUID(pair.a),
                b=uuid.UUID(pair.b),
                weight=pair.weight,
                theme_overlap=pair.theme_overlap,
                period_overlap=pair.period_overlap,
                activity=pair.activity,
            )
            for pair in spot.pairs
        ],
    )


def federation_read(
    proposal: Proposal,
    nodes: Mapping[str, Mapping[str, Any]],
    explanation: str,
    language: Language = "en",
) -> FederationRead:
    """A federation proposal as the API shows it, with its explanation in words."""

    def summaries(ids: list[str]) -> list[ActorSummary]:
        return [actor_summary(nodes, actor) for actor in ids]

    return FederationRead(
        id=uuid.UUID(proposal.id),
        target=actor_summary(nodes, proposal.target),
        themes=proposal.themes,
        members=summaries(proposal.members),
        migrant_organisations=summaries(proposal.migrant_organisations),
        associations=summaries(proposal.associations),
        coordinator=actor_summary(nodes, proposal.coordinator),
        coordinator_reason=reason_of(proposal, language),
        competition_index_before=proposal.index_before,
        competition_index_after=proposal.index_after,
        reduction=proposal.reduction,
        left_out=summaries(proposal.left_out),
        explanation=explanation,
    )


def _dismissed_partners(dismissed: Iterable[frozenset[str]]) -> dict[str, set[str]]:
    partners: dict[str, set[str]] = defaultdict(set)
    for pair in dismissed:
        for actor in pair:
            # A pair of one (someone who dismissed itself) is its own partner.
            partners[actor].update(pair - {actor} or pair)
    return partners


def _affected(entry: Entry, partners: Mapping[str, set[str]]) -> bool:
    """Whether a dismissed pair lies within the actors a proposal for it may pool."""
    candidates = entry.candidates
    if len(partners) < len(candidates):
        return any(
            actor in candidates and not found.isdisjoint(candidates)
            for actor, found in partners.items()
        )
    return any(
        not found.isdisjoint(candidates)
        for actor in candidates
        if (found := partners.get(actor)) is not None
    )


@dataclass(frozen=True, eq=False)
class OverlapModel:
    """The hotspots and proposals at one point of the feed. Immutable: read it without a lock."""

    sequence: int
    today: date
    # Highest competition index first (then target name, theme, target id).
    by_index: tuple[Entry, ...] = ()
    # Their proposals with nothing dismissed, largest reduction first (then id).
    by_reduction: tuple[Entry, ...] = ()
    # Coordination metrics per country filter, computed on first demand.
    _metrics: dict[str | None, tuple[float, int, tuple[Entry, ...]]] = field(
        default_factory=dict, repr=False
    )
    # The last set of dismissed pairs asked about and the proposals it changes.
    _dismissed: list[tuple[frozenset[frozenset[str]], dict[Key, Proposal]]] = field(
        default_factory=list, repr=False
    )

    def hotspots(
        self,
        *,
        country: str | None = None,
        target: str | None = None,
        theme: str | None = None,
        min_actors: int = 2,
    ) -> Iterator[Entry]:
        """The hotspots matching the filters, in listing order."""
        for entry in self.by_index:
            if (
                (country is None or entry.country == country)
                and (target is None or entry.target == target)
                and (theme is None or entry.theme == theme)
                and entry.actors >= min_actors
            ):
                yield entry

    def metrics(self, country: str | None = None) -> tuple[float, int, tuple[Entry, ...]]:
        """The total competition index, the number of hotspots and the top ten."""
        found = self._metrics.get(country)
        if found is None:
            spots = list(self.hotspots(country=country))
            found = (round(sum(e.index for e in spots), 4), len(spots), tuple(spots[:10]))
            self._metrics[country] = found
        return found

    def proposals(
        self,
        *,
        country: str | None = None,
        theme: str | None = None,
        actor: str | None = None,
        dismissed: set[frozenset[str]] = frozenset(),
    ) -> Iterator[tuple[Proposal, Entry]]:
        """One proposal per hotspot matching the filters, largest reduction first. Those of the
        hotspots among whose actors a pair was dismissed are made again, from the entry."""
        entries = [
            entry
            for entry in self.by_reduction
            if (country is None or entry.country == country)
            and (theme is None or entry.theme == theme)
        ]
        ranked: Iterable[tuple[Proposal, Entry]] = ((e.proposal, e) for e in entries)
        if dismissed:
            remade = self._remade(dismissed)
            kept = ((e.proposal, e) for e in entries if e.key not in remade)
            again = sorted(
                ((remade[e.key], e) for e in entries if e.key in remade),
                key=lambda found: (-found[0].reduction, found[0].id),
            )
            ranked = heapq.merge(kept, again, key=lambda found: (-found[0].reduction, found[0].id))
        for proposal, entry in ranked:
            if actor is None or actor in proposal.everyone:
                yield proposal, entry

    def _remade(self, dismissed: set[frozenset[str]]) -> dict[Key, Proposal]:
        """The proposals that these dismissed pairs change, by hotspot (kept for the last set
        of dismissed pairs asked about: it changes far less often than it is asked)."""
        asked = frozenset(dismissed)
        for last, remade in self._dismissed[-1:]:  # one tuple, read whole
            if last == asked:
                return remade
        partners = _dismissed_partners(asked)
        remade = {
            entry.key: propose_in(entry.place, asked)
            for entry in self.by_reduction
            if _affected(entry, partners)
        }
        self._dismissed[:] = [(asked, remade)]
        return remade

    def find(
        self, proposal_id: str, dismissed: set[frozenset[str]] = frozenset()
    ) -> tuple[Proposal, Entry] | None:
        for proposal, entry in self.proposals(dismissed=dismissed):
            if proposal.id == proposal_id:
                return proposal, entry
        return None


def _source_of(data: Record) -> str | None:
    """The graph's key of the source a record's ties come from (see graph.py)."""
    for kind, record in (
        ("actor", ActorRecord),
        ("convention", ConventionRecord),
        ("project", ProjectRecord),
        ("relationship", RelationshipRecord),
    ):
        if isinstance(data, record):
            return f"{kind}:{data.id}"
    return None


def _ties_of_source(graph: CooperationGraph, source: str) -> dict[tuple[str, str], dict]:
    """The ties a source has in the graph, per edge."""
    # CooperationGraph keeps which edges each source made, to remove them when it changes.
    edges = graph._edges_of.get(source)
    if not edges:
        return {}
    found = {}
    for a, b in edges:
        data = graph.g.get_edge_data(a, b)
        if data:
            ties = {key: tie for key, tie in data["ties"].items() if key[0] == source}
            if ties:
                found[(a, b)] = ties
    return found


def _waiting(graph: CooperationGraph) -> set[tuple[str, str, Tie]]:
    """Ties waiting for an actor to arrive (graph.py links them in `retry_waiting`)."""
    return {link for links in graph._waiting.values() for link in links}


class OverlapIndex:
    """The writer's side of the read model, for one graph: only the thread that changes the
    graph (the follower) uses it. `model` is the last published `OverlapModel`."""

    def __init__(self, graph: CooperationGraph, sequence: int = 0) -> None:
        self.graph = graph
        self._entries: dict[Key, Entry] = {}
        # Which stored entries read each node (see `Entry.reads`), and what each entry read.
        self._readers: dict[str, set[Key]] = defaultdict(set)
        self._reads: dict[Key, set[str]] = {}
        self._by_index: list[Entry] = []
        self._by_reduction: list[Entry] = []
        # What changed since the last refresh: ties that appeared or went, and actors'
        # attributes before their first change (None: the actor was not in the graph).
        self._ties: list[tuple[str, str, Tie]] = []
        self._attributes: dict[str, dict[str, Any] | None] = {}
        self.today = date.today()
        self.model = OverlapModel(sequence, self.today)
        self.rebuild(sequence)

    def __len__(self) -> int:
        return len(self._entries)

    # --- noting changes, under the graph's lock ---------------------------------------------

    @contextmanager
    def watch(self, data: Record) -> Iterator[None]:
        """Note what applying this record (inside the block) changes in the graph."""
        g = self.graph.g
        source = _source_of(data)
        before = _ties_of_source(self.graph, source) if source else {}
        actor = str(data.id) if isinstance(data, ActorRecord) else None
        every_tie: list[tuple[str, str, Tie]] = []
        if actor is not None:
            if actor not in self._attributes:
                self._attributes[actor] = dict(g.nodes[actor]) if actor in g else None
            if data.deleted_at is not None and actor in g:
                # A deleted actor takes all its ties with it, whatever their source.
                every_tie = [
                    (actor, other, tie)
                    for other, edge in g.adj[actor].items()
                    for tie in edge["ties"].values()
                ]
        try:
            yield
        finally:
            after = _ties_of_source(self.graph, source) if source else {}
            for edge in before.keys() | after.keys():
                old, new = before.get(edge, {}), after.get(edge, {})
                for key in old.keys() | new.keys():
                    was, now = old.get(key), new.get(key)
                    # A work applied again puts its `active_in` tie last among the ties of
                    # the edge, which is the order a hotspot lists an actor's ties in.
                    if was != now or (
                        now is not None and now.type == "active_in" and was is not now
                    ):
                        self._ties.extend((*edge, t) for t in (was, now) if t)
            if every_tie and actor not in g:
                self._ties.extend(every_tie)

    @contextmanager
    def watch_waiting(self) -> Iterator[None]:
        """Note the waiting ties that linking them (inside the block) puts in the graph."""
        before = _waiting(self.graph)
        try:
            yield
        finally:
            if before:
                self._ties.extend(before - _waiting(self.graph))

    # --- recomputing, outside the lock ---------------------------------------------------------

    def refresh(self, sequence: int) -> OverlapModel:
        """Recompute what the changes noted since the last refresh may affect, and publish the
        model of the graph as it is at `sequence`."""
        if date.today() != self.today:
            return self.rebuild(sequence)
        keys = self._affected() if self._ties or self._attributes else set()
        if keys:
            with OVERLAP_SECONDS.labels("change").time():
                self._recompute(keys)
        self._ties, self._attributes = [], {}
        if keys:
            self._publish(sequence)
        elif sequence != self.model.sequence:
            self.model = replace(self.model, sequence=sequence)
        return self.model

    def rebuild(self, sequence: int) -> OverlapModel:
        """Compute every hotspot from scratch."""
        with OVERLAP_SECONDS.labels("full").time():
            self._rebuild()
        self._publish(sequence)
        return self.model

    def _rebuild(self) -> None:
        self.today = date.today()
        reader = Reader(self.graph)
        near = Neighbourhood(self.graph, reader)
        self._entries, self._reads, self._readers = {}, {}, defaultdict(set)
        with _collector_set_aside():
            for target, themes in candidate_keys(self.graph).items():
                for spot in hotspots_at(reader, target, themes, self.today).values():
                    self._store(Entry(near.setting(spot)))
        self._by_index = sorted(self._entries.values(), key=lambda e: e.rank)
        self._by_reduction = sorted(self._entries.values(), key=lambda e: e.proposal_rank)
        self._ties, self._attributes = [], {}

    def _publish(self, sequence: int) -> None:
        self.model = OverlapModel(
            sequence, self.today, tuple(self._by_index), tuple(self._by_reduction)
        )

    def _store(self, entry: Entry) -> None:
        self._entries[entry.key] = entry
        reads = self._reads[entry.key] = entry.reads
        for node in reads:
            self._readers[node].add(entry.key)

    def _drop(self, key: Key) -> Entry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            for node in self._reads.pop(key):
                readers = self._readers[node]
                readers.discard(key)
                if not readers:
                    del self._readers[node]
        return entry

    def _recompute(self, keys: set[Key]) -> None:
        g = self.graph.g
        reader = Reader(self.graph)
        near = Neighbourhood(self.graph, reader)
        by_target: dict[str, set[str]] = defaultdict(set)
        for target, theme in keys:
            by_target[target].add(theme)
        for target, themes in by_target.items():
            found = hotspots_at(reader, target, themes, self.today) if target in g else {}
            for theme in themes:
                old = self._drop((target, theme))
                if old is not None:
                    del self._by_index[bisect_left(self._by_index, old.rank, key=_rank)]
                    at = bisect_left(self._by_reduction, old.proposal_rank, key=_proposal_rank)
                    del self._by_reduction[at]
                spot = found.get(theme)
                if spot is not None:
                    entry = Entry(near.setting(spot))
                    self._store(entry)
                    insort(self._by_index, entry, key=_rank)
                    insort(self._by_reduction, entry, key=_proposal_rank)

    def _affected(self) -> set[Key]:
        """The keys the changes noted since the last refresh may affect (module docstring)."""
        g = self.graph.g
        keys: set[Key] = set()

        def readers(node: str | None) -> None:
            if node is not None and node in self._readers:
                keys.update(self._readers[node])

        def reading(node: str | None) -> set[Key]:
            return self._readers.get(node, set()) if node is not None else set()

        worked: dict[str, set[Key]] = {}

        def engaged(actor: str) -> set[Key]:
            """Where the actor works: the keys on which it is (or would be) engaged."""
            found = worked.get(actor)
            if found is None:
                found = worked[actor] = (
                    {
                        (place, theme)
                        for place, edge in g.adj[actor].items()
                        for tie in edge["ties"].values()
                        if tie.type == "active_in" and tie.origin == actor
                        for theme in tie.themes
                    }
                    if actor in g
                    else set()
                )
            return found

        # Both ends of the memberships and coordinations that appeared or went.
        grouped: dict[str, set[str]] = defaultdict(set)
        for a, b, tie in self._ties:
            if tie.type in _GROUP_TIES:
                grouped[a].add(b)
                grouped[b].add(a)
        counted: dict[str, Counter[Key]] = {}

        def together(node: str) -> Counter[Key]:
            """Where the node, and those tied to it by a membership or a coordination (now or
            until these changes), work: how many of them on each key."""
            found = counted.get(node)
            if found is None:
                linked = {node, *grouped.get(node, ())}
                if node in g:
                    linked.update(
                        other
                        for other, edge in g.adj[node].items()
                        if any(t.type in _GROUP_TIES for t in edge["ties"].values())
                    )
                found = counted[node] = Counter(k for actor in linked for k in engaged(actor))
            return found

        def shared(actor: str, node: str) -> set[Key]:
            """The keys on which the actor works with another of those tied to `node`."""
            mine = engaged(actor)
            if not mine:
                return mine
            around = together(node)
            return {key for key in mine if around[key] >= 2}

        def organisation(actor: str | None) -> bool:
            """Whether the actor is, or was before its changes, not a local authority."""
            kinds = {(self._attributes.get(actor) or {}).get("kind")}
            if actor in g:
                kinds.add(g.nodes[actor].get("kind"))
            return kinds - {None} != {"local_authority"}

        def based_in(actor: str) -> set[str]:
            """Where the actor is based, and was before its changes."""
            homes = {g.nodes[actor].get("based_in")} if actor in g else set()
            homes.add((self._attributes.get(actor) or {}).get("based_in"))
            return {home for home in homes if home is not None}

        def tied(node: str, tie_type: str) -> set[str]:
            """Actors with a tie of this type to `node` (from them), now or gone since."""
            found = (
                {other for other, tie in self.graph.ties_of(node, tie_type) if tie.origin == other}
                if node in g
                else set()
            )
            found.update(
                tie.origin
                for a, b, tie in self._ties
                if tie.type == tie_type and node in (a, b) and tie.origin != node
            )
            return {actor for actor in found if actor is not None}

        for a, b, tie in self._ties:
            if tie.type == "active_in":
                place = b if tie.origin == a else a
                keys.update((place, theme) for theme in tie.themes)
                if organisation(tie.origin):
                    # An organisation there: the hotspots of the place, on any theme, among
                    # whose members' homes it is based.
                    at = reading(place)
                    for home in based_in(tie.origin):
                        keys.update(at & reading(home))
            elif tie.type == "cooperates_with":
                keys.update(engaged(a) & engaged(b))
            elif tie.type in _GROUP_TIES:
                # Who shares a group with whom changed only for one end and those tied to the
                # other (its members, if it is the group): it matters where two of them work.
                keys.update(shared(a, b), shared(b, a))
            elif tie.type == "based_in":
                readers(b if tie.origin == a else a)
            elif tie.type == "originates_from" and tie.origin is not None:
                for home in based_in(tie.origin):
                    readers(home)

        for actor, before in self._attributes.items():
            after = g.nodes[actor] if actor in g else None
            if before is None or after is None:
                changed = set(_READ) if before is not after else set()
            else:
                changed = {k for k in _READ if before.get(k) != after.get(k)}
            if not changed:
                continue
            readers(actor)
            if changed & {"kind", "based_in"}:
                keys.update(engaged(actor))
            if changed & {"kind", "based_in", "origins"}:
                # As an association or a migrant organisation of a member's home.
                for home in based_in(actor):
                    readers(home)
            if changed & _HOME:
                keys.update(engaged(actor))
                for resident in tied(actor, "based_in"):
                    keys.update(engaged(resident))
                for migrant in tied(actor, "originates_from"):
                    for home in based_in(migrant):
                        readers(home)
        return keys


@contextmanager
def _collector_set_aside() -> Iterator[None]:
    """While a build makes its many long-lived objects, keep the garbage collector from walking
    the whole graph again each time they trigger a full collection (that was a third of a build
    at 100,000 actors): what exists already is frozen meanwhile, then given back."""
    if gc.get_freeze_count():  # someone froze objects on purpose: leave that alone
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _rank(entry: Entry) -> tuple[float, str, str, str]:
    return entry.rank


def _proposal_rank(entry: Entry) -> tuple[float, str]:
    return entry.proposal_rank

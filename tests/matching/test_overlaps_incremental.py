"""The hotspot read model: kept incrementally, equal to a computation from scratch after every
change, and read without the graph's lock."""

import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from services.matching.api.present import federation_read, hotspot_read
from services.matching.app import create_app
from services.matching.federations import Proposal
from services.matching.follower import Follower, GraphHolder
from services.matching.graph import CooperationGraph, Tie
from services.matching.hotspots import OverlapIndex, OverlapModel
from services.matching.overlaps import Engagement, Hotspot, Pair, coordinated, home_territory
from services.matching.registry_client import RegistryClient
from services.matching.schemas import FederationList, HotspotList
from services.matching.settings import MatchingSettings
from shared.migrate import upgrade
from tests.conftest import Registry
from tests.matching.resources import record

THEMES = ["water_sanitation", "health", "education"]
# Active water work since the same day, with no end: pairs of weight 1.
WATER = {
    "themes": ["water_sanitation"],
    "status": "active",
    "starts_on": "2020-01-01",
    "ends_on": None,
    "target_id": None,
    "target_country": None,
}


# --- the reference: hotspots and proposals computed naively, from their definitions ---------


def _ref_hotspot(graph: CooperationGraph, g: nx.Graph, target: str, theme: str) -> Hotspot:
    engaged: dict[str, Engagement] = {}
    for actor, data in g.adj[target].items():
        if graph.home_of(actor) is None:
            continue
        for tie in data["ties"].values():
            if tie.type == "active_in" and tie.origin == actor and theme in tie.themes:
                engaged.setdefault(actor, Engagement(actor)).ties.append(tie)
    homes = {actor: home_territory(graph, actor) for actor in engaged}
    today, actors, pairs = date.today(), sorted(engaged), []
    for i, a in enumerate(actors):
        for b in actors[i + 1 :]:
            if homes[a] == homes[b] or coordinated(g, a, b):
                continue
            ea, eb = engaged[a], engaged[b]
            themes = len(ea.themes & eb.themes) / len(ea.themes | eb.themes)
            period = 1.0
            if ea.starts_on and eb.starts_on:
                a_end, b_end = ea.ends_on or today, eb.ends_on or today
                shared = (min(a_end, b_end) - max(ea.starts_on, eb.starts_on)).days
                span = (max(a_end, b_end) - min(ea.starts_on, eb.starts_on)).days
                period = 1.0 if span <= 0 else max(0.0, shared / span)
            activity = {2: 1.0, 1: 0.5, 0: 0.25}[int(ea.active) + int(eb.active)]
            weight = round(themes * period * activity, 4)
            pairs.append(Pair(a, b, weight, round(themes, 4), round(period, 4), activity))
    return Hotspot(target, theme, engaged, {a: homes[a] for a in actors}, pairs)


def _ref_hotspots(graph: CooperationGraph) -> list[Hotspot]:
    themes: dict[str, set[str]] = {}
    for a, b, data in graph.g.edges(data=True):
        for tie in data["ties"].values():
            if tie.type == "active_in":
                themes.setdefault(b if tie.origin == a else a, set()).update(tie.themes)
    found = [
        spot
        for place, subjects in themes.items()
        for theme in subjects
        if (spot := _ref_hotspot(graph, graph.g, place, theme)).pairs
    ]
    found.sort(key=lambda s: (-s.index, graph.g.nodes[s.target]["name"], s.theme))
    return found


def _ref_propose(graph: CooperationGraph, spot: Hotspot, dismissed: set) -> Proposal:
    """The proposal as first specified: the index after is the hotspot's index recomputed on
    a copy of the target's neighbourhood where everyone pooled shares a project."""
    g, nodes = graph.g, graph.g.nodes

    def seniority(actor: str) -> tuple:
        start = spot.engagements[actor].starts_on
        return (start is None, start.isoformat() if start else "", actor)

    def apart(a: str, others: list[str]) -> bool:
        return not any(frozenset((a, x)) in dismissed for x in others)

    members: list[str] = []
    left_out: list[str] = []
    for actor in sorted(spot.engagements, key=seniority):
        (members if apart(actor, members) else left_out).append(actor)
    homes = {graph.home_of(m) for m in members} - {None}
    migrants = set()
    for home in homes:
        for organisation, tie in graph.ties_of(home, "based_in") if home in g else ():
            node = nodes[organisation]
            if node["kind"] != "migrant_organisation" or tie.origin != organisation:
                continue
            origins = [o for o in node["origins"] if o in g]
            if spot.target in origins or any(
                nodes[o]["country"] == nodes[spot.target]["country"]
                and nodes[o].get("level") == "region"
                for o in origins
            ):
                migrants.add(organisation)
    bridges = [m for m in sorted(migrants) if apart(m, members)]
    associations = sorted(
        actor
        for actor, tie in graph.ties_of(spot.target, "active_in")
        if tie.origin == actor
        and nodes[actor]["kind"] != "local_authority"
        and nodes[actor].get("based_in") in homes
    )
    associations = [a for a in associations if a not in members and apart(a, members)]
    links: dict[str, list[str]] = {}
    for member in members:
        for other, data in g.adj[member].items():
            if nodes[other]["kind"] in ("resource_centre", "network") and any(
                t.type in ("member_of", "coordinates") for t in data["ties"].values()
            ):
                links.setdefault(other, []).append(member)
    linked = {k: v for k, v in links.items() if len({spot.homes[m] for m in v}) >= 2}
    if linked:
        coordinator = max(sorted(linked), key=lambda k: len(linked[k]))
        names = ", ".join(nodes[m]["name"] for m in sorted(linked[coordinator])[:4])
        reason = f"{nodes[coordinator]['name']} already links {names}"
    else:
        authorities = [m for m in members if nodes[m]["kind"] == "local_authority"] or members
        coordinator = min(authorities, key=lambda m: (seniority(m), -g.degree(m)))
        start = spot.engagements[coordinator].starts_on
        since = f"engaged there since {start.year}, the longest" if start else "the most connected"
        reason = f"{nodes[coordinator]['name']} is {since} among the members"
    pooled = sorted({*members, *bridges, *associations, coordinator})
    around = nx.ego_graph(g, spot.target, radius=2)
    copy = nx.Graph()
    copy.add_nodes_from(around.nodes(data=True))
    copy.add_edges_from((a, b, {"ties": dict(d["ties"])}) for a, b, d in around.edges(data=True))
    shared = Tie("cooperates_with", "proposal", active=False)
    for i, a in enumerate(pooled):
        for b in pooled[i + 1 :]:
            if not copy.has_edge(a, b):
                copy.add_edge(a, b, ties={})
            copy.edges[a, b]["ties"][("proposal", "cooperates_with", None)] = shared
    after = _ref_hotspot(graph, copy, spot.target, spot.theme)
    namespace = uuid.UUID("8a0c3a52-49a3-4f62-9f0e-5f3c1b7f2b61")
    return Proposal(
        id=str(uuid.uuid5(namespace, "|".join([spot.target, spot.theme, coordinator, *pooled]))),
        target=spot.target,
        themes=[spot.theme],
        members=sorted(members),
        migrant_organisations=bridges,
        associations=associations,
        coordinator=coordinator,
        coordinator_reason=reason,
        index_before=spot.index,
        index_after=after.index,
        left_out=sorted(left_out),
    )


# --- random registries and random changes to them -----------------------------------------------


class World:
    """A small random registry (as records), and random changes to it, as the feed brings them:
    out of order sometimes (a convention before one of its parties), never reviving a deletion."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.current: dict[str, tuple[str, dict[str, Any]]] = {}
        self.deleted: set[str] = set()
        self.named = 0
        self.unborn: list[dict[str, Any]] = []
        self.towns: list[str] = []
        for code in ("91228", "91174", "49007", "57463", "97411"):
            self.towns.append(self._actor(level="municipality", insee_code=code))
        self.towns.append(self._actor(level="department", insee_code="49"))
        self.towns.append(self._actor(level="intermunicipality"))
        self.foreign = [
            self._actor(country=c, level="municipality") for c in ["ML", "ML", "ML", "SN"]
        ]
        self.regions = [self._actor(country="ML", level="region")]
        self.organisations = [
            self._actor(kind, based_in_id=self.rng.choice(self.towns))
            for kind in ("association", "association", "migrant_organisation") * 2
        ]
        for organisation in self.organisations:  # origins matter once one is a migrant one
            self.update(organisation, origin_ids=[self.rng.choice(self.foreign + self.regions)])
        self.groups = [self._actor("resource_centre"), self._actor("network")]
        self.funders = [self._actor("public_body")]

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _name(self) -> str:
        self.named += 1
        return f"Place {self.named:03d}"

    def kind(self, actor: str) -> str:
        return self.current[actor][1]["kind"]

    def _put(self, resource: str, data: dict[str, Any]) -> Any:
        self.current[data["id"]] = (resource, data)
        return record(resource, data)

    def _actor(self, kind: str = "local_authority", *, emit: bool = False, **fields: Any) -> str:
        data = {
            "id": self._uuid(),
            "version": 1,
            "kind": kind,
            "name": self._name(),
            "country": "FR",
            "level": None,
            "themes": ["health"],
        } | fields
        self.current[data["id"]] = ("actor", data)
        return data["id"]

    def records(self) -> Iterator[Any]:
        for resource, data in list(self.current.values()):
            yield record(resource, data)

    def alive(self, *pools: list[str]) -> list[str]:
        return [a for pool in pools for a in pool if a not in self.deleted]

    def update(self, rid: str, **fields: Any) -> Any:
        resource, data = self.current[rid]
        return self._put(resource, data | fields | {"version": data["version"] + 1})

    def delete(self, rid: str) -> Any:
        self.deleted.add(rid)
        resource, data = self.current.pop(rid)
        deleted_at = datetime(2025, 1, 1, tzinfo=UTC)
        return record(resource, data | {"version": data["version"] + 1, "deleted_at": deleted_at})

    def _period(self) -> dict[str, Any]:
        if self.rng.random() < 0.2:
            return {"starts_on": None, "ends_on": None}
        start = date(2015, 1, 1) + timedelta(days=self.rng.randrange(3000))
        end = start + timedelta(days=self.rng.randrange(200, 3000))
        return {"starts_on": start.isoformat(), "ends_on": end.isoformat()}

    def _work_fields(self) -> dict[str, Any]:
        rng = self.rng
        targets = self.foreign[:2] * 3 + self.foreign + self.towns[:1]
        target = rng.choice(self.alive(targets) or targets)
        fields: dict[str, Any] = {
            "themes": rng.sample(THEMES, rng.choice([1, 1, 2, 3])),
            "status": rng.choice(["active"] * 4 + ["ended", "suspended", "draft"]),
            "target_id": target,
            "target_country": None,
        } | self._period()
        if rng.random() < 0.1:
            fields |= {"target_id": None, "target_country": rng.choice(["ML", "SN"])}
        return fields

    def _parties(self, count: int) -> list[str]:
        pool = self.alive(self.towns * 3, self.organisations * 2, self.funders) or self.towns
        return self.rng.sample(pool, min(count, len(pool)))

    def work(self, parties: list[str] | None = None, **fields: Any) -> Any:
        rng = self.rng
        parties = parties or self._parties(rng.choice([1, 1, 2, 3]))
        if rng.random() < 0.5:
            base = {
                "kind": "decentralised_cooperation",
                "parties": [{"actor_id": p, "role": "signatory"} for p in parties],
            }
            resource = "convention"
        else:
            base = {
                "lead_id": parties[0],
                "partners": [{"actor_id": p, "role": "partner"} for p in parties[1:]],
            }
            resource = "project"
        data = {"id": self._uuid(), "version": 1} | base | self._work_fields() | fields
        return self._put(resource, data)

    def engaged_pair(self, graph: CooperationGraph) -> list[str] | None:
        """Two actors active in the same target, if any."""
        for node in graph.g:
            active = sorted({a for a, tie in graph.ties_of(node, "active_in") if tie.origin == a})
            if len(active) >= 2:
                return self.rng.sample(active, 2)
        return None

    def change(self, graph: CooperationGraph) -> list[Any]:
        """One random change, as the records the feed would carry."""
        rng = self.rng
        works = [k for k, (r, _) in self.current.items() if r in ("convention", "project")]
        relations = [k for k, (r, _) in self.current.items() if r == "relationship"]
        actors = self.alive(self.towns, self.foreign, self.regions, self.organisations, self.groups)
        what = rng.choice(
            ["work"] * 4
            + ["update work", "delete work", "coordinate", "coordinate"]
            + ["relationship", "relationship", "delete relationship"]
            + ["actor"] * 4
            + ["new actor", "unborn", "delete actor"]
        )
        if what == "update work" and works:
            key = rng.choice(works)
            fields = self._work_fields()
            chosen = rng.choice([*fields, "parties"])
            if chosen == "parties":
                parties = [{"actor_id": p} for p in self._parties(rng.choice([1, 2, 3]))]
                if self.current[key][0] == "convention":
                    return [self.update(key, parties=parties)]
                return [self.update(key, partners=parties)]
            return [self.update(key, **{chosen: fields.get(chosen)})]
        if what == "delete work" and works:
            return [self.delete(rng.choice(works))]
        if what == "coordinate" and (pair := self.engaged_pair(graph)):
            status = rng.choice(["active", "draft"])
            return [self.work(pair, target_id=None, target_country=None, status=status)]
        if what == "relationship":
            kind = rng.choice(["member_of", "member_of", "coordinates", "supports"])
            group, other = rng.choice(self.alive(self.groups) or self.groups), rng.choice(actors)
            subject, obj = (group, other) if kind == "coordinates" else (other, group)
            data = {"id": self._uuid(), "version": 1, "kind": kind}
            return [self._put("relationship", data | {"subject_id": subject, "object_id": obj})]
        if what == "delete relationship" and relations:
            return [self.delete(rng.choice(relations))]
        if what == "actor":
            actor = rng.choice(actors)
            change = rng.choice(
                [
                    {"themes": rng.sample(THEMES, 2)},
                    {"name": self._name()},
                    {"kind": rng.choice(["association", "migrant_organisation", "network"])},
                    {"kind": rng.choice(["association", "migrant_organisation"])},
                    {"kind": "local_authority"},
                    {"based_in_id": rng.choice([None, *self.alive(self.towns)])},
                    {"insee_code": rng.choice(["91001", "49001", "57", None])},
                    {"level": rng.choice(["municipality", "department", "region", None])},
                    {"origin_ids": rng.sample(self.foreign + self.regions, 2)},
                    {"country": rng.choice(["FR", "ML", "SN"])},
                ]
            )
            return [self.update(actor, **change)]
        if what == "new actor":
            kind = rng.choice(["local_authority", "association", "migrant_organisation"])
            fields = {"based_in_id": rng.choice(self.alive(self.towns))}
            if kind == "local_authority":
                fields = {"level": "municipality", "insee_code": rng.choice(["91005", "57005"])}
            elif kind == "migrant_organisation":
                fields["origin_ids"] = [rng.choice(self.foreign + self.regions)]
            actor = self._actor(kind, **fields)
            (self.towns if kind == "local_authority" else self.organisations).append(actor)
            return [record("actor", self.current[actor][1])]
        if what == "unborn":
            # Work with an actor the feed has not brought yet: its ties wait for it.
            town = self._actor(level="municipality", insee_code="86194")
            data = self.current.pop(town)[1]
            self.unborn.append(data)
            return [self.work([town, *self._parties(1)])]
        if what == "delete actor" and len(actors) > 8:
            return [self.delete(rng.choice(actors))]
        if self.unborn:
            data = self.unborn.pop()
            self.towns.append(data["id"])
            return [self._put("actor", data)]
        return [self.work()]


def _apply(index: OverlapIndex, graph: CooperationGraph, records: list[Any], sequence: int):
    """As the follower does: each event watched while applied, waiting ties linked, refresh."""
    for data in records:
        with index.watch(data):
            graph.apply(SimpleNamespace(data=data))
    with index.watch_waiting():
        graph.retry_waiting()
    return index.refresh(sequence)


def _dismissals(model: OverlapModel, rng: random.Random) -> set[frozenset[str]]:
    actors = sorted({a for e in model.by_index for a in e.candidates})
    if len(actors) < 2:
        return set()
    return {frozenset(rng.sample(actors, 2)) for _ in range(3)}


def _shown(model: OverlapModel, dismissed: set[frozenset[str]]) -> dict[str, Any]:
    """Everything the API shows from a model, in order."""
    return {
        "sequence": model.sequence,
        "overlaps": [e.read().model_dump() for e in model.by_index],
        "big ones": [e.key for e in model.hotspots(min_actors=3)],
        "federations": [e.federation(p).model_dump() for p, e in model.proposals()],
        "after dismissals": [
            e.federation(p).model_dump() for p, e in model.proposals(dismissed=dismissed)
        ],
        "metrics": {
            country: (total, count, [e.key for e in top])
            for country in (None, "ML", "SN", "FR")
            for total, count, top in [model.metrics(country)]
        },
    }


def _reference(graph: CooperationGraph, dismissed: set[frozenset[str]]) -> dict[str, Any]:
    spots = _ref_hotspots(graph)

    def federations(pairs: set) -> list[dict[str, Any]]:
        found = sorted(
            (_ref_propose(graph, spot, pairs) for spot in spots),
            key=lambda p: (-p.reduction, p.id),
        )
        return [federation_read(graph, p).model_dump() for p in found]

    return {
        "overlaps": [hotspot_read(graph, spot).model_dump() for spot in spots],
        "federations": federations(set()),
        "after dismissals": federations(dismissed),
        "total": round(sum(spot.index for spot in spots), 4),
    }


@pytest.mark.parametrize("seed", range(40))
def test_after_every_change_the_read_model_equals_a_computation_from_scratch(seed: int):
    world = World(seed)
    graph = CooperationGraph()
    index = OverlapIndex(graph)
    initial = [*world.records(), *(world.work() for _ in range(world.rng.randrange(8, 16)))]
    model = _apply(index, graph, initial, 1)
    for sequence in range(2, 40):
        changes = [r for _ in range(world.rng.choice([1, 1, 1, 2, 4])) for r in world.change(graph)]
        model = _apply(index, graph, changes, sequence)
        dismissed = _dismissals(model, world.rng)
        assert _shown(model, dismissed) == _shown(OverlapIndex(graph, sequence).model, dismissed)
        if sequence % 5 == 0:
            # ...and both are what the definitions give, computed naively.
            expected = _reference(graph, dismissed)
            shown = _shown(model, dismissed)
            for what in ("overlaps", "federations", "after dismissals"):
                assert shown[what] == expected[what], what
            assert shown["metrics"][None][0] == expected["total"]


def _named(world_seed: int = 3) -> tuple[CooperationGraph, OverlapIndex, World]:
    world = World(world_seed)
    graph = CooperationGraph()
    index = OverlapIndex(graph)
    _apply(index, graph, list(world.records()), 1)
    return graph, index, world


def test_each_kind_of_change_reaches_the_hotspot_it_affects():
    graph, index, world = _named()
    kayes, (evry, corbeil, angers, metz) = world.foreign[0], world.towns[:4]
    water = WATER | {"target_id": kayes}
    works = [world.work([town], **water) for town in (evry, angers, metz)]
    model = _apply(index, graph, works, 2)
    [spot] = [e for e in model.by_index if e.key == (kayes, "water_sanitation")]
    assert spot.index == 3.0

    steps: list[tuple[str, list[Any], float | None]] = [
        ("a tie added (same département as Évry)", [world.work([corbeil], **water)], 5.0),
        (
            "a convention ends: Metz's pairs weigh half",
            [world.update(works[2].id, status="ended")],
            3.5,
        ),
        ("an actor's own themes change nothing", [world.update(metz, themes=["youth"])], 3.5),
        ("two engaged actors coordinate", [world.work([evry, angers], **WATER)], 2.5),
        ("a tie removed", [world.delete(works[0].id)], 2.0),
        ("Angers joins Corbeil's département", [world.update(angers, insee_code="91001")], 1.0),
        ("an actor deleted", [world.delete(metz)], None),
    ]
    for sequence, (what, changes, expected) in enumerate(steps, 3):
        model = _apply(index, graph, changes, sequence)
        found = [e.index for e in model.by_index if e.key == (kayes, "water_sanitation")]
        assert found == ([] if expected is None else [expected]), what
        assert model.sequence == sequence
        assert _shown(model, set()) == _shown(OverlapIndex(graph, sequence).model, set()), what


def test_a_change_recomputes_only_the_hotspots_it_may_affect(monkeypatch):
    graph, index, world = _named()
    kayes, bamako = world.foreign[:2]
    works = [world.work([t], **WATER | {"target_id": kayes}) for t in world.towns[:4]]
    works += [world.work([t], **WATER | {"target_id": bamako}) for t in world.towns[2:6]]
    _apply(index, graph, works, 2)
    assert {e.target for e in index.model.by_index} == {kayes, bamako}

    recomputed: list[set] = []
    recompute = index._recompute
    monkeypatch.setattr(
        index, "_recompute", lambda keys: recomputed.append(keys) or recompute(keys)
    )
    _apply(index, graph, [world.work([world.towns[0]], **WATER | {"target_id": kayes})], 3)
    assert recomputed[-1] == {(kayes, "water_sanitation")}
    _apply(index, graph, [world.update(world.towns[5], name="Renamed")], 4)
    assert recomputed[-1] == {(bamako, "water_sanitation")}
    _apply(index, graph, [world.update(world.towns[5], themes=["youth"])], 5)
    assert len(recomputed) == 2, "an actor's own themes change no hotspot"


# --- the API reads the model without the graph's lock ----------------------------------------


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[TestClient, GraphHolder]]:
    database = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(database, "matching")
    app = create_app(
        MatchingSettings(database_url=database, registry_url="http://127.0.0.1:9"), follow=False
    )
    world = World(5)
    for town in (0, 2, 3, 4):  # four départements
        world.work([world.towns[town]], **WATER | {"target_id": world.foreign[0]})
    graph = CooperationGraph()
    for data in world.records():
        graph.apply(SimpleNamespace(data=data))
    holder: GraphHolder = app.state.holder
    holder.graph = graph
    holder.synced = True
    with TestClient(app) as client:
        yield client, holder


def test_whole_graph_answers_do_not_wait_for_the_graph_lock(served):
    client, holder = served
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with holder.lock:  # as the follower applying a long page of events would
            held.set()
            release.wait(30)

    holder_thread = threading.Thread(target=hold_the_lock)
    holder_thread.start()
    answers: dict[str, Any] = {}

    def ask() -> None:
        for path in ("/v1/overlaps", "/v1/metrics/coordination", "/v1/federations"):
            started = time.monotonic()
            response = client.get(path)
            answers[path] = (response.status_code, time.monotonic() - started, response.json())

    try:
        assert held.wait(5)
        asking = threading.Thread(target=ask)
        asking.start()
        asking.join(10)
        assert not asking.is_alive(), "a whole-graph answer waited for the graph's lock"
    finally:
        release.set()
        holder_thread.join()
    assert {code for code, _, _ in answers.values()} == {200}
    assert all(seconds < 5 for _, seconds, _ in answers.values())
    assert answers["/v1/metrics/coordination"][2]["hotspots"] == 1
    [spot] = answers["/v1/overlaps"][2]["items"]
    assert spot["competition_index"] == 6.0
    proposal_id = answers["/v1/federations"][2]["items"][0]["id"]
    assert client.get(f"/v1/federations/{proposal_id}").status_code == 200


def test_listings_are_the_json_of_their_schemas(served):
    client, holder = served
    model = holder.overlaps
    overlaps, federations = client.get("/v1/overlaps"), client.get("/v1/federations")
    expected = HotspotList(items=[e.read() for e in model.by_index], graph_sequence=0)
    assert overlaps.content == expected.model_dump_json().encode()
    proposals = FederationList(
        items=[e.federation(p) for p, e in model.proposals()], graph_sequence=0
    )
    assert federations.content == proposals.model_dump_json().encode()
    metrics = client.get("/v1/metrics/coordination")
    assert overlaps.headers["content-type"] == metrics.headers["content-type"]


# --- through the follower: an adopted federation falls when its project comes back ----------


def test_an_adopted_federation_falls_once_its_draft_project_comes_through_the_feed(
    client, registry: Registry
):
    kayes = registry.authority("Kayes", "ML")
    towns = [
        registry.authority(name, insee_code=code)
        for name, code in (("Évry", "91228"), ("Angers", "49007"), ("Metz", "57463"))
    ]
    for town in towns:
        registry.convention(town, kayes, target_id=kayes["id"], themes=["water_sanitation"])
    follower = Follower(
        GraphHolder(), RegistryClient(client), poll_seconds=0.05, max_backoff_seconds=0.1
    )
    while follower.step():
        pass
    holder = follower.holder
    [spot] = list(holder.overlaps.hotspots())
    assert (spot.target, spot.index, holder.overlaps.sequence) == (kayes["id"], 3.0, holder.applied)

    # Three more towns arrive through the feed (not a snapshot): the hotspot grows.
    for name, code in (("Lyon", "69123"), ("Lille", "59350")):
        town = registry.authority(name, insee_code=code)
        registry.convention(town, kayes, target_id=kayes["id"], themes=["water_sanitation"])
    while follower.step():
        pass
    [spot] = list(holder.overlaps.hotspots())
    assert spot.index == 10.0 and holder.overlaps.sequence == holder.applied

    # What adopting does: the draft project pooling everyone, created in the registry.
    [(proposal, _)] = list(holder.overlaps.proposals())
    registry.post(
        "/v1/projects",
        {
            "title": "Projet fédérateur",
            "lead_id": proposal.coordinator,
            "partners": [
                {"actor_id": actor, "role": "partner"}
                for actor in proposal.everyone
                if actor != proposal.coordinator
            ],
            "target_id": kayes["id"],
            "themes": ["water_sanitation"],
            "status": "draft",
        },
    )
    while follower.step():
        pass
    assert list(holder.overlaps.hotspots()) == []
    assert holder.overlaps.metrics() == (0, 0, ())
    assert holder.overlaps.find(proposal.id) is None, "the proposal is spent"
    assert holder.overlaps.sequence == holder.applied

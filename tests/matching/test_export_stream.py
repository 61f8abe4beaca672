"""GET /v1/graph at scale (issue 13): the whole graph is streamed in every format, above the
20,000 actors that used to be refused, and it is written from a copy outside the graph's lock,
so suggestions are answered while an export is being read."""

import gc
import io
import json
import threading
import tracemalloc
from collections.abc import Iterator

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from services.matching import export
from services.matching.app import create_app
from services.matching.follower import GraphHolder
from services.matching.graph import CooperationGraph
from services.matching.settings import MatchingSettings
from shared.migrate import upgrade
from tests.matching.resources import actor, convention

ACTORS = 20_500


def _big_graph() -> CooperationGraph:
    towns = [
        actor(
            f"00000000-0000-4000-8000-{i:012d}",
            country="FR" if i % 3 else "SN",
            # A few without coordinates: placed beside their partners.
            latitude=None if i % 10 == 0 else 40 + (i % 100) / 10,
            longitude=None if i % 10 == 0 else (i % 70) / 10,
            population=1_000 + i,
        )
        for i in range(ACTORS)
    ]
    ids = [str(t.id) for t in towns]
    ties = [
        convention(f"c{i}", ids[i], ids[(i * 7 + 1) % ACTORS], target_id=ids[(i * 7 + 1) % ACTORS])
        for i in range(0, ACTORS, 2)
    ]
    return CooperationGraph.from_resources(towns, ties, [], [])


@pytest.fixture(scope="module")
def matching(tmp_path_factory) -> Iterator[TestClient]:
    database = f"sqlite:///{tmp_path_factory.mktemp('export') / 'matching.db'}"
    upgrade(database, "matching")
    app = create_app(
        MatchingSettings(
            database_url=database,
            registry_url="http://127.0.0.1:9",
            query_rate_per_ip=0,
            query_rate_per_key=0,
        ),
        follow=False,
    )
    app.state.holder = GraphHolder(graph=_big_graph(), synced=True, reachable=True)
    with TestClient(app) as client:
        yield client


def test_the_whole_graph_above_the_old_limit_is_served_as_graphml_and_parses(matching):
    response = matching.get("/v1/graph", params={"format": "graphml"})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/graphml+xml")
    graph = nx.read_graphml(io.BytesIO(response.content))
    assert graph.number_of_nodes() == ACTORS > 20_000
    assert graph.number_of_edges() == ACTORS // 2
    first = graph.nodes["00000000-0000-4000-8000-000000000001"]
    assert first["population"] == 1_001 and first["kind"] == "local_authority"
    assert first["x"] == pytest.approx(0.1) and first["y"] == pytest.approx(40.1)


def test_the_whole_graph_is_served_as_json(matching):
    response = matching.get("/v1/graph", params={"format": "json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = json.loads(response.content)
    assert len(document["nodes"]) == ACTORS and len(document["edges"]) == ACTORS // 2


def test_suggestions_are_answered_while_an_export_is_streaming(matching):
    holder: GraphHolder = matching.app.state.holder
    sub = export.snapshot(holder.graph, None, 0, holder.lock)
    chunks = export.stream(sub, "graphml")
    first = next(chunks)
    assert first.startswith(b"<?xml")  # the export is under way, and paused
    answered: list[int] = []

    def ask() -> None:
        source = "00000000-0000-4000-8000-000000000004"
        answered.append(matching.get(f"/v1/actors/{source}/suggestions").status_code)

    asking = threading.Thread(target=ask)
    asking.start()
    asking.join(timeout=60)
    assert answered == [200], "a suggestion waited for the export"
    # The rest of the export is still there, whole, and parses.
    graph = nx.read_graphml(io.BytesIO(first + b"".join(chunks)))
    assert graph.number_of_nodes() == ACTORS


def test_the_copy_an_export_wrote_is_freed_without_waiting_for_the_cycle_collector(matching):
    holder: GraphHolder = matching.app.state.holder
    for fmt in ("graphml", "json"):
        gc.collect()
        gc.disable()
        tracemalloc.start()
        try:
            sub = export.snapshot(holder.graph, None, 0, holder.lock)
            copied = tracemalloc.get_traced_memory()[0]
            chunks = export.stream(sub, fmt)
            del sub
            for _chunk in chunks:
                pass
            del chunks, _chunk
            left = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
            gc.enable()
        assert copied > 5_000_000, "the copy of the whole graph is large enough to tell"
        assert left < copied / 10, f"the {fmt} copy waits for the cycle collector"

"""GET /v1/graph in its four formats, on a small graph written through the registry's API.

The registry runs in-process (the `registry` fixture); a follower reads it as the service does
and the matching app serves the graph it built. GraphML is read back with networkx; the
Cytoscape.js and graphology (Sigma.js) shapes are checked key by key as their documentation
gives them.
"""

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from services.matching.app import create_app
from services.matching.follower import Follower, GraphHolder
from services.matching.registry_client import RegistryClient
from services.matching.settings import MatchingSettings
from shared.migrate import upgrade
from tests.conftest import Registry

LILLE_AT = (3.0573, 50.6292)  # (longitude, latitude)
DAKAR_AT = (-17.4467, 14.6928)
BAMAKO_AT = (-8.0029, 12.6392)


@dataclass
class Exported:
    matching: TestClient
    ids: dict[str, str]

    def get(self, fmt: str, **params: Any) -> Any:
        response = self.matching.get("/v1/graph", params={"format": fmt, **params})
        assert response.status_code == 200, response.text
        return response

    def graph(self, fmt: str, **params: Any) -> dict[str, Any]:
        response = self.get(fmt, **params)
        assert response.headers["content-type"] == "application/json"
        return response.json()


@pytest.fixture
def exported(client: TestClient, registry: Registry, tmp_path) -> Iterator[Exported]:
    def place(at: tuple[float, float]) -> dict[str, float]:
        return {"longitude": at[0], "latitude": at[1]}

    lille = registry.authority(
        "Lille", themes=["youth", "culture"], population=236_710, **place(LILLE_AT)
    )
    dakar = registry.authority("Dakar", "SN", themes=["youth"], **place(DAKAR_AT))
    bamako = registry.authority("Bamako", "ML", **place(BAMAKO_AT))
    # Three actors without coordinates: one beside its town, one between its two territories,
    # one tied to nothing.
    ngo = registry.actor("association", "Lille Solidarité", based_in_id=lille["id"])
    diaspora = registry.actor(
        "migrant_organisation",
        "Sénégalais de Lille",
        based_in_id=lille["id"],
        origin_ids=[dakar["id"]],
    )
    alone = registry.actor("association", "Isolée")
    registry.convention(
        lille, dakar, target_id=dakar["id"], themes=["youth"], starts_on="2021-03-01"
    )
    # Known only at country level: the graph gets a node for Mali.
    registry.project(lille, target_country="ML", themes=["water_sanitation"], status="active")

    follower = Follower(
        GraphHolder(), RegistryClient(client), poll_seconds=0.05, max_backoff_seconds=0.1
    )
    while follower.step():
        pass
    database = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(database, "matching")
    app = create_app(
        MatchingSettings(database_url=database, registry_url="http://127.0.0.1:9"), follow=False
    )
    app.state.holder = follower.holder
    ids = {
        "lille": lille["id"],
        "dakar": dakar["id"],
        "bamako": bamako["id"],
        "ngo": ngo["id"],
        "diaspora": diaspora["id"],
        "alone": alone["id"],
        "mali": "country:ML",
    }
    with TestClient(app) as matching:
        yield Exported(matching, ids)


# Every edge of the graph above, as the pair of actors it joins and its tie types.
EDGES = {
    frozenset({"lille", "dakar"}): ["active_in", "cooperates_with"],
    frozenset({"lille", "ngo"}): ["based_in"],
    frozenset({"lille", "diaspora"}): ["based_in"],
    frozenset({"dakar", "diaspora"}): ["originates_from"],
    frozenset({"lille", "mali"}): ["active_in"],
}
NODE_ATTRIBUTES = {
    "name",
    "kind",
    "level",
    "country",
    "latitude",
    "longitude",
    "population",
    "themes",
}


def _pairs(exported: Exported, edges: list[tuple[str, str, list[str]]]) -> dict[frozenset, list]:
    names = {v: k for k, v in exported.ids.items()}
    return {frozenset({names[a], names[b]}): types for a, b, types in edges}


def _beside(point: tuple[float, float], anchor: tuple[float, float]) -> bool:
    """Within the quarter of a degree an actor without coordinates is put from its anchor."""
    return math.dist(point, anchor) == pytest.approx(0.25)


def test_cytoscape_elements_json(exported: Exported):
    graph = exported.graph("cytoscape")
    assert set(graph) == {"data", "elements"}
    assert set(graph["elements"]) == {"nodes", "edges"}
    nodes, edges = graph["elements"]["nodes"], graph["elements"]["edges"]

    ids = [node["data"]["id"] for node in nodes]
    assert sorted(ids) == sorted(exported.ids.values())
    edge_ids = [edge["data"]["id"] for edge in edges]
    # Cytoscape.js keeps nodes and edges in one namespace of ids.
    assert len(set(ids + edge_ids)) == len(ids) + len(edge_ids)
    for node in nodes:
        assert set(node) == {"data", "position"}
        assert set(node["data"]) == NODE_ATTRIBUTES | {"id", "label"}
        assert node["data"]["label"] == node["data"]["name"]
        assert set(node["position"]) == {"x", "y"}
    for edge in edges:
        assert set(edge) == {"data"}
        assert set(edge["data"]) == {"id", "source", "target", "types", "ties", "weight"}
        assert {edge["data"]["source"], edge["data"]["target"]} <= set(ids)
    assert (
        _pairs(
            exported,
            [(e["data"]["source"], e["data"]["target"], e["data"]["types"]) for e in edges],
        )
        == EDGES
    )

    by_id = {node["data"]["id"]: node for node in nodes}
    lille = by_id[exported.ids["lille"]]
    assert lille["data"] | {"themes": set(lille["data"]["themes"])} == {
        "id": exported.ids["lille"],
        "label": "Lille",
        "name": "Lille",
        "kind": "local_authority",
        "level": "municipality",
        "country": "FR",
        "latitude": LILLE_AT[1],
        "longitude": LILLE_AT[0],
        "population": 236_710,
        "themes": {"youth", "culture"},
    }
    # Model pixels, 100 a degree, y downwards: north stays up.
    assert lille["position"] == {"x": pytest.approx(305.73), "y": pytest.approx(-5062.92)}
    assert by_id[exported.ids["dakar"]]["position"]["y"] > lille["position"]["y"]
    [twinning] = [
        e
        for e in edges
        if "cooperates_with" in e["data"]["types"]
        and exported.ids["dakar"] in (e["data"]["source"], e["data"]["target"])
    ]
    assert {tie["type"] for tie in twinning["data"]["ties"]} == {"cooperates_with", "active_in"}
    assert all(
        tie["starts_on"] == "2021-03-01" and tie["themes"] == ["youth"]
        for tie in twinning["data"]["ties"]
    )
    assert twinning["data"]["weight"] == 2


def test_graphology_serialisation_for_sigma(exported: Exported):
    graph = exported.graph("sigma")
    assert set(graph) == {"attributes", "options", "nodes", "edges"}
    assert graph["options"] == {"type": "undirected", "multi": False, "allowSelfLoops": False}
    assert graph["attributes"]["name"]
    keys = [node["key"] for node in graph["nodes"]]
    assert sorted(keys) == sorted(exported.ids.values())
    for node in graph["nodes"]:
        assert set(node) == {"key", "attributes"}
        attributes = node["attributes"]
        assert set(attributes) == NODE_ATTRIBUTES | {"label", "x", "y", "size"}
        # What Sigma.js needs to draw a node: finite numbers and a label.
        assert all(math.isfinite(attributes[k]) for k in ("x", "y", "size"))
        assert attributes["size"] > 0 and attributes["label"] == attributes["name"]
    edge_keys = [edge["key"] for edge in graph["edges"]]
    assert len(set(edge_keys)) == len(edge_keys)
    for edge in graph["edges"]:
        assert set(edge) == {"key", "source", "target", "undirected", "attributes"}
        assert edge["undirected"] is True and edge["source"] != edge["target"]
        assert {edge["source"], edge["target"]} <= set(keys)
        assert set(edge["attributes"]) == {"types", "ties", "weight", "size"}
        assert (
            edge["attributes"]["size"]
            == edge["attributes"]["weight"]
            == len(edge["attributes"]["ties"])
        )
    assert (
        _pairs(
            exported, [(e["source"], e["target"], e["attributes"]["types"]) for e in graph["edges"]]
        )
        == EDGES
    )

    at = {
        key: (n["attributes"]["x"], n["attributes"]["y"])
        for key, n in zip(keys, graph["nodes"], strict=True)
    }
    ids = exported.ids
    assert at[ids["lille"]] == pytest.approx(LILLE_AT)
    assert at[ids["dakar"]] == pytest.approx(DAKAR_AT)
    # Without coordinates: beside the home town, between the two territories, beside the
    # country's own actors; tied to nothing, on a circle around the rest.
    assert _beside(at[ids["ngo"]], LILLE_AT)
    assert _beside(
        at[ids["diaspora"]], ((LILLE_AT[0] + DAKAR_AT[0]) / 2, (LILLE_AT[1] + DAKAR_AT[1]) / 2)
    )
    assert _beside(at[ids["mali"]], BAMAKO_AT)
    assert min(math.dist(at[ids["alone"]], p) for k, p in at.items() if k != ids["alone"]) >= 5
    sizes = {key: n["attributes"]["size"] for key, n in zip(keys, graph["nodes"], strict=True)}
    assert sizes[ids["lille"]] > sizes[ids["dakar"]] > sizes[ids["alone"]]


def test_graphml_reads_back_with_networkx(exported: Exported):
    response = exported.get("graphml")
    assert response.headers["content-type"].startswith("application/graphml+xml")
    graph = nx.read_graphml(io.BytesIO(response.content))
    assert not graph.is_directed()
    assert set(graph.nodes) == set(exported.ids.values())
    assert (
        _pairs(
            exported, [(a, b, sorted(d["types"].split(";"))) for a, b, d in graph.edges(data=True)]
        )
        == EDGES
    )
    lille = graph.nodes[exported.ids["lille"]]
    assert lille == {
        "label": "Lille",
        "name": "Lille",
        "kind": "local_authority",
        "level": "municipality",
        "country": "FR",
        "latitude": pytest.approx(LILLE_AT[1]),
        "longitude": pytest.approx(LILLE_AT[0]),
        "population": 236_710,
        "themes": "culture;youth",
        "x": pytest.approx(LILLE_AT[0]),
        "y": pytest.approx(LILLE_AT[1]),
    }
    # A missing value is left out rather than written as an empty string.
    mali = graph.nodes["country:ML"]
    assert "latitude" not in mali and "population" not in mali
    assert mali["kind"] == "country" and mali["themes"] == ""
    twinning = graph.edges[exported.ids["lille"], exported.ids["dakar"]]
    assert twinning["weight"] == 2 and twinning["sources"].startswith("convention:")


def test_the_four_formats_say_the_same_of_every_node(exported: Exported):
    own = {node["id"]: node for node in exported.graph("json")["nodes"]}
    cytoscape = {
        n["data"]["id"]: n["data"] for n in exported.graph("cytoscape")["elements"]["nodes"]
    }
    sigma = {n["key"]: n["attributes"] for n in exported.graph("sigma")["nodes"]}
    for node_id, node in own.items():
        described = {k: node[k] for k in NODE_ATTRIBUTES}
        assert {k: cytoscape[node_id][k] for k in NODE_ATTRIBUTES} == described
        assert {k: sigma[node_id][k] for k in NODE_ATTRIBUTES} == described
    # Positions agree too: Cytoscape's are Sigma's scaled, with y flipped.
    for n in exported.graph("cytoscape")["elements"]["nodes"]:
        x, y = sigma[n["data"]["id"]]["x"], sigma[n["data"]["id"]]["y"]
        assert n["position"] == {"x": pytest.approx(100 * x), "y": pytest.approx(-100 * y)}


def test_a_neighbourhood_exports_in_every_format(exported: Exported):
    params = {"center": exported.ids["dakar"], "depth": 1}
    near = {exported.ids[k] for k in ("dakar", "lille", "diaspora")}
    assert {
        n["data"]["id"] for n in exported.graph("cytoscape", **params)["elements"]["nodes"]
    } == near
    sigma = exported.graph("sigma", **params)
    assert {n["key"] for n in sigma["nodes"]} == near
    assert {e["source"] for e in sigma["edges"]} | {e["target"] for e in sigma["edges"]} <= near
    graphml = nx.read_graphml(io.BytesIO(exported.get("graphml", **params).content))
    assert set(graphml.nodes) == near


def test_the_openapi_document_declares_every_format(exported: Exported):
    operation = exported.matching.get("/openapi.json").json()["paths"]["/v1/graph"]["get"]
    [fmt] = [p for p in operation["parameters"] if p["name"] == "format"]
    assert set(fmt["schema"]["enum"]) == {"json", "cytoscape", "sigma", "graphml"}
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/graphml+xml"}
    shapes = {
        ref["$ref"].rsplit("/", 1)[1] for ref in content["application/json"]["schema"]["anyOf"]
    }
    assert shapes == {"GraphJson", "CytoscapeGraph", "GraphologyGraph"}

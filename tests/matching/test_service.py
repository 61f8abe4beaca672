"""Both services as real processes on 127.0.0.1: the matching graph follows the registry."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.migrate import upgrade
from tests.processes import Service, free_port


@dataclass
class System:
    registry_env: dict[str, str]
    registry_port: int
    registry: Service
    matching: Service
    matching_url: str

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}"

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.registry_url}{path}", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def authority(self, name: str, country: str = "FR", **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "local_authority",
            "level": "municipality",
            "name": name,
            "country": country,
        }
        return self.post("/v1/actors?not_duplicate=true", body | fields)

    def suggestions(self, actor: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.matching_url}/v1/actors/{actor['id']}/suggestions",
            params={"limit": 50, **params},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.matching_url}/health", timeout=5).json()


def eventually(check: Callable[[], bool], seconds: float = 10, what: str = "") -> None:
    """Wait until `check` holds; until then a failing assertion inside it only means "not yet"
    (e.g. an actor the matching service has not seen yet answers 404)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


@pytest.fixture
def system(tmp_path) -> Iterator[System]:
    registry_db, matching_db = tmp_path / "registry.db", tmp_path / "matching.db"
    upgrade(f"sqlite:///{registry_db}")
    upgrade(f"sqlite:///{matching_db}", "matching")
    registry_port, matching_port = free_port(), free_port()
    registry_env = {"DATABASE_URL": f"sqlite:///{registry_db}", "WEBHOOK_DISPATCHER": "off"}
    matching_env = {
        "MATCHING_DATABASE_URL": f"sqlite:///{matching_db}",
        "MATCHING_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "MATCHING_POLL_SECONDS": "0.2",
        "MATCHING_MAX_BACKOFF_SECONDS": "1",
    }
    registry = Service.api(registry_env, registry_port)
    matching = Service.api(matching_env, matching_port, module="services.matching")
    system = System(
        registry_env, registry_port, registry, matching, f"http://127.0.0.1:{matching_port}"
    )
    try:
        eventually(lambda: system.health()["synced"], what="first snapshot")
        yield system
    finally:
        system.matching.stop()
        system.registry.stop()


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["actor"]["id"] for item in items]


def test_suggestions_follow_conventions_and_deletions_within_seconds(system: System):
    lille = system.authority("Lille", themes=["water_sanitation"], latitude=50.63, longitude=3.06)
    dakar = system.authority("Dakar", "SN", themes=["water_sanitation"])
    thies = system.authority("Thiès", "SN", themes=["water_sanitation"])
    eventually(lambda: dakar["id"] in _ids(system.suggestions(lille)), what="Dakar suggested")
    first = next(s for s in system.suggestions(lille) if s["actor"]["id"] == dakar["id"])
    assert 0 < first["score"] <= 1
    assert {"shared_themes", "complementarity"} <= {r["code"] for r in first["reasons"]}

    system.post(
        "/v1/conventions",
        {
            "kind": "decentralised_cooperation",
            "title": "Lille – Dakar",
            "parties": [{"actor_id": lille["id"]}, {"actor_id": dakar["id"]}],
            "target_id": dakar["id"],
            "themes": ["water_sanitation"],
        },
    )
    eventually(
        lambda: dakar["id"] not in _ids(system.suggestions(lille)),
        what="an existing partner is no longer suggested",
    )

    eventually(lambda: thies["id"] in _ids(system.suggestions(lille)), what="Thiès suggested")
    httpx.delete(f"{system.registry_url}/v1/actors/{thies['id']}", timeout=10)
    eventually(
        lambda: thies["id"] not in _ids(system.suggestions(lille)),
        what="a deleted actor leaves every suggestion",
    )
    gone = httpx.get(f"{system.matching_url}/v1/actors/{thies['id']}/suggestions", timeout=5)
    assert gone.status_code == 404


def test_a_migrant_organisation_bridges_its_two_territories(system: System):
    montreuil = system.authority("Montreuil")
    kayes = system.authority("Kayes", "ML")
    organisation = system.post(
        "/v1/actors",
        {
            "kind": "migrant_organisation",
            "name": "Ressortissants de Kayes à Montreuil",
            "country": "FR",
            "based_in_id": montreuil["id"],
            "origin_ids": [kayes["id"]],
        },
    )

    def bridge() -> dict[str, Any] | None:
        for item in system.suggestions(montreuil):
            if item["actor"]["id"] == kayes["id"]:
                return next((r for r in item["reasons"] if r["code"] == "migrant_bridge"), None)
        return None

    eventually(lambda: bridge() is not None, what="the bridge reason")
    reason = bridge()
    assert reason is not None and reason["details"]["organisation"] == organisation["id"]
    assert "Ressortissants de Kayes à Montreuil" in reason["text"]


def test_a_dismissed_candidate_never_comes_back(system: System):
    lille = system.authority("Lille", themes=["culture"])
    hue = system.authority("Huế", "VN", themes=["culture"])
    eventually(lambda: hue["id"] in _ids(system.suggestions(lille)), what="Huế suggested")
    url = f"{system.matching_url}/v1/actors/{lille['id']}/suggestions/{hue['id']}/feedback"
    saved = httpx.post(url, json={"verdict": "dismissed", "comment": "déjà en contact"}, timeout=5)
    assert saved.status_code == 201 and saved.json()["verdict"] == "dismissed"
    assert hue["id"] not in _ids(system.suggestions(lille))
    bad = httpx.post(url, json={"verdict": "maybe"}, timeout=5)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_matching_keeps_serving_while_the_registry_restarts_then_catches_up(system: System):
    lille = system.authority("Lille", themes=["youth"])
    system.authority("Dakar", "SN", themes=["youth"])
    eventually(lambda: system.health()["lag"] == 0 and system.health()["nodes"] == 2)

    system.registry.stop()
    eventually(lambda: not system.health()["registry_reachable"], what="the outage is reported")
    assert len(system.suggestions(lille)) == 1, "the last graph is still served"

    system.registry = Service.api(system.registry_env, system.registry_port)
    kayes = system.authority("Kayes", "ML", themes=["youth"])
    eventually(lambda: kayes["id"] in _ids(system.suggestions(lille)), seconds=15, what="catch-up")
    health = system.health()
    assert health["registry_reachable"] and health["lag"] == 0 and health["nodes"] == 3


def test_the_graph_exports_as_json_and_graphml(system: System):
    lille = system.authority("Lille")
    dakar = system.authority("Dakar", "SN")
    system.post(
        "/v1/conventions",
        {
            "kind": "twinning",
            "title": "Jumelage",
            "parties": [{"actor_id": lille["id"]}, {"actor_id": dakar["id"]}],
        },
    )

    def edges() -> list[dict[str, Any]]:
        return httpx.get(f"{system.matching_url}/v1/graph", timeout=5).json()["edges"]

    eventually(lambda: len(edges()) == 1, what="the convention in the graph")
    around = httpx.get(
        f"{system.matching_url}/v1/graph", params={"center": lille["id"], "depth": 1}, timeout=5
    ).json()
    assert {n["id"] for n in around["nodes"]} == {lille["id"], dakar["id"]}
    assert around["edges"][0]["types"] == ["cooperates_with"]
    graphml = httpx.get(f"{system.matching_url}/v1/graph", params={"format": "graphml"}, timeout=5)
    assert graphml.headers["content-type"].startswith("application/graphml+xml")
    assert "<graphml" in graphml.text and "Dakar" in graphml.text

"""Both services as real processes on 127.0.0.1: the matching graph follows the registry."""

import time
import uuid
from typing import Any

import httpx
from sqlmodel import Session

from services.registry.models import Event
from shared.db import make_engine
from tests.conftest import assert_problem, bearer
from tests.matching.conftest import System, eventually
from tests.processes import Service


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["actor"]["id"] for item in items]


def test_suggestions_follow_conventions_and_deletions_within_seconds(system: System):
    lille = system.authority("Lille", themes=["water_sanitation"], latitude=50.63, longitude=3.06)
    dakar = system.authority("Dakar", "SN", themes=["water_sanitation"])
    thies = system.authority("Thiès", "SN", themes=["water_sanitation"])
    eventually(lambda: dakar["id"] in _ids(system.suggestions(lille)), what="Dakar suggested")
    first = next(s for s in system.suggestions(lille) if s["actor"]["id"] == dakar["id"])
    assert 0 < first["score"] <= 1
    assert "shared_themes" in {r["code"] for r in first["reasons"]}

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
    system.client.delete(f"/v1/actors/{thies['id']}")
    eventually(
        lambda: thies["id"] not in _ids(system.suggestions(lille)),
        what="a deleted actor leaves every suggestion",
    )
    gone = httpx.get(f"{system.matching_url}/v1/actors/{thies['id']}/suggestions", timeout=5)
    assert gone.status_code == 404


def _bridged(system: System) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Montreuil, Kayes, and a migrant organisation based in one and originating from the other."""
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
    return montreuil, kayes, organisation


def test_a_migrant_organisation_bridges_its_two_territories(system: System):
    montreuil, kayes, organisation = _bridged(system)

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
    admin = bearer(system.admin_key)
    saved = httpx.post(
        url, json={"verdict": "dismissed", "comment": "déjà en contact"}, headers=admin, timeout=5
    )
    assert saved.status_code == 201 and saved.json()["verdict"] == "dismissed"
    assert saved.json()["key_name"] == "test admin", "the feedback names the key that gave it"
    assert hue["id"] not in _ids(system.suggestions(lille))
    bad = httpx.post(url, json={"verdict": "maybe"}, headers=admin, timeout=5)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    itself = f"{system.matching_url}/v1/actors/{lille['id']}/suggestions/{lille['id']}/feedback"
    refused = httpx.post(itself, json={"verdict": "accepted"}, headers=admin, timeout=5)
    assert_problem(refused, 422, "candidate_id")


def test_matching_keeps_serving_while_the_registry_restarts_then_catches_up(system: System):
    lille = system.authority("Lille", themes=["youth"])
    system.authority("Dakar", "SN", themes=["youth"])
    eventually(lambda: system.health()["lag"] == 0 and system.health()["nodes"] == 2)

    system.registry.stop()
    eventually(lambda: not system.health()["registry_reachable"], what="the outage is reported")
    assert len(system.suggestions(lille)) == 1, "the last graph is still served"
    eventually(lambda: system.health()["seconds_since_registry_contact"] >= 1, what="time passes")
    during = system.health()
    assert during["status"] == "degraded" and during["synced"] is False
    assert during["lag"] is None and during["registry_head"] is None, "the lag is unknown"

    system.registry = Service.api(system.registry_env, system.registry_port)
    back = time.monotonic()
    eventually(lambda: system.health()["registry_reachable"], seconds=10, what="reconnected")
    # The follower's backoff is capped at 1 s here (MATCHING_MAX_BACKOFF_SECONDS).
    assert time.monotonic() - back < 3
    kayes = system.authority("Kayes", "ML", themes=["youth"])
    eventually(lambda: kayes["id"] in _ids(system.suggestions(lille)), seconds=15, what="catch-up")
    health = system.health()
    assert health["registry_reachable"] and health["lag"] == 0 and health["nodes"] == 3
    assert health["status"] == "ok" and health["synced"] is True


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


def test_a_malformed_event_in_the_feed_is_skipped_and_shown_in_health(system: System):
    lille = system.authority("Lille", themes=["youth"])
    eventually(lambda: system.health()["nodes"] == 1, what="Lille in the graph")
    engine = make_engine(system.registry_env["DATABASE_URL"])
    try:
        with Session(engine) as session:
            bad = Event(
                type="actor.updated",
                resource_type="actor",
                resource_id=uuid.UUID(lille["id"]),
                resource_version=2,
                data={"id": lille["id"], "version": 2, "name": None},
            )
            session.add(bad)
            session.commit()
            bad_sequence = bad.sequence
    finally:
        engine.dispose()
    dakar = system.authority("Dakar", "SN", themes=["youth"])
    eventually(lambda: dakar["id"] in _ids(system.suggestions(lille)), what="the next event")
    health = system.health()
    assert health["skipped_events"] == 1 and health["last_skipped_sequence"] == bad_sequence
    assert "malformed event" in health["last_skipped_reason"]
    assert health["status"] == "ok" and health["lag"] == 0


def test_reasons_are_in_french_when_accept_language_prefers_it(system: System):
    montreuil, kayes, _ = _bridged(system)
    url = f"{system.matching_url}/v1/actors/{montreuil['id']}/suggestions"

    def texts(language: str | None) -> dict[str, str]:
        headers = {"Accept-Language": language} if language else {}
        answer = httpx.get(url, params={"limit": 50}, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-language"] == ("fr" if "fr" in (language or "") else "en")
        item = next((i for i in answer.json()["items"] if i["actor"]["id"] == kayes["id"]), None)
        assert item is not None, "Kayes is not suggested yet"
        return {r["code"]: r["text"] for r in item["reasons"]}

    eventually(lambda: "migrant_bridge" in texts(None), what="the bridge reason")
    english, french = texts(None), texts("fr-FR,fr;q=0.9,en;q=0.5")
    assert set(english) == set(french)
    assert english["migrant_bridge"] == (
        "Ressortissants de Kayes à Montreuil is based in Montreuil and originates from Kayes"
    )
    assert french["migrant_bridge"] == (
        "Ressortissants de Kayes à Montreuil est basée à Montreuil et originaire de Kayes"
    )
    # Asked again in English after French: the answers kept per language do not mix.
    assert texts("en") == english and texts(None) == english
    assert texts("de, fr;q=0.8") == french

"""The registry → matching contract: what the registry writes into its feed parses as the
typed events the matching service reads, and a registry shape that drifts fails at the write."""

import logging

import pytest
from pydantic import ValidationError

from services.registry import outbox
from services.registry.models import Actor
from services.registry.schemas import ActorRead
from shared.events import ActorDeleted, ActorEvent, ConventionEvent, parse_event
from shared.records import ActorRecord
from tests.conftest import Registry


def test_every_event_the_registry_writes_parses_with_the_contract(client, registry: Registry):
    lille = registry.authority("Lille")
    dakar = registry.authority("Dakar", country="SN")
    convention = registry.convention(lille, dakar, target_id=dakar["id"], themes=["culture"])
    client.patch(f"/v1/actors/{dakar['id']}", json={"population": 1_400_000})
    client.delete(f"/v1/conventions/{convention['id']}")
    client.delete(f"/v1/actors/{lille['id']}")
    items = client.get("/v1/events").json()["items"]
    events = [parse_event(item) for item in items]

    assert [e.type for e in events] == [
        "actor.created",
        "actor.created",
        "convention.created",
        "actor.updated",
        "convention.deleted",
        "actor.deleted",
    ]
    assert isinstance(events[2], ConventionEvent)
    assert {str(p.actor_id) for p in events[2].data.parties} == {lille["id"], dakar["id"]}
    assert isinstance(events[3], ActorEvent) and events[3].data.population == 1_400_000
    assert isinstance(events[5], ActorDeleted) and events[5].data.deleted_at is not None


def test_an_event_that_contradicts_itself_is_refused():
    good = {
        "id": "4f1a1b8e-6d0e-4e39-9c1e-1f8a4c1d2e3f",
        "type": "actor.created",
        "sequence": 7,
        "occurred_at": "2026-01-01T00:00:00Z",
        "resource": {"type": "actor", "id": "0b8f9a34-5a8c-4a45-9d3b-6c1d2e3f4a5b", "version": 1},
        "data": {
            "id": "0b8f9a34-5a8c-4a45-9d3b-6c1d2e3f4a5b",
            "version": 1,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "kind": "association",
            "name": "Eau Vive",
            "country": "FR",
        },
    }
    assert parse_event(good).data.name == "Eau Vive"
    for broken in (
        good | {"type": "actor.exploded"},
        good | {"resource": good["resource"] | {"version": 2}},
        good | {"type": "convention.created"},
        good | {"type": "actor.deleted"},
        good | {"data": {k: v for k, v in good["data"].items() if k != "country"}},
    ):
        with pytest.raises(ValidationError):
            parse_event(broken)


def test_a_registry_field_missing_from_the_contract_fails_the_write(monkeypatch, caplog, registry):
    class WiderActorRead(ActorRead):
        motto: str = "ensemble"

    monkeypatch.setitem(outbox._PUBLIC_SHAPES, Actor, ("actor", WiderActorRead, ActorRecord))
    with caplog.at_level(logging.ERROR):
        response = registry.client.post(
            "/v1/actors", json={"kind": "association", "name": "Eau Vive", "country": "FR"}
        )
    assert response.status_code == 500
    assert "WiderActorRead has motto, which ActorRecord" in caplog.text
    # Refused as a whole: neither the actor nor an event that consumers could not read.
    assert registry.client.get("/v1/actors").json()["items"] == []
    assert registry.client.get("/v1/events").json()["items"] == []

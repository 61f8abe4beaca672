"""Reads served from stored documents answer exactly what the response models would, stay
current through every change, and rows without a document are read the slow way and
backfilled by `migrate`."""

import json
import uuid
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from services.registry.documents import DOCUMENTED, backfill
from services.registry.feed import backfill_envelopes
from services.registry.models import Actor, Event
from services.registry.outbox import envelope, public_shape
from tests.conftest import Registry


def _network(registry: Registry) -> dict[str, Any]:
    lille = registry.authority("Lille", insee_code="59350", themes=["water_sanitation"])
    kayes = registry.authority("Kayes", country="ML")
    association = registry.actor(
        "association", "Lille Eau Solidaire", based_in_id=lille["id"], intervention_countries=["ML"]
    )
    convention = registry.convention(lille, kayes, title="Coopération Lille – Kayes")
    project = registry.project(association, kayes, title="Puits à Kayes")
    return {"lille": lille, "kayes": kayes, "convention": convention, "project": project}


def _stored_match_schemas(engine: Engine) -> int:
    checked = 0
    with Session(engine) as session:
        for model in DOCUMENTED:
            for row in session.exec(select(model).where(model.deleted_at.is_(None))):  # type: ignore[attr-defined]
                expected = public_shape(model).model_validate(row).model_dump_json()
                assert row.document == expected, model.__name__
                checked += 1
    return checked


def test_documents_follow_every_change(client, registry: Registry, engine: Engine):
    made = _network(registry)
    lille = made["lille"]
    assert (
        client.patch(
            f"/v1/actors/{lille['id']}", json={"population": 236710}, headers={"If-Match": '"1"'}
        ).status_code
        == 200
    )
    convention = made["convention"]
    assert (
        client.patch(
            f"/v1/conventions/{convention['id']}",
            json={"status": "ended"},
            headers={"If-Match": '"1"'},
        ).status_code
        == 200
    )
    assert _stored_match_schemas(engine) >= 5


def test_reads_from_documents_equal_the_response_models(client, registry: Registry, engine):
    made = _network(registry)
    with Session(engine) as session:
        lille = session.get(Actor, uuid.UUID(made["lille"]["id"]))
        expected = public_shape(Actor).model_validate(lille).model_dump(mode="json")
    one = client.get(f"/v1/actors/{made['lille']['id']}")
    assert one.json() == expected | {"private_contact": None}
    assert one.headers["ETag"] == '"1"'
    assert one.headers["content-type"] == "application/json"
    listed = client.get("/v1/actors?limit=2").json()
    assert len(listed["items"]) == 2 and listed["next_cursor"] and listed["next"]
    everything = client.get("/v1/actors?limit=100").json()
    assert expected in everything["items"] and everything["next"] is None

    feed = client.get("/v1/events?after=0&limit=3").json()
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(Event.sequence).limit(3)).all()
        assert feed["items"] == [envelope(e).model_dump(mode="json") for e in events]
    assert feed["next_after"] == events[-1].sequence


def test_rows_without_a_document_are_read_the_slow_way_then_backfilled(
    client, registry: Registry, engine: Engine
):
    made = _network(registry)
    before = {
        path: client.get(path).json()
        for path in (
            f"/v1/actors/{made['kayes']['id']}",
            f"/v1/conventions/{made['convention']['id']}",
            f"/v1/projects/{made['project']['id']}",
            "/v1/actors",
            "/v1/relationships",
            # A page and its cursor: from the stored documents, the order's columns are read
            # as the driver gives them and only the last row's are typed for the cursor.
            "/v1/actors?limit=2",
            "/v1/actors?limit=1&country=FR",
        )
    }
    assert before["/v1/actors?limit=2"]["next_cursor"]
    with engine.begin() as connection:
        for model in DOCUMENTED:
            connection.execute(update(model).values(document=None))
    assert {path: client.get(path).json() for path in before} == before

    with Session(engine) as session:
        assert backfill(session) >= 5
        assert backfill(session) == 0
    assert _stored_match_schemas(engine) >= 5
    assert {path: client.get(path).json() for path in before} == before


def test_whole_listings_as_json_lines_equal_the_paged_listings(anonymous, registry: Registry):
    _network(registry)
    for resource in ("actors", "conventions", "projects", "relationships"):
        response = anonymous.get(f"/v1/exports/{resource}.ndjson")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert lines == anonymous.get(f"/v1/{resource}?limit=200").json()["items"]
    only_mali = anonymous.get("/v1/exports/actors.ndjson?country=ML").text.splitlines()
    assert [json.loads(line)["name"] for line in only_mali] == ["Kayes"]


def test_the_feed_from_stored_envelopes_equals_the_envelope_model_also_for_older_events(
    client, registry: Registry, engine: Engine
):
    _network(registry)
    registry.actor("association", "Une deuxième association")
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(Event.sequence)).all()
        expected = [envelope(e).model_dump(mode="json") for e in events]
        assert all(e.envelope is not None for e in events)
        # Events written before envelopes were stored: every other one has none.
        older = [e.sequence for e in events[::2]]
        session.exec(update(Event).where(Event.sequence.in_(older)).values(envelope=None))  # type: ignore[call-overload, union-attr]
        session.commit()
    feed = client.get(f"/v1/events?after=0&limit={len(expected)}").json()
    assert feed["items"] == expected
    assert [item["sequence"] for item in feed["items"]] == [e["sequence"] for e in expected]
    filtered = client.get("/v1/events?after=0&types=actor.created").json()["items"]
    assert filtered == [e for e in expected if e["type"] == "actor.created"]
    with Session(engine) as session:
        assert backfill_envelopes(session, chunk=2) == len(older)
        assert backfill_envelopes(session) == 0
    assert client.get(f"/v1/events?after=0&limit={len(expected)}").json()["items"] == expected

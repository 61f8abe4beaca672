"""The outbox and the change feed: one event per committed change, none for a refused one,
and a consumer that follows the feed never misses an event, even with concurrent writers."""

import random
import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from services.registry.actors import create_actor
from services.registry.feed import purge_expired, read_feed
from services.registry.schemas import ActorCreate
from shared.access import SYSTEM
from shared.db import new_session
from tests.conftest import Registry, commits_fail


def _events(client, **params) -> list[dict]:
    page = client.get("/v1/events", params={"limit": 200, **params})
    assert page.status_code == 200, page.text
    return page.json()["items"]


def test_every_write_appends_one_event_with_the_whole_resource(client, registry: Registry):
    lille = registry.authority(
        "Lille", insee_code="59350", private_contact={"email": "m@example.org"}
    )
    dakar = registry.authority("Dakar", country="SN")
    convention = registry.convention(lille, dakar)
    client.patch(f"/v1/actors/{lille['id']}", json={"population": 236710})
    client.patch(f"/v1/conventions/{convention['id']}", json={"status": "ended"})
    client.delete(f"/v1/conventions/{convention['id']}")

    events = _events(client)
    assert [e["type"] for e in events] == [
        "actor.created",
        "actor.created",
        "convention.created",
        "actor.updated",
        "convention.updated",
        "convention.deleted",
    ]
    assert [e["sequence"] for e in events] == sorted({e["sequence"] for e in events})
    updated = events[3]
    assert updated["resource"] == {"type": "actor", "id": lille["id"], "version": 2}
    assert updated["data"]["population"] == 236710
    assert updated["data"]["insee_code"] == "59350"
    assert all("private_contact" not in e["data"] for e in events)
    tombstone = events[-1]["data"]
    assert tombstone["id"] == convention["id"] and tombstone["deleted_at"]


def test_a_refused_or_failed_write_leaves_no_event(client, registry: Registry):
    registry.actor("association", "Eau Vive")
    assert (
        client.post("/v1/actors", json={"kind": "x", "name": "A", "country": "FR"}).status_code
        == 422
    )
    unsafe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    with commits_fail():
        response = unsafe.post(
            "/v1/actors", json={"kind": "association", "name": "B", "country": "FR"}
        )
    assert response.status_code == 500
    assert [e["type"] for e in _events(client)] == ["actor.created"]


def test_deleting_an_actor_also_publishes_its_relationships_tombstones(client, registry: Registry):
    ngo = registry.actor("association", "Eau Vive")
    network = registry.actor("network", "Réseau")
    tie = registry.post(
        "/v1/relationships",
        {"kind": "member_of", "subject_id": ngo["id"], "object_id": network["id"]},
    )
    client.delete(f"/v1/actors/{ngo['id']}")
    last = _events(client)[-2:]
    assert [(e["type"], e["resource"]["id"]) for e in last] == [
        ("actor.deleted", ngo["id"]),
        ("relationship.deleted", tie["id"]),
    ]


def test_the_feed_pages_by_cursor_and_filters_by_type(client, registry: Registry):
    for i in range(5):
        registry.actor("association", f"Association {i}")
    lille = registry.authority("Lille")
    registry.authority("Dakar", country="SN")
    registry.convention(lille, registry.authority("Kayes", country="ML"))

    first = client.get("/v1/events", params={"limit": 3}).json()
    assert [e["sequence"] for e in first["items"]] == [1, 2, 3]
    assert first["next_after"] == 3 and first["head"] == 9
    second = client.get(first["next"]).json()
    assert [e["sequence"] for e in second["items"]] == [4, 5, 6]

    conventions = client.get("/v1/events", params={"types": "convention.*"}).json()
    assert [e["type"] for e in conventions["items"]] == ["convention.created"]
    assert conventions["next_after"] == 9, "a filtered page still moves the cursor to the head"
    both = client.get("/v1/events", params={"types": "convention.created,actor.updated"}).json()
    assert len(both["items"]) == 1
    repeated = client.get(
        "/v1/events", params=[("types", "actor.created"), ("types", "convention.created")]
    )
    assert len(repeated.json()["items"]) == 9
    bad = client.get("/v1/events", params={"types": "actor.exploded"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "types"

    empty = client.get("/v1/events", params={"after": 9}).json()
    assert empty["items"] == [] and empty["next_after"] == 9
    assert client.get("/v1/events/head").json() == {"head": 9, "purged_through": 0}


def test_a_cursor_older_than_retention_gets_a_410_telling_to_resynchronise(
    client, registry, engine
):
    for i in range(4):
        registry.actor("association", f"Association {i}")
    with Session(engine) as session:
        assert purge_expired(session, timedelta(seconds=0)) == 4
        session.commit()
    gone = client.get("/v1/events", params={"after": 2})
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert "resynchronise" in gone.json()["detail"]
    assert gone.json()["purged_through"] == 4
    registry.actor("association", "Association neuve")
    fresh = client.get("/v1/events", params={"after": 4}).json()
    assert [e["sequence"] for e in fresh["items"]] == [5]
    assert client.get("/v1/events/head").json() == {"head": 5, "purged_through": 4}


def test_a_consumer_following_the_feed_sees_every_event_of_concurrent_writers_once(engine):
    """Writers hold their transaction open for a random moment after drawing their sequence
    number, so numbers commit out of order unless the outbox orders them."""
    writers, per_writer = 8, 25
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        rng = random.Random(writer)
        try:
            for i in range(per_writer):
                for session in new_session(engine):
                    session.info["principal"] = SYSTEM
                    body = ActorCreate(kind="association", name=f"W{writer}-{i}", country="FR")
                    create_actor(session, body, names=None, duplicate_threshold=None)
                    time.sleep(rng.random() * 0.01)
                    session.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def follow() -> None:
        after = 0
        while True:
            done = stop.is_set()
            for session in new_session(engine):
                events, after, _head = read_feed(session, after=after, limit=20, types=[])
                seen.extend(event.sequence for event in events)
            if done and not events:
                return
            time.sleep(0.001)

    consumer = threading.Thread(target=follow)
    consumer.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    consumer.join(timeout=60)
    assert not errors, errors
    for session in new_session(engine):
        everything, _, _head = read_feed(session, after=0, limit=10_000, types=[])
    assert len(everything) == writers * per_writer
    assert sorted(seen) == [event.sequence for event in everything]
    assert len(seen) == len(set(seen)), "an event was seen twice"

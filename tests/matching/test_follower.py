"""The follower keeps the graph equal to the registry: snapshot, feed, idempotence, resync."""

import json
import time
import uuid
from datetime import timedelta

import httpx
from sqlmodel import Session

from services.matching.follower import Follower, GraphHolder
from services.matching.graph import CooperationGraph
from services.matching.registry_client import RegistryClient
from services.registry.feed import purge_expired
from services.registry.models import Event
from tests.conftest import Registry


def _follower(client) -> Follower:
    # The registry's in-process test client is an httpx.Client: the real client code runs.
    return Follower(
        GraphHolder(), RegistryClient(client), poll_seconds=0.05, max_backoff_seconds=0.1
    )


def _catch_up(follower: Follower) -> None:
    while follower.step():
        pass


def test_a_snapshot_then_the_feed_keep_the_graph_equal_to_the_registry(client, registry: Registry):
    lille = registry.authority("Lille")
    dakar = registry.authority("Dakar", country="SN")
    follower = _follower(client)
    _catch_up(follower)
    holder = follower.holder
    assert holder.synced and holder.status()["lag"] == 0
    assert holder.graph.has_actor(lille["id"]) and holder.graph.has_actor(dakar["id"])

    convention = registry.convention(
        lille, dakar, target_id=dakar["id"], themes=["water_sanitation"]
    )
    ngo = registry.actor("association", "Eau Vive Lille", based_in_id=lille["id"])
    _catch_up(follower)
    graph = holder.graph
    assert {t.type for t in graph.ties(lille["id"], dakar["id"])} == {
        "cooperates_with",
        "active_in",
    }
    assert [t.type for t in graph.ties(ngo["id"], lille["id"])] == ["based_in"]
    assert holder.applied == client.get("/v1/events/head").json()["head"]

    client.patch(f"/v1/conventions/{convention['id']}", json={"status": "ended"})
    _catch_up(follower)
    assert all(not t.active for t in graph.ties(lille["id"], dakar["id"]))
    client.delete(f"/v1/conventions/{convention['id']}")
    client.delete(f"/v1/actors/{ngo['id']}")
    _catch_up(follower)
    assert graph.ties(lille["id"], dakar["id"]) == []
    assert not graph.has_actor(ngo["id"])


def test_a_cursor_behind_retention_rebuilds_the_graph_from_a_snapshot(
    client, registry: Registry, engine
):
    lille = registry.authority("Lille")
    follower = _follower(client)
    _catch_up(follower)
    follower.holder.applied = 0  # as if it had been away for longer than the retention period
    with Session(engine) as session:
        purge_expired(session, timedelta(seconds=0))
        session.commit()
    kayes = registry.authority("Kayes", country="ML")
    _catch_up(follower)
    graph = follower.holder.graph
    assert graph.has_actor(lille["id"]) and graph.has_actor(kayes["id"])
    assert follower.holder.applied == client.get("/v1/events/head").json()["head"]


def test_an_unreachable_registry_is_reported_and_retried():
    down = httpx.Client(base_url="http://127.0.0.1:9", timeout=0.5)
    follower = Follower(
        GraphHolder(), RegistryClient(down), poll_seconds=0.05, max_backoff_seconds=0.1
    )
    follower.start()
    try:
        deadline = time.monotonic() + 5
        while follower.holder.status()["registry_reachable"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        follower.stop()
        down.close()
    status = follower.holder.status()
    assert status["synced"] is False and "ConnectError" in status["last_error"]
    assert status["status"] == "degraded" and status["lag"] is None


def _inject_event(engine, event_type: str, resource_id: str, data: dict) -> int:
    """An event row written straight into the registry's outbox, bypassing its contract."""
    with Session(engine) as session:
        row = Event(
            type=event_type,
            resource_type=event_type.split(".")[0],
            resource_id=uuid.UUID(resource_id),
            resource_version=data.get("version", 1),
            data=data,
        )
        session.add(row)
        session.commit()
        assert row.sequence is not None
        return row.sequence


def test_a_malformed_event_is_reported_and_skipped_and_the_next_one_applied(
    client, registry: Registry, engine
):
    lille = registry.authority("Lille")
    follower = _follower(client)
    _catch_up(follower)
    broken = {k: v for k, v in lille.items() if k != "name"} | {"version": 2, "kind": "alien"}
    bad = _inject_event(engine, "actor.updated", lille["id"], broken)
    dakar = registry.authority("Dakar", country="SN")
    _catch_up(follower)

    status = follower.holder.status()
    assert status["skipped_events"] == 1
    assert status["last_skipped_sequence"] == bad
    assert "name" in status["last_skipped_reason"] and "kind" in status["last_skipped_reason"]
    assert follower.holder.graph.has_actor(dakar["id"]), "the event after it is applied"
    assert follower.holder.graph.actor(lille["id"])["name"] == "Lille", (
        "the bad one changed nothing"
    )
    assert status["lag"] == 0 and status["status"] == "ok"


class _Exploding(CooperationGraph):
    """A graph whose code fails on one actor, as a bug in applying one event would."""

    def put_actor(self, actor) -> None:
        if actor.name == "Boom":
            raise RuntimeError("cannot apply this one")
        super().put_actor(actor)


class _FlakyRegistry(RegistryClient):
    """Fails once with an unexpected exception (not an HTTP error) while reading the feed."""

    failed = False

    def events(self, after: int, limit: int = 200):
        if not self.failed:
            self.failed = True
            raise LookupError("unexpected")
        return super().events(after, limit)


def _wait(check, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_the_follower_loop_survives_any_exception_and_keeps_applying(client, registry: Registry):
    follower = Follower(
        GraphHolder(), _FlakyRegistry(client), poll_seconds=0.02, max_backoff_seconds=0.05
    )
    follower.resync()
    follower.holder.graph = _Exploding()
    follower.start()
    try:
        boom = registry.authority("Boom")
        kayes = registry.authority("Kayes", country="ML")
        _wait(lambda: follower.holder.graph.has_actor(kayes["id"]))
        assert follower._thread is not None and follower._thread.is_alive()
        status = follower.holder.status()
        assert follower.registry.failed, "the unexpected exception did happen"
        assert not follower.holder.graph.has_actor(boom["id"])
        assert status["skipped_events"] == 1
        assert "RuntimeError: cannot apply this one" in status["last_skipped_reason"]
        _wait(lambda: follower.holder.status()["status"] == "ok")
    finally:
        follower.stop()


def test_while_the_registry_is_unreachable_the_lag_is_unknown_and_health_degraded(
    client, registry: Registry
):
    registry.authority("Lille")
    follower = _follower(client)
    _catch_up(follower)
    assert follower.holder.status()["lag"] == 0
    down = httpx.Client(base_url="http://127.0.0.1:9", timeout=0.5)
    follower.registry = RegistryClient(down)
    follower.start()
    try:
        _wait(lambda: not follower.holder.status()["registry_reachable"])
        time.sleep(0.3)
        status = follower.holder.status()
    finally:
        follower.stop()
        down.close()
    assert status["status"] == "degraded"
    assert status["lag"] is None and status["registry_head"] is None
    assert status["synced"] is False and status["loaded"] is True
    assert status["seconds_since_registry_contact"] >= 0.3
    assert "ConnectError" in status["last_error"]


def test_a_malformed_listing_item_is_skipped_and_the_rest_of_the_snapshot_loads():
    good = str(uuid.uuid4())
    stamp = "2026-01-01T00:00:00Z"
    listings = {
        "actors": [
            {"id": good, "version": 1, "created_at": stamp, "updated_at": stamp}
            | {"kind": "association", "name": "Eau Vive", "country": "FR"},
            {"id": str(uuid.uuid4()), "version": 1, "kind": "alien", "name": "?"},
        ]
    }

    def registry(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/events/head":
            return httpx.Response(200, json={"head": 5, "purged_through": 0})
        resource = request.url.path.removeprefix("/v1/exports/").removesuffix(".ndjson")
        lines = "".join(json.dumps(item) + "\n" for item in listings.get(resource, []))
        return httpx.Response(200, text=lines, headers={"content-type": "application/x-ndjson"})

    with httpx.Client(base_url="http://registry", transport=httpx.MockTransport(registry)) as fake:
        follower = _follower(fake)
        follower.step()
    status = follower.holder.status()
    assert follower.holder.graph.has_actor(good) and status["nodes"] == 1
    assert status["skipped_events"] == 1 and status["last_skipped_sequence"] is None
    assert "kind" in status["last_skipped_reason"] and status["last_applied_sequence"] == 5

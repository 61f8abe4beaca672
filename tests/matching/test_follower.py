"""The follower keeps the graph equal to the registry: snapshot, feed, idempotence, resync."""

import time
from datetime import timedelta

import httpx
from sqlmodel import Session

from services.matching.follower import Follower, GraphHolder
from services.matching.registry_client import RegistryClient
from services.registry.feed import purge_expired
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

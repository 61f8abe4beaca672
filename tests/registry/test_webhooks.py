"""Webhooks: Standard Webhooks signatures verified by the reference library, retries that never
lose an event, and endpoints that cannot point into private networks."""

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from services.registry.dispatcher import Dispatcher
from services.registry.models import Event, WebhookDelivery
from services.registry.outbox import numbered
from tests.conftest import Registry, settings_for_tests
from tests.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def dispatcher(client) -> Dispatcher:
    return Dispatcher(client.app.state.engine, client.app.state.settings)


def subscribe(client, receiver: Receiver, **fields) -> dict:
    response = client.post("/v1/webhooks", json={"url": receiver.url, **fields})
    assert response.status_code == 201, response.text
    endpoint = response.json()
    receiver.secret = endpoint["secret"]
    return endpoint


def drain(dispatcher: Dispatcher, until: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "deliveries did not settle in time"
        if dispatcher.run_once() == 0:
            time.sleep(0.05)


def test_every_delivery_verifies_with_the_standard_webhooks_library(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    endpoint = subscribe(client, receiver, description="Atlas")
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in client.get(f"/v1/webhooks/{endpoint['id']}").json()
    assert "secret" not in client.get("/v1/webhooks").json()["items"][0]

    lille = registry.authority("Lille")
    client.patch(f"/v1/actors/{lille['id']}", json={"population": 236710})
    drain(dispatcher, lambda: len(receiver.received) == 2)

    assert all(r.verified for r in receiver.received)
    events = client.get("/v1/events").json()["items"]
    assert sorted(receiver.ids()) == sorted(e["id"] for e in events)
    assert sorted((r.event for r in receiver.received), key=lambda e: e["sequence"]) == events
    assert receiver.received[0].headers["content-type"] == "application/json"
    # Byte for byte what the feed serves for the same event.
    with Session(client.app.state.engine) as session:
        served = {
            str(e.id): numbered(e.envelope, e.sequence).encode()
            for e in session.exec(select(Event))
        }
    assert all(r.body == served[r.event["id"]] for r in receiver.received)


def test_a_tampered_body_or_a_stale_timestamp_fails_verification(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    subscribe(client, receiver)
    registry.authority("Lille")
    drain(dispatcher, lambda: len(receiver.received) == 1)
    genuine = receiver.received[0]
    assert receiver.verify(genuine.body, genuine.headers)

    tampered = genuine.body.replace(b"Lille", b"Lyon!")
    assert not receiver.verify(tampered, genuine.headers)
    stale = genuine.headers | {
        "webhook-timestamp": str(int((datetime.now(UTC) - timedelta(minutes=10)).timestamp()))
    }
    assert not receiver.verify(genuine.body, stale)
    garbled = genuine.headers | {"webhook-signature": "not a signature"}
    assert not receiver.verify(genuine.body, garbled)


def test_event_type_filters_choose_what_an_endpoint_receives(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    subscribe(client, receiver, event_types=["convention.created"])
    lille, dakar = registry.authority("Lille"), registry.authority("Dakar", country="SN")
    registry.convention(lille, dakar)
    drain(dispatcher, lambda: len(receiver.received) == 1)
    time.sleep(0.2)
    dispatcher.run_once()
    assert [r.event["type"] for r in receiver.received] == ["convention.created"]
    bad = client.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["actor.exploded"]})
    assert bad.status_code == 422


def test_a_change_makes_one_delivery_per_subscribed_endpoint_with_a_time_ordered_id(
    client, registry: Registry, receiver: Receiver, engine
):
    """Endpoints subscribed to every type or to this one get a delivery, others and disabled
    ones none; each delivery's id is time-ordered (version 7), as every new row's, and it is
    due at once."""
    everything = subscribe(client, receiver)
    actors_only = subscribe(client, receiver, event_types=["actor.created", "actor.updated"])
    subscribe(client, receiver, event_types=["convention.created"])
    disabled = subscribe(client, receiver)
    client.patch(f"/v1/webhooks/{disabled['id']}", json={"enabled": False})
    before = datetime.now(UTC)
    actor = registry.actor("association", "Eau Vive")
    with Session(engine) as session:
        event = session.exec(select(Event).where(Event.resource_id == uuid.UUID(actor["id"]))).one()
        deliveries = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.event_sequence == event.sequence)
        ).all()
    assert sorted(str(d.endpoint_id) for d in deliveries) == sorted(
        [everything["id"], actors_only["id"]]
    )
    for delivery in deliveries:
        assert delivery.id.version == 7
        made = datetime.fromtimestamp(int(delivery.id.hex[:12], 16) / 1000, UTC)
        assert before - timedelta(seconds=1) <= made <= datetime.now(UTC)
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        assert delivery.next_attempt_at is not None
        for moment in (delivery.created_at, delivery.next_attempt_at):
            assert abs(moment - event.occurred_at) < timedelta(seconds=1)


def test_a_receiver_down_during_50_changes_gets_every_event_when_it_comes_back(
    client, registry: Registry, dispatcher: Dispatcher
):
    receiver = Receiver().start()
    subscribe(client, receiver)
    port = receiver.port
    receiver.stop()
    for i in range(50):
        registry.actor("association", f"Association {i:02d}")
    for _ in range(3):
        dispatcher.run_once()  # attempts against a closed port fail and are rescheduled
    engine = client.app.state.engine
    with Session(engine) as session:
        deliveries = session.exec(select(WebhookDelivery)).all()
        assert len(deliveries) == 50
        assert all(d.status == "pending" and d.attempts >= 1 for d in deliveries)
        assert all(d.last_error for d in deliveries)

    back = Receiver(secret=receiver.secret, port=port).start()
    try:
        drain(dispatcher, lambda: len(set(back.ids())) == 50)
        events = client.get("/v1/events").json()["items"]
        assert set(back.ids()) == {e["id"] for e in events}
        assert all(r.verified for r in back.received)
    finally:
        back.stop()


def test_a_failing_receiver_is_retried_with_the_same_webhook_id(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    endpoint = subscribe(client, receiver)
    receiver.status = 503
    registry.authority("Lille")
    drain(dispatcher, lambda: len(receiver.received) >= 2)
    receiver.status = 200
    drain(dispatcher, lambda: receiver.received[-1].verified and _settled(client, endpoint))
    ids = receiver.ids()
    assert len(ids) >= 3 and len(set(ids)) == 1, "retries carry the same webhook-id"
    delivery = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"][0]
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempt_log"]][-1] == 200
    assert delivery["attempt_log"][0]["status_code"] == 503
    assert delivery["attempt_log"][0]["error"] == "HTTP 503"
    assert all(a["duration_ms"] >= 0 for a in delivery["attempt_log"])


def _settled(client, endpoint: dict) -> bool:
    deliveries = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]
    return all(d["status"] != "pending" for d in deliveries)


def test_an_exhausted_schedule_fails_the_delivery_which_can_be_retried_by_hand(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    endpoint = subscribe(client, receiver)
    receiver.status = 500
    registry.authority("Lille")
    drain(dispatcher, lambda: _settled(client, endpoint))
    failed = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"][0]
    assert failed["status"] == "failed"
    assert failed["attempts"] == 4, "one attempt per entry of the retry schedule"
    assert failed["next_attempt_at"] is None

    receiver.status = 200
    retried = client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{failed['id']}/retry")
    assert retried.status_code == 202
    drain(dispatcher, lambda: _settled(client, endpoint))
    statuses = client.get(
        f"/v1/webhooks/{endpoint['id']}/deliveries", params={"status": "succeeded"}
    ).json()["items"]
    assert len(statuses) == 1
    assert receiver.received[-1].verified and receiver.received[-1].msg_id == receiver.ids()[0]


def test_retry_after_is_honoured(client, registry: Registry, receiver: Receiver, dispatcher):
    endpoint = subscribe(client, receiver)
    receiver.status, receiver.extra_headers = 429, {"Retry-After": "120"}
    registry.authority("Lille")
    drain(dispatcher, lambda: len(receiver.received) == 1)
    delivery = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"][0]
    next_try = datetime.fromisoformat(delivery["next_attempt_at"])
    assert next_try - datetime.now(UTC) > timedelta(seconds=100)


def test_a_410_disables_the_endpoint_and_says_why(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    endpoint = subscribe(client, receiver)
    receiver.status = 410
    registry.authority("Lille")
    drain(dispatcher, lambda: len(receiver.received) == 1)
    state = client.get(f"/v1/webhooks/{endpoint['id']}").json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]
    registry.authority("Dakar", country="SN")
    time.sleep(0.2)
    dispatcher.run_once()
    assert len(receiver.received) == 1

    receiver.status = 200
    etag = client.get(f"/v1/webhooks/{endpoint['id']}").headers["ETag"]
    enabled = client.patch(
        f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}, headers={"If-Match": etag}
    )
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    replayed = client.post(f"/v1/webhooks/{endpoint['id']}/replay", json={"after": 0})
    assert replayed.json() == {"deliveries": 2}
    drain(dispatcher, lambda: len(receiver.ids()) == 3)
    # Deliveries run in parallel: receivers get no ordering promise, only every event.
    assert set(receiver.ids()[1:]) == {e["id"] for e in client.get("/v1/events").json()["items"]}


def test_an_endpoint_failing_too_long_is_disabled(client, registry, receiver, engine):
    endpoint = subscribe(client, receiver)
    receiver.status = 500
    impatient = Dispatcher(
        engine, settings_for_tests("unused", webhook_disable_after_seconds=0.001)
    )
    registry.authority("Lille")
    drain(impatient, lambda: len(receiver.received) >= 2)
    state = client.get(f"/v1/webhooks/{endpoint['id']}").json()
    assert state["enabled"] is False and "failed for" in state["disabled_reason"]


def test_rotating_the_secret_signs_with_both_during_the_grace_period(
    client, registry: Registry, receiver: Receiver, dispatcher: Dispatcher
):
    endpoint = subscribe(client, receiver)
    old_secret = endpoint["secret"]
    rotated = client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()
    assert rotated["secret"] != old_secret and rotated["secret"].startswith("whsec_")
    registry.authority("Lille")
    drain(dispatcher, lambda: len(receiver.received) == 1)
    message = receiver.received[0]
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    assert Receiver(secret=old_secret).verify(message.body, message.headers)
    assert Receiver(secret=rotated["secret"]).verify(message.body, message.headers)


def test_a_test_event_reports_how_the_receiver_answered(client, receiver: Receiver):
    endpoint = subscribe(client, receiver)
    result = client.post(f"/v1/webhooks/{endpoint['id']}/test").json()
    assert result["delivered"] is True and result["status_code"] == 200
    assert receiver.received[0].verified
    assert receiver.received[0].event["type"] == "webhook.test"
    receiver.status = 500
    failed = client.post(f"/v1/webhooks/{endpoint['id']}/test").json()
    assert failed == failed | {"delivered": False, "status_code": 500, "error": "HTTP 500"}


def test_redirects_are_not_followed(client, registry, receiver: Receiver, dispatcher):
    endpoint = subscribe(client, receiver)
    receiver.status, receiver.extra_headers = 302, {"Location": "http://127.0.0.1:9/elsewhere"}
    result = client.post(f"/v1/webhooks/{endpoint['id']}/test").json()
    assert result["delivered"] is False and "redirect" in result["error"]
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.10/hooks",
        "https://172.16.0.5/hooks",
        "https://localhost/hooks",
        "https://127.0.0.2/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://224.0.0.1/hooks",
        "https://0.0.0.0/hooks",
        "ftp://127.0.0.1/hooks",
        "https://user:pass@127.0.0.1/hooks",
        "not a url",
    ],
)
def test_endpoints_may_not_point_into_private_networks(client, url):
    response = client.post("/v1/webhooks", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
    assert client.get("/v1/webhooks").json()["items"] == []


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://10.0.0.7:9000/hooks", True),  # a receiver on an intranet, plain http
        ("https://192.168.1.10/hooks", True),
        ("https://user:pass@hooks.example.org/hooks", False),  # no allow-list lets that through
    ],
)
def test_a_refused_url_names_the_setting_that_would_allow_it(client, url, named):
    reason = client.post("/v1/webhooks", json={"url": url}).json()["errors"][0]["reason"]
    assert ("WEBHOOK_ALLOWED_HOSTS" in reason) is named, reason


def test_addresses_are_checked_again_at_delivery_time(client, registry, receiver, engine):
    endpoint = subscribe(client, receiver)
    registry.authority("Lille")
    # The allow-list changed since registration, as a host that now resolves elsewhere would.
    strict = Dispatcher(engine, settings_for_tests("unused", webhook_allowed_hosts=""))
    strict.run_once()
    delivery = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"][0]
    assert receiver.received == []
    assert delivery["last_error"].startswith("refused")


def test_deleting_an_endpoint_cancels_its_pending_deliveries(
    client, registry, receiver, dispatcher
):
    endpoint = subscribe(client, receiver)
    registry.authority("Lille")
    assert client.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    assert client.get(f"/v1/webhooks/{endpoint['id']}").status_code == 404
    dispatcher.run_once()
    assert receiver.received == []

"""A hanging receiver holds only its own share of the delivery slots, and an endpoint that is
disabled or deleted gets nothing more, not even deliveries already claimed."""

import time
from collections.abc import Callable
from datetime import datetime

import pytest

from services.registry.dispatcher import Dispatcher
from tests.conftest import Registry, settings_for_tests
from tests.receiver import Receiver

pytestmark = pytest.mark.slow

# Receivers here hang far longer than any test runs; `release` (or `stop`) lets them answer.
HANG = 60.0


def _subscribe(client, receiver: Receiver) -> dict:
    response = client.post("/v1/webhooks", json={"url": receiver.url})
    assert response.status_code == 201, response.text
    endpoint = response.json()
    receiver.secret = endpoint["secret"]
    return endpoint


def _dispatcher(engine, **overrides) -> Dispatcher:
    values = {"webhook_timeout_seconds": 3, "webhook_poll_seconds": 0.05} | overrides
    return Dispatcher(engine, settings_for_tests("unused", **values))


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _statuses(client, endpoint: dict) -> list[str]:
    page = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", params={"limit": 200}).json()
    return sorted(d["status"] for d in page["items"])


@pytest.mark.parametrize("dispatchers", [1, 2])
def test_a_hanging_receiver_does_not_delay_another_endpoints_deliveries(
    client, registry: Registry, engine, dispatchers: int
):
    slow, fast = Receiver(hang_seconds=HANG).start(), Receiver().start()
    _subscribe(client, slow)
    _subscribe(client, fast)
    # No slow delivery times out during the test: a request the dispatcher gave up on still
    # hangs at the receiver, and would be counted with the next ones on a loaded machine.
    running = [_dispatcher(engine, webhook_timeout_seconds=30) for _ in range(dispatchers)]
    try:
        for dispatcher in running:
            dispatcher.start()
        for i in range(12):
            registry.actor("association", f"Association {i:02d}")
            time.sleep(0.15)
        _wait(lambda: len(fast.ids()) == 12, 10, "the fast receiver's deliveries")
        assert slow.in_flight >= 1, "the slow receiver was hanging meanwhile"
        delays = [
            r.arrived_at - datetime.fromisoformat(r.event["occurred_at"]).timestamp()
            for r in fast.received
        ]
        print(
            f"\n[fairness, {dispatchers} dispatcher(s)] fast receiver: {len(delays)} deliveries, "
            f"max delay {max(delays):.3f} s, mean {sum(delays) / len(delays):.3f} s; "
            f"slow receiver: at most {slow.most_in_flight} requests hanging at once"
        )
        assert max(delays) < 2.0
        # The share holds across dispatchers: it is counted in the database, not per process.
        assert slow.most_in_flight <= 2
    finally:
        slow.release()
        for dispatcher in running:
            dispatcher.stop()
        slow.stop()
        fast.stop()


def test_disabling_an_endpoint_stops_its_deliveries_at_once(client, registry: Registry, engine):
    receiver = Receiver(hang_seconds=HANG).start()
    endpoint = _subscribe(client, receiver)
    for i in range(6):
        registry.actor("association", f"Association {i:02d}")
    dispatcher = _dispatcher(engine)
    try:
        dispatcher.start()
        _wait(lambda: receiver.in_flight == 2, 10, "two deliveries hanging")
        etag = client.get(f"/v1/webhooks/{endpoint['id']}").headers["ETag"]
        disabled = client.patch(
            f"/v1/webhooks/{endpoint['id']}", json={"enabled": False}, headers={"If-Match": etag}
        )
        assert disabled.status_code == 200, disabled.text
        assert _statuses(client, endpoint) == ["cancelled"] * 6
        reached = receiver.connections
        receiver.release()
        time.sleep(1.0)  # the dispatcher polls every 0.05 s: it had 20 chances to send more
    finally:
        receiver.release()
        dispatcher.stop()
        receiver.stop()
    assert reached == 2
    assert receiver.connections == reached, "a disabled endpoint received more deliveries"
    assert _statuses(client, endpoint) == ["cancelled"] * 6


@pytest.mark.parametrize("how", ["disable", "delete"])
def test_deliveries_claimed_before_a_disable_are_not_sent(
    client, registry: Registry, engine, how: str
):
    receiver = Receiver().start()
    endpoint = _subscribe(client, receiver)
    for i in range(3):
        registry.actor("association", f"Association {i:02d}")
    dispatcher = _dispatcher(engine)
    claimed = dispatcher.claim(8)
    assert len(claimed) == 2, "an endpoint's share is two deliveries in flight"
    url = f"/v1/webhooks/{endpoint['id']}"
    etag = client.get(url).headers["ETag"]
    if how == "disable":
        response = client.patch(url, json={"enabled": False}, headers={"If-Match": etag})
        assert response.status_code == 200
    else:
        assert client.delete(url, headers={"If-Match": etag}).status_code == 204
    with dispatcher.client() as http:
        for item in claimed:
            dispatcher.deliver(item, http)
    assert dispatcher.run_once() == 0
    receiver.stop()
    assert receiver.connections == 0

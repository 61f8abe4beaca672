"""Private contacts are personal data: shown on an actor's own page to those entitled (keys with
`registry:read_private`, admins, the actor's own key) and nowhere else — not in listings, not
in the change feed, not in webhook payloads."""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from services.registry.dispatcher import Dispatcher
from tests.conftest import Registry, api_key, as_key
from tests.receiver import Receiver

PRIVATE = {"name": "Awa Diop", "email": "awa.diop@example.org", "phone": "+33 6 12 34 56 78"}
CHANGED = {"name": "Moussa Keïta", "email": "moussa.keita@example.org", "phone": None}
# Any of these in a response or a payload is a leak.
MARKERS = ("Awa Diop", "awa.diop@", "12 34 56 78", "Moussa", "moussa.keita@")


def assert_no_private_data(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, f"{marker!r} leaked"


@pytest.fixture
def osim(registry: Registry) -> dict[str, Any]:
    """A migrant organisation with a named contact person, registered by an admin."""
    montreuil = registry.authority("Montreuil", insee_code="93048")
    kayes = registry.authority("Kayes", country="ML")
    return registry.actor(
        "migrant_organisation",
        "Ressortissants de Kayes",
        based_in_id=montreuil["id"],
        origin_ids=[kayes["id"]],
        public_contact={"email": "contact@kayes-montreuil.example.org"},
        private_contact=PRIVATE,
    )


def test_the_private_contact_is_shown_to_read_private_admin_and_the_actor_own_key(client, osim):
    own = api_key(client, "OSIM", "registry:write", actor_id=osim["id"])["secret"]
    reader = api_key(client, "Atlas", "registry:read_private")["secret"]
    for caller in (client, as_key(client, own), as_key(client, reader)):
        response = caller.get(f"/v1/actors/{osim['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["private_contact"] == PRIVATE
        assert response.headers["Cache-Control"] == "no-store"


def test_the_private_contact_is_hidden_from_anonymous_callers_and_other_actors_keys(
    client, anonymous, registry: Registry, osim
):
    other = registry.actor("association", "Eau Vive")
    others = [
        anonymous,
        as_key(
            client, api_key(client, "Eau Vive", "registry:write", actor_id=other["id"])["secret"]
        ),
        as_key(client, api_key(client, "unbound writer", "registry:write")["secret"]),
        as_key(client, api_key(client, "hooks", "webhooks:manage")["secret"]),
        as_key(
            client, api_key(client, "matching", "registry:propose", "matching:feedback")["secret"]
        ),
    ]
    for caller in others:
        response = caller.get(f"/v1/actors/{osim['id']}")
        assert response.status_code == 200, response.text
        actor = response.json()
        assert actor["private_contact"] is None
        assert actor["public_contact"]["email"] == "contact@kayes-montreuil.example.org"
        assert_no_private_data(response.text)


def test_an_update_by_another_actor_writer_does_not_echo_the_private_contact(client, osim):
    """A writer not bound to the actor cannot change it, and the refusal says nothing private."""
    writer = as_key(client, api_key(client, "unbound writer", "registry:write")["secret"])
    response = writer.patch(f"/v1/actors/{osim['id']}", json={"acronym": "ARK"})
    assert response.status_code == 403
    assert_no_private_data(response.text)

    own = as_key(client, api_key(client, "OSIM", "registry:write", actor_id=osim["id"])["secret"])
    changed = own.patch(f"/v1/actors/{osim['id']}", json={"private_contact": CHANGED})
    assert changed.status_code == 200, changed.text
    assert changed.json()["private_contact"] == CHANGED


def test_listings_never_show_private_contacts_whoever_asks(client, anonymous, registry, osim):
    for i in range(3):
        registry.actor("association", f"Association {i}", private_contact={"name": f"Awa Diop {i}"})
    reader = as_key(client, api_key(client, "Atlas", "registry:read_private")["secret"])
    own = as_key(client, api_key(client, "OSIM", "registry:write", actor_id=osim["id"])["secret"])
    queries = [
        {"limit": 1},
        {"limit": 200},
        {"kind": "migrant_organisation"},
        {"q": "kayes"},
        {"origin_id": osim["origin_ids"][0]},
    ]
    for caller in (anonymous, client, reader, own):
        for params in queries:
            url, pages = "/v1/actors", 0
            while url:
                response = caller.get(url, params=params if pages == 0 else None)
                assert response.status_code == 200, response.text
                page = response.json()
                assert all("private_contact" not in item for item in page["items"])
                assert_no_private_data(response.text)
                url, pages = page["next"], pages + 1
            assert pages >= 1
    # One item per page means every actor was walked through.
    assert registry.count("/v1/actors") == 6


def test_events_never_carry_private_contacts(client, anonymous, osim):
    own = as_key(client, api_key(client, "OSIM", "registry:write", actor_id=osim["id"])["secret"])
    own.patch(f"/v1/actors/{osim['id']}", json={"private_contact": CHANGED})
    assert own.delete(f"/v1/actors/{osim['id']}").status_code == 204

    for caller in (anonymous, client):
        response = caller.get("/v1/events", params={"limit": 200})
        assert response.status_code == 200
        events = response.json()["items"]
        mine = [e for e in events if e["resource"]["id"] == osim["id"]]
        assert [e["type"] for e in mine] == ["actor.created", "actor.updated", "actor.deleted"]
        assert all("private_contact" not in e["data"] for e in events)
        assert_no_private_data(response.text)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_webhook_payloads_never_carry_private_contacts(client, registry: Registry, receiver):
    response = client.post("/v1/webhooks", json={"url": receiver.url})
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]

    actor = registry.actor("association", "Eau Vive", private_contact=PRIVATE)
    client.patch(f"/v1/actors/{actor['id']}", json={"private_contact": CHANGED})
    client.patch(f"/v1/actors/{actor['id']}", json={"acronym": "EV"})

    dispatcher = Dispatcher(client.app.state.engine, client.app.state.settings)
    deadline = time.monotonic() + 20
    while len(receiver.received) < 3:
        assert time.monotonic() < deadline, "deliveries did not arrive"
        if dispatcher.run_once() == 0:
            time.sleep(0.05)

    assert all(delivery.verified for delivery in receiver.received)
    payloads = [delivery.event for delivery in receiver.received]
    assert sorted(p["type"] for p in payloads) == [
        "actor.created",
        "actor.updated",
        "actor.updated",
    ]
    assert {p["data"]["name"] for p in payloads} == {"Eau Vive"}
    for delivery in receiver.received:
        assert "private_contact" not in delivery.event["data"]
        assert_no_private_data(delivery.body.decode())

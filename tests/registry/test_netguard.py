"""SSRF checks: addresses that embed a refused IPv4 address are refused, and a delivery
connects only to the address that passed the check, whatever the name resolves to later."""

import ssl
import subprocess

import httpx
import pytest

from services.registry import netguard
from services.registry.delivery import delivery_client, send
from services.registry.dispatcher import Dispatcher
from services.registry.netguard import GuardedTransport, UnsafeUrl, refusal
from tests.conftest import assert_problem
from tests.receiver import Receiver

TRANSITION_FORMS = [
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "2002:0a00:0001::",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (inverted bits)
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo, server 10.0.0.1
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:a9fe:a9fe",
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
]


@pytest.mark.parametrize("address", TRANSITION_FORMS)
def test_transition_forms_of_refused_ipv4_addresses_are_refused(address):
    assert refusal(address) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass_also_behind_nat64(address):
    assert refusal(address) is None


@pytest.mark.parametrize("address", TRANSITION_FORMS)
def test_registration_refuses_transition_forms(client, address):
    response = client.post("/v1/webhooks", json={"url": f"https://[{address}]/hooks"})
    assert_problem(response, 422, field="url")
    assert client.get("/v1/webhooks").json()["items"] == []


def _answers(table: dict[str, str]):
    def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise UnsafeUrl(f"cannot resolve host {host!r}")
        return [table[host]]

    return resolve


def test_a_name_rebound_to_loopback_after_registration_gets_no_traffic(
    client, registry, monkeypatch
):
    receiver = Receiver().start()
    url = f"https://hooks.partner.test:{receiver.port}/hooks"
    # At registration the name resolves to a public address (example.com's; never called).
    monkeypatch.setattr(netguard, "resolve", _answers({"hooks.partner.test": "93.184.215.14"}))
    created = client.post("/v1/webhooks", json={"url": url})
    assert created.status_code == 201, created.text
    monkeypatch.undo()
    registry.authority("Lille")

    # By delivery time it points at the registry's own host, where the receiver listens.
    rebound = Dispatcher(
        client.app.state.engine,
        client.app.state.settings,
        resolver=_answers({"hooks.partner.test": "127.0.0.1"}),
    )
    assert rebound.run_once() == 1
    receiver.stop()
    assert receiver.connections == 0
    delivery = client.get(f"/v1/webhooks/{created.json()['id']}/deliveries").json()["items"][0]
    error = delivery["attempt_log"][0]["error"]
    assert error.startswith("refused: hooks.partner.test resolves to 127.0.0.1"), error
    assert delivery["last_status_code"] is None


def test_a_delivery_connects_to_the_resolved_address_with_the_name_as_host():
    receiver = Receiver().start()
    resolver = _answers({"hooks.partner.test": "127.0.0.1"})
    # Allow-listed (plain http): the name is not checked, but still resolved once, by us.
    with delivery_client(5, frozenset({"hooks.partner.test"}), resolver) as http:
        outcome = send(
            http,
            f"http://hooks.partner.test:{receiver.port}/hooks",
            ["whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz"],
            "msg_1",
            b"{}",
            frozenset({"hooks.partner.test"}),
        )
    receiver.stop()
    assert receiver.connections == 1
    assert receiver.received[0].headers["host"] == f"hooks.partner.test:{receiver.port}"
    assert outcome.status_code == 400, "the receiver could not verify: it has no secret"


def test_the_guarded_transport_refuses_before_connecting():
    receiver = Receiver().start()
    resolver = _answers({"hooks.partner.test": "127.0.0.1"})
    with delivery_client(5, frozenset(), resolver) as http, pytest.raises(UnsafeUrl):
        http.post(f"https://hooks.partner.test:{receiver.port}/hooks")
    with delivery_client(5, frozenset(), resolver) as http, pytest.raises(UnsafeUrl):
        http.post(f"https://[2002:7f00:1::]:{receiver.port}/hooks")
    receiver.stop()
    assert receiver.connections == 0


def test_tls_names_the_host_while_connecting_to_the_resolved_address(tmp_path):
    """SNI and the certificate check use the URL's name, not the address connected to."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.partner.test"),
            *("-addext", "subjectAltName=DNS:hooks.partner.test"),
        ],
        check=True,
        capture_output=True,
    )
    server_names: list[str | None] = []
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    server.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    receiver = Receiver(tls=server).start()
    trusting = ssl.create_default_context(cafile=str(cert))
    transport = GuardedTransport(
        frozenset({"hooks.partner.test"}),
        _answers({"hooks.partner.test": "127.0.0.1"}),
        verify=trusting,
    )
    with httpx.Client(transport=transport, timeout=5) as http:
        response = http.post(f"https://hooks.partner.test:{receiver.port}/hooks", content=b"{}")
    receiver.stop()
    assert response.status_code == 400, "reached the receiver, which had no secret to verify"
    assert server_names == ["hooks.partner.test"]
    assert receiver.received[0].headers["host"] == f"hooks.partner.test:{receiver.port}"

"""What an operator relies on, in-process: request ids in responses, events, deliveries and logs;
Prometheus metrics; readiness; JSON log lines. The real topology is in
tests/test_operations_topology.py."""

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from services.matching.app import create_app as create_matching_app
from services.matching.settings import MatchingSettings
from services.registry.app import create_app as create_registry_app
from services.registry.dispatcher import Dispatcher
from services.registry.models import Event, WebhookDelivery
from shared.access import Scope
from shared.http import http_client
from shared.language import preferred_language
from shared.migrate import downgrade, upgrade
from shared.operations.collector import YOUNG_THRESHOLD
from shared.operations.logs import configure_logging
from shared.operations.request_id import request_id_context
from tests.conftest import assert_problem, bearer, issue_key, settings_for_tests
from tests.receiver import Receiver


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Each sample of a Prometheus text exposition, by name, parsed as Prometheus would."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in found.get(name, []) if labels.items() <= got.items())


# --- request ids -------------------------------------------------------------------------------


def test_a_request_id_is_returned_kept_from_the_client_or_made(anonymous: TestClient):
    sent = anonymous.get("/v1/themes", headers={"X-Request-ID": "portal-42.a"})
    assert sent.headers["X-Request-ID"] == "portal-42.a"
    made = anonymous.get("/v1/themes").headers["X-Request-ID"]
    assert len(made) == 32 and made != anonymous.get("/v1/themes").headers["X-Request-ID"]
    # Not a plain token (it would go into log lines and headers as it is): replaced.
    odd = anonymous.get("/v1/themes", headers={"X-Request-ID": 'a"b c'})
    assert odd.headers["X-Request-ID"] != 'a"b c'
    refused = anonymous.get("/v1/actors/not-an-id", headers={"X-Request-ID": "bad-1"})
    assert refused.status_code == 422 and refused.headers["X-Request-ID"] == "bad-1"


def test_a_write_carries_its_request_id_into_its_event_the_feed_and_the_log(
    client: TestClient, engine, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="passerelles.access"):
        created = client.post(
            "/v1/actors?not_duplicate=true",
            json={"kind": "association", "name": "Traces d'eau", "country": "FR"},
            headers={"X-Request-ID": "write-trace-1"},
        )
    assert created.status_code == 201, created.text
    lines = [r for r in caplog.records if r.name == "passerelles.access"]
    assert any(
        r.request_id == "write-trace-1" and "POST /v1/actors" in r.getMessage() for r in lines
    ), [(r.request_id, r.getMessage()) for r in lines]
    with Session(engine) as session:
        event = session.exec(select(Event).order_by(Event.sequence.desc())).first()  # type: ignore[union-attr]
    assert event is not None and event.request_id == "write-trace-1"
    feed = client.get(f"/v1/events?after={event.sequence - 1}").json()["items"]
    assert feed[0]["request_id"] == "write-trace-1"


def test_a_webhook_delivery_carries_the_request_id_of_its_change(client: TestClient, engine):
    receiver = Receiver().start()
    try:
        endpoint = client.post("/v1/webhooks", json={"url": receiver.url}).json()
        receiver.secret = endpoint["secret"]
        client.post(
            "/v1/actors?not_duplicate=true",
            json={"kind": "association", "name": "Relais Sahel", "country": "FR"},
            headers={"X-Request-ID": "hook-trace-7"},
        )
        settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
            update={"webhook_allowed_hosts": "127.0.0.1"}
        )
        Dispatcher(engine, settings).run_once()
        delivered = [r for r in receiver.received if r.event["type"] == "actor.created"]
        assert delivered and delivered[-1].verified
        assert delivered[-1].headers["x-request-id"] == "hook-trace-7"
        assert delivered[-1].event["request_id"] == "hook-trace-7"
    finally:
        client.delete(f"/v1/webhooks/{endpoint['id']}")
        receiver.stop()


# --- metrics -----------------------------------------------------------------------------------


def test_registry_metrics_count_requests_by_route_deliveries_backlog_and_imports(
    client: TestClient, engine
):
    receiver = Receiver().start()
    try:
        endpoint = client.post("/v1/webhooks", json={"url": receiver.url}).json()
        receiver.secret = endpoint["secret"]
        actor = client.post(
            "/v1/actors?not_duplicate=true",
            json={"kind": "association", "name": "Compteurs Unis", "country": "FR"},
        ).json()
        before = samples(client.get("/metrics").text)
        for _ in range(3):
            assert client.get(f"/v1/actors/{actor['id']}").status_code == 200
        client.get("/v1/actors/00000000-0000-0000-0000-000000000000")
        with Session(engine) as session:
            pending = len(
                session.exec(
                    select(WebhookDelivery).where(WebhookDelivery.status == "pending")
                ).all()
            )
        after = samples(client.get("/metrics").text)
        route = {"method": "GET", "route": "/v1/actors/{actor_id}"}
        ok = "passerelles_http_requests_total"
        assert (
            value(after, ok, **route, status="200") - value(before, ok, **route, status="200") == 3
        )
        assert (
            value(after, ok, **route, status="404") - value(before, ok, **route, status="404") == 1
        )
        assert value(after, "passerelles_http_request_duration_seconds_count", **route) >= 4
        assert pending >= 1 and value(after, "passerelles_outbox_backlog") == pending
        assert value(after, "passerelles_outbox_oldest_pending_seconds") >= 0

        settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
            update={"webhook_allowed_hosts": "127.0.0.1"}
        )
        delivered = "passerelles_webhook_deliveries_total"
        first = value(after, delivered, outcome="succeeded", attempt="1")
        Dispatcher(engine, settings).run_once()
        drained = samples(client.get("/metrics").text)
        assert value(drained, delivered, outcome="succeeded", attempt="1") - first >= pending
        assert value(drained, "passerelles_outbox_backlog") == 0

        rows = "passerelles_import_rows_total"
        imported = client.post(
            "/v1/imports?apply=true",
            content="resource,kind,name,country\nactor,association,Import Métrique,FR\n"
            "actor,association,,FR\n",
            headers={"Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        counted = samples(client.get("/metrics").text)
        assert (
            value(counted, rows, resource="actor", outcome="create")
            - value(drained, rows, resource="actor", outcome="create")
            == 1
        )
        assert (
            value(counted, rows, outcome="refused") - value(drained, rows, outcome="refused") == 1
        )
    finally:
        client.delete(f"/v1/webhooks/{endpoint['id']}")
        receiver.stop()


# --- readiness ---------------------------------------------------------------------------------


def test_the_registry_is_ready_only_with_its_schema_at_the_latest_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    with TestClient(create_registry_app(settings_for_tests(url))) as client:
        assert client.get("/ready").json()["status"] == "ready"
        downgrade(url, revision="-1")
        problem = assert_problem(client.get("/ready"), 503)
        assert problem["reason"] == "migrations-pending"
        assert problem["expected_revision"] != problem["schema_revision"]
        assert client.get("/health").status_code == 200
        upgrade(url)
        assert client.get("/ready").status_code == 200


@pytest.fixture
def matching(tmp_path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(url, "matching")
    settings = MatchingSettings(
        database_url=url, registry_url="http://127.0.0.1:9", ready_max_lag=2
    )
    with TestClient(create_matching_app(settings, follow=False)) as client:
        yield client


def test_matching_is_ready_once_its_graph_is_loaded_and_not_when_it_falls_behind(
    matching: TestClient,
):
    holder = matching.app.state.holder  # type: ignore[attr-defined]
    assert assert_problem(matching.get("/ready"), 503)["reason"] == "graph-loading"
    assert matching.get("/health").status_code == 200
    with holder.lock:
        holder.synced = holder.reachable = True
        holder.in_step_at = time.time()
    assert matching.get("/ready").json()["status"] == "ready"
    with holder.lock:
        holder.reachable = False
        holder.in_step_at = time.time() - 3
    problem = assert_problem(matching.get("/ready"), 503)
    assert (
        problem["reason"] == "registry-unreachable"
        and "MATCHING_READY_MAX_LAG" in problem["detail"]
    )


def test_matching_metrics_describe_the_graph_and_the_feed(matching: TestClient):
    found = samples(matching.get("/metrics").text)
    for name in (
        "passerelles_graph_nodes",
        "passerelles_graph_edges",
        "passerelles_feed_lag_events",
        "passerelles_feed_seconds_since_registry_contact",
        "passerelles_suggestion_seconds_count",
        "passerelles_overlap_seconds_count",
        "passerelles_feed_events_applied_total",
    ):
        assert name in found, name
    assert value(found, "passerelles_feed_lag_events") == -1  # the registry never answered
    assert value(found, "passerelles_overlap_seconds_count", scope="full") >= 1


# --- logs --------------------------------------------------------------------------------------


def test_json_log_lines_carry_the_request_id(capsys: pytest.CaptureFixture[str]):
    root = logging.getLogger()
    kept = list(root.handlers), root.level
    try:
        configure_logging("json", "info")
        with request_id_context("json-trace-3"):
            logging.getLogger("passerelles.test").info("a change %s", "applied")
        line: dict[str, Any] = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        root.handlers[:] = kept[0]
        root.setLevel(kept[1])
    assert line["message"] == "a change applied"
    assert line["request_id"] == "json-trace-3"
    assert line["level"] == "INFO" and line["logger"] == "passerelles.test" and line["time"]


def test_an_unknown_key_still_gets_its_request_id(client: TestClient, engine):
    secret = issue_key(engine, "ops reader", Scope.write)
    answered = client.get("/v1/themes", headers=bearer(secret) | {"X-Request-ID": "k-1"})
    assert answered.headers["X-Request-ID"] == "k-1"


# --- offline documentation -----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_nothing_from_the_internet(
    anonymous: TestClient, matching: TestClient, page: str
):
    for client in (anonymous, matching):
        html = client.get(page)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        scripts = [s for s in sources if s.endswith((".js", ".css", ".png"))]
        assert scripts, html.text
        for source in scripts:
            assert source.startswith("/docs/assets/"), source
            asset = client.get(source)
            assert asset.status_code == 200 and len(asset.content) > 1000, source
        assert "cdn." not in html.text and "https://fonts" not in html.text


def test_calls_to_the_other_service_carry_the_request_id():
    receiver = Receiver(secret=None).start()
    try:
        with http_client(f"http://127.0.0.1:{receiver.port}", 5) as client:
            with request_id_context("outbound-9"):
                client.post("/hooks", content=b"{}")
            client.post("/hooks", content=b"{}")  # outside any request: none is made up
    finally:
        receiver.stop()
    first, second = receiver.received
    assert first.headers["x-request-id"] == "outbound-9"
    assert "x-request-id" not in second.headers


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE, fr;q=0.5", "fr"),
        ("fr;q=0, en", "en"),
        ("en;q=0.4, fr;q=0.6", "fr"),
        ("*", "en"),
        ("fr;q=oops", "en"),
    ],
)
def test_the_language_of_texts_follows_accept_language(header: str | None, language: str):
    assert preferred_language(header) == language


def test_a_served_registry_keeps_what_start_up_built_out_of_the_collectors_passes(tmp_path):
    # In a process of its own: freezing the test process's heap would outlive the test.
    script = (
        "import gc\n"
        "from shared.operations.serve import build_app\n"
        "before = gc.get_threshold()[0]\n"
        "build_app('services.registry.app:create_app', frozen_start_up=True)\n"
        "print(before, gc.get_freeze_count(), gc.get_threshold()[0])\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "CURSOR_SECRET_FILE": str(tmp_path / "cursor-secret"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, frozen, young = (int(n) for n in done.stdout.split())
    # Start-up made tens of thousands of objects; all are frozen, young passes are spaced out.
    assert frozen > 20_000, frozen
    assert young == YOUNG_THRESHOLD != before


def test_a_served_process_keeps_its_state_out_of_the_collectors_passes_and_frees_what_it_replaced():
    # In a process of its own, as above.
    script = (
        "import gc, weakref\n"
        "from shared.operations import collector\n"
        "class Graph:\n"
        "    def __init__(self): self.me, self.nodes = self, [dict(n=i) for i in range(1000)]\n"
        "graph = Graph(); old = weakref.ref(graph)\n"
        "collector.keep_out_of_passes()\n"
        "print(gc.get_freeze_count())\n"  # not a served process: nothing frozen
        "collector.mark_serving()\n"
        "collector.keep_out_of_passes()\n"
        "print(gc.get_freeze_count())\n"
        "graph = Graph()\n"  # the replacement: the old one is a cycle the collector must free
        "collector.keep_out_of_passes()\n"
        "print(old() is None, gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    unserved, frozen, replaced = done.stdout.splitlines()
    assert int(unserved) == 0
    assert int(frozen) > 1000  # the graph and its dicts among all the process holds
    freed, frozen_again = replaced.split()
    assert freed == "True"
    assert int(frozen_again) > 1000

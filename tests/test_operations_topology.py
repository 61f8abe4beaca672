"""The deployment as an operator runs it, as real processes on 127.0.0.1 and PostgreSQL: two
registries, two webhook workers, two matching services; one registry and one worker SIGKILLed
in the middle of 500 changes and started again. Nothing acknowledged is lost, every event
reaches the partner, both graphs end equal to the registry's, and a request can be followed
from the write to the matching service and to the webhook. A worker stopped with SIGTERM hands
its deliveries to the other at once."""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, col, select

from services.registry.models import Actor, Event, WebhookEndpoint
from shared.access import Scope
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import bearer, issue_key
from tests.databases import POSTGRES_URL, fresh_database
from tests.processes import Service, free_port, wait_for
from tests.receiver import Receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(POSTGRES_URL is None, reason="several processes share PostgreSQL"),
]

CHANGES = 500


def metric_names(url: str) -> dict[str, float]:
    """Every sample of a /metrics answer, parsed with Prometheus' own parser, summed by name."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(url, timeout=5).text):
        for sample in family.samples:
            found[sample.name] = found.get(sample.name, 0.0) + sample.value
    return found


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


class Topology:
    """The processes of one deployment, each with its log file."""

    def __init__(self, tmp_path: Path, url: str, matching_url: str, admin: str, service: str):
        self.tmp, self.url = tmp_path, url
        self.admin = admin
        self.env = {
            "DATABASE_URL": url,
            "WEBHOOK_DISPATCHER": "off",
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "WRITE_RATE_PER_KEY": "0",
            "WRITE_RATE_PER_IP": "0",
            # The same on every registry: a cursor from one is good at the other.
            "CURSOR_SECRET": "topology-" + "c" * 40,
            "LOG_FORMAT": "json",
        }
        self.registry_ports = [free_port(), free_port()]
        self.worker_ports = [free_port(), free_port()]
        self.matching_ports = [free_port(), free_port()]
        self.matching_env = {
            "MATCHING_DATABASE_URL": matching_url,
            "MATCHING_POLL_SECONDS": "0.2",
            "MATCHING_MAX_BACKOFF_SECONDS": "1",
            "MATCHING_REGISTRY_KEY": service,
            "MATCHING_LOG_FORMAT": "json",
            "MATCHING_TRAIN_RANKER": "false",
        }
        self.registries = [self.start_registry(i) for i in range(2)]
        self.workers = [self.start_worker(i) for i in range(2)]
        self.matchings = [self.start_matching(i) for i in range(2)]

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def start_registry(self, i: int) -> Service:
        return Service.api(self.env, self.registry_ports[i], log=self.log(f"registry-{i}"))

    def start_worker(self, i: int) -> Service:
        env = self.env | {"WORKER_STATUS_PORT": str(self.worker_ports[i])}
        worker = Service(env, "worker", log=self.log(f"worker-{i}"))
        wait_for(
            lambda: httpx.get(self.worker(i) + "/ready", timeout=1).status_code == 200,
            30,
            f"worker {i} ready",
        )
        return worker

    def start_matching(self, i: int, registry: int | None = None) -> Service:
        env = self.matching_env | {
            "MATCHING_REGISTRY_URL": self.registry(i if registry is None else registry)
        }
        return Service.api(
            env, self.matching_ports[i], module="services.matching", log=self.log(f"matching-{i}")
        )

    def registry(self, i: int) -> str:
        return f"http://127.0.0.1:{self.registry_ports[i]}"

    def worker(self, i: int) -> str:
        return f"http://127.0.0.1:{self.worker_ports[i]}"

    def matching(self, i: int) -> str:
        return f"http://127.0.0.1:{self.matching_ports[i]}"

    def stop(self) -> None:
        for process in (*self.matchings, *self.workers, *self.registries):
            process.stop()


class Client:
    """A partner's client: each change has an Idempotency-Key and is retried, on the other
    registry, when one does not answer — as behind a load balancer."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.headers = bearer(topology.admin)

    def send(self, turn: int, method: str, path: str, body: dict[str, Any], **headers: str) -> Any:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 30
        attempt = 0
        while time.monotonic() < deadline:
            base = self.topology.registry((turn + attempt) % 2)
            attempt += 1
            try:
                response = httpx.request(
                    method,
                    base + path,
                    json=body,
                    headers=self.headers | {"Idempotency-Key": key} | headers,
                    timeout=10,
                )
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code >= 500:
                time.sleep(0.05)
                continue
            assert response.status_code in (200, 201), response.text
            return response.json()
        raise AssertionError(f"{method} {path} was never acknowledged")


def test_two_of_each_process_lose_nothing_when_a_registry_and_a_worker_are_killed(tmp_path):
    receiver = Receiver().start()
    with (
        fresh_database("postgresql", tmp_path) as url,
        fresh_database("postgresql", tmp_path) as matching_url,
    ):
        upgrade(url)
        upgrade(matching_url, "matching")
        engine = make_engine(url)
        admin = issue_key(engine, "operator", Scope.admin)
        service = issue_key(engine, "matching service", Scope.propose)
        topology = Topology(tmp_path, url, matching_url, admin, service)
        try:
            client = Client(topology)
            endpoint = client.send(0, "POST", "/v1/webhooks", {"url": receiver.url})
            receiver.secret = endpoint["secret"]
            actors: dict[str, str] = {}  # id → the description last acknowledged
            for turn in range(CHANGES):
                if turn == CHANGES * 2 // 5:
                    topology.registries[0].kill()
                    topology.workers[0].kill()
                if turn == CHANGES * 3 // 5:
                    topology.registries[0] = topology.start_registry(0)
                    topology.workers[0] = topology.start_worker(0)
                ids = list(actors)
                if turn % 10 == 9 and len(ids) >= 2:
                    client.send(
                        turn,
                        "POST",
                        "/v1/conventions",
                        {
                            "kind": "decentralised_cooperation",
                            "title": f"Coopération {turn}",
                            "parties": [
                                {"actor_id": ids[turn % len(ids)], "role": "signatory"},
                                {"actor_id": ids[(turn * 7 + 1) % len(ids)], "role": "signatory"},
                            ],
                        },
                    )
                elif turn % 5 == 4 and ids:
                    target = ids[(turn * 3) % len(ids)]
                    description = f"Mise à jour {turn}"
                    client.send(turn, "PATCH", f"/v1/actors/{target}", {"description": description})
                    actors[target] = description
                else:
                    made = client.send(
                        turn,
                        "POST",
                        "/v1/actors?not_duplicate=true",
                        {"kind": "association", "name": f"Association {turn:03d}", "country": "FR"},
                    )
                    actors[made["id"]] = ""
            traced = client.send(
                1,
                "POST",
                "/v1/actors?not_duplicate=true",
                {"kind": "association", "name": "Association tracée", "country": "FR"},
                **{"X-Request-ID": "topology-trace-1"},
            )

            # Every acknowledged write is in the database, as last acknowledged.
            with Session(engine) as session:
                stored = {
                    str(a.id): a.description or ""
                    for a in session.exec(select(Actor).where(col(Actor.deleted_at).is_(None)))
                }
                event_ids = {str(e.id) for e in session.exec(select(Event))}
                head = max(e.sequence or 0 for e in session.exec(select(Event)))
            assert {i: stored.get(i) for i in actors} == actors
            assert traced["id"] in stored

            # Every event reached the partner, verified with the Standard Webhooks library.
            wait_for(
                lambda: event_ids <= set(receiver.ids()), 90, "every event delivered and verified"
            )

            # Both graphs hold every event, and equal a graph built afresh from the registry.
            def in_step(i: int) -> bool:
                health = httpx.get(topology.matching(i) + "/health", timeout=5).json()
                return health["lag"] == 0 and health["last_applied_sequence"] >= head

            for i in range(2):
                wait_for(lambda i=i: in_step(i), 60, f"matching {i} in step")
            sizes = [
                {
                    key: httpx.get(topology.matching(i) + "/health", timeout=5).json()[key]
                    for key in ("nodes", "edges")
                }
                for i in range(2)
            ]
            topology.matchings[1].stop()
            topology.matchings[1] = topology.start_matching(1, registry=1)
            wait_for(lambda: in_step(1), 60, "a fresh matching service loaded")
            fresh = httpx.get(topology.matching(1) + "/health", timeout=5).json()
            assert sizes[0] == sizes[1] == {"nodes": fresh["nodes"], "edges": fresh["edges"]}
            assert fresh["nodes"] >= len(actors) + 1 and fresh["edges"] > 0
            for i in range(2):
                ready = httpx.get(topology.matching(i) + "/ready", timeout=5)
                assert ready.status_code == 200, ready.text

            # The traced write, followed across the processes.
            registry_lines = [
                line
                for i in range(2)
                for line in json_lines(topology.log(f"registry-{i}"))
                if line.get("request_id") == "topology-trace-1"
            ]
            assert any("POST /v1/actors" in line["message"] for line in registry_lines)
            wait_for(
                lambda: any(
                    line.get("request_id") == "topology-trace-1"
                    and "applied event" in line["message"]
                    for line in json_lines(topology.log("matching-0"))
                ),
                10,
                "the matching service's line for the traced change",
            )
            hooks = [r for r in receiver.received if r.event["resource"]["id"] == traced["id"]]
            assert hooks and all(r.headers["x-request-id"] == "topology-trace-1" for r in hooks)
            assert any(
                line.get("request_id") == "topology-trace-1" and "delivery" in line["message"]
                for i in range(2)
                for line in json_lines(topology.log(f"worker-{i}"))
            )
            # Polls of the feed and probes are not logged: a line per change, not per second.
            for name in ("registry-0", "registry-1", "matching-0", "matching-1"):
                noisy = [
                    line["message"]
                    for line in json_lines(topology.log(name))
                    if "/v1/events" in line["message"] or "/health" in line["message"]
                ]
                assert not noisy, (name, noisy[:3])

            # What Prometheus scrapes from each kind of process.
            registry_metrics = metric_names(topology.registry(1) + "/metrics")
            assert registry_metrics["passerelles_http_requests_total"] > 0
            # Every event has reached the partner, but a delivery the killed worker had sent
            # and not yet marked is sent again by the other one (at least once): the backlog
            # drains, it need not be empty already.
            backlog_url = topology.registry(1) + "/metrics"
            wait_for(
                lambda: metric_names(backlog_url)["passerelles_outbox_backlog"] == 0,
                60,
                "the outbox drained",
            )
            worker_metrics = sum(
                metric_names(topology.worker(i) + "/metrics").get(
                    "passerelles_webhook_deliveries_total", 0
                )
                for i in range(2)
            )
            assert worker_metrics > 0
            matching_metrics = metric_names(topology.matching(0) + "/metrics")
            assert matching_metrics["passerelles_graph_nodes"] == fresh["nodes"]
            assert matching_metrics["passerelles_feed_lag_events"] == 0
            assert matching_metrics["passerelles_feed_events_applied_total"] > 0
        finally:
            topology.stop()
            engine.dispose()
    receiver.stop()


def test_a_worker_stopped_with_sigterm_hands_its_deliveries_to_the_other_at_once(tmp_path):
    receiver = Receiver(hang_seconds=60).start()
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        secret = "whsec_" + "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz"
        with Session(engine) as session:
            endpoint = WebhookEndpoint(url=receiver.url, secret=secret)
            session.add(endpoint)
            session.commit()
        receiver.secret = secret
        env = {
            "DATABASE_URL": url,
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "WEBHOOK_TIMEOUT_SECONDS": "30",
            "LOG_FORMAT": "json",
        }
        port = free_port()
        registry = Service.api(env | {"WEBHOOK_DISPATCHER": "off", "WRITE_RATE_PER_KEY": "0"}, port)
        admin = bearer(issue_key(engine, "operator", Scope.admin))
        first = Service(env, "worker", log=tmp_path / "worker-0.log")
        second: Service | None = None
        try:
            for n in range(3):
                created = httpx.post(
                    f"http://127.0.0.1:{port}/v1/actors?not_duplicate=true",
                    json={"kind": "association", "name": f"Relais {n}", "country": "FR"},
                    headers=admin,
                )
                assert created.status_code == 201
            # The first worker holds its endpoint's share (2) on a receiver that hangs.
            wait_for(lambda: receiver.in_flight == 2, 30, "two deliveries hanging")
            second = Service(env, "worker", log=tmp_path / "worker-1.log")
            time.sleep(1.0)  # the second is up, and cannot take the endpoint's leased share
            assert receiver.in_flight == 2 and len(receiver.received) == 2
            receiver.hang_seconds = 0
            stopped_at = time.time()
            first.process.terminate()
            with Session(engine) as session:
                event_ids = {str(e.id) for e in session.exec(select(Event))}

            def delivered_after_the_stop() -> bool:
                later = {r.msg_id for r in receiver.received if r.arrived_at >= stopped_at}
                return event_ids <= later

            wait_for(delivered_after_the_stop, 2.0, "the other worker sending them")
            assert time.time() - stopped_at < 2.5
            first.process.wait(timeout=10)
            assert first.process.returncode == 0
            assert "handed back 2 deliveries" in (tmp_path / "worker-0.log").read_text()
        finally:
            receiver.release()
            first.stop()
            if second is not None:
                second.stop()
            registry.stop()
            engine.dispose()
    receiver.stop()

"""Readiness and graceful shutdown as a load balancer and an orchestrator see them, with the
services as real processes on 127.0.0.1."""

import signal
import threading
import time

import httpx
import pytest

from shared.access import Scope
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import bearer, issue_key
from tests.processes import Service, free_port, registry_env, wait_for

pytestmark = pytest.mark.slow


def ready(url: str) -> httpx.Response:
    return httpx.get(url + "/ready", timeout=2)


def test_matching_is_ready_only_while_it_holds_the_registry_s_graph(tmp_path):
    registry_db, matching_db = tmp_path / "registry.db", tmp_path / "matching.db"
    upgrade(f"sqlite:///{registry_db}")
    upgrade(f"sqlite:///{matching_db}", "matching")
    registry_port, matching_port = free_port(), free_port()
    registry_url = f"http://127.0.0.1:{registry_port}"
    matching_url = f"http://127.0.0.1:{matching_port}"
    env = registry_env(f"sqlite:///{registry_db}")
    matching = Service.api(
        {
            "MATCHING_DATABASE_URL": f"sqlite:///{matching_db}",
            "MATCHING_REGISTRY_URL": registry_url,
            "MATCHING_POLL_SECONDS": "0.2",
            "MATCHING_MAX_BACKOFF_SECONDS": "0.5",
            "MATCHING_READY_MAX_LAG": "2",
        },
        matching_port,
        module="services.matching",
    )
    registry: Service | None = None
    try:
        # Alive, but no graph yet: the registry is not there.
        assert httpx.get(matching_url + "/health", timeout=2).status_code == 200
        not_loaded = ready(matching_url)
        assert not_loaded.status_code == 503 and not_loaded.json()["reason"] == "graph-loading"
        assert not_loaded.headers["content-type"] == "application/problem+json"

        registry = Service.api(env, registry_port)
        assert ready(registry_url).status_code == 200
        wait_for(lambda: ready(matching_url).status_code == 200, 15, "matching ready")

        registry.kill()
        down_at = time.monotonic()
        # Within the threshold it still serves its last graph…
        assert ready(matching_url).status_code == 200
        wait_for(lambda: ready(matching_url).status_code == 503, 10, "matching not ready")
        # Counted from the last answer, up to a poll (0.2 s) before the kill.
        assert time.monotonic() - down_at >= 2 - 0.2
        assert ready(matching_url).json()["reason"] == "registry-unreachable"

        registry = Service.api(env, registry_port)
        wait_for(lambda: ready(matching_url).status_code == 200, 15, "matching ready again")
    finally:
        matching.stop()
        if registry is not None:
            registry.stop()


def test_a_registry_stopped_with_sigterm_finishes_the_request_in_flight(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    engine = make_engine(url)
    admin = bearer(issue_key(engine, "operator", Scope.admin))
    engine.dispose()
    port = free_port()
    # A grace long enough for a slow machine: what is tested is that the request finishes.
    registry = Service.api(registry_env(url, SHUTDOWN_GRACE_SECONDS="120"), port)
    rows = "".join(f"actor,association,Association en vol {n:05d},FR\n" for n in range(3000))
    try:
        with httpx.Client(timeout=120) as client:
            pending = client.build_request(
                "POST",
                f"http://127.0.0.1:{port}/v1/imports?apply=true&rows=none",
                content=("resource,kind,name,country\n" + rows).encode(),
                headers=admin | {"Content-Type": "text/csv"},
            )
            started = time.monotonic()

            def stop_soon() -> None:
                time.sleep(0.5)
                registry.process.send_signal(signal.SIGTERM)

            threading.Thread(target=stop_soon, daemon=True).start()
            response = client.send(pending)
        assert time.monotonic() - started > 0.5, "the import ended before the signal"
        assert response.status_code == 200, response.text
        assert response.json()["summary"]["counts"]["actor"]["create"] == 3000
        # After its shutdown uvicorn raises the signal again, so the exit status says SIGTERM.
        assert registry.process.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        registry.stop()

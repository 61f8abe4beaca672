"""Both services as real processes on 127.0.0.1, for the matching tests that need them."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.access import Scope
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import Registry, bearer, issue_key
from tests.processes import Service, free_port
from tests.processes import registry_env as process_env


@dataclass
class System:
    registry_env: dict[str, str]
    admin_key: str
    registry_port: int
    registry: Service
    matching: Service
    matching_url: str
    client: httpx.Client

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}"

    @property
    def api(self) -> Registry:
        """The registry's public API, with the helpers the in-process tests use."""
        return Registry(self.client)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(path, body)

    def authority(self, name: str, country: str = "FR", **fields: Any) -> dict[str, Any]:
        return self.api.authority(name, country, **fields)

    def suggestions(self, actor: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.matching_url}/v1/actors/{actor['id']}/suggestions",
            params={"limit": 50, **params},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.matching_url}/health", timeout=5).json()


def eventually(check: Callable[[], bool], seconds: float = 10, what: str = "") -> None:
    """Wait until `check` holds; until then a failing assertion inside it only means "not yet"
    (e.g. an actor the matching service has not seen yet answers 404)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


@pytest.fixture
def system(tmp_path) -> Iterator[System]:
    registry_db, matching_db = tmp_path / "registry.db", tmp_path / "matching.db"
    upgrade(f"sqlite:///{registry_db}")
    upgrade(f"sqlite:///{matching_db}", "matching")
    engine = make_engine(f"sqlite:///{registry_db}")
    admin_key = issue_key(engine, "test admin", Scope.admin)
    service_key = issue_key(engine, "matching service", Scope.propose)
    engine.dispose()
    registry_port, matching_port = free_port(), free_port()
    registry_env = process_env(f"sqlite:///{registry_db}")
    matching_env = {
        "MATCHING_DATABASE_URL": f"sqlite:///{matching_db}",
        "MATCHING_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "MATCHING_POLL_SECONDS": "0.2",
        "MATCHING_MAX_BACKOFF_SECONDS": "1",
        "MATCHING_REGISTRY_KEY": service_key,
    }
    registry = Service.api(registry_env, registry_port)
    matching = Service.api(matching_env, matching_port, module="services.matching")
    system = System(
        registry_env,
        admin_key,
        registry_port,
        registry,
        matching,
        f"http://127.0.0.1:{matching_port}",
        httpx.Client(
            base_url=f"http://127.0.0.1:{registry_port}", timeout=10, headers=bearer(admin_key)
        ),
    )
    try:
        eventually(lambda: system.health()["synced"], what="first snapshot")
        yield system
    finally:
        system.client.close()
        system.matching.stop()
        system.registry.stop()

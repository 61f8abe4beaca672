"""Fixtures shared by every test: databases on each backend and a registry client."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from services.registry.app import create_app
from services.registry.keys import create_key
from services.registry.models import metadata
from services.registry.settings import RegistrySettings
from shared.access import SYSTEM, Scope
from shared.db import new_session
from shared.migrate import upgrade
from tests.databases import BACKENDS, fresh_database


def settings_for_tests(database_url: str, **overrides: Any) -> RegistrySettings:
    """Settings of a registry under test: receivers on 127.0.0.1, retries within a second."""
    values: dict[str, Any] = {
        "database_url": database_url,
        # Tests drive delivery with dispatchers of their own, to know when it happens.
        "webhook_dispatcher": "off",
        "webhook_allowed_hosts": "127.0.0.1",
        "webhook_retry_schedule": "0,0.1,0.1,0.1",
        "webhook_timeout_seconds": 5,
        # Rate limits have tests of their own; elsewhere they would only slow suites down.
        "write_rate_per_key": 0,
        "write_rate_per_ip": 0,
    }
    return RegistrySettings(**(values | overrides))


@pytest.fixture(scope="session", params=BACKENDS)
def registry_database(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """A registry database migrated with Alembic, one per backend for the whole run."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def registry_app(registry_database: str) -> Iterator[Any]:
    app = create_app(settings_for_tests(registry_database))
    yield app
    app.state.engine.dispose()


def empty_database(engine: Engine) -> None:
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(text("DELETE FROM sqlite_sequence"))


def issue_key(engine: Engine, name: str, *scopes: Scope, actor_id: Any = None) -> str:
    """A new API key's secret, issued as an operator would with `passerelles keys create`."""
    for session in new_session(engine):
        session.info["principal"] = SYSTEM
        _key, secret = create_key(
            session, name=name, scopes=[str(s) for s in scopes], actor_id=actor_id
        )
        session.commit()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def as_key(client: TestClient, secret: str) -> TestClient:
    """A client of the same registry calling with another key."""
    return TestClient(client.app, headers=bearer(secret))


def api_key(client: TestClient, name: str, *scopes: str, **fields: Any) -> dict[str, Any]:
    """A key issued through `POST /v1/keys` by `client` (an admin): the record and its secret."""
    response = client.post("/v1/keys", json={"name": name, "scopes": list(scopes), **fields})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def client(registry_app: Any) -> Iterator[TestClient]:
    """An admin's client of a registry whose database is empty at the start of the test."""
    empty_database(registry_app.state.engine)
    admin = issue_key(registry_app.state.engine, "test admin", Scope.admin)
    with TestClient(registry_app, headers=bearer(admin)) as test_client:
        yield test_client


@pytest.fixture
def anonymous(client: TestClient) -> Iterator[TestClient]:
    """A client without a key, on the same (emptied) registry as `client`."""
    with TestClient(client.app) as test_client:
        yield test_client


@pytest.fixture
def engine(client: TestClient) -> Engine:
    return client.app.state.engine  # type: ignore[attr-defined]


@pytest.fixture
def reading_engine(client: TestClient) -> Engine:
    """The engine anonymous reads use: its own pool on PostgreSQL (`shared.db.reading_engine`)."""
    return client.app.state.reading_engine  # type: ignore[attr-defined]


@contextmanager
def commits_fail() -> Iterator[None]:
    """Every commit fails while inside, as when the database goes away mid-request."""

    def refuse(_session: Session) -> None:
        raise RuntimeError("the database refused the commit")

    event.listen(Session, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", refuse)


def assert_problem(response, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (naming `field`, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(problem[member], str) and problem[member], (member, problem)
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]], problem
        assert all(error["reason"] for error in problem["errors"])
    return problem


class Registry:
    """Small helpers to create records through the public API in tests."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        assert response.status_code == expect, response.text
        return response.json()

    def authority(self, name: str, country: str = "FR", **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "local_authority",
            "level": "municipality",
            "name": name,
            "country": country,
        }
        return self.post("/v1/actors?not_duplicate=true", body | fields)

    def actor(self, kind: str, name: str, country: str = "FR", **fields: Any) -> dict[str, Any]:
        body = {"kind": kind, "name": name, "country": country}
        return self.post("/v1/actors?not_duplicate=true", body | fields)

    def convention(self, *actors: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "decentralised_cooperation",
            "title": "Coopération " + " – ".join(a["name"] for a in actors),
            "parties": [{"actor_id": a["id"], "role": "signatory"} for a in actors],
        }
        return self.post("/v1/conventions", body | fields)

    def project(
        self, lead: dict[str, Any], *partners: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        body = {
            "title": f"Projet de {lead['name']}",
            "lead_id": lead["id"],
            "partners": [{"actor_id": p["id"], "role": "partner"} for p in partners],
        }
        return self.post("/v1/projects", body | fields)

    def count(self, path: str) -> int:
        total, url = 0, f"{path}?limit=200"
        while url:
            page = self.client.get(url).json()
            total += len(page["items"])
            url = page["next"]
        return total


@pytest.fixture
def registry(client: TestClient) -> Registry:
    return Registry(client)

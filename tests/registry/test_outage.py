"""A database that refuses connections: every route answers 503 with `Retry-After`, and the
registry serves again as soon as the database is back, without a restart."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from services.registry.app import create_app
from shared.access import Scope
from shared.errors import unavailable
from shared.migrate import upgrade
from tests.conftest import assert_problem, bearer, issue_key, settings_for_tests
from tests.databases import POSTGRES_URL, fresh_database

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL) to refuse connections"
)


@pytest.fixture
def database(tmp_path) -> Iterator[str]:
    """A PostgreSQL database of this test's own: closing it must not disturb other tests."""
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)
        yield url


@contextmanager
def refused_connections(url: str) -> Iterator[None]:
    """The database stops accepting connections and its open ones are cut, as in an outage."""
    name = make_url(url).database
    admin = create_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def assert_unavailable(response) -> dict[str, Any]:
    problem = assert_problem(response, 503)
    assert 1 <= int(response.headers["Retry-After"]) <= 30, response.headers
    return problem


def actor(name: str) -> dict[str, Any]:
    return {"kind": "association", "name": name, "country": "FR"}


@needs_postgres
def test_an_outage_answers_503_everywhere_and_recovers_without_a_restart(database):
    app = create_app(settings_for_tests(database))
    admin = issue_key(app.state.engine, "outage admin", Scope.admin)
    with TestClient(app, headers=bearer(admin)) as client, TestClient(app) as anonymous:
        created = client.post("/v1/actors", json=actor("Eau Vive"))
        assert created.status_code == 201, created.text
        assert anonymous.get("/health").status_code == 200
        with refused_connections(database):
            assert_unavailable(client.get("/v1/actors"))
            assert_unavailable(anonymous.get("/v1/actors"))
            assert_unavailable(anonymous.get(f"/v1/actors/{created.json()['id']}"))
            assert_unavailable(client.post("/v1/actors", json=actor("Terres Unies")))
            # Idempotency-Key handling reads the database before the route runs.
            retried = client.post(
                "/v1/actors", json=actor("Sahel Vert"), headers={"Idempotency-Key": "outage-1"}
            )
            assert_unavailable(retried)
            # Alive, but not ready: a load balancer routes elsewhere, nothing restarts it.
            alive = anonymous.get("/health")
            assert alive.status_code == 200 and alive.json()["database"] == "unreachable"
            ready = assert_unavailable(anonymous.get("/ready"))
            assert ready["database"] == "unreachable"
            assert ready["reason"] in ready["detail"]
        assert anonymous.get("/health").json()["database"] == "ok"
        assert anonymous.get("/ready").json()["status"] == "ready"
        again = client.post(
            "/v1/actors", json=actor("Sahel Vert"), headers={"Idempotency-Key": "outage-1"}
        )
        assert again.status_code == 201, again.text
        assert client.post("/v1/actors", json=actor("Terres Unies")).status_code == 201
        names = {item["name"] for item in anonymous.get("/v1/actors").json()["items"]}
        assert names == {"Eau Vive", "Sahel Vert", "Terres Unies"}
    app.state.engine.dispose()


@contextmanager
def ended_connections(url: str) -> Iterator[None]:
    """The server ends every open connection to the database, as a restart does; new ones
    are accepted at once."""
    name = make_url(url).database
    admin = create_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                # With a timeout, each call waits until its backend has ended (its reason
                # sent, its socket closed): without one, a request could take a connection
                # whose end was still on its way, which no check at checkout can see.
                text(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                    "WHERE datname = :n"
                ),
                {"n": name},
            ).scalar_one()
        assert ended >= 1, "the pool held no connection to end"
        yield
    finally:
        admin.dispose()


@needs_postgres
def test_connections_the_server_ended_while_pooled_fail_no_request(database):
    app = create_app(settings_for_tests(database))
    admin = issue_key(app.state.engine, "restart admin", Scope.admin)
    with TestClient(app, headers=bearer(admin)) as client, TestClient(app) as anonymous:
        created = client.post("/v1/actors", json=actor("Eau Vive"))
        assert created.status_code == 201, created.text
        path = f"/v1/actors/{created.json()['id']}"
        assert anonymous.get(path).status_code == 200
        with ended_connections(database):
            # Each pooled connection is dead now; the pool lends none of them.
            assert anonymous.get(path).status_code == 200
            assert anonymous.get("/v1/actors").status_code == 200
        with ended_connections(database):
            again = client.post("/v1/actors", json=actor("Sahel Vert"))
            assert again.status_code == 201, again.text
    app.state.engine.dispose()


def test_a_locked_sqlite_database_is_busy_but_a_sql_mistake_is_not_an_outage(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'busy.db'}", connect_args={"timeout": 0})
    try:
        with engine.connect() as holder, engine.connect() as waiter:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
            with pytest.raises(OperationalError) as locked:
                waiter.exec_driver_sql("BEGIN IMMEDIATE")
            with pytest.raises(OperationalError) as mistake:
                waiter.exec_driver_sql("SELECT * FROM no_such_table")
    finally:
        engine.dispose()
    busy = unavailable(locked.value)
    assert busy is not None and busy.status == 503 and "Retry-After" in busy.headers
    # A bug must stay a 500 in the logs, not pass for an outage that clients retry.
    assert unavailable(mistake.value) is None

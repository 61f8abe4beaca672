"""What both services put around their routes: a cap on request bodies, rate limits per key and
per address, security headers, CORS only for configured origins, and 500s that tell nothing of
the server's insides."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.matching.app import create_app as create_matching_app
from services.matching.settings import MatchingSettings
from services.registry.app import create_app
from shared.access import Scope
from shared.migrate import upgrade
from tests.conftest import (
    Registry,
    assert_problem,
    bearer,
    commits_fail,
    issue_key,
    settings_for_tests,
)
from tests.databases import fresh_database

ACTOR = {"kind": "association", "name": "Eau Vive", "country": "FR"}
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"
CARTE = "https://carte.example.org"


@contextmanager
def registry_with(database_url: str, **overrides: Any) -> Iterator[TestClient]:
    """A registry app of its own on the test database, with these settings changed."""
    app = create_app(settings_for_tests(database_url, **overrides))
    with TestClient(app) as client:
        yield client


def actor(name: str) -> dict[str, Any]:
    return ACTOR | {"name": name}


def assert_security_headers(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == STRICT_CSP


def assert_retry_after(response) -> int:
    problem = assert_problem(response, 429)
    value = response.headers["Retry-After"]
    assert value.isdigit() and int(value) >= 1, value
    assert problem["retry_after"] == int(value)
    return int(value)


# --- request bodies ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_before_anything_is_written(
    client, registry_database
):
    with registry_with(registry_database, max_body_bytes=2048) as small:
        small.headers.update(client.headers)
        fits = small.post("/v1/actors", json=actor("A") | {"description": "x" * 1500})
        assert fits.status_code == 201, fits.text

        too_big = small.post("/v1/actors", json=actor("B") | {"description": "x" * 2100})
        assert int(too_big.request.headers["content-length"]) > 2048
        problem = assert_problem(too_big, 413)
        assert "2048" in problem["detail"]
        assert_security_headers(too_big)
        # Refused before authentication and before reading: a lying length is enough.
        declared = small.post("/v1/actors", content=b"{}", headers={"Content-Length": "999999999"})
        assert_problem(declared, 413)
    assert Registry(client).count("/v1/actors") == 1


def chunks(body: bytes, size: int = 500) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_without_a_length_is_capped_too(client, registry_database):
    with registry_with(registry_database, max_body_bytes=2048) as small:
        small.headers.update(client.headers)
        small.headers["Content-Type"] = "application/json"
        big = json.dumps(actor("B") | {"description": "x" * 3000}).encode()
        too_big = small.post("/v1/actors", content=chunks(big))
        assert "content-length" not in too_big.request.headers
        assert too_big.request.headers["transfer-encoding"] == "chunked"
        assert_problem(too_big, 413)
        assert_security_headers(too_big)

        # Under the cap, the chunks read to check the size reach the route whole.
        fits = json.dumps(actor("A") | {"description": "y" * 1200}).encode()
        created = small.post("/v1/actors", content=chunks(fits, 100))
        assert "content-length" not in created.request.headers
        assert created.status_code == 201, created.text
        assert created.json()["description"] == "y" * 1200
    assert Registry(client).count("/v1/actors") == 1


# --- rate limits ---------------------------------------------------------------------------------


def test_writes_beyond_the_per_key_rate_get_429_with_retry_after(client, registry_database, engine):
    first_key = client.headers["Authorization"]
    other_key = bearer(issue_key(engine, "other admin", Scope.admin))
    with registry_with(registry_database, write_rate_per_key=3) as limited:
        limited.headers["Authorization"] = first_key
        for i in range(3):
            assert limited.post("/v1/actors", json=actor(f"A{i}")).status_code == 201
        refused = limited.post("/v1/actors", json=actor("A3"))
        assert assert_retry_after(refused) >= 15  # 3 a minute: one more every 20 s
        assert_security_headers(refused)
        # Any write counts, and a refused write is still refused.
        assert_retry_after(limited.delete("/v1/actors/00000000-0000-4000-8000-000000000000"))

        # Another key has a bucket of its own (no per-address limit here).
        for i in range(3):
            response = limited.post("/v1/actors", json=actor(f"B{i}"), headers=other_key)
            assert response.status_code == 201
        assert_retry_after(limited.post("/v1/actors", json=actor("B3"), headers=other_key))

        # Reads are never limited on the registry.
        for _ in range(30):
            assert limited.get("/v1/actors").status_code == 200
    assert Registry(client).count("/v1/actors") == 6


def test_another_key_from_the_same_address_is_held_by_the_per_address_limit(
    client, registry_database, engine
):
    keys = [client.headers["Authorization"]]
    keys += [bearer(issue_key(engine, f"key {i}", Scope.admin))["Authorization"] for i in (1, 2)]
    with registry_with(registry_database, write_rate_per_key=100, write_rate_per_ip=4) as limited:
        for i in range(4):
            authorization = {"Authorization": keys[i % 2]}
            response = limited.post("/v1/actors", json=actor(f"A{i}"), headers=authorization)
            assert response.status_code == 201, response.text
        fresh_key = {"Authorization": keys[2]}
        assert_retry_after(limited.post("/v1/actors", json=actor("C"), headers=fresh_key))
        # Callers without a key share the address's bucket as well.
        assert_retry_after(limited.post("/v1/actors", json=actor("D")))
        for _ in range(30):
            assert limited.get("/v1/actors", headers=fresh_key).status_code == 200
    assert Registry(client).count("/v1/actors") == 4


@pytest.fixture
def matching_database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(url, "matching")
    return url


def test_matching_queries_beyond_the_per_address_rate_get_429(matching_database):
    settings = MatchingSettings(
        database_url=matching_database,
        registry_url="http://127.0.0.1:9",
        query_rate_per_ip=2,
    )
    app = create_matching_app(settings, follow=False)
    path = "/v1/actors/00000000-0000-4000-8000-000000000000/suggestions"
    with TestClient(app) as matching:
        # The graph was never loaded: the first queries answer 503, yet count against the
        # limit, which is checked before the graph.
        for _ in range(2):
            assert_problem(matching.get(path), 503)
        refused = matching.get(path)
        assert_retry_after(refused)
        assert_security_headers(refused)
        assert_retry_after(matching.get("/v1/overlaps"))
        # Health checks are not queries.
        assert matching.get("/health").status_code == 200


# --- security headers ----------------------------------------------------------------------------


def test_every_api_response_carries_the_security_headers(client, anonymous):
    responses = [
        anonymous.get("/v1/actors"),
        anonymous.get("/openapi.json"),
        anonymous.get("/v1/actors/00000000-0000-4000-8000-000000000000"),
        anonymous.post("/v1/actors", json=ACTOR),
        anonymous.get("/v1/actors", headers={"Authorization": "Bearer pss_unknown"}),
        client.get("/v1/keys"),
        client.post("/v1/actors", json=ACTOR | {"country": "XX"}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 401, 401, 200, 422]
    for response in responses:
        assert_security_headers(response)
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_documentation_pages_may_load_their_scripts(anonymous):
    for path in ("/docs", "/redoc"):
        page = anonymous.get(path)
        assert page.status_code == 200
        assert "Content-Security-Policy" not in page.headers
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["X-Frame-Options"] == "DENY"


def test_responses_to_a_key_are_never_cached_and_open_data_may_be(client, anonymous, registry):
    lille = registry.authority("Lille")
    for path in ("/v1/actors", f"/v1/actors/{lille['id']}", "/v1/events"):
        assert "no-store" not in anonymous.get(path).headers.get("Cache-Control", "")
        assert client.get(path).headers["Cache-Control"] == "no-store"
    refused = anonymous.get("/v1/actors", headers={"Authorization": "Bearer pss_unknown"})
    assert refused.headers["Cache-Control"] == "no-store"


# --- CORS ----------------------------------------------------------------------------------------


def preflight(client: TestClient, origin: str, path: str = "/v1/conventions"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
        },
    )


def test_a_configured_origin_may_call_with_a_key_and_an_idempotency_key(client, registry_database):
    with registry_with(registry_database, cors_allow_origins=CARTE) as browser:
        allowed = preflight(browser, CARTE)
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["Access-Control-Allow-Origin"] == CARTE
        headers = allowed.headers["Access-Control-Allow-Headers"].lower()
        assert {"authorization", "idempotency-key", "content-type"} <= {
            h.strip() for h in headers.split(",")
        }
        assert "POST" in allowed.headers["Access-Control-Allow-Methods"]

        read = browser.get("/v1/actors", headers={"Origin": CARTE})
        assert read.headers["Access-Control-Allow-Origin"] == CARTE
        exposed = read.headers["Access-Control-Expose-Headers"].lower()
        assert "location" in exposed and "idempotent-replayed" in exposed

        for stranger in ("https://evil.example.net", "http://carte.example.org"):
            refused = preflight(browser, stranger)
            assert "Access-Control-Allow-Origin" not in refused.headers
            read = browser.get("/v1/actors", headers={"Origin": stranger})
            assert read.status_code == 200
            assert "Access-Control-Allow-Origin" not in read.headers


def test_without_configured_origins_there_are_no_cors_headers(anonymous):
    assert anonymous.app.state.settings.cors_allow_origins == ""
    responses = [
        preflight(anonymous, CARTE),
        anonymous.get("/v1/actors", headers={"Origin": CARTE}),
    ]
    for response in responses:
        assert not any(name.lower().startswith("access-control-") for name in response.headers)


# --- server errors -------------------------------------------------------------------------------


def assert_tells_nothing(response, *secrets: str) -> None:
    problem = assert_problem(response, 500)
    assert problem["detail"] == "An unexpected error occurred; nothing was saved."
    for leak in ("Traceback", 'File "', "sqlalchemy", "INSERT", "SELECT", *secrets):
        assert leak.lower() not in response.text.lower(), leak


def test_a_500_shows_no_stack_trace_and_no_exception_text(client, registry: Registry):
    unsafe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    with commits_fail():
        response = unsafe.post("/v1/actors", json=ACTOR)
    assert_tells_nothing(response, "refused the commit", "RuntimeError")
    assert registry.count("/v1/actors") == 0


@pytest.fixture
def registry_missing_a_table(registry_database, tmp_path) -> Iterator[TestClient]:
    """A registry of its own whose audit table is gone, so writes fail inside SQL."""
    backend = "postgresql" if registry_database.startswith("postgresql") else "sqlite"
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        app = create_app(settings_for_tests(url))
        admin = issue_key(app.state.engine, "admin", Scope.admin)
        with app.state.engine.begin() as connection:
            connection.execute(text("DROP TABLE audit_entry"))
        with TestClient(app, raise_server_exceptions=False, headers=bearer(admin)) as unsafe:
            yield unsafe


def test_a_500_from_a_failing_sql_statement_shows_no_sql(registry_missing_a_table):
    response = registry_missing_a_table.post("/v1/actors", json=ACTOR)
    assert_tells_nothing(response, "audit_entry", "psycopg", "sqlite3", "OperationalError")
    assert registry_missing_a_table.get("/v1/actors").json()["items"] == []


def test_a_500_carries_the_security_headers_too(client):
    unsafe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    with commits_fail():
        response = unsafe.post("/v1/actors", json=ACTOR)
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"

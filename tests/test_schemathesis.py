"""Schemathesis fuzzes both services against their own OpenAPI schemas, in-process.

Every operation gets schema-valid and schema-invalid requests (fixed seed, so a run is
repeatable), and every default check applies: no server error, documented status codes,
content types and headers, responses that match their schemas, invalid input refused,
protected operations refusing a missing or wrong key, 405 with a truthful Allow header. One
failure fails the test of that operation and shows the request that reproduces it.

The apps are built by fixtures, once per database backend, but Schemathesis collects one
test per operation from a schema it loads at import. So each service is loaded from a
stand-in (`Target`) that serves the schema of an app built with the same settings, and the
fixture then points the stand-in at the app under test. (Schemathesis's own loader from a
fixture, `schemathesis.pytest.from_fixture`, reads `Node._nodeid`, gone in pytest 9.2.)
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from starlette.types import Receive, Scope, Send

from services.matching.app import create_app as create_matching_app
from services.matching.settings import MatchingSettings
from services.registry.app import create_app as create_registry_app
from services.registry.demo.loader import load_demo
from shared.access import SYSTEM
from shared.access import Scope as KeyScope
from shared.db import make_engine, new_session
from shared.migrate import upgrade
from tests.conftest import assert_problem, empty_database, issue_key, settings_for_tests
from tests.databases import fresh_database
from tests.processes import Service, free_port, registry_env

# Cases per operation in the fuzzing phase, on top of the schema's examples and the coverage
# phase's boundary values; enough to find what the checks look for within a few minutes.
MAX_EXAMPLES = 100

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240611,
        # Bodies and pages are large by design; slow generation is not a failure.
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            # No `.hypothesis/` replay between runs: each run checks the same fixed cases.
            "database": "none",
        },
        "checks": {
            # The one check off its defaults, which gain 422 only. A schema-valid request may
            # still break a rule JSON Schema cannot state (referenced actors must exist, a
            # project cannot end before it starts, no duplicate ties...), and the services
            # refuse it with a documented 422 problem naming the field.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
            },
        },
        "operations": [
            {
                # The body of an import is a file: "a string" is the whole file, and a
                # generated object or number goes on the wire as text too, so no request can
                # violate its type. A malformed line or row is answered in the report of that
                # row (tests/registry/test_import*.py), not by refusing the file.
                "include-path": "/v1/imports",
                "checks": {"negative_data_rejection": {"enabled": False}},
            }
        ],
    }
)


@schemathesis.serializer("application/x-ndjson")
def _json_lines(_context: Any, value: Any) -> bytes:
    """An import file in JSON Lines is text on the wire, sent as Schemathesis sends any text; a
    generated non-string (the negative cases) goes as its text form, as for `text/csv`, which
    the import must refuse with a clear problem."""
    return value.encode() if isinstance(value, str) else str(value).encode()


class Target:
    """The ASGI app Schemathesis calls: it forwards requests to the app under test.

    The fixture that builds that app also runs its lifespan, once for all operations (the
    matching service's lifespan loads its graph), so lifespan messages stop here.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.admin_key = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def _schema(target: Target) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target, config=CONFIG)

    # Credentials through an auth provider rather than per-call headers, so the auth checks know
    # the key is a real one, and try protected operations without it and with a wrong one.
    # Not cached: each backend's app has its own key.
    @schema.auth(refresh_interval=None)
    class AdminKey:
        def get(self, _case: Any, context: Any) -> str:
            return context.app.admin_key

        def set(self, case: Any, key: str, _context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}

    return schema


def _matching_settings(database_url: str, registry_url: str, key: str) -> MatchingSettings:
    return MatchingSettings(
        database_url=database_url,
        registry_url=registry_url,
        registry_key=key,
        poll_seconds=0.2,
        query_rate_per_key=0,
        query_rate_per_ip=0,
        write_rate_per_key=0,
        write_rate_per_ip=0,
    )


# The schemas come from apps that are never served: no database is opened to write them.
REGISTRY = Target(create_registry_app(settings_for_tests("sqlite://")))
MATCHING = Target(create_matching_app(_matching_settings("sqlite://", "", ""), follow=False))
REGISTRY_SCHEMA = _schema(REGISTRY)
MATCHING_SCHEMA = _schema(MATCHING)


def _demo_registry(engine: Engine) -> tuple[str, str]:
    """Empty the registry, load the demo data; an admin key and a matching service key."""
    empty_database(engine)
    for session in new_session(engine):
        session.info["principal"] = SYSTEM
        load_demo(session)
        session.commit()
    admin = issue_key(engine, "schemathesis admin", KeyScope.admin)
    return admin, issue_key(engine, "matching service", KeyScope.propose)


@contextmanager
def _serve(target: Target, app: FastAPI, admin_key: str) -> Iterator[None]:
    """Point `target` at `app`, with `app`'s lifespan running meanwhile."""
    with TestClient(app):
        target.app, target.admin_key = app, admin_key
        yield


@pytest.fixture(scope="module")
def registry_app_under_test(registry_database: str) -> Iterator[None]:
    """The registry holding the demo data, on each backend."""
    app = create_registry_app(settings_for_tests(registry_database))
    admin, _service = _demo_registry(app.state.engine)
    with _serve(REGISTRY, app, admin):
        yield


@pytest.fixture(scope="module")
def matching_app_under_test(
    registry_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The matching service with its graph loaded, following a registry run as a real process.

    The registry is a real process rather than an app in this process because the matching
    service reaches it as in production, over HTTP at `registry_url` (for its graph, and to
    check every caller's key): nothing inside the app under test is swapped out.
    """
    engine = make_engine(registry_database)
    admin, service_key = _demo_registry(engine)
    engine.dispose()
    port = free_port()
    registry = Service.api(registry_env(registry_database), port)
    backend = make_url(registry_database).get_backend_name()
    try:
        with fresh_database(backend, tmp_path_factory.mktemp("matching")) as database_url:
            upgrade(database_url, "matching")
            settings = _matching_settings(database_url, f"http://127.0.0.1:{port}", service_key)
            app = create_matching_app(settings)
            with _serve(MATCHING, app, admin):
                deadline = time.monotonic() + 30
                while not app.state.holder.synced:
                    assert time.monotonic() < deadline, app.state.holder.last_error
                    time.sleep(0.1)
                yield
    finally:
        registry.stop()


@REGISTRY_SCHEMA.parametrize()
def test_registry_conforms_to_its_schema(case: Any, registry_app_under_test: None) -> None:
    case.call_and_validate()


@pytest.mark.slow
@MATCHING_SCHEMA.parametrize()
def test_matching_conforms_to_its_schema(case: Any, matching_app_under_test: None) -> None:
    case.call_and_validate()


# Found by probing where the fuzzer seldom gets with its budget (its random ids rarely name a
# record, so most writes stop at a 404 or 422 before the database): values a backend cannot
# store must be refused with a 422 on the field, never reach SQL as a 500.
NUL = "a\x00b"
TOO_BIG = 10**30


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/actors", {"kind": "association", "name": NUL, "country": "FR"}, "name"),
        ("PATCH", "/v1/actors/{id}", {"description": NUL}, "description"),
        ("PATCH", "/v1/actors/{id}", {"population": TOO_BIG}, "population"),
        ("POST", "/v1/keys", {"name": NUL, "scopes": ["admin"]}, "name"),
        ("POST", "/v1/webhooks", {"url": "https://127.0.0.1/x", "description": NUL}, "description"),
        ("GET", f"/v1/events?after={TOO_BIG}", None, "after"),
        ("GET", f"/v1/audit?after={TOO_BIG}", None, "after"),
    ],
)
def test_values_no_database_can_store_are_refused(
    registry: Any, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    actor = registry.authority("Kayes")
    response = registry.client.request(method, path.format(id=actor["id"]), json=body)
    assert_problem(response, 422, field)

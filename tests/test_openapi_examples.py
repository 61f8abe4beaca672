"""Every request body in both OpenAPI documents has an example, and "Try it out" can send it as it
is: on the demo data, each example is accepted (2xx) by the operation it documents."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.matching.app import create_app as create_matching_app
from services.matching.settings import MatchingSettings
from services.registry.app import create_app as create_registry_app
from services.registry.demo.loader import demo_id, load_demo
from services.registry.examples import DEMO_EXAMPLE_ACTORS
from shared.access import SYSTEM, Scope
from shared.migrate import upgrade
from shared.routes import api_routes
from tests.conftest import bearer, issue_key, settings_for_tests

# Deleting or revoking is not a request body; these are the bodies an example must fill.
_METHODS = ("post", "put", "patch")


def body_examples(spec: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(method, path, media type, example) of every request body; the example is None when the
    document gives none."""
    schemas = spec.get("components", {}).get("schemas", {})
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody") if method in _METHODS else None
            if not body:
                continue
            for media_type, media in body["content"].items():
                example = media.get("example")
                if example is None:
                    name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                    example = (schemas.get(name, {}).get("examples") or [None])[0]
                found.append((method, path, media_type, example))
    return found


def test_the_example_ids_are_those_of_the_demo_actors():
    assert {ref: str(demo_id(ref)) for ref in DEMO_EXAMPLE_ACTORS} == DEMO_EXAMPLE_ACTORS


@pytest.fixture
def demo_registry(tmp_path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    # The resolver may not reach the internet here: the example's host is allow-listed, which
    # skips its address check (tested elsewhere), not the rest of the validation.
    app = create_registry_app(settings_for_tests(url, webhook_allowed_hosts="example.org"))
    with Session(app.state.engine) as session:
        session.info["principal"] = SYSTEM
        load_demo(session)
        session.commit()
    admin = issue_key(app.state.engine, "docs reader", Scope.admin)
    with TestClient(app, headers=bearer(admin)) as client:
        yield client


def _first_id(client: TestClient, listing: str) -> str:
    return client.get(listing, params={"limit": 1}).json()["items"][0]["id"]


def test_every_registry_example_is_accepted_as_it_is_on_the_demo_data(demo_registry):
    client = demo_registry
    examples = body_examples(client.get("/openapi.json").json())
    assert examples and all(example is not None for *_, example in examples), [
        (method, path, media) for method, path, media, example in examples if example is None
    ]
    # Creations first, so that the webhook endpoint the PATCH example changes exists.
    examples.sort(key=lambda item: (item[0] != "post", "{" in item[1]))
    ids = {
        "actor_id": str(demo_id("fr-montreuil")),
        "convention_id": _first_id(client, "/v1/conventions"),
        "project_id": _first_id(client, "/v1/projects"),
        "relationship_id": _first_id(client, "/v1/relationships"),
    }
    for method, path, media_type, example in examples:
        if "{endpoint_id}" in path:
            ids["endpoint_id"] = _first_id(client, "/v1/webhooks")
        url = path.format(**ids)
        if media_type == "application/json":
            response = client.request(method.upper(), url, json=example)
        else:
            response = client.request(
                method.upper(),
                url,
                content=example.encode(),
                headers={"Content-Type": media_type},
                params={"apply": "true"},
            )
        assert 200 <= response.status_code < 300, (method, path, media_type, response.text)


def test_every_matching_example_is_a_valid_body(tmp_path):
    url = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(url, "matching")
    app = create_matching_app(MatchingSettings(database_url=url), follow=False)
    examples = body_examples(app.openapi())
    assert examples
    for method, path, _media, example in examples:
        assert example is not None, (method, path)
        route = next(r for r in api_routes(app) if r.path_format == path)
        body_model = route.body_field.field_info.annotation  # type: ignore[attr-defined]
        body_model.model_validate(example)

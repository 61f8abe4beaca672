"""Page cursors are signed by the server and bound to the listing and filters they came from."""

import base64
import json
import os
import stat
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.registry.app import create_app
from shared.access import Scope
from shared.migrate import upgrade
from tests.conftest import Registry, assert_problem, bearer, issue_key, settings_for_tests


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def first_cursor(client: TestClient, url: str) -> str:
    page = client.get(url).json()
    assert page["next_cursor"], page
    return page["next_cursor"]


def associations(registry: Registry, count: int) -> list[dict[str, Any]]:
    return [registry.actor("association", f"Association {n:02}") for n in range(count)]


def test_a_genuine_cursor_walks_every_page_once(client, registry: Registry):
    created = {actor["id"] for actor in associations(registry, 5)}
    registry.actor("network", "Réseau Sahel")
    seen: list[str] = []
    url = "/v1/actors?kind=association&limit=2"
    while url:
        page = client.get(url).json()
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 5 and set(seen) == created
    # `next_cursor` passed by hand, with another page size, is the same listing.
    cursor = first_cursor(client, "/v1/actors?kind=association&limit=2")
    rest = client.get(f"/v1/actors?limit=10&kind=association&cursor={cursor}")
    assert rest.status_code == 200, rest.text
    assert [item["id"] for item in rest.json()["items"]] == seen[2:]


@pytest.mark.parametrize("part", ["position", "signature"])
def test_a_tampered_cursor_is_a_422_on_cursor(client, registry: Registry, part):
    associations(registry, 3)
    position, signature = first_cursor(client, "/v1/actors?limit=1").split(".")
    if part == "position":
        decoded = json.loads(base64.urlsafe_b64decode(position + "=" * (-len(position) % 4)))
        decoded[0] = "2000-01-01T00:00:00+00:00"  # an earlier position: pages already seen
        position = b64(json.dumps(decoded, separators=(",", ":")).encode())
    else:
        signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    response = client.get(f"/v1/actors?limit=1&cursor={position}.{signature}")
    assert_problem(response, 422, "cursor")


def forged_positions() -> list[str]:
    position = json.dumps([datetime.now(UTC).isoformat(), str(uuid.uuid4())]).encode()
    return [
        b64(position),  # the unsigned cursors of earlier versions
        f"{b64(position)}.{b64(bytes(16))}",
        f"{b64(position)}.",
        "not-a-cursor",
    ]


@pytest.mark.parametrize("cursor", forged_positions())
def test_a_forged_well_formed_cursor_is_a_422_on_cursor(client, registry: Registry, cursor):
    associations(registry, 2)
    assert_problem(client.get("/v1/actors", params={"cursor": cursor}), 422, "cursor")


def test_a_cursor_of_one_listing_is_refused_by_another(client, registry: Registry):
    associations(registry, 3)
    cursor = first_cursor(client, "/v1/actors?limit=1")
    for listing in ("/v1/conventions", "/v1/projects", "/v1/relationships", "/v1/keys"):
        assert_problem(client.get(listing, params={"cursor": cursor}), 422, "cursor")
    assert client.get("/v1/actors", params={"cursor": cursor}).status_code == 200


def test_a_cursor_is_bound_to_the_filters_of_its_listing(client, registry: Registry):
    associations(registry, 3)
    registry.actor("network", "Réseau Sahel")
    registry.actor("network", "Réseau Niger")
    cursor = first_cursor(client, "/v1/actors?kind=association&limit=1")
    for other in ({"kind": "network"}, {}, {"kind": ["association", "network"]}):
        response = client.get("/v1/actors", params={**other, "cursor": cursor})
        assert_problem(response, 422, "cursor")
    same = client.get("/v1/actors", params={"kind": "association", "cursor": cursor})
    assert same.status_code == 200 and len(same.json()["items"]) == 2


def app_on(database: str, **settings: Any) -> tuple[TestClient, Any]:
    app = create_app(settings_for_tests(database, **settings))
    return TestClient(app), app


def test_the_generated_secret_is_kept_and_shared_by_every_process(tmp_path):
    database = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(database)
    first, first_app = app_on(database)
    secret_file = tmp_path / "cursor-secret"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    admin = bearer(issue_key(first_app.state.engine, "admin", Scope.admin))
    for n in range(3):
        body = {"kind": "association", "name": f"Association {n}", "country": "FR"}
        created = first.post("/v1/actors?not_duplicate=true", json=body, headers=admin)
        assert created.status_code == 201, created.text
    cursor = first_cursor(first, "/v1/actors?limit=1")
    # A second process, or the first one restarted, on the same data folder.
    second, second_app = app_on(database)
    page = second.get("/v1/actors", params={"limit": 1, "cursor": cursor})
    assert page.status_code == 200, page.text
    assert page.json()["items"][0]["name"] == "Association 1"
    # A registry with a secret of its own refuses the cursor: the secret is what signs.
    other, other_app = app_on(database, cursor_secret="o" * 32)
    assert_problem(other.get("/v1/actors", params={"cursor": cursor}), 422, "cursor")
    for app in (first_app, second_app, other_app):
        app.state.engine.dispose()


def test_a_configured_secret_signs_for_every_process_that_has_it(tmp_path):
    database = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(database)
    secret = "s3cr3t-" * 6
    first, first_app = app_on(database, cursor_secret=secret)
    assert not (tmp_path / "cursor-secret").exists()
    admin = bearer(issue_key(first_app.state.engine, "admin", Scope.admin))
    for n in range(2):
        body = {"kind": "association", "name": f"Association {n}", "country": "FR"}
        created = first.post("/v1/actors?not_duplicate=true", json=body, headers=admin)
        assert created.status_code == 201, created.text
    cursor = first_cursor(first, "/v1/actors?limit=1")
    second, second_app = app_on(database, cursor_secret=secret)
    assert second.get("/v1/actors", params={"cursor": cursor}).status_code == 200
    for app in (first_app, second_app):
        app.state.engine.dispose()


def test_a_short_cursor_secret_is_refused_at_start():
    with pytest.raises(ValueError, match="cursor_secret"):
        settings_for_tests("sqlite://", cursor_secret="short")

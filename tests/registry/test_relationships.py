"""Relationships: memberships, support and coordination ties between actors."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Registry, assert_problem

MISSING = object()


@pytest.fixture
def cast(client, registry: Registry) -> SimpleNamespace:
    """A regional network, a resource centre, a town, two associations and a deleted one."""
    gone = registry.actor("association", "Association dissoute")
    assert client.delete(f"/v1/actors/{gone['id']}").status_code == 204
    return SimpleNamespace(
        network=registry.actor("network", "Cités Unies France"),
        centre=registry.actor("resource_centre", "Lianes Coopération"),
        lille=registry.authority("Lille"),
        ngo=registry.actor("association", "Eau Vive"),
        osim=registry.actor("migrant_organisation", "Ressortissants de Kayes"),
        gone=gone,
    )


def tie(registry: Registry, kind: str, subject, obj, **fields: Any) -> dict[str, Any]:
    body = {"kind": kind, "subject_id": subject["id"], "object_id": obj["id"]}
    return registry.post("/v1/relationships", body | fields)


def test_create_and_read_a_relationship_with_every_field(client, cast):
    body = {
        "kind": "member_of",
        "subject_id": cast.lille["id"],
        "object_id": cast.network["id"],
        "starts_on": "2012-01-01",
        "ends_on": "2024-12-31",
        "description": "Adhérente du groupe pays Sénégal.",
    }
    response = client.post("/v1/relationships", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/relationships/{created['id']}"
    assert {name: created[name] for name in body} == body
    assert created["version"] == 1

    read = client.get(f"/v1/relationships/{created['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json() == created


def test_each_kind_of_tie_between_fitting_actors(registry: Registry, cast):
    assert tie(registry, "member_of", cast.ngo, cast.centre)["kind"] == "member_of"
    assert tie(registry, "member_of", cast.centre, cast.network)["kind"] == "member_of"
    assert tie(registry, "supports", cast.lille, cast.osim)["kind"] == "supports"
    assert tie(registry, "supports", cast.centre, cast.ngo)["kind"] == "supports"
    assert tie(registry, "coordinates", cast.centre, cast.network)["kind"] == "coordinates"
    assert tie(registry, "coordinates", cast.lille, cast.ngo)["kind"] == "coordinates"


def _valid_body(cast: SimpleNamespace) -> dict[str, Any]:
    return {"kind": "member_of", "subject_id": cast.ngo["id"], "object_id": cast.network["id"]}


INVALID = [
    pytest.param(
        lambda c: {"object_id": c.lille["id"]}, "object_id", id="member of a local authority"
    ),
    pytest.param(
        lambda c: {"object_id": c.osim["id"]}, "object_id", id="member of an organisation"
    ),
    pytest.param(
        lambda c: {"kind": "supports", "object_id": c.ngo["id"]}, "object_id", id="itself"
    ),
    pytest.param(lambda c: {"subject_id": str(uuid.uuid4())}, "subject_id", id="no subject"),
    pytest.param(lambda c: {"object_id": str(uuid.uuid4())}, "object_id", id="no object"),
    pytest.param(lambda c: {"subject_id": c.gone["id"]}, "subject_id", id="deleted subject"),
    pytest.param(
        lambda c: {"kind": "supports", "object_id": c.gone["id"]},
        "object_id",
        id="deleted object",
    ),
    pytest.param(lambda c: {"subject_id": MISSING}, "subject_id", id="subject missing"),
    pytest.param(lambda c: {"object_id": "Cités Unies"}, "object_id", id="object not an id"),
    pytest.param(lambda c: {"kind": "funds"}, "kind", id="unknown kind"),
    pytest.param(lambda c: {"kind": MISSING}, "kind", id="kind missing"),
    pytest.param(
        lambda c: {"starts_on": "2020-01-01", "ends_on": "2019-01-01"},
        "ends_on",
        id="ends before it starts",
    ),
]


@pytest.mark.parametrize(("change", "field"), INVALID)
def test_invalid_relationships_get_a_clear_422_and_write_nothing(
    client, registry: Registry, cast, change, field
):
    body = {k: v for k, v in (_valid_body(cast) | change(cast)).items() if v is not MISSING}
    assert_problem(client.post("/v1/relationships", json=body), 422, field)
    assert registry.count("/v1/relationships") == 0


def test_a_live_tie_exists_once(client, registry: Registry, cast):
    first = tie(registry, "member_of", cast.ngo, cast.network)
    again = client.post("/v1/relationships", json=_valid_body(cast) | {"starts_on": "2020-01-01"})
    problem = assert_problem(again, 409)
    assert problem["existing"]["id"] == first["id"]
    assert registry.count("/v1/relationships") == 1

    # Another kind of tie, or the same tie once the first is deleted, is a new fact.
    tie(registry, "supports", cast.ngo, cast.network)
    assert client.delete(f"/v1/relationships/{first['id']}").status_code == 204
    tie(registry, "member_of", cast.ngo, cast.network)
    assert registry.count("/v1/relationships") == 2


def test_listing_filters(client, registry: Registry, cast):
    ngo_in_network = tie(registry, "member_of", cast.ngo, cast.network)
    lille_in_network = tie(registry, "member_of", cast.lille, cast.network)
    ngo_in_centre = tie(registry, "member_of", cast.ngo, cast.centre)
    centre_supports_osim = tie(registry, "supports", cast.centre, cast.osim)
    centre_coordinates = tie(registry, "coordinates", cast.centre, cast.network)

    def ids(**params: Any) -> set[str]:
        response = client.get("/v1/relationships", params=params)
        assert response.status_code == 200, response.text
        return {relationship["id"] for relationship in response.json()["items"]}

    assert ids(kind="member_of") == {
        ngo_in_network["id"],
        lille_in_network["id"],
        ngo_in_centre["id"],
    }
    assert ids(kind=["supports", "coordinates"]) == {
        centre_supports_osim["id"],
        centre_coordinates["id"],
    }
    assert ids(subject_id=cast.ngo["id"]) == {ngo_in_network["id"], ngo_in_centre["id"]}
    assert ids(object_id=cast.network["id"]) == {
        ngo_in_network["id"],
        lille_in_network["id"],
        centre_coordinates["id"],
    }
    assert ids(kind="member_of", object_id=cast.network["id"]) == {
        ngo_in_network["id"],
        lille_in_network["id"],
    }
    # `actor` matches either side of the tie.
    assert ids(actor=cast.centre["id"]) == {
        ngo_in_centre["id"],
        centre_supports_osim["id"],
        centre_coordinates["id"],
    }
    assert ids(actor=cast.osim["id"]) == {centre_supports_osim["id"]}
    assert ids(actor=cast.gone["id"]) == set()
    assert_problem(client.get("/v1/relationships", params={"kind": "funds"}), 422, "kind.0")
    assert_problem(client.get("/v1/relationships", params={"actor": "Lille"}), 422, "actor")


def test_pagination_walks_every_relationship_once(client, registry: Registry, cast):
    members = [
        tie(registry, "member_of", registry.actor("association", f"Asso {i:02d}"), cast.network)
        for i in range(5)
    ]
    seen, pages, url = [], 0, "/v1/relationships?limit=2"
    while url:
        page = client.get(url).json()
        seen += [relationship["id"] for relationship in page["items"]]
        url, pages = page["next"], pages + 1
    assert seen == [member["id"] for member in members]
    assert pages == 3


def test_patch_changes_only_what_is_sent_and_bumps_the_version(client, registry: Registry, cast):
    relationship = tie(
        registry, "member_of", cast.ngo, cast.network, starts_on="2012-01-01", description="Membre"
    )
    url = f"/v1/relationships/{relationship['id']}"
    response = client.patch(url, json={"ends_on": "2023-12-31"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert response.headers["ETag"] == '"2"'
    assert changed["version"] == 2
    assert changed["ends_on"] == "2023-12-31"
    for name in ("kind", "subject_id", "object_id", "starts_on", "description"):
        assert changed[name] == relationship[name], name
    assert client.get(url).json() == changed

    moved = client.patch(url, json={"object_id": cast.centre["id"], "description": None})
    assert moved.status_code == 200, moved.text
    assert moved.json()["object_id"] == cast.centre["id"]
    assert moved.json()["description"] is None
    assert (
        client.get("/v1/relationships", params={"object_id": cast.network["id"]}).json()["items"]
        == []
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda c: {"kind": None}, "kind", id="kind cleared"),
        pytest.param(lambda c: {"subject_id": None}, "subject_id", id="subject cleared"),
        pytest.param(lambda c: {"object_id": None}, "object_id", id="object cleared"),
        pytest.param(lambda c: {"object_id": c.lille["id"]}, "object_id", id="not a group"),
        pytest.param(lambda c: {"subject_id": c.network["id"]}, "object_id", id="itself"),
        pytest.param(lambda c: {"subject_id": c.gone["id"]}, "subject_id", id="deleted subject"),
        pytest.param(lambda c: {"ends_on": "2000-01-01"}, "ends_on", id="ends before start"),
        pytest.param(
            lambda c: {"subject_id": str(uuid.uuid4())},
            "subject_id",
            id="subject does not exist",
        ),
        pytest.param(
            lambda c: {"object_id": str(uuid.uuid4())}, "object_id", id="object does not exist"
        ),
    ],
)
def test_patch_validates_the_merged_relationship_and_writes_nothing(
    client, registry: Registry, cast, change, field
):
    relationship = tie(registry, "member_of", cast.ngo, cast.network, starts_on="2012-01-01")
    url = f"/v1/relationships/{relationship['id']}"
    # Errors must come back as a problem, never as an unhandled server error.
    safe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    assert_problem(safe.patch(url, json=change(cast)), 422, field)
    assert client.get(url).json() == relationship


def test_patch_into_an_existing_tie_is_a_409(client, registry: Registry, cast):
    existing = tie(registry, "member_of", cast.ngo, cast.network)
    other = tie(registry, "member_of", cast.ngo, cast.centre)
    url = f"/v1/relationships/{other['id']}"
    response = client.patch(url, json={"object_id": cast.network["id"]})
    assert assert_problem(response, 409)["existing"]["id"] == existing["id"]
    assert client.get(url).json() == other


def test_a_stale_if_match_is_refused_with_412(client, registry: Registry, cast):
    relationship = tie(registry, "supports", cast.lille, cast.osim)
    url = f"/v1/relationships/{relationship['id']}"
    first = client.patch(url, json={"description": "Un"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200

    stale = client.patch(url, json={"description": "Deux"}, headers={"If-Match": '"1"'})
    assert assert_problem(stale, 412)["current_version"] == 2
    assert client.get(url).json()["description"] == "Un"
    assert_problem(client.delete(url, headers={"If-Match": '"1"'}), 412)
    assert client.get(url).status_code == 200
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204


def test_delete_is_soft_and_hides_the_relationship(client, registry: Registry, cast):
    kept = tie(registry, "member_of", cast.lille, cast.network)
    dropped = tie(registry, "member_of", cast.ngo, cast.network)
    url = f"/v1/relationships/{dropped['id']}"
    assert client.delete(url).status_code == 204

    assert assert_problem(client.get(url), 410)["deleted_at"]
    assert [r["id"] for r in client.get("/v1/relationships").json()["items"]] == [kept["id"]]
    assert client.get("/v1/relationships", params={"actor": cast.ngo["id"]}).json()["items"] == []
    assert_problem(client.patch(url, json={"description": "Encore"}), 410)
    assert_problem(client.delete(url), 410)
    assert_problem(client.get(f"/v1/relationships/{uuid.uuid4()}"), 404)
    assert_problem(client.delete(f"/v1/relationships/{uuid.uuid4()}"), 404)

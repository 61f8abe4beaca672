"""Every error is an RFC 9457 problem, and the OpenAPI document says so and shows examples."""

import sqlite3
import uuid
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from tests.conftest import Registry, assert_problem

PROBLEM_JSON = "application/problem+json"
RESOURCES = ["actors", "conventions", "projects", "relationships"]


@pytest.mark.parametrize("path", ["/v1/nothing", "/v1/actors/extra/segments", "/v1"])
def test_an_unknown_route_is_a_404_problem(client, path):
    problem = assert_problem(client.get(path), 404)
    assert problem["instance"] == path


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


def test_a_wrong_method_is_a_405_problem(client):
    response = client.put("/v1/actors", json={})
    assert_problem(response, 405)
    assert "GET" in allowed(response)
    themes = client.post("/v1/themes", json={})
    assert_problem(themes, 405)
    assert allowed(themes) == {"GET"}


def test_a_405_lists_every_allowed_method(client):
    assert allowed(client.put("/v1/actors", json={})) == {"GET", "POST"}


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_malformed_json_body_is_a_400_problem_and_writes_nothing(
    client, registry: Registry, resource
):
    response = client.post(
        f"/v1/{resource}",
        content=b'{"kind": "association", "name": ',
        headers={"Content-Type": "application/json"},
    )
    problem = assert_problem(response, 400)
    assert "JSON" in problem["detail"]
    assert registry.count(f"/v1/{resource}") == 0


def test_a_malformed_json_patch_is_a_400_problem_and_changes_nothing(client, registry: Registry):
    actor = registry.actor("association", "Eau Vive")
    response = client.patch(
        f"/v1/actors/{actor['id']}",
        content=b"{'name': 'Eau Morte'}",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)
    assert client.get(f"/v1/actors/{actor['id']}").json()["version"] == 1


@pytest.mark.parametrize("body", [[], "actor", 42])
def test_a_body_that_is_not_an_object_is_a_422_problem(client, body):
    problem = assert_problem(client.post("/v1/actors", json=body), 422)
    assert problem["errors"][0]["location"] == "body"


def test_a_missing_body_is_a_422_problem(client):
    problem = assert_problem(client.post("/v1/conventions"), 422)
    assert problem["errors"][0]["location"] == "body"


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_bad_uuid_in_the_path_is_a_422_problem_naming_it(client, resource, method):
    response = client.request(method, f"/v1/{resource}/not-a-uuid", json={})
    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert error["location"] == "path"
    assert error["field"] == resource.removesuffix("s") + "_id"
    assert error["reason"]


def test_a_bad_query_value_is_a_422_problem_located_in_the_query(client):
    problem = assert_problem(client.get("/v1/actors", params={"limit": "many"}), 422)
    assert problem["errors"][0] == {
        "field": "limit",
        "location": "query",
        "reason": problem["errors"][0]["reason"],
    }


def test_problems_of_the_domain_share_the_shape(client, registry: Registry):
    lille = registry.authority("Lille", insee_code="59350")
    duplicate = client.post(
        "/v1/actors?not_duplicate=true",
        json={
            "kind": "local_authority",
            "level": "municipality",
            "name": "Lille bis",
            "country": "FR",
            "insee_code": "59350",
        },
    )
    assert assert_problem(duplicate, 409)["type"] != "about:blank"
    url = f"/v1/actors/{lille['id']}"
    assert_problem(client.patch(url, json={"acronym": "L"}, headers={"If-Match": '"7"'}), 412)
    assert_problem(client.get(f"/v1/actors/{uuid.uuid4()}"), 404)
    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 410)


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), 503),
        # A mistake in SQL is a bug to fix, not an outage for clients to wait out.
        (OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x")), 500),
    ],
)
def test_a_database_out_of_reach_is_a_503_with_retry_after_and_a_bug_stays_a_500(
    client, registry: Registry, failure, status
):
    def fail(_session: Session) -> None:
        raise failure

    event.listen(Session, "before_commit", fail)
    try:
        response = client.post(
            "/v1/actors", json={"kind": "association", "name": "Eau Vive", "country": "FR"}
        )
    finally:
        event.remove(Session, "before_commit", fail)
    problem = assert_problem(response, status)
    assert ("Retry-After" in response.headers) == (status == 503)
    if status == 503:
        assert int(response.headers["Retry-After"]) == problem["retry_after"] > 0
    assert "SELECT" not in response.text and "QueuePool" not in response.text
    assert registry.count("/v1/actors") == 0


# --- the OpenAPI document ----------------------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_interactive_documentation_is_served(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text


def test_error_statuses_are_documented_as_problems(openapi):
    documented = {
        ("/v1/actors", "post"): {"409", "422"},
        ("/v1/conventions", "post"): {"422"},
        ("/v1/projects", "post"): {"422"},
        ("/v1/relationships", "post"): {"409", "422"},
        ("/v1/actors/{actor_id}", "patch"): {"404", "410", "412", "422"},
        ("/v1/conventions/{convention_id}", "patch"): {"404", "410", "412", "422"},
        ("/v1/projects/{project_id}", "delete"): {"404", "410", "412"},
        ("/v1/relationships/{relationship_id}", "get"): {"404", "410"},
        ("/v1/themes/{code}", "get"): {"404"},
    }
    for (path, method), statuses in documented.items():
        responses = openapi["paths"][path][method]["responses"]
        for status in statuses:
            assert status in responses, (method, path, status)
            assert PROBLEM_JSON in responses[status]["content"], (method, path, status)


def test_every_operation_documents_a_503_for_a_database_outage(openapi):
    missing = [
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if PROBLEM_JSON not in operation["responses"].get("503", {}).get("content", {})
    ]
    assert missing == []


def test_problem_responses_carry_their_schema_under_problem_json(openapi):
    responses = openapi["paths"]["/v1/actors"]["post"]["responses"]
    for status in ("409", "422"):
        content = responses[status]["content"]
        assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ProblemDetail"}
        assert "application/json" not in content


def test_every_documented_error_is_a_problem(openapi):
    undocumented = [
        (method.upper(), path, status)
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5")) and PROBLEM_JSON not in response.get("content", {})
    ]
    assert undocumented == []


def _schema_examples(openapi: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The request examples of POST `path`, given on the body or on its schema."""
    content = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in content.get("examples", {}).values()]
    examples += [content["example"]] if "example" in content else []
    reference = content["schema"].get("$ref", "")
    schema = openapi["components"]["schemas"].get(reference.rsplit("/", 1)[-1], {})
    examples += schema.get("examples", [])
    return examples + ([schema["example"]] if "example" in schema else [])


# Fields of the examples that name other records, which an empty registry does not hold.
REFERENCES = ("based_in_id", "origin_ids", "target_id", "lead_id", "convention_id")


@pytest.mark.parametrize("resource", RESOURCES)
def test_request_examples_are_documented_and_well_formed(client, openapi, resource):
    examples = _schema_examples(openapi, f"/v1/{resource}")
    assert examples, f"POST /v1/{resource} has no request example"
    for example in examples:
        response = client.post(f"/v1/{resource}?not_duplicate=true", json=example)
        if response.status_code == 201:
            continue
        # On an empty registry an example may only fail for the records it points to.
        problem = assert_problem(response, 422)
        for error in problem["errors"]:
            field = error["field"]
            assert field.endswith(("actor_id", "subject_id", "object_id")) or field.startswith(
                REFERENCES
            ), (example, error)


def test_problem_texts_are_in_french_when_accept_language_prefers_it(client):
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    missing = client.get("/v1/actors/00000000-0000-0000-0000-000000000000", headers=french)
    assert missing.status_code == 404
    assert missing.headers["content-language"] == "fr"
    body = missing.json()
    assert body["title"] == "Introuvable"
    assert body["detail"] == (
        "Aucun(e) acteur avec l'identifiant 00000000-0000-0000-0000-000000000000."
    )
    invalid = client.post("/v1/actors", json={"kind": "association", "name": ""}, headers=french)
    problem = invalid.json()
    assert invalid.status_code == 422 and problem["title"] == "Données invalides"
    reasons = {error["field"]: error["reason"] for error in problem["errors"]}
    assert reasons["country"] == "champ obligatoire"
    assert reasons["name"] == "au moins 1 caractère(s)"
    assert "champ obligatoire" in problem["detail"]
    # Without the header, or preferring English, nothing changes for API clients.
    english = client.get("/v1/actors/00000000-0000-0000-0000-000000000000").json()
    assert english["title"] == "Not found" and english["detail"].startswith("No actor with id")
    plain = client.post("/v1/actors", json={"kind": "association", "name": ""}).json()
    assert {e["field"]: e["reason"] for e in plain["errors"]}["country"] == "Field required"


def test_access_and_version_problems_are_in_french_too(anonymous, client, registry: Registry):
    french = {"Accept-Language": "fr"}
    needs_key = anonymous.post(
        "/v1/actors",
        json={"kind": "association", "name": "Sans clé", "country": "FR"},
        headers=french,
    ).json()
    assert needs_key["title"] == "Authentification requise"
    assert needs_key["detail"].startswith("Cette opération demande une clé d'API")
    actor = registry.actor("association", "Versions en français")
    stale = client.patch(
        f"/v1/actors/{actor['id']}",
        json={"description": "x"},
        headers=french | {"If-Match": '"7"'},
    ).json()
    assert stale["title"] == "Précondition non remplie"
    assert stale["detail"].startswith('If-Match "7" ne correspond pas à la version actuelle "1"')


def test_rule_violations_and_duplicates_are_explained_in_french(client, registry: Registry):
    french = {"Accept-Language": "fr"}
    lille = registry.authority("Lille")
    refused = client.post(
        "/v1/conventions",
        json={
            "kind": "twinning",
            "title": "Jumelage impossible",
            "parties": [
                {"actor_id": lille["id"], "role": "signatory"},
                {"actor_id": "00000000-0000-0000-0000-000000000001", "role": "signatory"},
            ],
            "starts_on": "2024-01-01",
            "ends_on": "2023-01-01",
        },
        headers=french,
    )
    problem = refused.json()
    assert refused.status_code == 422 and problem["title"] == "Données invalides"
    reasons = {e["field"]: e["reason"] for e in problem["errors"]}
    assert reasons["parties.1.actor_id"] == (
        "aucun acteur avec l'identifiant 00000000-0000-0000-0000-000000000001"
    )
    assert reasons["ends_on"] == "se termine avant de commencer (2024-01-01)"
    assert "se termine avant de commencer" in problem["detail"]
    registry.actor("association", "Eau Vive Solidarité")
    duplicate = client.post(
        "/v1/actors",
        json={"kind": "association", "name": "Eau Vive Solidarite", "country": "FR"},
        headers=french,
    ).json()
    assert duplicate["title"] == "Doublon probable"
    assert duplicate["detail"].startswith(
        "Eau Vive Solidarite ressemble à un acteur déjà enregistré : Eau Vive Solidarité."
    )

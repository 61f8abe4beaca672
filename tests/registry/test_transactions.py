"""A write is acknowledged only once committed, and a failed write leaves nothing behind."""

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tests.conftest import Registry, assert_problem, commits_fail


def test_a_failing_commit_reaches_the_client_as_an_error_never_a_201(client, registry: Registry):
    unsafe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    with commits_fail():
        response = unsafe.post(
            "/v1/actors", json={"kind": "association", "name": "A", "country": "FR"}
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "nothing was saved" in response.json()["detail"]
    assert "Traceback" not in response.text and "refused" not in response.text
    assert registry.count("/v1/actors") == 0


def test_nothing_is_written_when_a_commit_fails(client, registry: Registry):
    actor = registry.actor("association", "Eau Vive")

    unsafe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    with commits_fail():
        assert unsafe.patch(f"/v1/actors/{actor['id']}", json={"acronym": "EV"}).status_code == 500
    after = client.get(f"/v1/actors/{actor['id']}").json()
    assert after["acronym"] is None
    assert after["version"] == 1
    assert registry.count("/v1/actors") == 1


def test_a_convention_refused_for_one_party_writes_none_of_its_rows(client, registry: Registry):
    lille = registry.authority("Lille")
    response = client.post(
        "/v1/conventions",
        json={
            "kind": "twinning",
            "title": "Jumelage",
            "parties": [
                {"actor_id": lille["id"]},
                {"actor_id": "00000000-0000-4000-8000-000000000000"},
            ],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "parties.1.actor_id"
    assert registry.count("/v1/conventions") == 0


def test_a_uniqueness_race_lost_at_commit_is_a_409_and_writes_nothing(client, registry: Registry):
    """Whatever statement a concurrent writer's unique row stops (here the commit itself), the
    answer is a 409 problem, never a 500. Races named by a check have their own 409s:
    tests/registry/test_concurrency.py."""

    def lose_race(_session: Session) -> None:
        raise IntegrityError("INSERT …", {}, Exception("duplicate key value"))

    event.listen(Session, "before_commit", lose_race)
    try:
        response = client.post(
            "/v1/actors", json={"kind": "association", "name": "A", "country": "FR"}
        )
    finally:
        event.remove(Session, "before_commit", lose_race)
    problem = assert_problem(response, 409)
    assert "nothing was saved" in problem["detail"]
    assert "duplicate key" not in response.text
    assert registry.count("/v1/actors") == 0

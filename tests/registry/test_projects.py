"""Projects: concrete actions led by one actor with partners, often under a convention."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Registry, assert_problem

MISSING = object()


def partner(actor: dict[str, Any], role: str = "partner") -> dict[str, str]:
    return {"actor_id": actor["id"], "role": role}


def roles(project: dict[str, Any]) -> dict[str, str]:
    return {p["actor_id"]: p["role"] for p in project["partners"]}


def normal(project: dict[str, Any]) -> dict[str, Any]:
    """The project with its partners in a fixed order, to compare two readings of it."""
    return project | {"partners": sorted(project["partners"], key=lambda p: p["actor_id"])}


@pytest.fixture
def cast(client, registry: Registry) -> SimpleNamespace:
    """Montreuil, Kayes, a migrant organisation between them, an NGO, a convention, tombstones."""
    montreuil = registry.authority("Montreuil", insee_code="93048")
    kayes = registry.authority("Kayes", country="ML")
    gone = registry.authority("Ancienne commune")
    assert client.delete(f"/v1/actors/{gone['id']}").status_code == 204
    old_convention = registry.convention(montreuil, kayes, title="Ancienne convention")
    assert client.delete(f"/v1/conventions/{old_convention['id']}").status_code == 204
    return SimpleNamespace(
        montreuil=montreuil,
        kayes=kayes,
        osim=registry.actor(
            "migrant_organisation",
            "Ressortissants de Kayes à Montreuil",
            based_in_id=montreuil["id"],
            origin_ids=[kayes["id"]],
        ),
        ngo=registry.actor("association", "Eau Vive"),
        convention=registry.convention(montreuil, kayes, title="Montreuil – Kayes"),
        gone=gone,
        old_convention=old_convention,
    )


def test_create_and_read_a_project_with_every_field(client, cast):
    body = {
        "title": "Accès à l'eau potable dans trois quartiers de Kayes",
        "convention_id": cast.convention["id"],
        "lead_id": cast.montreuil["id"],
        "partners": [partner(cast.osim, "operator"), partner(cast.kayes, "partner")],
        "target_id": cast.kayes["id"],
        "themes": ["water_sanitation", "migration_development"],
        "starts_on": "2024-01-01",
        "ends_on": "2026-12-31",
        "status": "draft",
        "budget": {"amount": 85000, "currency": "xof"},
        "description": "Forages et comités de gestion de l'eau.",
    }
    response = client.post("/v1/projects", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/projects/{created['id']}"
    assert created["title"] == body["title"]
    assert created["convention_id"] == cast.convention["id"]
    assert created["lead_id"] == cast.montreuil["id"]
    assert roles(created) == {cast.osim["id"]: "operator", cast.kayes["id"]: "partner"}
    assert created["target_id"] == cast.kayes["id"]
    assert created["target_country"] == "ML"
    assert created["themes"] == ["migration_development", "water_sanitation"]
    assert (created["starts_on"], created["ends_on"]) == ("2024-01-01", "2026-12-31")
    assert created["status"] == "draft"
    assert created["budget"] == {"amount": "85000.00", "currency": "XOF"}
    assert created["description"] == body["description"]
    assert created["version"] == 1

    read = client.get(f"/v1/projects/{created['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert normal(read.json()) == normal(created)


def test_a_project_may_have_a_lead_alone(registry: Registry, cast):
    project = registry.project(cast.ngo)
    assert project["partners"] == []
    assert project["convention_id"] is None
    assert project["status"] == "active"
    assert project["themes"] == []


def _valid_body(cast: SimpleNamespace) -> dict[str, Any]:
    return {
        "title": "Eau à Kayes",
        "lead_id": cast.montreuil["id"],
        "partners": [partner(cast.osim)],
        "convention_id": cast.convention["id"],
        "target_id": cast.kayes["id"],
    }


INVALID = [
    pytest.param(lambda c: {"lead_id": MISSING}, "lead_id", id="lead missing"),
    pytest.param(lambda c: {"lead_id": str(uuid.uuid4())}, "lead_id", id="lead does not exist"),
    pytest.param(lambda c: {"lead_id": c.gone["id"]}, "lead_id", id="lead was deleted"),
    pytest.param(
        lambda c: {"partners": [partner(c.osim), partner(c.montreuil)]},
        "partners",
        id="lead among partners",
    ),
    pytest.param(
        lambda c: {"partners": [partner(c.osim), partner(c.osim, "operator")]},
        "partners.1.actor_id",
        id="partner twice",
    ),
    pytest.param(
        lambda c: {"partners": [{"actor_id": str(uuid.uuid4())}]},
        "partners.0.actor_id",
        id="partner does not exist",
    ),
    pytest.param(
        lambda c: {"partners": [partner(c.osim), partner(c.gone)]},
        "partners.1.actor_id",
        id="partner was deleted",
    ),
    pytest.param(
        lambda c: {"partners": [partner(c.osim, "sponsor")]},
        "partners.0.role",
        id="unknown role",
    ),
    pytest.param(
        lambda c: {"convention_id": str(uuid.uuid4())},
        "convention_id",
        id="convention does not exist",
    ),
    pytest.param(
        lambda c: {"convention_id": c.old_convention["id"]},
        "convention_id",
        id="convention was deleted",
    ),
    pytest.param(
        lambda c: {"starts_on": "2026-01-01", "ends_on": "2025-12-31"},
        "ends_on",
        id="ends before it starts",
    ),
    pytest.param(
        lambda c: {"budget": {"amount": -100, "currency": "EUR"}},
        "budget.amount",
        id="negative budget",
    ),
    pytest.param(
        lambda c: {"budget": {"amount": 100, "currency": "FRF"}},
        "budget.currency",
        id="withdrawn currency",
    ),
    pytest.param(lambda c: {"themes": ["astrology"]}, "themes.0", id="unknown theme"),
    pytest.param(
        lambda c: {"target_id": c.osim["id"]}, "target_id", id="target not a local authority"
    ),
    pytest.param(
        lambda c: {"target_country": "SN"}, "target_country", id="country contradicts target"
    ),
    pytest.param(lambda c: {"status": "cancelled"}, "status", id="unknown status"),
    pytest.param(lambda c: {"title": ""}, "title", id="empty title"),
    pytest.param(lambda c: {"title": MISSING}, "title", id="title missing"),
]


@pytest.mark.parametrize(("change", "field"), INVALID)
def test_invalid_projects_get_a_clear_422_and_write_nothing(
    client, registry: Registry, cast, change, field
):
    body = {k: v for k, v in (_valid_body(cast) | change(cast)).items() if v is not MISSING}
    assert_problem(client.post("/v1/projects", json=body), 422, field)
    assert registry.count("/v1/projects") == 0


def test_filters_by_convention_lead_and_shared_fields(client, registry: Registry, cast):
    water = registry.project(
        cast.montreuil,
        cast.osim,
        convention_id=cast.convention["id"],
        target_id=cast.kayes["id"],
        themes=["water_sanitation"],
    )
    youth = registry.project(
        cast.montreuil, cast.ngo, themes=["youth"], status="ended", target_country="SN"
    )
    ngo_led = registry.project(cast.ngo, cast.kayes, convention_id=cast.convention["id"])

    def ids(**params: Any) -> set[str]:
        response = client.get("/v1/projects", params=params)
        assert response.status_code == 200, response.text
        return {project["id"] for project in response.json()["items"]}

    assert ids() == {water["id"], youth["id"], ngo_led["id"]}
    assert ids(convention_id=cast.convention["id"]) == {water["id"], ngo_led["id"]}
    assert ids(lead_id=cast.montreuil["id"]) == {water["id"], youth["id"]}
    assert ids(lead_id=cast.ngo["id"], convention_id=cast.convention["id"]) == {ngo_led["id"]}
    assert ids(status="ended") == {youth["id"]}
    assert ids(theme=["water_sanitation", "youth"]) == {water["id"], youth["id"]}
    assert ids(target_id=cast.kayes["id"]) == {water["id"]}
    assert ids(target_country="ml") == {water["id"]}
    assert ids(convention_id=cast.old_convention["id"]) == set()
    assert_problem(client.get("/v1/projects", params={"lead_id": "Montreuil"}), 422, "lead_id")
    assert_problem(client.get("/v1/projects", params={"status": "done"}), 422, "status.0")


def test_several_actors_mean_projects_where_all_of_them_take_part(client, registry: Registry, cast):
    water = registry.project(cast.montreuil, cast.osim, cast.kayes)
    wells = registry.project(cast.osim, cast.kayes)
    school = registry.project(cast.ngo, cast.montreuil)

    def ids(*actors: dict[str, Any]) -> set[str]:
        response = client.get("/v1/projects", params={"actor": [a["id"] for a in actors]})
        assert response.status_code == 200, response.text
        return {project["id"] for project in response.json()["items"]}

    # The lead takes part as much as its partners do.
    assert ids(cast.montreuil) == {water["id"], school["id"]}
    assert ids(cast.osim) == {water["id"], wells["id"]}
    assert ids(cast.osim, cast.kayes) == {water["id"], wells["id"]}
    assert ids(cast.montreuil, cast.kayes) == {water["id"]}
    assert ids(cast.kayes, cast.montreuil, cast.osim) == {water["id"]}
    assert ids(cast.ngo, cast.kayes) == set()


def test_pagination_walks_every_project_once(client, registry: Registry, cast):
    led = []
    for i in range(5):
        led.append(registry.project(cast.montreuil, cast.kayes, title=f"Projet {i}")["id"])
        registry.project(cast.ngo, title=f"Autre {i}")
    seen, pages, url = [], 0, f"/v1/projects?limit=2&lead_id={cast.montreuil['id']}"
    while url:
        page = client.get(url).json()
        seen += [project["id"] for project in page["items"]]
        url, pages = page["next"], pages + 1
    assert seen == led
    assert pages == 3


def test_patch_changes_only_what_is_sent_and_bumps_the_version(client, registry: Registry, cast):
    project = registry.project(
        cast.montreuil,
        cast.osim,
        convention_id=cast.convention["id"],
        target_id=cast.kayes["id"],
        themes=["water_sanitation"],
        budget={"amount": "5000", "currency": "EUR"},
    )
    url = f"/v1/projects/{project['id']}"
    response = client.patch(
        url,
        json={
            "partners": [partner(cast.osim, "operator"), partner(cast.ngo, "funder")],
            "ends_on": "2027-06-30",
        },
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert response.headers["ETag"] == '"2"'
    assert changed["version"] == 2
    assert roles(changed) == {cast.osim["id"]: "operator", cast.ngo["id"]: "funder"}
    assert changed["ends_on"] == "2027-06-30"
    for name in ("title", "lead_id", "convention_id", "target_id", "themes", "budget"):
        assert changed[name] == project[name], name
    assert normal(client.get(url).json()) == normal(changed)

    # The lead passes to the migrant organisation, which leaves the partners.
    handed_over = client.patch(
        url,
        json={"lead_id": cast.osim["id"], "partners": [partner(cast.montreuil)]},
        headers={"If-Match": '"2"'},
    )
    assert handed_over.status_code == 200, handed_over.text
    assert handed_over.json()["lead_id"] == cast.osim["id"]
    assert roles(handed_over.json()) == {cast.montreuil["id"]: "partner"}
    assert handed_over.headers["ETag"] == '"3"'
    by_lead = client.get("/v1/projects", params={"lead_id": cast.osim["id"]}).json()["items"]
    assert [p["id"] for p in by_lead] == [project["id"]]

    detached = client.patch(url, json={"convention_id": None, "budget": None})
    assert detached.status_code == 200, detached.text
    assert detached.json()["convention_id"] is None
    assert detached.json()["budget"] is None
    assert (
        client.get("/v1/projects", params={"convention_id": cast.convention["id"]}).json()["items"]
        == []
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda c: {"title": None}, "title", id="title cleared"),
        pytest.param(lambda c: {"lead_id": None}, "lead_id", id="lead cleared"),
        pytest.param(lambda c: {"status": None}, "status", id="status cleared"),
        pytest.param(lambda c: {"lead_id": c.osim["id"]}, "partners", id="lead is a partner"),
        pytest.param(
            lambda c: {"partners": [partner(c.montreuil)]}, "partners", id="partner is the lead"
        ),
        pytest.param(lambda c: {"lead_id": c.gone["id"]}, "lead_id", id="deleted lead"),
        pytest.param(
            lambda c: {"convention_id": c.old_convention["id"]},
            "convention_id",
            id="deleted convention",
        ),
        pytest.param(lambda c: {"ends_on": "2000-01-01"}, "ends_on", id="ends before start"),
        pytest.param(
            lambda c: {"lead_id": str(uuid.uuid4())},
            "lead_id",
            id="lead does not exist",
        ),
        pytest.param(
            lambda c: {"convention_id": str(uuid.uuid4())},
            "convention_id",
            id="convention does not exist",
        ),
        pytest.param(
            lambda c: {"partners": [{"actor_id": str(uuid.uuid4())}]},
            "partners.0.actor_id",
            id="partner does not exist",
        ),
        pytest.param(
            lambda c: {"target_id": str(uuid.uuid4())}, "target_id", id="target does not exist"
        ),
    ],
)
def test_patch_validates_the_merged_project_and_writes_nothing(
    client, registry: Registry, cast, change, field
):
    project = registry.project(
        cast.montreuil, cast.osim, convention_id=cast.convention["id"], starts_on="2024-01-01"
    )
    url = f"/v1/projects/{project['id']}"
    # Errors must come back as a problem, never as an unhandled server error.
    safe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    assert_problem(safe.patch(url, json=change(cast)), 422, field)
    assert normal(client.get(url).json()) == normal(project)


def test_a_stale_if_match_is_refused_with_412(client, registry: Registry, cast):
    project = registry.project(cast.montreuil, title="Avant")
    url = f"/v1/projects/{project['id']}"
    first = client.patch(url, json={"title": "Après"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200

    stale = client.patch(url, json={"title": "Écrasé"}, headers={"If-Match": '"1"'})
    assert assert_problem(stale, 412)["current_version"] == 2
    assert client.get(url).json()["title"] == "Après"
    assert_problem(client.delete(url, headers={"If-Match": '"1"'}), 412)
    assert client.get(url).status_code == 200
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204


def test_delete_is_soft_and_hides_the_project(client, registry: Registry, cast):
    kept = registry.project(cast.ngo)
    dropped = registry.project(cast.montreuil, cast.osim)
    url = f"/v1/projects/{dropped['id']}"
    assert client.delete(url).status_code == 204

    assert assert_problem(client.get(url), 410)["deleted_at"]
    assert [p["id"] for p in client.get("/v1/projects").json()["items"]] == [kept["id"]]
    assert client.get("/v1/projects", params={"actor": cast.osim["id"]}).json()["items"] == []
    assert_problem(client.patch(url, json={"title": "Encore"}), 410)
    assert_problem(client.delete(url), 410)
    assert_problem(client.get(f"/v1/projects/{uuid.uuid4()}"), 404)
    assert_problem(client.delete(f"/v1/projects/{uuid.uuid4()}"), 404)

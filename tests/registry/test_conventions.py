"""Conventions: agreements between actors, found by who takes part, where and on what."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Registry, assert_problem

MISSING = object()


def party(actor: dict[str, Any], role: str = "signatory") -> dict[str, str]:
    return {"actor_id": actor["id"], "role": role}


def roles(convention: dict[str, Any]) -> dict[str, str]:
    return {p["actor_id"]: p["role"] for p in convention["parties"]}


def normal(convention: dict[str, Any]) -> dict[str, Any]:
    """The convention with its parties in a fixed order, to compare two readings of it."""
    return convention | {"parties": sorted(convention["parties"], key=lambda p: p["actor_id"])}


@pytest.fixture
def cast(client, registry: Registry) -> SimpleNamespace:
    """A French town, its Senegalese partner town, an association and a deleted authority."""
    gone = registry.authority("Ancienne commune")
    assert client.delete(f"/v1/actors/{gone['id']}").status_code == 204
    return SimpleNamespace(
        lille=registry.authority("Lille", insee_code="59350"),
        saint_louis=registry.authority("Saint-Louis", country="SN"),
        ngo=registry.actor("association", "Lille Eau Solidaire"),
        gone=gone,
    )


def test_create_and_read_a_convention_with_every_field(client, cast):
    body = {
        "kind": "decentralised_cooperation",
        "title": "Coopération Lille – Saint-Louis : Agenda 21 de quartier",
        "parties": [
            party(cast.lille, "signatory"),
            party(cast.saint_louis, "signatory"),
            party(cast.ngo, "operator"),
        ],
        "target_id": cast.saint_louis["id"],
        "themes": ["water_sanitation", "sustainable_development"],
        "signed_on": "2005-03-14",
        "starts_on": "2005-04-01",
        "ends_on": "2010-03-31",
        "status": "suspended",
        "budget": {"amount": "120000.5", "currency": "eur"},
        "description": "Agenda 21 de quartier à Pikine.",
        "source_url": "https://www.lille.fr/cooperation/saint-louis",
    }
    response = client.post("/v1/conventions", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/conventions/{created['id']}"
    assert created["kind"] == "decentralised_cooperation"
    assert created["title"] == body["title"]
    assert roles(created) == {
        cast.lille["id"]: "signatory",
        cast.saint_louis["id"]: "signatory",
        cast.ngo["id"]: "operator",
    }
    assert created["target_id"] == cast.saint_louis["id"]
    assert created["target_country"] == "SN"
    assert created["themes"] == ["sustainable_development", "water_sanitation"]
    assert (created["signed_on"], created["starts_on"], created["ends_on"]) == (
        "2005-03-14",
        "2005-04-01",
        "2010-03-31",
    )
    assert created["status"] == "suspended"
    assert created["budget"] == {"amount": "120000.50", "currency": "EUR"}
    assert created["description"] == "Agenda 21 de quartier à Pikine."
    assert created["source_url"] == "https://www.lille.fr/cooperation/saint-louis"
    assert created["version"] == 1

    read = client.get(f"/v1/conventions/{created['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert normal(read.json()) == normal(created)


def test_a_minimal_convention_is_active_with_no_theme_budget_or_target(client, cast):
    response = client.post(
        "/v1/conventions",
        json={
            "kind": "twinning",
            "title": "Jumelage",
            "parties": [{"actor_id": cast.lille["id"]}, {"actor_id": cast.saint_louis["id"]}],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "active"
    assert created["themes"] == []
    assert created["budget"] is None
    assert created["target_id"] is None and created["target_country"] is None
    assert set(roles(created).values()) == {"partner"}


def test_a_target_country_that_agrees_with_the_target_is_accepted(registry: Registry, cast):
    convention = registry.convention(
        cast.lille, cast.saint_louis, target_id=cast.saint_louis["id"], target_country="sn"
    )
    assert convention["target_country"] == "SN"


def test_a_target_country_alone_places_the_action_in_that_country(registry: Registry, cast):
    convention = registry.convention(cast.lille, cast.saint_louis, target_country="ML")
    assert convention["target_id"] is None
    assert convention["target_country"] == "ML"


def test_listing_filters(client, registry: Registry):
    lille = registry.authority("Lille")
    lyon = registry.authority("Lyon")
    saint_louis = registry.authority("Saint-Louis", country="SN")
    dakar = registry.authority("Dakar", country="SN")
    kayes = registry.authority("Kayes", country="ML")
    twinning = registry.convention(
        lille,
        saint_louis,
        kind="twinning",
        target_id=saint_louis["id"],
        themes=["sustainable_development"],
    )
    water = registry.convention(
        lyon, dakar, target_id=dakar["id"], themes=["water_sanitation"], status="suspended"
    )
    health = registry.convention(
        lille,
        kayes,
        kind="partnership",
        target_id=kayes["id"],
        themes=["water_sanitation", "health"],
        status="ended",
    )
    draft = registry.convention(lille, lyon, kind="memorandum", status="draft")

    def ids(**params: Any) -> set[str]:
        response = client.get("/v1/conventions", params=params)
        assert response.status_code == 200, response.text
        return {convention["id"] for convention in response.json()["items"]}

    assert ids() == {twinning["id"], water["id"], health["id"], draft["id"]}
    assert ids(kind="twinning") == {twinning["id"]}
    assert ids(kind=["twinning", "partnership"]) == {twinning["id"], health["id"]}
    assert ids(status="suspended") == {water["id"]}
    assert ids(status=["draft", "ended"]) == {health["id"], draft["id"]}
    assert ids(theme="water_sanitation") == {water["id"], health["id"]}
    assert ids(theme=["health", "sustainable_development"]) == {twinning["id"], health["id"]}
    assert ids(target_id=dakar["id"]) == {water["id"]}
    assert ids(target_country="sn") == {twinning["id"], water["id"]}
    assert ids(target_country=["SN", "ML"]) == {twinning["id"], water["id"], health["id"]}
    assert ids(kind="decentralised_cooperation", target_country="SN") == {water["id"]}
    assert ids(target_id=str(uuid.uuid4())) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "treaty"}, "kind.0"),
        ({"status": "archived"}, "status.0"),
        ({"theme": "astrology"}, "theme.0"),
        ({"target_country": "XX"}, "target_country.0"),
        ({"target_id": "Dakar"}, "target_id"),
        ({"actor": "Lille"}, "actor.0"),
    ],
)
def test_unknown_filter_values_are_a_422_on_the_query(client, params, field):
    problem = assert_problem(client.get("/v1/conventions", params=params), 422)
    assert problem["errors"][0]["location"] == "query"
    assert problem["errors"][0]["field"] == field


def test_several_actors_mean_conventions_where_all_of_them_take_part(client, registry: Registry):
    lille = registry.authority("Lille")
    lyon = registry.authority("Lyon")
    saint_louis = registry.authority("Saint-Louis", country="SN")
    dakar = registry.authority("Dakar", country="SN")
    lille_saint_louis = registry.convention(lille, saint_louis)
    three_towns = registry.convention(lille, lyon, saint_louis)
    lille_dakar = registry.convention(lille, dakar)
    registry.convention(lyon, saint_louis)

    def ids(*actors: dict[str, Any]) -> set[str]:
        response = client.get("/v1/conventions", params={"actor": [a["id"] for a in actors]})
        assert response.status_code == 200, response.text
        return {convention["id"] for convention in response.json()["items"]}

    assert ids(lille) == {lille_saint_louis["id"], three_towns["id"], lille_dakar["id"]}
    assert ids(lille, saint_louis) == {lille_saint_louis["id"], three_towns["id"]}
    assert ids(saint_louis, lille) == {lille_saint_louis["id"], three_towns["id"]}
    assert ids(lille, lyon, saint_louis) == {three_towns["id"]}
    assert ids(dakar, lyon) == set()


def test_pagination_walks_every_convention_once_and_keeps_the_filters(client, registry: Registry):
    lille = registry.authority("Lille")
    saint_louis = registry.authority("Saint-Louis", country="SN")
    dakar = registry.authority("Dakar", country="SN")
    together = []
    for i in range(5):
        together.append(registry.convention(lille, saint_louis, title=f"Convention {i}")["id"])
        registry.convention(lille, dakar, title=f"Autre {i}")

    seen, pages = [], 0
    url = f"/v1/conventions?limit=2&actor={lille['id']}&actor={saint_louis['id']}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [convention["id"] for convention in page["items"]]
        assert (page["next"] is None) == (page["next_cursor"] is None)
        url, pages = page["next"], pages + 1
    assert seen == together
    assert pages == 3
    assert registry.count("/v1/conventions") == 10


def test_patch_changes_only_what_is_sent_and_bumps_the_version(client, registry: Registry, cast):
    convention = registry.convention(
        cast.lille,
        cast.saint_louis,
        title="Lille – Saint-Louis",
        target_id=cast.saint_louis["id"],
        themes=["sustainable_development"],
        starts_on="2005-04-01",
        budget={"amount": "1000", "currency": "EUR"},
        description="Première phase.",
    )
    url = f"/v1/conventions/{convention['id']}"
    response = client.patch(
        url,
        json={
            "status": "suspended",
            "parties": [
                party(cast.lille, "lead"),
                party(cast.saint_louis, "partner"),
                party(cast.ngo, "operator"),
            ],
        },
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert response.headers["ETag"] == '"2"'
    assert changed["version"] == 2
    assert changed["status"] == "suspended"
    assert roles(changed) == {
        cast.lille["id"]: "lead",
        cast.saint_louis["id"]: "partner",
        cast.ngo["id"]: "operator",
    }
    unchanged = ("kind", "title", "target_id", "target_country", "themes", "starts_on", "budget")
    for name in (*unchanged, "description", "created_at"):
        assert changed[name] == convention[name], name
    assert changed["updated_at"] > convention["updated_at"]
    assert normal(client.get(url).json()) == normal(changed)

    # Parties are replaced, not merged: Saint-Louis leaves, and so do its listings.
    replaced = client.patch(url, json={"parties": [party(cast.lille), party(cast.ngo)]})
    assert replaced.status_code == 200, replaced.text
    assert roles(replaced.json()) == {cast.lille["id"]: "signatory", cast.ngo["id"]: "signatory"}
    assert replaced.headers["ETag"] == '"3"'
    by_saint_louis = client.get("/v1/conventions", params={"actor": cast.saint_louis["id"]})
    assert by_saint_louis.json()["items"] == []

    cleared = client.patch(url, json={"budget": None, "description": None, "themes": []})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["budget"] is None
    assert cleared.json()["description"] is None
    assert cleared.json()["themes"] == []
    assert (
        client.get("/v1/conventions", params={"theme": "sustainable_development"}).json()["items"]
        == []
    )


def test_patch_without_if_match_applies_to_the_current_version(client, registry: Registry, cast):
    convention = registry.convention(cast.lille, cast.saint_louis)
    url = f"/v1/conventions/{convention['id']}"
    assert client.patch(url, json={"title": "Un"}).status_code == 200
    second = client.patch(url, json={"title": "Deux"})
    assert second.status_code == 200
    assert second.json()["version"] == 3
    assert client.get(url).headers["ETag"] == '"3"'


def test_a_stale_if_match_is_refused_with_412(client, registry: Registry, cast):
    convention = registry.convention(cast.lille, cast.saint_louis, title="Avant")
    url = f"/v1/conventions/{convention['id']}"
    first = client.patch(url, json={"title": "Premier éditeur"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200

    stale = client.patch(url, json={"title": "Second éditeur"}, headers={"If-Match": '"1"'})
    assert assert_problem(stale, 412)["current_version"] == 2
    assert client.get(url).json()["title"] == "Premier éditeur"

    assert_problem(client.delete(url, headers={"If-Match": '"1"'}), 412)
    assert client.get(url).status_code == 200
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204


def test_delete_is_soft_and_hides_the_convention(client, registry: Registry, cast):
    kept = registry.convention(cast.lille, cast.ngo)
    dropped = registry.convention(cast.lille, cast.saint_louis)
    url = f"/v1/conventions/{dropped['id']}"
    assert client.delete(url).status_code == 204

    gone = assert_problem(client.get(url), 410)
    assert gone["deleted_at"]
    assert [c["id"] for c in client.get("/v1/conventions").json()["items"]] == [kept["id"]]
    by_party = client.get("/v1/conventions", params={"actor": cast.saint_louis["id"]})
    assert by_party.json()["items"] == []
    assert_problem(client.patch(url, json={"title": "Encore"}), 410)
    assert_problem(client.delete(url), 410)
    assert_problem(client.delete(f"/v1/conventions/{uuid.uuid4()}"), 404)
    assert_problem(client.get(f"/v1/conventions/{uuid.uuid4()}"), 404)

    # A deleted convention no longer keeps its parties from being deleted.
    assert client.delete(f"/v1/actors/{cast.saint_louis['id']}").status_code == 204


def _valid_body(cast: SimpleNamespace) -> dict[str, Any]:
    return {
        "kind": "decentralised_cooperation",
        "title": "Coopération Lille – Saint-Louis",
        "parties": [party(cast.lille), party(cast.saint_louis)],
        "target_id": cast.saint_louis["id"],
    }


INVALID = [
    pytest.param(lambda c: {"parties": [party(c.lille)]}, "parties", id="one party"),
    pytest.param(lambda c: {"parties": []}, "parties", id="no party"),
    pytest.param(lambda c: {"parties": MISSING}, "parties", id="parties missing"),
    pytest.param(
        lambda c: {"parties": [party(c.lille), party(c.lille)]},
        "parties.1.actor_id",
        id="same actor twice",
    ),
    pytest.param(
        lambda c: {"parties": [party(c.lille), {"actor_id": str(uuid.uuid4())}]},
        "parties.1.actor_id",
        id="party does not exist",
    ),
    pytest.param(
        lambda c: {"parties": [party(c.gone), party(c.lille)]},
        "parties.0.actor_id",
        id="party was deleted",
    ),
    pytest.param(
        lambda c: {"parties": [party(c.lille), {"actor_id": "Saint-Louis"}]},
        "parties.1.actor_id",
        id="party is not an id",
    ),
    pytest.param(
        lambda c: {"starts_on": "2024-01-01", "ends_on": "2023-12-31"},
        "ends_on",
        id="ends before it starts",
    ),
    pytest.param(lambda c: {"signed_on": "14/03/2005"}, "signed_on", id="date not ISO"),
    pytest.param(
        lambda c: {"budget": {"amount": "-1", "currency": "EUR"}},
        "budget.amount",
        id="negative budget",
    ),
    pytest.param(
        lambda c: {"budget": {"amount": "100", "currency": "EUX"}},
        "budget.currency",
        id="unknown currency",
    ),
    pytest.param(
        lambda c: {"budget": {"amount": "100"}}, "budget.currency", id="budget without currency"
    ),
    pytest.param(lambda c: {"themes": ["astrology"]}, "themes.0", id="unknown theme"),
    pytest.param(
        lambda c: {"themes": ["water_sanitation", "astrology"]}, "themes.1", id="second theme"
    ),
    pytest.param(
        lambda c: {"target_id": c.ngo["id"]}, "target_id", id="target not a local authority"
    ),
    pytest.param(
        lambda c: {"target_id": str(uuid.uuid4())}, "target_id", id="target does not exist"
    ),
    pytest.param(lambda c: {"target_id": c.gone["id"]}, "target_id", id="target was deleted"),
    pytest.param(
        lambda c: {"target_country": "ML"}, "target_country", id="country contradicts target"
    ),
    pytest.param(lambda c: {"target_country": "XX"}, "target_country", id="unknown country"),
    pytest.param(lambda c: {"kind": "treaty"}, "kind", id="unknown kind"),
    pytest.param(lambda c: {"kind": MISSING}, "kind", id="kind missing"),
    pytest.param(lambda c: {"status": "archived"}, "status", id="unknown status"),
    pytest.param(
        lambda c: {"parties": [party(c.lille, "sponsor"), party(c.saint_louis)]},
        "parties.0.role",
        id="unknown role",
    ),
    pytest.param(lambda c: {"title": "   "}, "title", id="blank title"),
    pytest.param(lambda c: {"title": MISSING}, "title", id="title missing"),
    pytest.param(lambda c: {"source_url": "not a url"}, "source_url", id="source not a URL"),
]


@pytest.mark.parametrize(("change", "field"), INVALID)
def test_invalid_conventions_get_a_clear_422_and_write_nothing(
    client, registry: Registry, cast, change, field
):
    body = {k: v for k, v in (_valid_body(cast) | change(cast)).items() if v is not MISSING}
    assert_problem(client.post("/v1/conventions", json=body), 422, field)
    assert registry.count("/v1/conventions") == 0


def test_every_broken_rule_is_named_at_once(client, registry: Registry, cast):
    body = _valid_body(cast) | {
        "parties": [party(cast.lille)],
        "target_id": cast.ngo["id"],
        "starts_on": "2024-01-01",
        "ends_on": "2023-01-01",
    }
    problem = assert_problem(client.post("/v1/conventions", json=body), 422)
    assert {error["field"] for error in problem["errors"]} >= {"parties", "target_id", "ends_on"}
    assert registry.count("/v1/conventions") == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda c: {"title": None}, "title", id="title cleared"),
        pytest.param(lambda c: {"kind": None}, "kind", id="kind cleared"),
        pytest.param(lambda c: {"status": None}, "status", id="status cleared"),
        pytest.param(lambda c: {"parties": None}, "parties", id="parties cleared"),
        pytest.param(lambda c: {"parties": [party(c.lille)]}, "parties", id="one party left"),
        pytest.param(
            lambda c: {"parties": [party(c.lille), party(c.gone)]},
            "parties.1.actor_id",
            id="deleted party",
        ),
        pytest.param(lambda c: {"ends_on": "2000-01-01"}, "ends_on", id="ends before start"),
        pytest.param(
            lambda c: {"target_id": c.ngo["id"]}, "target_id", id="target not an authority"
        ),
        pytest.param(lambda c: {"target_country": "ML"}, "target_country", id="country"),
        pytest.param(
            lambda c: {"budget": {"amount": "-5", "currency": "EUR"}},
            "budget.amount",
            id="negative budget",
        ),
        pytest.param(lambda c: {"themes": ["astrology"]}, "themes.0", id="unknown theme"),
        pytest.param(
            lambda c: {"parties": [party(c.lille), {"actor_id": str(uuid.uuid4())}]},
            "parties.1.actor_id",
            id="party does not exist",
        ),
        pytest.param(
            lambda c: {"target_id": str(uuid.uuid4())},
            "target_id",
            id="target does not exist",
        ),
    ],
)
def test_patch_validates_the_merged_convention_and_writes_nothing(
    client, registry: Registry, cast, change, field
):
    convention = registry.convention(
        cast.lille,
        cast.saint_louis,
        target_id=cast.saint_louis["id"],
        starts_on="2005-04-01",
        themes=["water_sanitation"],
    )
    url = f"/v1/conventions/{convention['id']}"
    # Errors must come back as a problem, never as an unhandled server error.
    safe = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    assert_problem(safe.patch(url, json=change(cast)), 422, field)
    assert normal(client.get(url).json()) == normal(convention)


def test_moving_the_target_abroad_moves_the_derived_country(client, registry: Registry, cast):
    kayes = registry.authority("Kayes", country="ML")
    convention = registry.convention(cast.lille, cast.saint_louis, target_id=cast.saint_louis["id"])
    response = client.patch(f"/v1/conventions/{convention['id']}", json={"target_id": kayes["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["target_country"] == "ML"
    assert client.get("/v1/conventions", params={"target_country": "ML"}).json()["items"]

"""Actors: the directory's CRUD, filters, pagination, versions and every validation rule."""

import uuid

import pytest

from tests.conftest import Registry


def test_create_and_read_an_actor_with_every_field(client, registry: Registry):
    lille = registry.authority("Lille", insee_code="59350", latitude=50.63, longitude=3.06)
    body = {
        "kind": "association",
        "name": "Lille Eau Solidaire",
        "acronym": "LES",
        "description": "Accès à l'eau au Sénégal.",
        "country": "fr",
        "siren": "732 829 320",
        "rna": "W595012345",
        "wikidata_qid": "Q90",
        "iati_id": "FR-RNA-W595012345",
        "latitude": 50.63,
        "longitude": 3.06,
        "population": 0,
        "based_in_id": lille["id"],
        "intervention_countries": ["sn", "ML"],
        "themes": ["water_sanitation", "youth"],
        "website": "https://eau.example.org/",
        "public_contact": {"email": "contact@example.org", "phone": "+33 3 20 00 00 00"},
        "private_contact": {"name": "Awa Diop", "email": "awa@example.org"},
    }
    response = client.post("/v1/actors", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/actors/{created['id']}"
    assert created["country"] == "FR"
    assert created["siren"] == "732829320"
    assert created["intervention_countries"] == ["ML", "SN"]
    assert created["private_contact"]["name"] == "Awa Diop"

    read = client.get(f"/v1/actors/{created['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json() == created


def test_private_contact_stays_out_of_listings(client, registry: Registry):
    registry.actor("association", "Asso privée", private_contact={"email": "moi@example.org"})
    item = client.get("/v1/actors").json()["items"][0]
    assert "private_contact" not in item


def test_migrant_organisation_keeps_its_double_anchorage(client, registry: Registry):
    montreuil = registry.authority("Montreuil", insee_code="93048")
    kayes = registry.authority("Kayes", country="ML")
    osim = registry.actor(
        "migrant_organisation",
        "Association des ressortissants de Kayes",
        based_in_id=montreuil["id"],
        origin_ids=[kayes["id"]],
    )
    assert osim["based_in_id"] == montreuil["id"]
    assert osim["origin_ids"] == [kayes["id"]]
    found = client.get("/v1/actors", params={"origin_id": kayes["id"]}).json()["items"]
    assert [actor["id"] for actor in found] == [osim["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"kind": "local_authority", "level": "municipality", "name": "X", "country": "XX"},
            "country",
        ),
        (
            {
                "kind": "local_authority",
                "level": "municipality",
                "name": "Dakar",
                "country": "SN",
                "insee_code": "75056",
            },
            "insee_code",
        ),
        (
            {
                "kind": "local_authority",
                "level": "department",
                "name": "Nord",
                "country": "FR",
                "insee_code": "59350",
            },
            "insee_code",
        ),
        (
            {
                "kind": "local_authority",
                "level": "municipality",
                "name": "Lille",
                "country": "FR",
                "insee_code": "ABCDE",
            },
            "insee_code",
        ),
        ({"kind": "association", "name": "A", "country": "FR", "siren": "732829321"}, "siren"),
        ({"kind": "association", "name": "A", "country": "FR", "siren": "12345"}, "siren"),
        ({"kind": "association", "name": "A", "country": "FR", "rna": "X123456789"}, "rna"),
        ({"kind": "association", "name": "A", "country": "SN", "rna": "W123456789"}, "rna"),
        (
            {"kind": "association", "name": "A", "country": "FR", "wikidata_qid": "P31"},
            "wikidata_qid",
        ),
        ({"kind": "association", "name": "A", "country": "FR", "iati_id": "nothing"}, "iati_id"),
        (
            {"kind": "association", "name": "A", "country": "FR", "latitude": 91, "longitude": 0},
            "latitude",
        ),
        ({"kind": "association", "name": "A", "country": "FR", "latitude": 45}, "longitude"),
        (
            {"kind": "association", "name": "A", "country": "FR", "themes": ["astrology"]},
            "themes.0",
        ),
        ({"kind": "association", "name": "A", "country": "FR", "population": -1}, "population"),
        ({"kind": "association", "name": "A", "country": "FR", "level": "region"}, "level"),
        ({"kind": "local_authority", "name": "Lyon", "country": "FR"}, "level"),
        ({"kind": "planet", "name": "A", "country": "FR"}, "kind"),
        ({"kind": "association", "name": "  ", "country": "FR"}, "name"),
        (
            {"kind": "association", "name": "A", "country": "FR", "intervention_countries": ["ZZ"]},
            "intervention_countries.0",
        ),
        (
            {
                "kind": "association",
                "name": "A",
                "country": "FR",
                "public_contact": {"email": "not-an-email"},
            },
            "public_contact.email",
        ),
        (
            {"kind": "association", "name": "A", "country": "FR", "based_in_id": str(uuid.uuid4())},
            "based_in_id",
        ),
    ],
)
def test_invalid_actors_get_a_clear_422_and_write_nothing(client, registry: Registry, body, field):
    response = client.post("/v1/actors", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in [error["field"] for error in problem["errors"]], problem
    assert all(error["reason"] for error in problem["errors"])
    assert registry.count("/v1/actors") == 0


def test_migrant_organisation_origin_must_be_a_local_authority(client, registry: Registry):
    ngo = registry.actor("association", "Eau Vive")
    response = client.post(
        "/v1/actors",
        json={
            "kind": "migrant_organisation",
            "name": "OSIM",
            "country": "FR",
            "origin_ids": [ngo["id"]],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "origin_ids.0"
    assert "not a local authority" in response.json()["errors"][0]["reason"]
    assert registry.count("/v1/actors") == 1


def test_only_migrant_organisations_have_origins(client, registry: Registry):
    kayes = registry.authority("Kayes", country="ML")
    response = client.post(
        "/v1/actors",
        json={"kind": "association", "name": "ASI", "country": "FR", "origin_ids": [kayes["id"]]},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "origin_ids"


@pytest.mark.parametrize(
    ("field", "value", "other"),
    [
        (
            "insee_code",
            "59350",
            {"kind": "local_authority", "level": "municipality", "country": "FR"},
        ),
        ("siren", "732829320", {"kind": "association", "country": "FR"}),
        ("rna", "W595012345", {"kind": "association", "country": "FR"}),
        ("wikidata_qid", "Q648", {"kind": "association", "country": "FR"}),
        ("iati_id", "FR-RNA-W595012345", {"kind": "association", "country": "FR"}),
    ],
)
def test_identifiers_are_unique(client, registry: Registry, field, value, other):
    first = registry.post(
        "/v1/actors?not_duplicate=true", {"name": "Premier", field: value} | other
    )
    response = client.post(
        "/v1/actors?not_duplicate=true", json={"name": "Autre", field: value} | other
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["existing"] == {"id": first["id"], "name": "Premier"}
    assert problem["errors"][0]["field"] == field
    assert registry.count("/v1/actors") == 1


def test_a_deleted_actor_frees_its_identifier(client, registry: Registry):
    first = registry.authority("Lille", insee_code="59350")
    assert client.delete(f"/v1/actors/{first['id']}").status_code == 204
    registry.authority("Lille", insee_code="59350")


def test_a_near_identical_name_is_a_likely_duplicate_until_confirmed(client, registry: Registry):
    existing = registry.actor("association", "Association Eau Pour Tous")
    body = {"kind": "association", "name": "association eau pour tous", "country": "FR"}
    response = client.post("/v1/actors", json=body)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("likely-duplicate")
    assert problem["candidates"][0]["id"] == existing["id"]
    assert registry.count("/v1/actors") == 1

    other_country = client.post("/v1/actors", json=body | {"country": "BE"})
    assert other_country.status_code == 201
    confirmed = client.post("/v1/actors?not_duplicate=true", json=body)
    assert confirmed.status_code == 201


def test_a_different_name_is_not_a_duplicate(client, registry: Registry):
    registry.actor("association", "Lille Eau Solidaire")
    response = client.post(
        "/v1/actors", json={"kind": "association", "name": "Lille Santé Solidaire", "country": "FR"}
    )
    assert response.status_code == 201


def test_patch_changes_only_what_is_sent_and_bumps_the_version(client, registry: Registry):
    actor = registry.actor("association", "Eau Vive", themes=["water_sanitation"], acronym="EV")
    response = client.patch(
        f"/v1/actors/{actor['id']}",
        json={"themes": ["water_sanitation", "health"], "acronym": None},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert response.headers["ETag"] == '"2"'
    assert changed["version"] == 2
    assert changed["themes"] == ["health", "water_sanitation"]
    assert changed["acronym"] is None
    assert changed["name"] == "Eau Vive"


def test_a_stale_if_match_is_refused_with_412(client, registry: Registry):
    actor = registry.actor("association", "Eau Vive")
    url = f"/v1/actors/{actor['id']}"
    assert client.patch(url, json={"acronym": "EV"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = client.patch(url, json={"acronym": "XX"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert client.get(url).json()["acronym"] == "EV"
    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert client.get(url).status_code == 200


def test_patch_validates_the_merged_actor(client, registry: Registry):
    actor = registry.authority("Dakar", country="SN")
    response = client.patch(f"/v1/actors/{actor['id']}", json={"insee_code": "75056"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "insee_code"
    cleared = client.patch(f"/v1/actors/{actor['id']}", json={"name": None})
    assert cleared.status_code == 422
    assert client.get(f"/v1/actors/{actor['id']}").json()["version"] == 1


def test_delete_is_soft_and_hides_the_actor(client, registry: Registry):
    actor = registry.actor("association", "Eau Vive")
    member = registry.actor("network", "Réseau")
    registry.post(
        "/v1/relationships",
        {"kind": "member_of", "subject_id": actor["id"], "object_id": member["id"]},
    )
    assert client.delete(f"/v1/actors/{actor['id']}").status_code == 204
    gone = client.get(f"/v1/actors/{actor['id']}")
    assert gone.status_code == 410
    assert gone.json()["deleted_at"]
    assert [a["id"] for a in client.get("/v1/actors").json()["items"]] == [member["id"]]
    assert client.get("/v1/relationships").json()["items"] == []
    assert client.delete(f"/v1/actors/{actor['id']}").status_code == 410


def test_an_actor_in_an_active_convention_cannot_be_deleted(client, registry: Registry):
    lille = registry.authority("Lille")
    saint_louis = registry.authority("Saint-Louis", country="SN")
    convention = registry.convention(lille, saint_louis, title="Lille – Saint-Louis")
    response = client.delete(f"/v1/actors/{saint_louis['id']}")
    assert response.status_code == 409
    assert response.json()["conventions"] == [
        {"id": convention["id"], "title": "Lille – Saint-Louis"}
    ]
    assert client.get(f"/v1/actors/{saint_louis['id']}").status_code == 200

    client.patch(f"/v1/conventions/{convention['id']}", json={"status": "ended"})
    assert client.delete(f"/v1/actors/{saint_louis['id']}").status_code == 204


def test_unknown_actor_is_404(client):
    response = client.get(f"/v1/actors/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/actors/not-a-uuid").status_code == 422


def test_filters_for_a_directory_and_a_map(client, registry: Registry):
    lille = registry.authority(
        "Lille",
        insee_code="59350",
        latitude=50.63,
        longitude=3.06,
        themes=["sustainable_development"],
    )
    saint_etienne = registry.authority("Saint-Étienne", latitude=45.43, longitude=4.39)
    nord = registry.post(
        "/v1/actors",
        {
            "kind": "local_authority",
            "level": "department",
            "name": "Nord",
            "country": "FR",
            "insee_code": "59",
        },
    )
    dakar = registry.authority("Dakar", country="SN", latitude=14.69, longitude=-17.44)
    ngo = registry.actor(
        "association",
        "Eau Vive Lille",
        based_in_id=lille["id"],
        intervention_countries=["SN"],
        themes=["water_sanitation"],
    )

    def ids(**params):
        response = client.get("/v1/actors", params=params)
        assert response.status_code == 200, response.text
        return {actor["id"] for actor in response.json()["items"]}

    assert ids(kind="association") == {ngo["id"]}
    assert ids(kind=["association", "local_authority"], level="department") == {nord["id"]}
    assert ids(level="municipality", country="FR") == {lille["id"], saint_etienne["id"]}
    assert ids(country="sn") == {dakar["id"]}
    assert ids(intervention_country="SN") == {ngo["id"]}
    assert ids(theme=["water_sanitation", "sustainable_development"]) == {lille["id"], ngo["id"]}
    assert ids(based_in_id=lille["id"]) == {ngo["id"]}
    assert ids(q="saint etienne") == {saint_etienne["id"]}
    assert ids(q="SAINT-ÉTIENNE") == {saint_etienne["id"]}
    assert ids(q="lille") == {lille["id"], ngo["id"]}
    assert ids(bbox="-5.2,41.3,9.6,51.1") == {lille["id"], saint_etienne["id"]}
    assert ids(bbox="-20,10,-10,20") == {dakar["id"]}
    bad = client.get("/v1/actors", params={"bbox": "1,2,3"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0] == {
        "field": "bbox",
        "location": "query",
        "reason": bad.json()["errors"][0]["reason"],
    }
    assert client.get("/v1/actors", params={"theme": "astrology"}).status_code == 422


def test_pagination_walks_every_actor_once_in_a_stable_order(client, registry: Registry):
    created = [registry.actor("association", f"Association {i:02d}")["id"] for i in range(7)]
    seen, url, pages = [], "/v1/actors?limit=3", 0
    while url:
        page = client.get(url).json()
        seen += [actor["id"] for actor in page["items"]]
        url, pages = page["next"], pages + 1
    assert seen == created
    assert pages == 3
    assert client.get("/v1/actors?limit=201").status_code == 422
    assert client.get("/v1/actors?limit=0").status_code == 422
    broken = client.get("/v1/actors?cursor=not-a-cursor")
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "cursor"

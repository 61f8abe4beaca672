"""Exports: CSV for spreadsheets (the import's columns, labels in French) and GeoJSON for maps,
filtered like the listings and streamed page by page."""

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import geojson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from services.registry.columns import COLUMNS, Resource
from services.registry.exports import pages
from services.registry.exports.geojson_schema import MapFeatureCollection
from tests.conftest import Registry, assert_problem

Rows = list[dict[str, str]]


def read_csv(response: Any, resource: Resource) -> Rows:
    """The rows of a CSV export, after checking what every export promises."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{resource}s.csv"'
    assert response.content.startswith(codecs.BOM_UTF8), "spreadsheets need the BOM for UTF-8"
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    assert header == [column.name for column in COLUMNS[resource]]
    return [dict(zip(header, row, strict=True)) for row in rows]


def read_map(response: Any) -> dict[str, Any]:
    """The FeatureCollection of a map export, checked against RFC 7946 by the geojson library."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    collection = geojson.loads(response.text)
    assert collection.is_valid, collection.errors()
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection, "RFC 7946 has no crs member: coordinates are WGS 84"
    MapFeatureCollection.model_validate(response.json())  # what the OpenAPI document says
    return response.json()


def by_id(rows: Rows) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in rows}


def sorted_by_id(*records: dict[str, Any]) -> list[dict[str, Any]]:
    """Parties and partners in the order the API (and the export) lists them."""
    return sorted(records, key=lambda record: record["id"])


@pytest.fixture
def cast(registry: Registry) -> SimpleNamespace:
    """Two French towns, two foreign ones, an association, a migrant organisation, a network."""
    lyon = registry.authority(
        "Lyon", insee_code="69123", latitude=45.76, longitude=4.84, themes=["water_sanitation"]
    )
    saint_etienne = registry.authority(
        "Saint-Étienne", insee_code="42218", latitude=45.43, longitude=4.39
    )
    bamako = registry.authority("Bamako", country="ML", latitude=12.64, longitude=-8.0)
    saint_louis = registry.authority(
        "Saint-Louis", country="SN", latitude=16.02, longitude=-16.49, themes=["youth"]
    )
    association = registry.actor(
        "association",
        "Eau Vive Lyon",
        based_in_id=lyon["id"],
        intervention_countries=["ML", "SN"],
        themes=["water_sanitation", "youth"],
        public_contact={"email": "contact@eauvive.example.org", "phone": "+33 4 00 00 00 00"},
        private_contact={"name": "Awa Diop", "email": "awa@example.org"},
        description='Accès à l\'eau, "potable"\nau Sénégal.',
    )
    osim = registry.actor(
        "migrant_organisation",
        "Ressortissants de Bamako à Saint-Étienne",
        based_in_id=saint_etienne["id"],
        origin_ids=[bamako["id"], saint_louis["id"]],
    )
    network = registry.actor("network", "Cités Unies France")
    return SimpleNamespace(
        lyon=lyon,
        saint_etienne=saint_etienne,
        bamako=bamako,
        saint_louis=saint_louis,
        association=association,
        osim=osim,
        network=network,
    )


# --- CSV ------------------------------------------------------------------------------------


def test_actors_csv_has_the_import_columns_codes_labels_and_names(anonymous: TestClient, cast):
    rows = by_id(read_csv(anonymous.get("/v1/exports/actors.csv"), "actor"))
    assert len(rows) == 7

    ngo = rows[cast.association["id"]]
    assert ngo["kind"] == "association"
    assert ngo["kind_label"] == "Association de solidarité internationale"
    assert ngo["country"] == "FR"
    assert ngo["country_name"] == "France"
    assert ngo["based_in"] == cast.lyon["id"]
    assert ngo["based_in_name"] == "Lyon"
    assert ngo["intervention_countries"] == "ML;SN"
    assert ngo["themes"] == "water_sanitation;youth"
    assert ngo["theme_labels"] == "Eau et assainissement; Jeunesse"
    assert ngo["email"] == "contact@eauvive.example.org"
    assert ngo["phone"] == "+33 4 00 00 00 00"
    assert ngo["description"] == 'Accès à l\'eau, "potable"\nau Sénégal.'
    assert "Awa Diop" not in str(rows) and "awa@example.org" not in str(rows)
    for stamp in ("version", "created_at", "updated_at"):
        assert ngo[stamp] == str(cast.association[stamp])

    osim = rows[cast.osim["id"]]
    origins = sorted_by_id(cast.bamako, cast.saint_louis)
    assert osim["origins"] == ";".join(origin["id"] for origin in origins)
    assert osim["origin_names"] == "; ".join(origin["name"] for origin in origins)
    assert osim["based_in_name"] == "Saint-Étienne"

    town = rows[cast.saint_louis["id"]]
    assert (town["level"], town["level_label"]) == ("municipality", "Commune")
    assert (town["country"], town["country_name"]) == ("SN", "Sénégal")
    assert (town["latitude"], town["longitude"]) == ("16.02", "-16.49")
    assert rows[cast.lyon["id"]]["insee_code"] == "69123"
    assert rows[cast.network["id"]]["level"] == rows[cast.network["id"]]["based_in"] == ""


def test_conventions_csv_lists_the_parties_with_their_roles(anonymous, registry: Registry, cast):
    twinning = registry.convention(
        cast.lyon,
        cast.saint_louis,
        kind="twinning",
        title="Jumelage Lyon – Saint-Louis",
        target_id=cast.saint_louis["id"],
        themes=["youth", "water_sanitation"],
        starts_on="2015-03-01",
        signed_on="2015-02-14",
        status="suspended",
        budget={"amount": "45000", "currency": "EUR"},
        source_url="https://www.example.org/jumelage",
    )
    funding = registry.post(
        "/v1/conventions",
        {
            "kind": "funding",
            "title": "Fonds eau",
            "parties": [
                {"actor_id": cast.lyon["id"], "role": "funder"},
                {"actor_id": cast.association["id"], "role": "operator"},
            ],
        },
    )
    rows = by_id(read_csv(anonymous.get("/v1/exports/conventions.csv"), "convention"))

    row = rows[twinning["id"]]
    parties = sorted_by_id(cast.lyon, cast.saint_louis)
    assert row["parties"] == ";".join(f"{p['id']}=signatory" for p in parties)
    assert row["party_names"] == "; ".join(f"{p['name']} (signataire)" for p in parties)
    assert (row["kind"], row["kind_label"]) == ("twinning", "Jumelage")
    assert (row["target"], row["target_name"]) == (cast.saint_louis["id"], "Saint-Louis")
    assert (row["target_country"], row["target_country_name"]) == ("SN", "Sénégal")
    assert (row["themes"], row["theme_labels"]) == (
        "water_sanitation;youth",
        "Eau et assainissement; Jeunesse",
    )
    assert (row["status"], row["status_label"]) == ("suspended", "Suspendu")
    assert (row["signed_on"], row["starts_on"], row["ends_on"]) == ("2015-02-14", "2015-03-01", "")
    assert (row["budget_amount"], row["budget_currency"]) == ("45000.00", "EUR")
    assert row["source_url"] == "https://www.example.org/jumelage"

    # Each party with its own role: the cells pair up in the order of the actors' ids.
    cells = {
        cast.lyon["id"]: (f"{cast.lyon['id']}=funder", "Lyon (financeur)"),
        cast.association["id"]: (f"{cast.association['id']}=operator", "Eau Vive Lyon (opérateur)"),
    }
    in_order = [cells[key] for key in sorted(cells)]
    assert rows[funding["id"]]["parties"] == ";".join(cell for cell, _ in in_order)
    assert rows[funding["id"]]["party_names"] == "; ".join(name for _, name in in_order)
    assert rows[funding["id"]]["kind_label"] == "Financement"


def test_projects_csv_names_the_lead_the_partners_and_the_convention(
    anonymous, registry: Registry, cast
):
    convention = registry.convention(cast.lyon, cast.bamako)
    project = registry.project(
        cast.lyon,
        cast.bamako,
        cast.osim,
        convention_id=convention["id"],
        target_id=cast.bamako["id"],
        status="draft",
    )
    (row,) = read_csv(anonymous.get("/v1/exports/projects.csv"), "project")
    assert row["id"] == project["id"]
    assert (row["lead"], row["lead_name"]) == (cast.lyon["id"], "Lyon")
    partners = sorted_by_id(cast.bamako, cast.osim)
    assert row["partners"] == ";".join(f"{p['id']}=partner" for p in partners)
    assert row["partner_names"] == "; ".join(f"{p['name']} (partenaire)" for p in partners)
    assert row["convention"] == convention["id"]
    assert (row["target_name"], row["target_country_name"]) == ("Bamako", "Mali")
    assert row["status_label"] == "Projet (brouillon)"


def test_relationships_csv_names_both_ends(anonymous, registry: Registry, cast):
    body = {"kind": "member_of", "subject_id": cast.lyon["id"], "object_id": cast.network["id"]}
    tie = registry.post("/v1/relationships", body | {"starts_on": "2012-01-01"})
    (row,) = read_csv(anonymous.get("/v1/exports/relationships.csv"), "relationship")
    assert row["id"] == tie["id"]
    assert (row["kind"], row["kind_label"]) == ("member_of", "membre de")
    assert (row["subject"], row["subject_name"]) == (cast.lyon["id"], "Lyon")
    assert (row["object"], row["object_name"]) == (cast.network["id"], "Cités Unies France")
    assert row["starts_on"] == "2012-01-01"


def test_an_empty_export_is_the_header_alone(anonymous):
    for resource in ("actor", "convention", "project", "relationship"):
        assert read_csv(anonymous.get(f"/v1/exports/{resource}s.csv"), resource) == []


def test_csv_exports_take_the_filters_of_their_listing(anonymous, registry: Registry, cast):
    registry.convention(cast.lyon, cast.saint_louis, kind="twinning")
    with_bamako = registry.convention(cast.saint_etienne, cast.bamako)
    lyon_project = registry.project(cast.lyon, cast.bamako)
    registry.project(cast.saint_etienne, cast.bamako)

    def ids(path: str, resource: Resource, **params: Any) -> set[str]:
        listed = anonymous.get(f"/v1/{resource}s", params=params | {"limit": 200}).json()
        exported = read_csv(anonymous.get(path, params=params), resource)
        assert [row["id"] for row in exported] == [item["id"] for item in listed["items"]]
        return {row["id"] for row in exported}

    actors = "/v1/exports/actors.csv"
    assert ids(actors, "actor", country=["ML", "SN"]) == {cast.bamako["id"], cast.saint_louis["id"]}
    assert ids(actors, "actor", kind="association", theme="youth") == {cast.association["id"]}
    assert ids(actors, "actor", q="saint etienne") == {cast.saint_etienne["id"], cast.osim["id"]}
    assert ids(actors, "actor", bbox="-20,10,-5,20") == {cast.bamako["id"], cast.saint_louis["id"]}
    assert ids(actors, "actor", origin_id=cast.saint_louis["id"]) == {cast.osim["id"]}
    conventions = "/v1/exports/conventions.csv"
    assert ids(conventions, "convention", actor=cast.bamako["id"]) == {with_bamako["id"]}
    assert len(ids(conventions, "convention", kind="twinning")) == 1
    projects = "/v1/exports/projects.csv"
    assert ids(projects, "project", lead_id=cast.lyon["id"]) == {lyon_project["id"]}

    assert_problem(anonymous.get(actors, params={"bbox": "1,2,3"}), 422, "bbox")
    assert_problem(anonymous.get(actors, params={"theme": "astrology"}), 422)
    assert_problem(anonymous.get(conventions, params={"status": "lost"}), 422)
    assert_problem(anonymous.get("/v1/exports/relationships.csv?actor=nope"), 422)


# --- streaming ------------------------------------------------------------------------------


@contextmanager
def counting(engine: Engine) -> Iterator[dict[str, Any]]:
    """What the database sees meanwhile: SQL statements, and connections taken and given back."""
    seen: dict[str, Any] = {"statements": 0, "pool": []}

    def statement(*_args: Any) -> None:
        seen["statements"] += 1

    def checkout(*_args: Any) -> None:
        seen["pool"].append("checkout")

    def checkin(*_args: Any) -> None:
        seen["pool"].append("checkin")

    listeners = [
        (engine, "before_cursor_execute", statement),
        (engine.pool, "checkout", checkout),
        (engine.pool, "checkin", checkin),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield seen
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def test_an_export_streams_every_page_through_the_request_connection(
    client, registry: Registry, engine: Engine, cast, monkeypatch
):
    """Pages of two rows: every row comes once, in the listing's order. The connection the
    request took to check its key serves every page and goes back to the pool only once the
    last one is sent: a stream reading through a session closed under it would take a second
    connection, outside the request's slot."""
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    more = [registry.actor("association", f"Association n°{i}")["id"] for i in range(4)]
    listed = [item["id"] for item in client.get("/v1/actors?limit=200").json()["items"]]
    with counting(engine) as seen:
        rows = read_csv(client.get("/v1/exports/actors.csv"), "actor")
    assert [row["id"] for row in rows] == listed
    assert set(more) < set(listed) and len(listed) == 11
    assert by_id(rows)[cast.osim["id"]]["based_in_name"] == "Saint-Étienne"
    assert seen["pool"] == ["checkout", "checkin"]


def test_names_are_looked_up_once_per_page_not_per_row(
    anonymous, registry: Registry, reading_engine: Engine, cast
):
    def statements_for_an_export() -> int:
        with counting(reading_engine) as seen:
            read_csv(anonymous.get("/v1/exports/conventions.csv"), "convention")
        return seen["statements"]

    towns = [cast.lyon, cast.saint_etienne, cast.bamako, cast.saint_louis]
    registry.convention(*towns[:2], target_id=cast.bamako["id"])
    few = statements_for_an_export()
    assert few > 0
    for first, second in ((0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
        registry.convention(towns[first], towns[second], target_id=towns[second]["id"])
    assert statements_for_an_export() == few


# --- GeoJSON --------------------------------------------------------------------------------


def points(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f["properties"]["id"]: f for f in collection["features"] if f["geometry"]["type"] == "Point"
    }


def lines(collection: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(tie id, from, to) of every LineString."""
    return {
        (f["properties"]["id"], f["properties"]["from"], f["properties"]["to"])
        for f in collection["features"]
        if f["geometry"]["type"] == "LineString"
    }


def test_map_shows_actors_as_points_and_ties_as_lines(
    anonymous, registry: Registry, cast, monkeypatch
):
    """One page per actor, so that the stream joins many pages, some of them with no point."""
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    three = registry.convention(cast.lyon, cast.saint_etienne, cast.bamako, kind="partnership")
    project = registry.project(cast.saint_louis, cast.lyon, cast.association, themes=["youth"])
    response = anonymous.get("/v1/exports/map.geojson")
    assert response.headers["content-disposition"] == 'attachment; filename="map.geojson"'
    collection = read_map(response)

    shown = points(collection)
    # Only actors with coordinates: the association, the OSIM and the network have none.
    assert set(shown) == {
        cast.lyon["id"],
        cast.saint_etienne["id"],
        cast.bamako["id"],
        cast.saint_louis["id"],
    }
    saint_louis = shown[cast.saint_louis["id"]]
    assert saint_louis["geometry"]["coordinates"] == [-16.49, 16.02], "[longitude, latitude]"
    assert saint_louis["id"] == cast.saint_louis["id"]
    assert saint_louis["properties"] == {
        "id": cast.saint_louis["id"],
        "name": "Saint-Louis",
        "acronym": None,
        "kind": "local_authority",
        "kind_label": "Collectivité territoriale",
        "level": "municipality",
        "level_label": "Commune",
        "country": "SN",
        "country_name": "Sénégal",
        "themes": ["youth"],
        "theme_labels": ["Jeunesse"],
        "population": None,
    }

    # A convention of three parties: a line per pair; a project: a star from its lead, to the
    # partners on the map (the association has no coordinates).
    pairs = sorted(t["id"] for t in (cast.lyon, cast.saint_etienne, cast.bamako))
    assert lines(collection) == {
        (three["id"], pairs[0], pairs[1]),
        (three["id"], pairs[0], pairs[2]),
        (three["id"], pairs[1], pairs[2]),
        (project["id"], cast.saint_louis["id"], cast.lyon["id"]),
    }
    star = next(f for f in collection["features"] if f["properties"]["id"] == project["id"])
    assert star["geometry"]["coordinates"] == [[-16.49, 16.02], [4.84, 45.76]]
    assert star["properties"]["type"] == "project"
    assert star["properties"]["themes"] == ["youth"]
    assert star["properties"]["status"] == "active"
    convention_line = next(
        f for f in collection["features"] if f["properties"]["id"] == three["id"]
    )
    assert convention_line["properties"]["type"] == "convention"
    assert convention_line["properties"]["kind"] == "partnership"
    assert convention_line["properties"]["title"] == three["title"]


def test_map_filters_keep_the_ties_among_the_actors_kept(anonymous, registry: Registry, cast):
    twinning = registry.convention(cast.lyon, cast.saint_etienne, kind="twinning")
    registry.convention(cast.lyon, cast.bamako)

    def shown(**params: Any) -> tuple[set[str], set[str]]:
        collection = read_map(anonymous.get("/v1/exports/map.geojson", params=params))
        return set(points(collection)), {tie for tie, _a, _b in lines(collection)}

    france = (cast.lyon["id"], cast.saint_etienne["id"])
    assert shown(bbox="-5.2,41.3,9.6,51.1") == (set(france), {twinning["id"]})
    assert shown(country="FR") == (set(france), {twinning["id"]})
    assert shown(country="SN") == ({cast.saint_louis["id"]}, set())
    assert shown(theme="water_sanitation") == ({cast.lyon["id"]}, set())
    assert shown(kind="association") == (set(), set())
    assert_problem(anonymous.get("/v1/exports/map.geojson?bbox=10,0,0,10"), 422, "bbox")


def test_an_empty_map_is_an_empty_feature_collection(anonymous):
    assert read_map(anonymous.get("/v1/exports/map.geojson"))["features"] == []

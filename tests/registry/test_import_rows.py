"""The import as a resource centre uses it: a report per row, upserts, nothing written twice."""

import uuid
from typing import Any

from fastapi.testclient import TestClient

from services.registry.imports import ImportOptions, read_rows, run_import
from shared.access import SYSTEM
from shared.db import begin_write, new_session

ACTORS = """id,kind,name,level,country,insee_code,themes
lyon,local_authority,Ville de Lyon,municipality,France,69123,culture
kayes,local_authority,Kayes,municipality,Mali,,water_sanitation
dakar,local_authority,Dakar,municipality,Sénégal,,
pristina,local_authority,Prishtinë,municipality,Kosovo,,
bad-theme,association,Eau Vive,,FR,,no_such_theme
bad-country,local_authority,Séoul,municipality,Korea,,
bad-insee,local_authority,Villeurbanne,municipality,FR,6926,
"""
CONVENTIONS = """id,kind,title,parties,target,themes
lyon-kayes,decentralised_cooperation,Lyon – Kayes,lyon=signatory;kayes,kayes,water_sanitation
lyon-nowhere,twinning,Jumelage Lyon – Atlantide,lyon;atlantide,,
"""


def _import(engine, text: str, *, apply: bool, source: str = "test") -> Any:
    for session in new_session(engine):
        session.info["principal"] = SYSTEM
        begin_write(session)
        rows = read_rows(text.encode(), format="csv")
        return run_import(session, rows, ImportOptions(source=source, apply=apply))


def _head(client: TestClient) -> int:
    return client.get("/v1/events/head").json()["head"]


def test_a_dry_run_reports_every_row_and_writes_nothing(client, engine):
    report = _import(engine, ACTORS, apply=False)
    actions = {row.ref: row for row in report.rows}
    assert [actions[ref].action for ref in ("lyon", "kayes", "dakar", "pristina")] == ["create"] * 4
    assert actions["bad-theme"].action == "refused"
    assert actions["bad-theme"].status == 422
    assert [e.field for e in actions["bad-theme"].errors] == ["themes.0"]
    assert [e.field for e in actions["bad-country"].errors] == ["country"]
    assert "KR" in actions["bad-country"].errors[0].reason
    assert [e.field for e in actions["bad-insee"].errors] == ["insee_code"]
    assert actions["lyon"].row == 2
    assert client.get("/v1/actors").json()["items"] == []
    assert _head(client) == 0


def test_applying_writes_the_rows_that_pass_with_their_events_and_once_only(client, engine):
    applied = _import(engine, ACTORS, apply=True)
    assert applied.summary.counts["actor"] == {"create": 4, "refused": 3}
    assert applied.summary.written
    names = {a["name"]: a for a in client.get("/v1/actors").json()["items"]}
    assert names["Dakar"]["country"] == "SN" and names["Prishtinë"]["country"] == "XK"
    head = _head(client)
    assert head == 4

    conventions = _import(engine, CONVENTIONS, apply=True)
    rows = {row.ref: row for row in conventions.rows}
    assert rows["lyon-kayes"].action == "create"
    assert rows["lyon-nowhere"].action == "refused"
    assert rows["lyon-nowhere"].errors[0].field == "parties"
    (convention,) = client.get("/v1/conventions").json()["items"]
    assert {p["actor_id"] for p in convention["parties"]} == {
        names["Ville de Lyon"]["id"],
        names["Kayes"]["id"],
    }

    again = _import(engine, ACTORS, apply=True)
    assert again.summary.counts["actor"] == {"unchanged": 4, "refused": 3}
    assert _import(engine, CONVENTIONS, apply=True).summary.counts["convention"]["unchanged"] == 1
    assert _head(client) == head + 1  # the convention's event only


def test_a_changed_cell_updates_that_record_only(client, engine):
    _import(engine, ACTORS, apply=True)
    head = _head(client)
    changed = ACTORS.replace("Mali,,water_sanitation", "Mali,,water_sanitation;health")
    report = _import(engine, changed, apply=True)
    kayes = next(row for row in report.rows if row.ref == "kayes")
    assert kayes.action == "update" and kayes.changed == ["themes"]
    assert report.summary.counts["actor"]["unchanged"] == 3
    events = client.get(f"/v1/events?after={head}").json()["items"]
    assert [e["type"] for e in events] == ["actor.updated"]


def test_rows_find_actors_by_identifier_and_report_likely_duplicates(client, registry, engine):
    lyon = registry.authority("Lyon", insee_code="69123")
    registry.authority("Villeurbanne")
    report = _import(
        engine,
        "kind,name,level,country,insee_code,population\n"
        "local_authority,Lyon,municipality,FR,69123,522250\n"
        "local_authority,Ville de Villeurbanne,municipality,FR,,\n",
        apply=True,
    )
    by_identifier, duplicate = report.rows
    assert by_identifier.action == "update" and by_identifier.id == uuid_of(lyon)
    assert by_identifier.changed == ["population"]
    assert duplicate.action == "create"
    assert [d["name"] for d in duplicate.likely_duplicates] == ["Villeurbanne"]


def test_a_file_of_another_source_does_not_see_this_sources_ids(client, engine):
    _import(engine, ACTORS, apply=True, source="atlas")
    report = _import(engine, CONVENTIONS, apply=False, source="other")
    assert {row.action for row in report.rows} == {"refused"}


def test_the_http_import_answers_a_report_and_refuses_other_media_types(client):
    response = client.post(
        "/v1/imports?source=web&rows=problems",
        content=ACTORS.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"]["applied"] is False
    assert {row["action"] for row in body["rows"]} == {"refused"}
    wrong = client.post("/v1/imports", content=b"x", headers={"Content-Type": "application/pdf"})
    assert wrong.status_code == 415
    assert wrong.headers["content-type"] == "application/problem+json"


def test_an_exported_file_imports_back_unchanged(client, engine):
    _import(engine, ACTORS, apply=True)
    exported = client.get("/v1/exports/actors.csv").content
    response = client.post(
        "/v1/imports?source=roundtrip&apply=true",
        content=exported,
        headers={"Content-Type": "text/csv"},
    )
    assert response.json()["summary"]["counts"] == {"actor": {"unchanged": 4}}


def uuid_of(record: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(record["id"])


def test_a_file_repeating_a_convention_under_another_id_imports_it_once(client, engine):
    _import(engine, ACTORS, apply=True)
    repeated = (
        "id,kind,title,parties\n"
        "first,funding,Convention de financement 2012,lyon=funder;kayes=partner\n"
        "again,funding,Convention de financement 2012,lyon=funder;kayes=partner\n"
    )
    for apply in (False, True):
        report = _import(engine, repeated, apply=apply)
        assert [row.action for row in report.rows] == ["create", "unchanged"], apply
        assert report.rows[1].id == report.rows[0].id
    assert len(client.get("/v1/conventions").json()["items"]) == 1

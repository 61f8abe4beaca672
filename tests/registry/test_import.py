"""The bulk import (issue 11) as a user notices it: a report per row that says what each row does
and why a row is refused, a dry run that writes nothing, re-imports that write nothing, upserts by
stable identifier, countries and references as people write them, keys bound to an actor, whole
batches only when the process dies, and the command line."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from services.registry.imports import ImportOptions, ImportReport, RowReport, read_rows
from services.registry.imports import run_import as run
from services.registry.keys import authenticate
from shared.access import SYSTEM, Principal, Scope
from shared.db import begin_write, new_session
from tests.conftest import Registry, issue_key
from tests.processes import ROOT, registry_env, run_cli

EXAMPLES = ROOT / "docs" / "examples"


def _import(
    engine: Engine,
    content: str,
    *,
    apply: bool,
    source: str = "test",
    format: str = "csv",
    secret: str | None = None,
) -> ImportReport:
    """`content` imported as the operator does (or as the holder of the key `secret`)."""
    for session in new_session(engine):
        begin_write(session)
        principal: Principal = authenticate(session, f"Bearer {secret}") if secret else SYSTEM
        session.info["principal"] = principal
        rows = read_rows(content.encode(), format=format)
        return run(session, rows, ImportOptions(source=source, apply=apply))
    raise AssertionError("no session")


def _by_ref(report: ImportReport) -> dict[str, RowReport]:
    return {row.ref: row for row in report.rows if row.ref is not None}


def _fields(row: RowReport) -> list[str]:
    return [error.field for error in row.errors]


def _head(client: TestClient) -> int:
    return client.get("/v1/events/head").json()["head"]


def _events(client: TestClient, after: int = 0) -> list[dict[str, Any]]:
    return client.get(f"/v1/events?after={after}&limit=200").json()["items"]


def _actors(client: TestClient, query: str = "") -> dict[str, dict[str, Any]]:
    page = client.get(f"/v1/actors?limit=200{query}").json()
    assert page["next"] is None
    return {actor["name"]: actor for actor in page["items"]}


def _outcome(report: ImportReport) -> list[tuple[Any, ...]]:
    """What a user compares between a dry run and the apply that follows (not the new ids)."""
    return [
        (
            row.row,
            row.resource,
            row.ref,
            row.action,
            row.status,
            _fields(row),
            row.changed,
            [d["name"] for d in row.likely_duplicates],
        )
        for row in report.rows
    ]


# A mixed file, one resource per row: header line 1, so the rows are lines 2 to 10.
MIXED = """resource,id,kind,name,level,country,insee_code,population,themes,title,parties
actor,villeurbanne,local_authority,Villeurbanne,municipality,France,69266,,culture,,
actor,ville-de-lyon,local_authority,Ville de Lyon,municipality,FR,,,,,
actor,grenoble,local_authority,Grenoble,municipality,FR,38185,,,,
actor,bad-theme,association,Eau Vive,,FR,,,no_such_theme,,
actor,bad-insee,local_authority,Vénissieux,municipality,FR,6919,,,,
actor,bad-country,local_authority,Poseidonis,municipality,Atlantis,,,,,
convention,lyon-villeurbanne,twinning,,,,,,culture,Lyon – Villeurbanne,ville-de-lyon;villeurbanne
convention,lyon-nowhere,twinning,,,,,,,Lyon – Nulle part,ville-de-lyon=signatory;nowhere
actor,kayes,local_authority,Kayes,municipality,Mali,,127368,,,
"""


def test_each_row_is_reported_with_its_line_action_and_problem(client, registry, engine):
    lyon = registry.authority("Lyon", insee_code="69123")
    grenoble = registry.authority("Grenoble", insee_code="38185")
    report = _import(engine, MIXED, apply=True)

    rows = _by_ref(report)
    assert [row.row for row in report.rows] == list(range(2, 11))
    assert rows["villeurbanne"].action == "create" and rows["villeurbanne"].row == 2
    assert rows["kayes"].action == "create" and rows["kayes"].row == 10
    # A near-identical name is created all the same, with the actor it looks like.
    duplicate = rows["ville-de-lyon"]
    assert duplicate.action == "create"
    assert [d["id"] for d in duplicate.likely_duplicates] == [lyon["id"]]
    # Grenoble is found by its INSEE code and is as registered.
    assert rows["grenoble"].action == "unchanged"
    assert rows["grenoble"].id == uuid.UUID(grenoble["id"])

    refused = {ref: rows[ref] for ref in ("bad-theme", "bad-insee", "bad-country", "lyon-nowhere")}
    assert {row.action for row in refused.values()} == {"refused"}
    assert {row.status for row in refused.values()} == {422}
    assert _fields(refused["bad-theme"]) == ["themes.0"]
    assert _fields(refused["bad-insee"]) == ["insee_code"]
    assert _fields(refused["bad-country"]) == ["country"]
    assert _fields(refused["lyon-nowhere"]) == ["parties"]
    assert "nowhere" in refused["lyon-nowhere"].errors[0].reason
    assert all(row.problem and row.id is None for row in refused.values())
    assert rows["lyon-villeurbanne"].action == "create"

    assert report.summary.counts == {
        "actor": {"create": 3, "unchanged": 1, "refused": 3},
        "convention": {"create": 1, "refused": 1},
    }
    assert report.summary.refused == 4 and report.summary.likely_duplicates == 1
    assert report.summary.applied and report.summary.written

    # What was written: the rows that passed, nothing of the refused ones.
    actors = _actors(client)
    assert set(actors) == {"Lyon", "Grenoble", "Villeurbanne", "Ville de Lyon", "Kayes"}
    assert actors["Villeurbanne"]["country"] == "FR"
    assert actors["Villeurbanne"]["themes"] == ["culture"]
    assert actors["Kayes"]["country"] == "ML" and actors["Kayes"]["population"] == 127368
    assert actors["Grenoble"]["version"] == grenoble["version"]
    assert _actors(client, "&country=ML").keys() == {"Kayes"}
    (convention,) = client.get("/v1/conventions").json()["items"]
    assert {p["actor_id"] for p in convention["parties"]} == {
        actors["Ville de Lyon"]["id"],
        actors["Villeurbanne"]["id"],
    }


def test_the_columns_of_a_mixed_file_are_not_reported_as_ignored(client, engine):
    """`ignored_columns` says "no resource of the file reads them (a misspelt header?)": in a
    file of actors and conventions, `title` and `parties` are read by the conventions."""
    report = _import(engine, MIXED, apply=False)
    assert report.summary.ignored_columns == []
    misspelt = MIXED.replace(",title,", ",titel,", 1)
    assert _import(engine, misspelt, apply=False).summary.ignored_columns == ["titel"]


def test_a_dry_run_writes_nothing_and_reports_what_the_apply_then_does(client, registry, engine):
    registry.authority("Lyon", insee_code="69123")
    registry.authority("Grenoble", insee_code="38185")
    head = _head(client)
    before = _actors(client)

    dry = _import(engine, MIXED, apply=False)
    assert not dry.summary.applied and not dry.summary.written
    assert dry.summary.batches_committed == 0
    assert _actors(client) == before
    assert client.get("/v1/conventions").json()["items"] == []
    assert _head(client) == head and _events(client, head) == []
    # Nothing is kept of the file's ids either: a second dry run reports the same.
    assert _outcome(_import(engine, MIXED, apply=False)) == _outcome(dry)

    applied = _import(engine, MIXED, apply=True)
    assert _outcome(applied) == _outcome(dry)
    assert applied.summary.counts == dry.summary.counts
    assert len(_actors(client)) == len(before) + 3


def test_a_reimport_writes_nothing_and_a_changed_cell_updates_that_record_only(client, engine):
    first = _import(engine, MIXED, apply=True)
    head = _head(client)
    assert head == 5  # four actors and a convention
    created = {ref: row.id for ref, row in _by_ref(first).items() if row.action == "create"}
    versions = {name: actor["version"] for name, actor in _actors(client).items()}

    again = _import(engine, MIXED, apply=True)
    assert {row.action for row in again.rows} == {"unchanged", "refused"}
    assert {ref: row.id for ref, row in _by_ref(again).items() if row.id} == created
    assert again.summary.batches_committed == 0
    assert _head(client) == head

    changed = MIXED.replace("Mali,,127368", "Mali,,130000")
    report = _import(engine, changed, apply=True)
    rows = _by_ref(report)
    assert rows["kayes"].action == "update" and rows["kayes"].changed == ["population"]
    assert rows["kayes"].id == created["kayes"]
    assert [row.ref for row in report.rows if row.action in ("create", "update")] == ["kayes"]
    events = _events(client, head)
    assert [(e["type"], e["resource"]["id"]) for e in events] == [
        ("actor.updated", str(created["kayes"]))
    ]
    after = _actors(client)
    assert after["Kayes"]["population"] == 130000
    assert after["Kayes"]["version"] == versions["Kayes"] + 1
    assert {n: a["version"] for n, a in after.items() if n != "Kayes"} == {
        n: v for n, v in versions.items() if n != "Kayes"
    }


def test_an_applied_import_records_audit_entries_and_webhook_deliveries_with_its_events(
    client, engine
):
    # Only actor events: a delivery must follow its own event's type and sequence.
    endpoint = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "event_types": ["actor.created"]}
    ).json()
    head = _head(client)
    _import(engine, MIXED, apply=True)

    events = _events(client, head)
    assert [e["type"] for e in events].count("convention.created") == 1
    actor_events = [e["sequence"] for e in events if e["type"] == "actor.created"]
    assert len(actor_events) == 4
    with engine.connect() as connection:
        deliveries = connection.execute(
            text("SELECT endpoint_id, event_sequence FROM webhook_delivery ORDER BY event_sequence")
        ).all()
        audited = connection.execute(
            text("SELECT action, resource_id, key_name FROM audit_entry WHERE sequence > 0")
        ).all()
    assert [(uuid.UUID(str(e)), s) for e, s in deliveries] == [
        (uuid.UUID(endpoint["id"]), sequence) for sequence in actor_events
    ]
    written = {(e["type"], e["resource"]["id"]) for e in events}
    assert {(action, str(uuid.UUID(str(rid)))) for action, rid, _ in audited} >= written


def test_rows_without_id_update_the_actor_their_identifiers_name(client, registry, engine):
    lyon = registry.authority("Lyon", insee_code="69123")
    region = registry.authority("Île-de-France", level="region", insee_code="11")
    department = registry.authority("Seine-Saint-Denis", level="department", insee_code="93")
    region_93 = registry.authority("Provence-Alpes-Côte d'Azur", level="region", insee_code="93")
    paris = registry.authority("Paris", wikidata_qid="Q90")
    cites = registry.actor("association", "Cités Unies France", iati_id="FR-RNA-W751234567")
    head = _head(client)

    report = _import(
        engine,
        "kind,name,level,country,insee_code,wikidata_qid,iati_id,population\n"
        "local_authority,Lyon,municipality,FR,69123,,,522250\n"
        "local_authority,Seine-Saint-Denis,department,FR,93,,,1650000\n"
        "local_authority,Paris,,FR,,Q90,,2100000\n"
        "association,Cités Unies France,,FR,,,fr-rna-w751234567,\n"
        "local_authority,Lyon,municipality,FR,69123,Q90,,\n",
        apply=True,
    )
    by_lyon, by_department, by_qid, by_iati, conflict = report.rows
    assert (by_lyon.action, by_lyon.id, by_lyon.changed) == (
        "update",
        uuid.UUID(lyon["id"]),
        ["population"],
    )
    # INSEE 93 is both a département and a région: the level tells them apart.
    assert (by_department.action, by_department.id) == ("update", uuid.UUID(department["id"]))
    assert (by_qid.action, by_qid.id) == ("update", uuid.UUID(paris["id"]))
    # The IATI identifier in another case names the same actor, and is not a change.
    assert (by_iati.action, by_iati.id) == ("unchanged", uuid.UUID(cites["id"]))
    # Identifiers naming two different actors: refused, nothing written.
    assert (conflict.action, conflict.status) == ("refused", 409)
    assert sorted(_fields(conflict)) == ["insee_code", "wikidata_qid"]
    assert lyon["id"] in conflict.problem and paris["id"] in conflict.problem

    actors = _actors(client)
    assert len(actors) == 6  # no actor created
    assert actors["Lyon"]["population"] == 522250
    assert actors["Paris"]["population"] == 2100000
    assert actors["Seine-Saint-Denis"]["population"] == 1650000
    assert actors["Provence-Alpes-Côte d'Azur"]["version"] == region_93["version"]
    assert actors["Île-de-France"]["version"] == region["version"]
    updated = {e["resource"]["id"] for e in _events(client, head) if e["type"] == "actor.updated"}
    assert {lyon["id"], department["id"], paris["id"]} <= updated
    assert cites["id"] not in updated
    assert actors["Cités Unies France"]["iati_id"] == "FR-RNA-W751234567"


COUNTRIES = """id,kind,name,level,country
sn-fr,local_authority,Ziguinchor,municipality,Sénégal
sn-en,local_authority,Dakar,municipality,Senegal
ci-fr,local_authority,Abidjan,municipality,Côte d'Ivoire
ci-en,local_authority,Bouaké,municipality,Ivory Coast
xk-code,local_authority,Prizren,municipality,XK
xk-name,local_authority,Prishtinë,municipality,Kosovo
korea,local_authority,Séoul,municipality,Korea
atlantis,local_authority,Poseidonis,municipality,Atlantis
"""


def test_countries_are_read_by_code_or_by_name_in_french_or_english(client, engine):
    report = _import(engine, COUNTRIES, apply=True)
    rows = _by_ref(report)
    assert {ref: row.action for ref, row in rows.items()} == {
        **{ref: "create" for ref in ("sn-fr", "sn-en", "ci-fr", "ci-en", "xk-code", "xk-name")},
        "korea": "refused",
        "atlantis": "refused",
    }
    countries = {name: actor["country"] for name, actor in _actors(client).items()}
    assert countries == {
        "Ziguinchor": "SN",
        "Dakar": "SN",
        "Abidjan": "CI",
        "Bouaké": "CI",
        "Prizren": "XK",
        "Prishtinë": "XK",
    }
    korea, atlantis = rows["korea"], rows["atlantis"]
    assert (korea.status, _fields(korea)) == (422, ["country"])
    assert "KR" in korea.errors[0].reason and "KP" in korea.errors[0].reason
    assert (atlantis.status, _fields(atlantis)) == (422, ["country"])
    assert "Atlantis" in atlantis.errors[0].reason


def test_references_to_file_ids_of_the_same_source_and_to_stable_identifiers(
    client, registry, engine
):
    grenoble = registry.authority("Grenoble", insee_code="38185")
    paris = registry.authority("Paris", wikidata_qid="Q90")
    lyon = registry.authority("Lyon", wikidata_qid="Q456")
    actors = (EXAMPLES / "directory-actors.csv").read_text(encoding="utf-8")
    # The example's Grenoble is the registered one (INSEE 38185): its file id now names it.
    assert _by_ref(_import(engine, actors, apply=True, source="atlas"))["grenoble"].id == (
        uuid.UUID(grenoble["id"])
    )
    names = {name: actor["id"] for name, actor in _actors(client).items()}

    conventions = (
        "id,kind,title,parties,target\n"
        "kayes-isere,decentralised_cooperation,Kayes – Isère,kayes=signatory;isere,kayes\n"
        "grenoble-paris,partnership,Grenoble – Paris,insee:38185;wikidata:Q90=lead,\n"
        "paris-lyon,twinning,Paris – Lyon,q90;Q456,\n"
        "lost,twinning,Perdue,kayes;Q999999,\n"
    )
    report = _import(engine, conventions, apply=True, source="atlas")
    rows = _by_ref(report)
    assert [rows[r].action for r in ("kayes-isere", "grenoble-paris", "paris-lyon")] == [
        "create"
    ] * 3
    assert (rows["lost"].action, _fields(rows["lost"])) == ("refused", ["parties"])
    parties = {
        c["title"]: {p["actor_id"]: p["role"] for p in c["parties"]}
        for c in client.get("/v1/conventions").json()["items"]
    }
    assert parties["Kayes – Isère"] == {
        names["Kayes"]: "signatory",
        names["Conseil départemental de l'Isère"]: "partner",
    }
    assert parties["Grenoble – Paris"] == {grenoble["id"]: "partner", paris["id"]: "lead"}
    assert set(parties["Paris – Lyon"]) == {paris["id"], lyon["id"]}

    # Another source does not see these file ids; stable identifiers are seen from any source.
    other = _by_ref(_import(engine, conventions, apply=False, source="elsewhere"))
    assert (other["kayes-isere"].action, _fields(other["kayes-isere"])) == (
        "refused",
        ["parties", "target_id"],
    )
    assert "kayes" in other["kayes-isere"].errors[0].reason
    assert other["grenoble-paris"].action == "unchanged"


def test_the_example_files_import_in_order_under_one_source(client, engine):
    reports = [
        _import(
            engine,
            (EXAMPLES / name).read_text(encoding="utf-8"),
            apply=True,
            source="example",
            format=name.rsplit(".", 1)[1],
        )
        for name in (
            "directory-actors.csv",
            "directory-conventions.csv",
            "directory-relationships.jsonl",
        )
    ]
    assert [r.summary.counts for r in reports] == [
        {"actor": {"create": 9}},
        {"convention": {"create": 3}},
        {"relationship": {"create": 2}, "project": {"create": 1}},
    ]
    assert all(r.summary.ignored_columns == [] for r in reports)
    (project,) = client.get("/v1/projects").json()["items"]
    assert project["title"] == "Forages dans trois quartiers de Kayes"
    assert project["convention_id"] == str(_by_ref(reports[1])["grenoble-kayes"].id)


def test_a_key_bound_to_an_actor_imports_rows_about_that_actor_only(
    client, registry: Registry, engine
):
    mine = registry.actor("association", "Eau Vive Isère")
    other = registry.actor("association", "Autre Association")
    kayes = registry.authority("Kayes", country="ML")
    secret = issue_key(engine, "eau vive", Scope.write, actor_id=uuid.UUID(mine["id"]))
    head = _head(client)

    report = _import(
        engine,
        "resource,id,kind,name,country,population,title,parties\n"
        f"actor,{mine['id']},association,Eau Vive Isère,FR,120,,\n"
        f"actor,{other['id']},association,Autre Association,FR,99,,\n"
        f"convention,,partnership,,,,Autre – Kayes,{other['id']};{kayes['id']}\n"
        f"convention,,partnership,,,,Eau Vive – Kayes,{mine['id']};{kayes['id']}\n",
        apply=True,
        secret=secret,
    )
    own, others, foreign_convention, own_convention = report.rows
    assert (own.action, own.changed) == ("update", ["population"])
    assert (others.action, others.status) == ("refused", 403)
    assert (foreign_convention.action, foreign_convention.status) == ("refused", 403)
    assert own_convention.action == "create"
    assert mine["id"] in others.problem

    actors = _actors(client)
    assert actors["Eau Vive Isère"]["population"] == 120
    assert actors["Autre Association"]["version"] == other["version"]
    assert [c["title"] for c in client.get("/v1/conventions").json()["items"]] == [
        "Eau Vive – Kayes"
    ]
    assert sorted(e["type"] for e in _events(client, head)) == [
        "actor.updated",
        "convention.created",
    ]


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_dry_run_prints_the_table_and_writes_the_report(
    client, registry_database, tmp_path
):
    env = registry_env(registry_database, COLUMNS="200")
    example = str(EXAMPLES / "directory-actors.csv")
    dry = run_cli(env, "import", example)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing written" in dry.stdout
    assert "actor" in dry.stdout and "9" in dry.stdout
    assert "--apply" in dry.stdout
    assert client.get("/v1/actors").json()["items"] == []

    saved = tmp_path / "report.json"
    with_report = run_cli(env, "import", example, "--report", str(saved))
    assert with_report.returncode == 0, with_report.stderr
    report = ImportReport.model_validate_json(saved.read_text(encoding="utf-8"))
    assert report.summary.counts == {"actor": {"create": 9}}
    assert not report.summary.applied
    assert [row.row for row in report.rows] == list(range(2, 11))


TOTAL = 3000
BATCH = 50


def _generated_actors(path: Path) -> None:
    lines = ["id,kind,name,country"]
    for i in range(TOTAL):
        # Names whose first letters differ: no likely duplicates among them.
        token = hashlib.sha256(str(i).encode()).hexdigest()[:12]
        lines.append(f"gen-{i},association,Solidarité {token},FR")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _counts(engine: Engine) -> tuple[int, int, int, int]:
    """Actors, distinct names, actor.created events and source_ref rows of source 'crash'."""
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(text(sql)).scalar_one()
            for sql in (
                "SELECT count(*) FROM actor",
                "SELECT count(DISTINCT name) FROM actor",
                "SELECT count(*) FROM event WHERE type = 'actor.created'",
                "SELECT count(*) FROM source_ref WHERE source = 'crash'",
            )
        )


@pytest.mark.slow
def test_an_import_killed_mid_way_leaves_whole_batches_and_completes_when_run_again(
    client, registry_database, tmp_path
):
    data = tmp_path / "actors.csv"
    _generated_actors(data)
    env = registry_env(registry_database)
    args = ["import", str(data), "--apply", "--batch-size", str(BATCH), "--source", "crash"]
    watcher = create_engine(registry_database)
    process = subprocess.Popen(
        [sys.executable, "-m", "services.registry", *args],
        cwd=ROOT,
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        written = 0
        # Killed once about a third is written: batches before it committed, one in flight.
        while written < TOTAL // 3:
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "no batch committed in time"
            time.sleep(0.02)
            try:
                with watcher.connect() as connection:
                    written = connection.execute(text("SELECT count(*) FROM actor")).scalar_one()
            except OperationalError:  # SQLite: the importer holds the lock
                continue
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        actors, names, created, refs = _counts(watcher)
        assert 0 < actors < TOTAL
        assert actors % BATCH == 0, actors
        assert actors == names == created == refs

        saved = tmp_path / "report.json"
        again = run_cli(env, *args, "--report", str(saved))
        assert again.returncode == 0, again.stderr
        report = ImportReport.model_validate_json(saved.read_text(encoding="utf-8"))
        assert report.summary.counts == {"actor": {"unchanged": actors, "create": TOTAL - actors}}
        assert report.summary.written
        assert _counts(watcher) == (TOTAL, TOTAL, TOTAL, TOTAL)
        # The rows already written were found again by their file ids, not created twice.
        ids = json.loads(saved.read_text(encoding="utf-8"))["rows"]
        assert len({row["id"] for row in ids}) == TOTAL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        watcher.dispose()


def test_a_large_import_tells_the_postgresql_planner_what_it_wrote(client, engine):
    """Until its statistics are refreshed, PostgreSQL takes tables just filled for nearly empty
    and sorts a listing's every row instead of walking its index."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's planner keeps no statistics")
    with engine.begin() as connection:
        # Autovacuum must not refresh them instead (it would, within a minute or so).
        connection.execute(text("ALTER TABLE actor SET (autovacuum_enabled = false)"))
    try:
        lines = ["resource,id,kind,name,country"]
        lines += [f"actor,a{n},association,Association numéro {n:04d},FR" for n in range(1_000)]
        report = _import(engine, "\n".join(lines) + "\n", apply=True, source="statistics")
        assert report.summary.counts == {"actor": {"create": 1_000}}, report.summary
        with engine.connect() as connection:
            tuples = connection.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'actor'")
            ).scalar_one()
        assert tuples >= 1_000
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE actor RESET (autovacuum_enabled)"))

"""API keys and the audit trail: secrets shown once and kept only as digests, revocation that
takes effect on the very next request, and one audit entry per write naming the key behind it."""

import hashlib
import os
import stat
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from services.registry.models import ApiKey, metadata
from shared.access import Scope
from tests.conftest import Registry, api_key, as_key, assert_problem, issue_key
from tests.processes import run_cli

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def key_row(engine: Engine, key_id: str) -> dict[str, Any]:
    """Every column of the api_key row, as stored."""
    with engine.connect() as connection:
        row = connection.execute(
            select(ApiKey.__table__).where(ApiKey.__table__.c.id == uuid.UUID(key_id))
        ).one()
    return dict(row._mapping)


def stored_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


def places_holding(engine: Engine, needle: str) -> list[str]:
    """`table.column` of every stored value, in every table, that contains `needle`."""
    found = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is not None and needle in stored_text(value):
                        found.append(f"{table.name}.{column}")
    return found


def count_keys(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ApiKey.__table__)).scalar_one()


def cli_env(engine: Engine) -> dict[str, str]:
    return {"DATABASE_URL": engine.url.render_as_string(hide_password=False)}


# --- stored hashed, shown once -------------------------------------------------------------------


def test_a_key_is_stored_as_its_sha256_digest_and_nowhere_in_clear(client, engine):
    created = api_key(client, "Atlas", "registry:read_private")
    secret = created["secret"]
    assert secret.startswith("pss_") and len(secret) > 40

    row = key_row(engine, created["id"])
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == secret[:12] == created["prefix"]
    for column, value in row.items():
        assert secret not in stored_text(value), column
        # Beyond the short recognisable prefix, nothing of the random part is stored.
        assert secret[12:] not in stored_text(value), column
    assert places_holding(engine, secret[12:]) == []


def test_a_key_created_with_an_idempotency_key_leaves_its_secret_nowhere_in_the_database(
    client, engine
):
    response = client.post(
        "/v1/keys",
        json={"name": "Atlas", "scopes": ["registry:read_private"]},
        headers={"Idempotency-Key": "atlas-key-1"},
    )
    assert response.status_code == 201, response.text
    secret = response.json()["secret"]
    # Only the digest may be kept: a copy of the response is a copy of the key.
    assert places_holding(engine, secret[12:]) == []


def test_the_secret_is_shown_once_at_creation_and_never_again(client):
    created = api_key(client, "Atlas", "registry:write")
    secret, digest = created["secret"], hashlib.sha256(created["secret"].encode()).hexdigest()
    assert created["name"] == "Atlas" and created["scopes"] == ["registry:write"]
    assert created["revoked_at"] is None and created["created_by"] == "test admin"

    atlas = as_key(client, secret)
    later = [
        client.get("/v1/keys"),
        client.get("/v1/keys", params={"include_revoked": True}),
        client.get(f"/v1/keys/{created['id']}"),
        atlas.get("/v1/keys/current"),
        client.get("/v1/audit"),
    ]
    for response in later:
        assert response.status_code == 200, response.text
        assert secret not in response.text and secret[12:] not in response.text
        assert digest not in response.text and "secret" not in response.text
    listed = {key["id"]: key for key in later[0].json()["items"]}
    assert listed[created["id"]]["prefix"] == secret[:12]
    assert later[3].json()["id"] == created["id"]


def test_the_command_line_prints_a_new_key_once_and_it_works(client, engine):
    created = run_cli(cli_env(engine), "keys", "create", "--name", "Atlas", "--scope", "admin")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("pss_") and created.stdout == secret + "\n"
    assert secret not in created.stderr
    assert "only once" in created.stderr

    current = as_key(client, secret).get("/v1/keys/current")
    assert current.status_code == 200, current.text
    assert current.json()["name"] == "Atlas" and current.json()["created_by"] == "command line"
    row = key_row(engine, current.json()["id"])
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()

    listed = run_cli(cli_env(engine), "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert secret[:12] in listed.stdout and secret[12:] not in listed.stdout


def test_the_command_line_writes_the_key_to_a_file_only_its_owner_can_read(
    client, engine, tmp_path
):
    output = tmp_path / "secrets" / "matching.key"
    args = ("keys", "create", "--name", "matching", "--scope", "registry:propose")
    created = run_cli(cli_env(engine), *args, "--output", str(output))
    assert created.returncode == 0, created.stderr
    secret = output.read_text().strip()
    assert secret.startswith("pss_")
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o600
    assert secret not in created.stdout and secret not in created.stderr
    assert as_key(client, secret).get("/v1/keys/current").json()["scopes"] == ["registry:propose"]


def test_if_missing_keeps_a_valid_key_and_replaces_a_revoked_one(client, engine, tmp_path):
    output = tmp_path / "matching.key"
    env = cli_env(engine)
    args = ("keys", "create", "--name", "matching", "--scope", "registry:propose")
    args += ("--output", str(output), "--if-missing")
    assert run_cli(env, *args).returncode == 0
    first = output.read_text()
    keys_before = count_keys(engine)

    again = run_cli(env, *args)
    assert again.returncode == 0, again.stderr
    assert "nothing created" in again.stdout
    assert output.read_text() == first
    assert count_keys(engine) == keys_before

    key_id = as_key(client, first.strip()).get("/v1/keys/current").json()["id"]
    assert client.delete(f"/v1/keys/{key_id}").status_code == 204
    replaced = run_cli(env, *args)
    assert replaced.returncode == 0, replaced.stderr
    second = output.read_text()
    assert second != first
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o600
    assert count_keys(engine) == keys_before + 1
    assert as_key(client, second.strip()).get("/v1/keys/current").status_code == 200


# --- revocation, use, rights ---------------------------------------------------------------------


def assert_refused_key(response) -> None:
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_revoked_through_the_api_is_refused_on_the_very_next_request(client):
    created = api_key(client, "Atlas", "registry:write")
    atlas = as_key(client, created["secret"])
    assert atlas.get("/v1/keys/current").status_code == 200

    assert client.delete(f"/v1/keys/{created['id']}").status_code == 204
    assert_refused_key(atlas.get("/v1/keys/current"))
    # Even on open data: a key that is sent must be valid.
    assert_refused_key(atlas.get("/v1/actors"))
    assert_refused_key(
        atlas.post("/v1/actors", json={"kind": "association", "name": "A", "country": "FR"})
    )

    assert created["id"] not in [k["id"] for k in client.get("/v1/keys").json()["items"]]
    everything = client.get("/v1/keys", params={"include_revoked": True}).json()["items"]
    [revoked] = [k for k in everything if k["id"] == created["id"]]
    assert revoked["revoked_at"] is not None
    # Revoking twice changes nothing and records nothing more.
    assert client.delete(f"/v1/keys/{created['id']}").status_code == 204
    revocations = client.get("/v1/audit", params={"resource_id": created["id"]}).json()["items"]
    assert [entry["action"] for entry in revocations] == ["key.created", "key.revoked"]


def test_a_key_revoked_on_the_command_line_is_refused_on_the_very_next_request(client, engine):
    created = api_key(client, "Atlas", "webhooks:manage")
    atlas = as_key(client, created["secret"])
    assert atlas.get("/v1/webhooks").status_code == 200

    revoked = run_cli(cli_env(engine), "keys", "revoke", created["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert_refused_key(atlas.get("/v1/webhooks"))
    assert client.get(f"/v1/keys/{created['id']}").json()["revoked_at"] is not None
    unknown = run_cli(cli_env(engine), "keys", "revoke", UNKNOWN)
    assert unknown.returncode == 1 and "refused" in unknown.stderr


def test_malformed_or_unknown_keys_are_refused_with_401(client, anonymous):
    for header in ("Bearer pss_not-a-key", "Basic dXNlcjpwYXNz", "Bearer ", "pss_abc"):
        response = anonymous.get("/v1/actors", headers={"Authorization": header})
        assert_refused_key(response)


def test_last_used_at_is_set_when_a_key_is_used(client):
    created = api_key(client, "Atlas", "registry:read_private")
    assert created["last_used_at"] is None
    assert client.get(f"/v1/keys/{created['id']}").json()["last_used_at"] is None

    assert as_key(client, created["secret"]).get("/v1/actors").status_code == 200
    used = client.get(f"/v1/keys/{created['id']}").json()["last_used_at"]
    assert used is not None and used >= created["created_at"]


def test_only_admin_keys_list_create_read_and_revoke_keys(client, anonymous, registry: Registry):
    lille = registry.authority("Lille")
    target = api_key(client, "target", "registry:write")
    lesser = [
        api_key(client, "writer", "registry:write", actor_id=lille["id"]),
        api_key(client, "reader", "registry:read_private"),
        api_key(client, "hooks", "webhooks:manage"),
        api_key(client, "matching", "registry:propose", "matching:feedback"),
    ]
    for key in lesser:
        caller = as_key(client, key["secret"])
        assert_problem(caller.get("/v1/keys"), 403)
        assert_problem(caller.get(f"/v1/keys/{target['id']}"), 403)
        assert_problem(caller.post("/v1/keys", json={"name": "mine", "scopes": ["admin"]}), 403)
        assert_problem(caller.delete(f"/v1/keys/{target['id']}"), 403)
        assert_problem(caller.get("/v1/audit"), 403)
        # Every key may ask who it is.
        assert caller.get("/v1/keys/current").json()["id"] == key["id"]
    assert_refused_key(anonymous.get("/v1/keys"))
    assert_refused_key(anonymous.get("/v1/keys/current"))
    assert_refused_key(anonymous.post("/v1/keys", json={"name": "mine", "scopes": ["admin"]}))
    assert_refused_key(anonymous.get("/v1/audit"))
    assert client.get(f"/v1/keys/{target['id']}").json()["revoked_at"] is None


def test_a_key_bound_to_an_actor_that_does_not_exist_is_refused_at_creation(
    client, registry: Registry, engine
):
    keys_before = count_keys(engine)
    response = client.post(
        "/v1/keys", json={"name": "ghost", "scopes": ["registry:write"], "actor_id": UNKNOWN}
    )
    assert_problem(response, 422, "actor_id")

    gone = registry.actor("association", "Dissoute")
    assert client.delete(f"/v1/actors/{gone['id']}").status_code == 204
    response = client.post(
        "/v1/keys", json={"name": "ghost", "scopes": ["registry:write"], "actor_id": gone["id"]}
    )
    assert_problem(response, 422, "actor_id")

    refused = run_cli(
        cli_env(engine), "keys", "create", "--name", "ghost", "--scope", "registry:write",
        "--actor", UNKNOWN,
    )  # fmt: skip
    assert refused.returncode == 1 and "refused" in refused.stderr
    assert "pss_" not in refused.stdout
    assert count_keys(engine) == keys_before


# --- the audit trail -------------------------------------------------------------------------


class Trail:
    """Reads the audit trail from where it was last read."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.after = client.get("/v1/audit").json()["next_after"]

    def new(self) -> list[dict[str, Any]]:
        page = self.client.get("/v1/audit", params={"after": self.after, "limit": 200}).json()
        self.after = page["next_after"]
        return page["items"]

    def expect(self, action: str, resource_id: str, key: dict[str, Any]) -> None:
        """Exactly one entry since the last read: this action on this resource by this key."""
        entries = self.new()
        assert len(entries) == 1, entries
        [entry] = entries
        assert entry["action"] == action
        assert entry["resource_type"] == action.split(".")[0]
        assert entry["resource_id"] == resource_id
        assert (entry["key_id"], entry["key_name"]) == (key["id"], key["name"])


def ok(response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_every_kind_of_write_records_one_entry_naming_the_key_that_made_it(client):
    admin = client.get("/v1/keys/current").json()
    trail = Trail(client)
    country = {"kind": "local_authority", "level": "municipality", "country": "FR"}

    lille = ok(client.post("/v1/actors", json=country | {"name": "Lille"}), 201)
    trail.expect("actor.created", lille["id"], admin)
    dakar = ok(client.post("/v1/actors", json=country | {"name": "Dakar", "country": "SN"}), 201)
    trail.expect("actor.created", dakar["id"], admin)

    writer_key = api_key(client, "Lille writer", "registry:write", actor_id=lille["id"])
    trail.expect("key.created", writer_key["id"], admin)
    writer = as_key(client, writer_key["secret"])

    ok(writer.patch(f"/v1/actors/{lille['id']}", json={"population": 236710}))
    trail.expect("actor.updated", lille["id"], writer_key)

    parties = [{"actor_id": a["id"], "role": "signatory"} for a in (lille, dakar)]
    body = {"kind": "twinning", "title": "Jumelage Lille – Dakar", "parties": parties}
    convention = ok(writer.post("/v1/conventions", json=body), 201)
    trail.expect("convention.created", convention["id"], writer_key)
    ok(writer.patch(f"/v1/conventions/{convention['id']}", json={"description": "Renouvelé"}))
    trail.expect("convention.updated", convention["id"], writer_key)

    body = {"title": "Eau", "lead_id": lille["id"], "partners": [{"actor_id": dakar["id"]}]}
    project = ok(writer.post("/v1/projects", json=body), 201)
    trail.expect("project.created", project["id"], writer_key)
    ok(writer.patch(f"/v1/projects/{project['id']}", json={"description": "Forages"}))
    trail.expect("project.updated", project["id"], writer_key)

    body = {"kind": "supports", "subject_id": lille["id"], "object_id": dakar["id"]}
    tie = ok(writer.post("/v1/relationships", json=body), 201)
    trail.expect("relationship.created", tie["id"], writer_key)
    ok(writer.patch(f"/v1/relationships/{tie['id']}", json={"starts_on": "2020-01-01"}))
    trail.expect("relationship.updated", tie["id"], writer_key)
    ok(writer.delete(f"/v1/relationships/{tie['id']}"), 204)
    trail.expect("relationship.deleted", tie["id"], writer_key)
    ok(writer.delete(f"/v1/projects/{project['id']}"), 204)
    trail.expect("project.deleted", project["id"], writer_key)
    ok(writer.delete(f"/v1/conventions/{convention['id']}"), 204)
    trail.expect("convention.deleted", convention["id"], writer_key)

    hooks_key = api_key(client, "Atlas hooks", "webhooks:manage")
    trail.expect("key.created", hooks_key["id"], admin)
    hooks = as_key(client, hooks_key["secret"])
    endpoint = ok(hooks.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks"}), 201)
    trail.expect("webhook.created", endpoint["id"], hooks_key)
    ok(hooks.patch(f"/v1/webhooks/{endpoint['id']}", json={"description": "Atlas"}))
    trail.expect("webhook.updated", endpoint["id"], hooks_key)
    ok(hooks.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret"))
    trail.expect("webhook.secret_rotated", endpoint["id"], hooks_key)
    ok(hooks.delete(f"/v1/webhooks/{endpoint['id']}"), 204)
    trail.expect("webhook.deleted", endpoint["id"], hooks_key)

    ok(writer.delete(f"/v1/actors/{lille['id']}"), 204)
    trail.expect("actor.deleted", lille["id"], writer_key)
    ok(client.delete(f"/v1/keys/{writer_key['id']}"), 204)
    trail.expect("key.revoked", writer_key["id"], admin)


def test_a_refused_write_records_nothing(client, anonymous, registry: Registry):
    lille, dakar = registry.authority("Lille"), registry.authority("Dakar", country="SN")
    paris = registry.authority("Paris")
    writer_key = api_key(client, "Lille writer", "registry:write", actor_id=lille["id"])
    writer = as_key(client, writer_key["secret"])
    reader = as_key(client, api_key(client, "reader", "registry:read_private")["secret"])
    trail = Trail(client)
    head = client.get("/v1/events/head").json()["head"]

    stranger_parties = [{"actor_id": a["id"]} for a in (dakar, paris)]
    stranger_twinning = {"kind": "twinning", "title": "Sans Lille", "parties": stranger_parties}
    association = {"kind": "association", "name": "A", "country": "FR"}
    stale, ghost = {"If-Match": '"7"'}, UNKNOWN
    refusals = [
        (writer.patch(f"/v1/actors/{dakar['id']}", json={"population": 1}), 403),
        (writer.delete(f"/v1/actors/{dakar['id']}"), 403),
        (writer.post("/v1/conventions", json=stranger_twinning), 403),
        (writer.post("/v1/keys", json={"name": "more", "scopes": ["admin"]}), 403),
        (reader.post("/v1/actors", json=association), 403),
        (anonymous.post("/v1/actors", json=association), 401),
        (client.post("/v1/actors", json=association | {"country": "XX"}), 422),
        (client.post("/v1/keys", json={"name": "g", "scopes": ["admin"], "actor_id": ghost}), 422),
        (client.patch(f"/v1/actors/{lille['id']}", json={"population": 1}, headers=stale), 412),
        (client.post("/v1/webhooks", json={"url": "http://10.0.0.1/hooks"}), 422),
    ]
    for response, status in refusals:
        assert_problem(response, status)
    assert trail.new() == []
    assert client.get("/v1/events/head").json()["head"] == head
    assert client.get(f"/v1/actors/{dakar['id']}").json()["version"] == 1


def test_command_line_work_is_recorded_without_a_key_id(client, engine):
    issue_key(engine, "bootstrap", Scope.admin)
    entry = client.get("/v1/audit").json()["items"][-1]
    assert entry["action"] == "key.created" and entry["resource_type"] == "key"
    assert (entry["key_id"], entry["key_name"]) == (None, "command line")


def test_the_audit_trail_filters_by_key_and_by_resource(client, registry: Registry):
    lille, dakar = registry.authority("Lille"), registry.authority("Dakar", country="SN")
    writer_key = api_key(client, "Lille writer", "registry:write", actor_id=lille["id"])
    writer = as_key(client, writer_key["secret"])
    ok(writer.patch(f"/v1/actors/{lille['id']}", json={"population": 236710}))
    convention = ok(writer.post("/v1/conventions", json=_twinning(lille, dakar)), 201)
    ok(client.patch(f"/v1/actors/{dakar['id']}", json={"population": 1_438_725}))

    by_writer = client.get("/v1/audit", params={"key_id": writer_key["id"]}).json()["items"]
    assert [(e["action"], e["resource_id"]) for e in by_writer] == [
        ("actor.updated", lille["id"]),
        ("convention.created", convention["id"]),
    ]
    assert {e["key_name"] for e in by_writer} == {"Lille writer"}

    on_lille = client.get("/v1/audit", params={"resource_id": lille["id"]}).json()["items"]
    assert [(e["action"], e["key_name"]) for e in on_lille] == [
        ("actor.created", "test admin"),
        ("actor.updated", "Lille writer"),
    ]
    both = client.get(
        "/v1/audit", params={"resource_id": dakar["id"], "key_id": writer_key["id"]}
    ).json()
    assert both["items"] == []


def _twinning(*actors: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "twinning",
        "title": "Jumelage " + " – ".join(a["name"] for a in actors),
        "parties": [{"actor_id": a["id"], "role": "signatory"} for a in actors],
    }


def test_the_audit_trail_pages_with_after_and_next_after(client, registry: Registry):
    for i in range(7):
        registry.actor("association", f"Association {i}")
    everything = client.get("/v1/audit", params={"limit": 200}).json()["items"]
    assert len(everything) == 8  # the admin key issued by the fixture, then 7 actors

    seen, after, pages = [], 0, 0
    while True:
        page = client.get("/v1/audit", params={"after": after, "limit": 3}).json()
        if not page["items"]:
            assert page["next_after"] == after
            break
        assert len(page["items"]) <= 3
        assert page["next_after"] == page["items"][-1]["sequence"]
        seen += page["items"]
        after, pages = page["next_after"], pages + 1
    assert pages == 3
    assert seen == everything
    sequences = [entry["sequence"] for entry in seen]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert_problem(client.get("/v1/audit", params={"after": -1}), 422)


def test_audit_rows_commit_with_their_write(client, registry: Registry, engine):
    """The trail and the data agree row for row: each event has its audit entry."""
    lille = registry.authority("Lille")
    registry.actor("association", "Eau Vive", based_in_id=lille["id"])
    with engine.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM event")).scalar_one()
        entries = connection.execute(
            text("SELECT count(*) FROM audit_entry WHERE action LIKE 'actor.%'")
        ).scalar_one()
    assert events == entries == 2

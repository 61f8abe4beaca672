"""Every request gives back what its unit of work took (its pooled connection, its connection
slot, a write's turn) once it is answered, whether it succeeded, was refused or failed."""

import asyncio
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.conftest import commits_fail

NOWHERE = uuid.UUID(int=0)


def held(app: Any, *engines: Engine) -> dict[str, Any]:
    """What requests still hold: pooled connections, connection slots, the write turn."""
    slots = app.state.connection_slots
    turn = getattr(app.state, "sqlite_write_turn", None)
    return {
        "connections": sum(engine.pool.checkedout() for engine in dict.fromkeys(engines)),
        "free slots": slots.value if slots else None,
        "write turn": bool(turn and turn.locked()),
    }


def test_answered_refused_and_failed_requests_give_back_what_they_took(
    client: TestClient, anonymous: TestClient, engine: Engine, reading_engine: Engine
):
    app = client.app
    actor = {"kind": "association", "name": "Eau Vive", "country": "FR"}
    created = client.post("/v1/actors", json=actor)
    assert created.status_code == 201, created.text
    before = held(app, engine, reading_engine)
    assert before["connections"] == 0 and not before["write turn"], before
    answers = [
        anonymous.get(f"/v1/actors/{created.json()['id']}").status_code,
        anonymous.get("/v1/actors?kind=association").status_code,
        anonymous.get(f"/v1/actors/{NOWHERE}").status_code,
        client.get(f"/v1/actors/{NOWHERE}").status_code,
        anonymous.get("/v1/events?after=-1").status_code,
        client.post("/v1/actors", json={"kind": "association"}).status_code,
        client.post("/v1/actors", json=actor).status_code,  # a likely duplicate
        anonymous.post("/v1/actors", json=actor).status_code,
        anonymous.get("/v1/actors", headers={"Authorization": "Bearer pss_unknown"}).status_code,
        client.patch(f"/v1/actors/{created.json()['id']}", json={"name": "Eau Vive 2"}).status_code,
    ]
    assert answers == [200, 200, 404, 404, 422, 422, 409, 401, 401, 200]
    with TestClient(app, raise_server_exceptions=False) as failing, commits_fail():
        failed = failing.post(
            "/v1/actors",
            json={**actor, "name": "Terres Unies"},
            headers=client.headers,
        )
    assert failed.status_code >= 500
    assert held(app, engine, reading_engine) == before


def test_a_commit_group_members_write_runs_on_the_event_loop_and_others_on_a_worker_thread(
    client: TestClient, engine: Engine
):
    """On SQLite a write joins the commit group, whose transaction holds the write lock: its
    key check and its route run on the event loop (`shared.unit_of_work.run_work`). On
    PostgreSQL a statement may wait on a row lock: there, as for an import (which commits
    alone), they run on a worker thread."""
    where: dict[str, bool] = {}

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        for table in ("api_key", "actor", "actor_relationship"):
            if f"FROM {table} " in statement or f"INTO {table} " in statement:
                try:
                    asyncio.get_running_loop()
                    where.setdefault(table, True)
                except RuntimeError:
                    where.setdefault(table, False)

    event.listen(engine, "before_cursor_execute", note)
    try:
        created = client.post(
            "/v1/actors", json={"kind": "association", "name": "Jappo Kayes", "country": "FR"}
        )
        assert created.status_code == 201, created.text
        patched = client.patch(
            f"/v1/actors/{created.json()['id']}",
            json={"acronym": "JK"},
            headers={"If-Match": created.headers["ETag"]},
        )
        assert patched.status_code == 200, patched.text
    finally:
        event.remove(engine, "before_cursor_execute", note)
    on_the_loop = engine.dialect.name == "sqlite"
    assert where == {"api_key": on_the_loop, "actor": on_the_loop}, where
    after = held(client.app, engine)
    assert after["connections"] == 0 and not after["write turn"], after


def test_connections_opened_under_load_stay_pooled_for_the_next_requests(
    engine: Engine, reading_engine: Engine
):
    """More requests at once than the pool keeps idle by default (5): every connection they
    opened is lent again afterwards, none closed and opened anew (on PostgreSQL, a server
    process started per request)."""
    for pooled in dict.fromkeys((engine, reading_engine)):
        busy = [pooled.connect() for _ in range(12)]
        first = {id(c.connection.dbapi_connection) for c in busy}
        for connection in busy:
            connection.close()
        assert pooled.pool.checkedin() >= 12
        again = [pooled.connect() for _ in range(12)]
        assert {id(c.connection.dbapi_connection) for c in again} == first
        for connection in again:
            connection.close()

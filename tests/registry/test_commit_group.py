"""On SQLite, writes that queue for the write lock commit together (`shared.commit_group`):
fewer commits than writes, each answered only once durable, a refused write rolled back alone,
a failed group commit answered as a failure by every member, and a write outside the group
(a bulk import) never stuck behind it."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, event, text

from services.registry.app import create_app
from shared.access import Scope
from shared.migrate import upgrade
from tests.conftest import bearer, issue_key, settings_for_tests
from tests.databases import fresh_database
from tests.registry.test_unit_of_work import held

WRITERS = 24


@pytest.fixture
def app(tmp_path) -> Iterator[Any]:
    """A registry on an SQLite file of its own; the group is SQLite's."""
    with fresh_database("sqlite", tmp_path) as url:
        upgrade(url)
        application = create_app(settings_for_tests(url))
        application.state.headers = bearer(
            issue_key(application.state.engine, "test admin", Scope.admin)
        )
        yield application
        application.state.engine.dispose()


def _actor(number: int) -> dict[str, Any]:
    # Names far apart, so none is a likely duplicate of another.
    words = ["Sahel", "Loire", "Niger", "Rhône", "Sénégal", "Garonne", "Volta", "Seine"]
    return {
        "kind": "association",
        "name": f"{words[number % 8]} {words[(number // 8) % 8]} Solidarité {number * 7919}",
        "country": "FR",
    }


async def _post_all(app: Any, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://registry", headers=app.state.headers, timeout=60
    ) as client:
        return await asyncio.gather(*(client.post("/v1/actors", json=b) for b in bodies))


@contextmanager
def counted_commits(engine: Engine) -> Iterator[list[int]]:
    commits: list[int] = []

    def count(_connection: Any) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", count)


def _stored_names(app: Any) -> set[str]:
    """What another connection reads: only what was committed."""
    reader = create_engine(app.state.engine.url)
    try:
        with reader.connect() as connection:
            return set(connection.execute(text("SELECT name FROM actor")).scalars())
    finally:
        reader.dispose()


def test_queued_writes_share_commits_and_are_answered_once_durable(app: Any):
    bodies = [_actor(n) for n in range(WRITERS)]
    with counted_commits(app.state.engine) as commits:
        answers = asyncio.run(_post_all(app, bodies))
    assert [a.status_code for a in answers] == [201] * WRITERS, answers[0].text
    assert _stored_names(app) >= {b["name"] for b in bodies}
    print(f"{WRITERS} writes, {len(commits)} commits")
    assert len(commits) < WRITERS / 2
    after = held(app, app.state.engine)
    assert after["connections"] == 0 and not after["write turn"], after
    # One event each, numbered in the order of the writes.
    with app.state.engine.connect() as connection:
        events = connection.execute(
            text("SELECT resource_version FROM event ORDER BY sequence")
        ).all()
    assert len(events) == WRITERS


def test_a_refused_write_is_rolled_back_alone(app: Any):
    bodies = [_actor(n) for n in range(WRITERS)]
    # Every third one is invalid past the body's checks: a rule the domain refuses (422).
    for body in bodies[::3]:
        body["level"] = "region"
    answers = asyncio.run(_post_all(app, bodies))
    statuses = [a.status_code for a in answers]
    assert statuses == [422 if n % 3 == 0 else 201 for n in range(WRITERS)]
    stored = _stored_names(app)
    for n, body in enumerate(bodies):
        assert (body["name"] in stored) == (n % 3 != 0)


def test_a_failed_group_commit_is_every_members_failure(app: Any):
    engine = app.state.engine

    def refuse(_connection: Any) -> None:
        raise RuntimeError("the disk refused the commit")

    event.listen(engine, "commit", refuse)
    try:
        answers = asyncio.run(_post_all(app, [_actor(n) for n in range(WRITERS)]))
    finally:
        event.remove(engine, "commit", refuse)
    assert {a.status_code for a in answers} == {500}
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    # The same answer as any unexpected failure (and translated as it is).
    assert {a.json()["detail"] for a in answers} == {
        "An unexpected error occurred; nothing was saved."
    }
    assert not _stored_names(app) & {_actor(n)["name"] for n in range(WRITERS)}
    # The next writes start a new group and succeed.
    again = asyncio.run(_post_all(app, [_actor(n) for n in range(WRITERS, WRITERS + 4)]))
    assert [a.status_code for a in again] == [201] * 4
    # Nothing of the failed group was committed with the next one.
    assert not _stored_names(app) & {_actor(n)["name"] for n in range(WRITERS)}
    assert held(app, engine)["connections"] == 0


def test_an_import_waits_for_the_group_not_for_the_busy_timeout(app: Any):
    csv = "resource,ref,kind,name,country\n" + "".join(
        f"actor,i{n},association,Import Solidarité {n * 104729},FR\n" for n in range(50)
    )

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry", headers=app.state.headers, timeout=60
        ) as client:
            writes = [client.post("/v1/actors", json=_actor(n)) for n in range(WRITERS)]
            imported = client.post(
                "/v1/imports?apply=true",
                content=csv.encode(),
                headers={"Content-Type": "text/csv"},
            )
            return await asyncio.wait_for(asyncio.gather(*writes, imported), timeout=8)

    answers = asyncio.run(both())
    assert [a.status_code for a in answers] == [201] * WRITERS + [200], answers[-1].text
    assert len(_stored_names(app)) == WRITERS + 50


def test_a_group_whose_transaction_sqlite_ended_acknowledges_only_what_is_stored(app: Any):
    """SQLite rolls a transaction back by itself on some errors (a full disk, say): the writes
    of the group before it are lost, and none of them may be answered as saved."""
    engine = app.state.engine
    inserts: list[int] = []

    def end_the_transaction(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO actor "):
            inserts.append(1)
            if len(inserts) == WRITERS // 2:
                connection.connection.dbapi_connection.rollback()

    event.listen(engine, "after_cursor_execute", end_the_transaction)
    try:
        answers = asyncio.run(_post_all(app, [_actor(n) for n in range(WRITERS)]))
    finally:
        event.remove(engine, "after_cursor_execute", end_the_transaction)
    acknowledged = {a.json()["name"] for a in answers if a.status_code == 201}
    refused = [a for a in answers if a.status_code != 201]
    assert refused and all(a.status_code == 500 for a in refused)
    assert _stored_names(app) & {_actor(n)["name"] for n in range(WRITERS)} == acknowledged
    again = asyncio.run(_post_all(app, [_actor(n) for n in range(WRITERS, WRITERS + 4)]))
    assert [a.status_code for a in again] == [201] * 4
    assert held(app, engine)["connections"] == 0


def test_a_members_statement_journal_and_temporary_trees_stay_in_memory(app: Any):
    """Each member is a savepoint, whose statements keep a statement journal: in a file, each
    was opened, written, read back and deleted on every write."""
    with app.state.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY


def test_writes_keep_to_one_connection_reading_the_file_through_a_memory_map(app: Any):
    """A connection overtaken by another's commit drops its cache at its next transaction:
    lent last-in first-out, the commit group's writes keep to the one whose view is current.
    Its pages come from a memory map of the file, shared by every connection."""
    engine = app.state.engine
    with engine.connect() as connection:
        first = connection.connection.dbapi_connection
        assert connection.exec_driver_sql("PRAGMA mmap_size").scalar() >= 1 << 30
    with engine.connect() as outer, engine.connect() as inner:
        given_back_last = outer.connection.dbapi_connection  # `outer` closes after `inner`
        lent = {given_back_last, inner.connection.dbapi_connection}
    assert first in lent
    for _ in range(3):
        with engine.connect() as again:
            assert again.connection.dbapi_connection is given_back_last

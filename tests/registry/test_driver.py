"""`shared.driver.execute_plain`: a unit of work's statements on the driver's cursor, as
SQLAlchemy would run them, on both databases."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from services.registry.models import ActorNameKey, Event
from shared.driver import _CURSOR, execute_plain

_EVENTS = Event.__table__  # type: ignore[attr-defined]
_KEYS = ActorNameKey.__table__  # type: ignore[attr-defined]


def _event(**changes: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "type": "actor.created",
        "occurred_at": datetime(2026, 12, 7, 8, 30, 15, 123456, tzinfo=UTC),
        "resource_type": "actor",
        "resource_id": uuid.uuid4(),
        "resource_version": 1,
        "data": {"name": "Diéma", "themes": ["water_sanitation"], "nested": {"n": 1}},
        "envelope": None,
        "request_id": None,
        **changes,
    }


_EVENT_COLUMNS = select(
    _EVENTS.c.sequence,
    _EVENTS.c.id,
    _EVENTS.c.occurred_at,
    _EVENTS.c.resource_id,
    _EVENTS.c.data,
)


def _read_back(engine: Engine, event_id: uuid.UUID) -> tuple[Any, ...]:
    with engine.connect() as connection:
        return tuple(connection.execute(_EVENT_COLUMNS.where(_EVENTS.c.id == event_id)).one())


def test_a_row_written_and_read_on_the_driver_is_what_sqlalchemy_writes_and_reads(engine: Engine):
    through_driver, through_sqlalchemy = _event(), _event()
    returning = insert(_EVENTS).returning(_EVENTS.c.sequence)
    with engine.begin() as connection:
        [row] = execute_plain(connection, returning, through_driver)
        sequence = row.sequence
        other = connection.execute(returning, through_sqlalchemy).scalar_one()
    assert isinstance(sequence, int) and other == sequence + 1
    driver_row, sqlalchemy_row = (
        _read_back(engine, through_driver["id"]),
        _read_back(engine, through_sqlalchemy["id"]),
    )
    assert driver_row[1:] == (
        through_driver["id"],
        through_driver["occurred_at"],
        through_driver["resource_id"],
        through_driver["data"],
    )
    assert driver_row[1:] != sqlalchemy_row[1:]  # two events, not one read twice
    # Read on the driver too: the columns come out as their types read them, by name.
    statement = _EVENT_COLUMNS.where(_EVENTS.c.resource_id == bindparam("resource_id"))
    with engine.connect() as connection:
        [read] = execute_plain(
            connection, statement, {"resource_id": through_driver["resource_id"]}
        )
        assert tuple(read) == driver_row
        assert read.id == through_driver["id"] and read.data["nested"] == {"n": 1}
        assert read.occurred_at.tzinfo is not None
        # A list expanded into placeholders is SQLAlchemy's to render: it runs there.
        expanded = statement.where(_EVENTS.c.id.in_([through_driver["id"]]))
        [again] = execute_plain(
            connection, expanded, {"resource_id": through_driver["resource_id"]}
        )
        assert tuple(again) == driver_row


def test_a_list_of_rows_is_one_executemany_with_every_row(engine: Engine):
    owner = uuid.uuid4()
    rows = [{"key": f"k|{i}|é'\"", "actor_id": owner, "comparable": f"c {i}"} for i in range(50)]
    with engine.begin() as connection:
        assert execute_plain(connection, insert(_KEYS), rows) == []
    with engine.connect() as connection:
        stored = execute_plain(
            connection,
            select(_KEYS.c.key, _KEYS.c.actor_id).where(_KEYS.c.actor_id == owner),
            {},
        )
    assert sorted(row.key for row in stored) == sorted(row["key"] for row in rows)
    assert {row.actor_id for row in stored} == {owner}


def test_it_writes_in_the_unit_of_works_transaction(engine: Engine):
    written = _event()
    with engine.connect() as connection:
        transaction = connection.begin()
        execute_plain(connection, insert(_EVENTS), written)
        transaction.rollback()
    with engine.connect() as connection:
        assert (
            connection.execute(select(_EVENTS.c.id).where(_EVENTS.c.id == written["id"])).all()
            == []
        )


def test_a_constraint_violation_is_sqlalchemys_integrity_error(engine: Engine):
    owner = uuid.uuid4()
    row = {"key": "same", "actor_id": owner, "comparable": "same"}
    with engine.begin() as connection:
        execute_plain(connection, insert(_KEYS), row)
    with engine.connect() as connection, connection.begin(), pytest.raises(IntegrityError):
        execute_plain(connection, insert(_KEYS), row)


def test_a_connections_statements_share_one_kept_cursor_but_a_large_result_is_let_go(
    engine: Engine,
):
    """On PostgreSQL one driver cursor serves a pooled connection's statements, after a failed
    one too; one that fetched many rows is closed rather than kept holding them."""
    owner = uuid.uuid4()
    rows = [{"key": f"kept|{i}", "actor_id": owner, "comparable": f"c {i}"} for i in range(1_200)]
    small = select(_KEYS.c.key).where(_KEYS.c.actor_id == owner).limit(3)
    large = select(_KEYS.c.key).where(_KEYS.c.actor_id == owner)
    with engine.connect() as connection:
        kept = engine.dialect.name == "postgresql"
        with connection.begin():
            execute_plain(connection, insert(_KEYS), rows)
        with connection.begin():
            assert len(execute_plain(connection, small, {})) == 3
            cursor = connection.connection.info.get(_CURSOR)
            assert (cursor is not None) == kept
            with pytest.raises(IntegrityError):
                execute_plain(connection, insert(_KEYS), rows[0])
        with connection.begin():
            assert len(execute_plain(connection, small, {})) == 3
            assert connection.connection.info.get(_CURSOR) is cursor
            assert len(execute_plain(connection, large, {})) == len(rows)
            if kept:
                assert cursor.closed
            assert len(execute_plain(connection, small, {})) == 3
            assert (connection.connection.info.get(_CURSOR) is not cursor) == kept


def test_with_a_statement_listener_every_statement_goes_through_sqlalchemy(engine: Engine):
    """Tracing and tests that count statements listen to SQLAlchemy's cursor events."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with engine.begin() as connection:
            [row] = execute_plain(
                connection, insert(_EVENTS).returning(_EVENTS.c.sequence), _event()
            )
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert row.sequence > 0
    assert [s for s in seen if s.startswith("INSERT INTO event")], seen


def test_columns_with_python_defaults_are_filled_as_sqlalchemy_fills_them(engine: Engine):
    metadata = MetaData()
    table = Table(
        f"driver_defaults_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("label", String(20), nullable=False, default=lambda: "filled"),
    )
    metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            execute_plain(connection, insert(table), {"id": 1})
            execute_plain(connection, insert(table), [{"id": 2}, {"id": 3}])
        with engine.connect() as connection:
            labels = connection.execute(select(table.c.label).order_by(table.c.id)).scalars()
            assert list(labels) == ["filled"] * 3
    finally:
        metadata.drop_all(engine)

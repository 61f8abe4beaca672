"""A new resource and its link rows written as plain INSERT statements.

A single write used to add its new row to the session and let the ORM's unit of work flush it:
sorting the rows, collecting each one's values and bookkeeping its state cost more than the
statements themselves, a tenth of a `POST /v1/actors`. A new row needs none of that: its values
are all in its state (`shared.db.new_row` puts every field there), and its links are the
collections `_apply` filled. The row stays transient: nothing later in the unit of work reads
it back through the session.

On PostgreSQL the row and its links are one statement, each statement being a round trip.
An import still adds its rows to the session and flushes them once per batch
(`services.registry.resources.add_new`).
"""

import json
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy import inspect as inspect_mapper
from sqlalchemy.orm import Mapper, RelationshipDirection
from sqlmodel import Session, SQLModel

from shared.driver import execute_plain

__all__ = ["Along", "insert_new"]


Along = Sequence[tuple[type[SQLModel], list[dict[str, Any]]]]


def insert_new(session: Session, row: SQLModel, along: Along = ()) -> None:
    """INSERT `row`, the rows of its one-to-many link collections, and `along`'s rows of other
    tables (each a model and its rows' column values): one statement per table on SQLite, one
    statement in all on PostgreSQL (`_together`).

    Each link row gets its owner's key, as the ORM would set it from the collection."""
    plan = _plan(type(row))
    connection = session.connection()
    values = _values(row, plan.columns)
    state = row.__dict__
    links: list[tuple[_Plan, list[dict[str, Any]]]] = []
    for collection, link_plan, keys in plan.links:
        collected = state.get(collection)
        if not collected:
            continue
        owner = {remote: state[local] for local, remote in keys}
        rows = []
        for link in collected:
            link.__dict__.update(owner)
            rows.append(_values(link, link_plan.columns))
        links.append((link_plan, rows))
    links += [(_plan(model), rows) for model, rows in along if rows]
    if links and connection.dialect.name == "postgresql":
        execute_plain(connection, *_together(plan, values, links))
        return
    execute_plain(connection, plan.insert, values)
    for link_plan, rows in links:
        execute_plain(connection, link_plan.insert, rows)


def _together(
    plan: "_Plan", values: dict[str, Any], links: list[tuple["_Plan", list[dict[str, Any]]]]
) -> tuple[Insert, dict[str, Any]]:
    """The row and its link rows as one statement, with its parameters: the row's insert and
    all but the last link table's in WITH clauses, each link table's rows as one JSON array
    of objects. Each statement is a round trip to PostgreSQL and its cost in the driver; the
    links' foreign keys are checked at the statement's end, once the row is in.

    JSON rather than an array per column: the driver adapts a list in Python, element by
    element, and a `POST /v1/actors` had seven; one string per table costs `json.dumps`, in
    C. It took 2.4 % of the write's instructions in the registry."""
    parameters = {f"row_{name}": value for name, value in values.items()}
    shapes = []
    for number, (link_plan, rows) in enumerate(links):
        shapes.append((link_plan, tuple(rows[0])))
        parameters[f"link{number}"] = json.dumps(rows, default=_json_value)
    return _statement_for(plan, tuple(values), tuple(shapes)), parameters


def _json_value(value: Any) -> str:
    """A link row's value that JSON has no type for, as PostgreSQL reads it back by its
    column's type (`json_populate_recordset`): only ids are expected."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"a link row's {type(value).__name__} has no JSON form here")


@cache
def _statement_for(
    plan: "_Plan", columns: tuple[str, ...], links: tuple[tuple["_Plan", tuple[str, ...]], ...]
) -> Insert:
    new_row = (
        insert(plan.table)
        .values({name: bindparam(f"row_{name}") for name in columns})
        .cte("new_row")
    )
    inserts = []
    for number, (link_plan, names) in enumerate(links):
        table = link_plan.table
        # The table's row type reads each object's members by their columns' names and types.
        rows = func.json_populate_recordset(
            literal_column(f"NULL::{table.name}"),
            cast(bindparam(f"link{number}", type_=Text), JSON),
        ).table_valued(*names)
        inserts.append(insert(table).from_select(list(names), select(*rows.c)))
    *first, last = inserts
    return last.add_cte(new_row, *(s.cte(f"new_links_{n}") for n, s in enumerate(first)))


class _Plan:
    """How rows of one model are inserted: its table's statement, the attributes of its
    columns, and for each link collection its plan and (owner key, link key) attributes."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        table = mapper.local_table
        assert isinstance(table, Table)
        self.table = table
        self.insert: Insert = insert(table)
        self.columns = [
            (attribute.key, attribute.columns[0].key) for attribute in mapper.column_attrs
        ]
        self.links: list[tuple[str, _Plan, list[tuple[str, str]]]] = []
        for relationship in mapper.relationships:
            if relationship.direction is not RelationshipDirection.ONETOMANY:
                continue
            if relationship.viewonly or relationship.secondary is not None:
                continue
            link_mapper = relationship.mapper
            keys = [
                (
                    mapper.get_property_by_column(local).key,
                    link_mapper.get_property_by_column(remote).key,
                )
                for local, remote in relationship.local_remote_pairs
            ]
            self.links.append((relationship.key, _plan(link_mapper.class_), keys))


@cache
def _plan(model: type[SQLModel]) -> _Plan:
    return _Plan(inspect_mapper(model))


def _values(row: SQLModel, columns: list[tuple[str, str]]) -> dict[str, Any]:
    # Only what the row's state holds: a column left out takes its default, as in a flush.
    state = row.__dict__
    return {column: state[attribute] for attribute, column in columns if attribute in state}

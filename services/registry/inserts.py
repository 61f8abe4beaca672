"""A new resource and its link rows written as plain INSERT statements.

A single write used to add its new row to the session and let the ORM's unit of work flush it:
sorting the rows, collecting each one's values and bookkeeping its state cost more than the
statements themselves, a tenth of a `POST /v1/actors`. A new row needs none of that: its values
are all in its state (`shared.db.new_row` puts every field there), and its links are the
collections `_apply` filled. The row stays transient: nothing later in the unit of work reads
it back through the session.

An import still adds its rows to the session and flushes them once per batch
(`services.registry.resources.add_new`).
"""

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, insert
from sqlalchemy import inspect as inspect_mapper
from sqlalchemy.orm import Mapper, RelationshipDirection
from sqlmodel import Session, SQLModel

__all__ = ["insert_new"]


def insert_new(session: Session, row: SQLModel) -> None:
    """INSERT `row` and the rows of its one-to-many link collections, one statement per table.

    Each link row gets its owner's key, as the ORM would set it from the collection."""
    plan = _plan(type(row))
    connection = session.connection()
    connection.execute(plan.insert, _values(row, plan.columns))
    state = row.__dict__
    for collection, link_plan, keys in plan.links:
        links = state.get(collection)
        if not links:
            continue
        owner = {remote: state[local] for local, remote in keys}
        rows = []
        for link in links:
            link.__dict__.update(owner)
            rows.append(_values(link, link_plan.columns))
        connection.execute(link_plan.insert, rows)


class _Plan:
    """How rows of one model are inserted: its table's statement, the attributes of its
    columns, and for each link collection its plan and (owner key, link key) attributes."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        table = mapper.local_table
        assert isinstance(table, Table)
        self.insert: Insert = _statement(table)
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


@cache
def _statement(table: Table) -> Insert:
    return insert(table)


def _values(row: SQLModel, columns: list[tuple[str, str]]) -> dict[str, Any]:
    # Only what the row's state holds: a column left out takes its default, as in a flush.
    state = row.__dict__
    return {column: state[attribute] for attribute, column in columns if attribute in state}

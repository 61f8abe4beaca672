"""Spreadsheet rows of registry records: the columns of `services.registry.columns`, in their
order, as CSV that the import reads back unchanged.

Cells carry what the import expects (registry ids for references, `;` between values,
`id=role` for parties); label columns carry what a person reads (French labels of codes,
country names, the names of the actors referred to). The names come from a lookup the caller
makes once per page (`names_of`), never one query per row.
"""

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from services.registry.columns import (
    COLUMNS,
    LIST_SEPARATOR,
    RESOURCES,
    ROLE_SEPARATOR,
    Column,
    Resource,
)
from services.registry.exports.labels import theme_labels
from shared.countries import country_label
from shared.vocabulary import (
    ActorKind,
    ConventionKind,
    Level,
    PartyRole,
    RelationshipKind,
    Status,
    label_fr,
)

__all__ = ["BOM", "csv_chunks", "header", "referenced_actors", "row"]

# Spreadsheet programs read a CSV file as UTF-8 (rather than a local code page that garbles
# "Sénégal") when it starts with the byte order mark.
BOM = "\ufeff"
# Labels are for people: a space after the separator reads better, and nothing parses them.
_LABEL_SEPARATOR = "; "

Names = Mapping[uuid.UUID, str]
Cell = Callable[[Any, Names], str]

# Which closed list a code column of each resource takes its French label from.
_VOCABULARIES: dict[tuple[Resource, str], type[StrEnum]] = {
    ("actor", "kind"): ActorKind,
    ("actor", "level"): Level,
    ("convention", "kind"): ConventionKind,
    ("relationship", "kind"): RelationshipKind,
    ("convention", "status"): Status,
    ("project", "status"): Status,
}
_COUNTRY_FIELDS = frozenset({"country", "target_country"})
# The members of a nested field (budget, public contact) that a column carries.
_MEMBERS = {
    "budget_amount": "amount",
    "budget_currency": "currency",
    "email": "email",
    "phone": "phone",
}


def _text(value: object) -> str:
    """One value as the API writes it: ISO dates, UTC instants with Z, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _ids(record: Any, field: str) -> list[uuid.UUID]:
    """The actors a `refs` column names, in a stable order (that of their ids, as the API)."""
    return sorted(getattr(record, field), key=str)


def _links(record: Any, field: str) -> list[Any]:
    """The party links a `parties` column holds, ordered by actor id as the API lists them."""
    return sorted(getattr(record, field), key=lambda link: str(link.actor_id))


def _member(record: Any, field: str, member: str) -> object:
    nested = getattr(record, field)
    return nested.get(member) if nested else None


def _value_cell(column: Column) -> Cell:
    field = column.field or column.name
    match column.shape:
        case "value" | "ref":
            return lambda record, _names: _text(getattr(record, field))
        case "list":
            return lambda record, _names: LIST_SEPARATOR.join(getattr(record, field))
        case "refs":
            return lambda record, _names: LIST_SEPARATOR.join(map(str, _ids(record, field)))
        case "parties":
            return lambda record, _names: LIST_SEPARATOR.join(
                f"{link.actor_id}{ROLE_SEPARATOR}{link.role}" for link in _links(record, field)
            )
        case "budget_amount" | "budget_currency" | "email" | "phone":
            member = _MEMBERS[column.shape]
            return lambda record, _names: _text(_member(record, field, member))
    raise ValueError(f"no rendering for the {column.shape} column {column.name}")


def _party_name(link: Any, names: Names) -> str:
    return f"{names.get(link.actor_id, '')} ({label_fr(link.role, PartyRole)})"


def _label_cell(resource: Resource, column: Column) -> Cell:
    """A column for people, computed from the column it describes."""
    if column.describes == "id":  # the record's own stamps: version, created_at, updated_at
        return lambda record, _names: _text(getattr(record, column.name))
    described = next(c for c in COLUMNS[resource] if c.name == column.describes)
    field = described.field or described.name
    vocabulary = _VOCABULARIES.get((resource, field))
    match described.shape:
        case "ref":
            return lambda record, names: names.get(getattr(record, field), "")
        case "refs":
            return lambda record, names: _LABEL_SEPARATOR.join(
                names.get(i, "") for i in _ids(record, field)
            )
        case "parties":
            return lambda record, names: _LABEL_SEPARATOR.join(
                _party_name(link, names) for link in _links(record, field)
            )
        case "list" if field == "themes":
            return lambda record, _names: _LABEL_SEPARATOR.join(
                theme_labels(getattr(record, field))
            )
        case "value" if field in _COUNTRY_FIELDS:
            return lambda record, _names: (
                country_label(code) if (code := getattr(record, field)) else ""
            )
        case "value" if vocabulary is not None:
            return lambda record, _names: label_fr(getattr(record, field), vocabulary)
    raise ValueError(f"no rendering for the label column {column.name} of {resource}")


def _cell(resource: Resource, column: Column) -> Cell:
    if column.shape == "label":
        return _label_cell(resource, column)
    return _value_cell(column)


# Built once, at import: a column definition this module cannot render fails at start-up.
_CELLS: dict[Resource, tuple[Cell, ...]] = {
    resource: tuple(_cell(resource, column) for column in COLUMNS[resource])
    for resource in RESOURCES
}
# The reference columns whose actors some label column names.
_NAMED: dict[Resource, tuple[Column, ...]] = {
    resource: tuple(
        column
        for column in COLUMNS[resource]
        if column.shape in ("ref", "refs", "parties")
        and any(label.describes == column.name for label in COLUMNS[resource])
    )
    for resource in RESOURCES
}


def header(resource: Resource) -> list[str]:
    return [column.name for column in COLUMNS[resource]]


def row(resource: Resource, record: Any, names: Names) -> list[str]:
    """The record's cells, in the order of the header."""
    return [cell(record, names) for cell in _CELLS[resource]]


def _named(column: Column, record: Any) -> Iterable[uuid.UUID]:
    value = getattr(record, column.field or column.name)
    if column.shape == "ref":
        return [] if value is None else [value]
    if column.shape == "refs":
        return value
    return (link.actor_id for link in value)


def referenced_actors(resource: Resource, records: Iterable[Any]) -> set[uuid.UUID]:
    """The actors whose names the label columns of these records show."""
    return {
        actor_id
        for record in records
        for column in _NAMED[resource]
        for actor_id in _named(column, record)
    }


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csv_chunks(
    resource: Resource,
    pages: Iterable[Sequence[Any]],
    names_of: Callable[[set[uuid.UUID]], Names],
) -> Iterator[bytes]:
    """A CSV file (UTF-8 with a BOM, CRLF line ends as RFC 4180 has them): the header, then
    one chunk per page of records."""
    yield BOM.encode("utf-8") + _csv([header(resource)])
    for page in pages:
        names = names_of(referenced_actors(resource, page))
        yield _csv(row(resource, record, names) for record in page)

"""A row's cells into the fields of the API (`ActorCreate`, `ConventionCreate`, …), through the
columns of `services.registry.columns`; JSON Lines rows may also use the API's own field names
and shapes (`based_in_id`, `parties: [{"actor_id": …, "role": …}]`).

An empty cell, or a JSON null, says nothing: a re-import never clears a field.
"""

from dataclasses import dataclass, field
from typing import Any

from services.registry.columns import (
    COLUMNS,
    LIST_SEPARATOR,
    ROLE_SEPARATOR,
    Column,
    Resource,
    import_columns,
)
from services.registry.imports.refs import RefError, Refs
from shared.countries import CountryNotFound, resolve_country
from shared.errors import FieldError

__all__ = ["Cells", "to_fields"]

# Every column some resource reads or writes: a mixed file has the columns of each.
_ANY_RESOURCE = frozenset(
    name for columns in COLUMNS.values() for c in columns for name in (c.name, c.field) if name
) | {"resource"}
_COUNTRY_FIELDS = frozenset({"country", "target_country"})
# Columns whose references name a resource other than an actor.
_REF_RESOURCE: dict[str, Resource] = {"convention_id": "convention"}


@dataclass
class Cells:
    """A row in the API's terms: its file id, its fields, and what could not be read."""

    ref: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)


def to_fields(resource: Resource, values: dict[str, Any], refs: Refs) -> Cells:
    """The row's fields for `resource`, with references resolved and countries named by code."""
    cells = Cells()
    by_name = import_columns(resource)
    by_field = {c.field: c for c in by_name.values() if c.field}
    labels = {c.name for c in COLUMNS[resource] if c.shape == "label"}
    for key, raw in values.items():
        if key == "id":
            cells.ref = _text(raw) or None
            continue
        column = by_name.get(key)
        api_shaped = column is None and key in by_field
        if api_shaped:
            column = by_field[key]
        if column is None:
            if key not in labels and key not in _ANY_RESOURCE:
                cells.ignored.add(key)
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            _read(cells, column, raw, refs, api_shaped)
        except (RefError, CountryNotFound) as error:
            cells.errors.append(FieldError(field=column.field or key, reason=str(error)))
    return cells


def _text(raw: Any) -> str:
    return raw.strip() if isinstance(raw, str) else "" if raw is None else str(raw)


def _items(raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return [item for item in raw if item not in (None, "")]
    return [part.strip() for part in str(raw).split(LIST_SEPARATOR) if part.strip()]


def _read(cells: Cells, column: Column, raw: Any, refs: Refs, api_shaped: bool) -> None:
    name = column.field
    assert name is not None
    target: Resource = _REF_RESOURCE.get(name, "actor")
    match column.shape:
        case "value":
            value = _text(raw) if isinstance(raw, str) else raw
            cells.fields[name] = resolve_country(value) if name in _COUNTRY_FIELDS else value
        case "list":
            items = _items(raw)
            if name == "intervention_countries":
                items = [resolve_country(str(item)) for item in items]
            cells.fields[name] = items
        case "ref":
            cells.fields[name] = refs.resolve(target, _text(raw))
        case "refs":
            cells.fields[name] = [refs.resolve(target, _text(item)) for item in _items(raw)]
        case "parties":
            cells.fields[name] = [_party(item, refs) for item in _items(raw)]
        case "budget_amount" | "budget_currency" if api_shaped:
            cells.fields[name] = raw
        case "budget_amount":
            cells.fields.setdefault(name, {})["amount"] = _text(raw)
        case "budget_currency":
            cells.fields.setdefault(name, {})["currency"] = _text(raw)
        case "email" | "phone" if api_shaped:
            cells.fields[name] = raw
        case "email" | "phone":
            cells.fields.setdefault(name, {})[column.shape] = _text(raw)
        case _:  # pragma: no cover - import_columns leaves labels out
            raise AssertionError(column.shape)


def _party(item: Any, refs: Refs) -> dict[str, Any]:
    """`ref=role` from a cell, or `{"actor_id"|"actor": ref, "role": …}` from JSON."""
    if isinstance(item, dict):
        reference = item.get("actor_id") or item.get("actor") or ""
        role = item.get("role")
    else:
        reference, separator, role = str(item).rpartition(ROLE_SEPARATOR)
        if not separator:
            reference, role = str(item), None
    party: dict[str, Any] = {"actor_id": refs.resolve("actor", _text(reference))}
    if role:
        party["role"] = _text(role)
    return party

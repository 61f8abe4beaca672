"""Files into rows: CSV (comma, semicolon or tab separated, UTF-8 with or without BOM) and JSON
Lines, one resource type per file or a `resource` column naming each row's."""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from services.registry.columns import RESOURCES, Resource, import_columns

__all__ = ["ImportFileError", "RawRow", "read_rows"]

_NAMES: dict[str, Resource] = {
    **{name: name for name in RESOURCES},
    **{name + "s": name for name in RESOURCES},
}
# Columns only one resource has, to tell a file's resource from its header.
_SIGNATURES: tuple[tuple[Resource, frozenset[str]], ...] = (
    ("relationship", frozenset({"subject", "subject_id"})),
    ("convention", frozenset({"parties"})),
    ("project", frozenset({"lead", "lead_id"})),
    ("actor", frozenset({"name"})),
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read: its format, encoding or header."""


@dataclass(frozen=True)
class RawRow:
    number: int
    resource: Resource | None
    values: dict[str, Any]


def read_rows(content: bytes, *, format: str, resource: str | None = None) -> list[RawRow]:
    """Every row of the file, with its resource type (or None if a row does not say a known one).

    `format` is `csv` or `jsonl`; `resource` applies to rows that do not name theirs.
    """
    default = _resource_name(resource) if resource else None
    if resource and default is None:
        raise ImportFileError(f"unknown resource '{resource}'; one of {', '.join(RESOURCES)}")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"the file is not UTF-8 (byte {error.start}); save it as UTF-8 and try again"
        ) from error
    if format == "csv":
        rows = _csv_rows(text)
    elif format == "jsonl":
        rows = _jsonl_rows(text)
    else:
        raise ImportFileError(f"unknown format '{format}'; csv or jsonl")
    return [_typed(number, values, default) for number, values in rows]


def _resource_name(value: object) -> Resource | None:
    return _NAMES.get(str(value).strip().lower()) if value else None


def _typed(number: int, values: dict[str, Any], default: Resource | None) -> RawRow:
    named = values.pop("resource", None)
    resource = _resource_name(named) if named else default or _guess(values)
    return RawRow(number=number, resource=resource, values=values)


def _guess(values: dict[str, Any]) -> Resource | None:
    keys = set(values)
    for resource, signature in _SIGNATURES:
        if keys & signature:
            return resource
    return None


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    header_line = text.split("\n", 1)[0]
    # French spreadsheet programs separate with semicolons; exports of ours with commas.
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ImportFileError("the file is empty") from None
    _check_header(header)
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            extra = [cell for cell in cells[len(header) :] if cell.strip()]
            if extra:
                values: dict[str, Any] = {"__extra__": extra}
                rows.append((number, values))
                continue
        rows.append((number, dict(zip(header, cells, strict=False))))
    return rows


def _check_header(header: list[str]) -> None:
    known = {"resource"} | {
        name
        for resource in RESOURCES
        for column in import_columns(resource).values()
        for name in (column.name, column.field)
        if name
    }
    if not known & set(header):
        raise ImportFileError(
            "the first line names no known column; docs/import-columns.md lists each "
            "resource's columns"
        )
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise ImportFileError(f"columns named twice: {', '.join(duplicated)}")


def _jsonl_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append((number, {"__invalid__": f"not JSON: {error.msg}"}))
            continue
        if not isinstance(value, dict):
            rows.append((number, {"__invalid__": "each line must be a JSON object"}))
            continue
        rows.append((number, value))
    if not rows:
        raise ImportFileError("the file is empty")
    return rows

"""The documented templates and example files stay in step with the columns the import reads."""

import csv
from pathlib import Path

import pytest

from services.registry.columns import import_columns
from services.registry.imports import read_rows

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("resource", ["actor", "convention", "project", "relationship"])
def test_each_template_has_exactly_the_import_columns(resource):
    path = DOCS / "templates" / f"{resource}s.csv"
    with path.open(encoding="utf-8", newline="") as file:
        header = next(csv.reader(file))
    assert header == list(import_columns(resource))
    (row,) = read_rows(path.read_bytes(), format="csv")
    assert row.resource == resource


def test_the_column_reference_names_every_column():
    text = (DOCS / "import-columns.md").read_text(encoding="utf-8")
    for resource in ("actor", "convention", "project", "relationship"):
        for name in import_columns(resource):
            assert f"| `{name}` |" in text, (resource, name)

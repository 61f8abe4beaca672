"""Bulk import of CSV and JSON Lines files: a dry run with a report per row, then apply.

reading.py turns a file into rows; cells.py turns a row into the API's fields; refs.py finds the
records a row refers to or updates; runner.py runs the domain rules over every row, in batches,
and writes the report (report.py).
"""

from services.registry.imports.reading import ImportFileError, read_rows
from services.registry.imports.report import ImportReport, RowReport
from services.registry.imports.runner import ImportOptions, run_import

__all__ = [
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "RowReport",
    "read_rows",
    "run_import",
]

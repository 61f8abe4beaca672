"""What an import says about each row and about the whole file."""

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.errors import FieldError

__all__ = ["Action", "ImportReport", "ImportSummary", "RowReport"]

Action = Literal["create", "update", "unchanged", "refused"]


class RowReport(BaseModel):
    row: int = Field(
        description="Line of a CSV file (the header is line 1) or of a JSON Lines file."
    )
    resource: str
    ref: str | None = Field(default=None, description="The row's `id` as the file gives it.")
    action: Action = Field(
        description="What the row does (dry run) or did (applied): create, update, unchanged, "
        "or refused (nothing written)."
    )
    id: uuid.UUID | None = Field(default=None, description="The registry id of the record.")
    changed: list[str] = Field(default_factory=list, description="Fields an update changes.")
    status: int | None = Field(
        default=None, description="For a refused row: the HTTP status the API would answer."
    )
    problem: str | None = Field(default=None, description="For a refused row: why.")
    errors: list[FieldError] = Field(
        default_factory=list, description="The problem's `errors`, as the API gives them."
    )
    likely_duplicates: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Registered actors whose name is nearly the same (id, name, score): the row "
        "is still created; check them.",
    )


class ImportSummary(BaseModel):
    rows: int
    applied: bool = Field(description="False for a dry run: nothing was written.")
    written: bool = Field(description="Whether every row that could be written was.")
    counts: dict[str, dict[str, int]] = Field(
        description="Per resource, how many rows of each action."
    )
    refused: int = Field(description="Rows refused: nothing of them is written.")
    likely_duplicates: int = Field(description="Rows created beside a likely duplicate.")
    ignored_columns: list[str] = Field(
        description="Columns of the file that no resource of it reads (a misspelt header?)."
    )
    batches_committed: int
    stopped: str | None = Field(
        default=None,
        description="Why the import stopped before its end (the batches before were written; "
        "run it again to complete it).",
    )
    seconds: float
    rows_per_second: float


class ImportReport(BaseModel):
    summary: ImportSummary
    rows: list[RowReport]

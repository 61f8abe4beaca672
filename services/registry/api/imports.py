"""/v1/imports: bulk import of CSV and JSON Lines files, dry run first."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from services.registry.api.deps import SessionDep, SettingsDep, requires
from services.registry.imports import (
    ImportFileError,
    ImportOptions,
    ImportReport,
    read_rows,
    run_import,
)
from shared.access import Scope
from shared.errors import FieldError, InvalidInput, Problem, problem_responses
from shared.unit_of_work import commits_alone

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file: CSV (comma, semicolon or tab separated, UTF-8) or JSON Lines.",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": (
                    "resource,ref,kind,name,country,level,insee_code,themes\n"
                    "actor,a1,local_authority,Bagnolet,FR,municipality,93006,"
                    "water_sanitation;youth\n"
                    "actor,a2,association,Jeunesse Bagnolet Sahel,FR,,,youth\n"
                ),
            },
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": (
                    '{"resource": "actor", "ref": "a1", "kind": "association", '
                    '"name": "Eau et Sahel Pantin", "country": "FR", '
                    '"themes": ["water_sanitation"]}\n'
                ),
            },
        },
    }
}


class UnsupportedMediaType(Problem):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


RowsShown = Literal["all", "changes", "problems", "none"]


@router.post(
    "",
    response_model=ImportReport,
    responses=problem_responses(400, 403, 413, 415, 422),
    dependencies=[requires(Scope.write)],
    openapi_extra=_BODY,
)
@commits_alone  # batch by batch, each durable on its own
async def import_file(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    apply: Annotated[
        bool, Query(description="Write the rows; without it, a dry run that writes nothing.")
    ] = False,
    source: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9._-]+$",
            description="Where the data comes from: the file's own ids are kept under this "
            "name, so that later files of the same source can refer to them.",
        ),
    ] = "default",
    resource: Annotated[
        Literal["actor", "convention", "project", "relationship"] | None,
        Query(description="The file's resource, if it has no `resource` column."),
    ] = None,
    rows: Annotated[
        RowsShown,
        Query(
            description="Rows in the report: all, changes (created, updated, refused, likely "
            "duplicates), problems (refused and likely duplicates) or none."
        ),
    ] = "all",
) -> ImportReport:
    """Import a directory: every row is checked with the rules of the API and reported (create,
    update, unchanged, refused, with the API's `errors`); with `apply=true` the rows that pass
    are written in batches, with their events. Re-importing a file writes only what changed.
    A `registry:write` key bound to an actor writes only the rows about that actor; the
    others are refused (403) in the report."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    file_format = _FORMATS.get(media_type)
    if file_format is None:
        raise UnsupportedMediaType(
            f"Send the file as text/csv or application/x-ndjson, not '{media_type or 'nothing'}'.",
            errors=[
                FieldError(
                    field="content-type", reason="not a CSV or JSON Lines type", location="header"
                )
            ],
        )
    content = await request.body()
    try:
        parsed = read_rows(content, format=file_format, resource=resource)
    except ImportFileError as error:
        raise InvalidInput.on("body", str(error)) from error
    options = ImportOptions(
        source=source,
        apply=apply,
        duplicate_threshold=settings.duplicate_name_threshold,
    )
    report = await run_in_threadpool(run_import, session, parsed, options)
    report.rows = [row for row in report.rows if _shown(row.action, row.likely_duplicates, rows)]
    return report


def _shown(action: str, duplicates: list, rows: RowsShown) -> bool:
    if rows == "all":
        return True
    if rows == "none":
        return False
    if rows == "problems":
        return action == "refused" or bool(duplicates)
    return action != "unchanged" or bool(duplicates)

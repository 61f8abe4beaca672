"""Reads served from the stored public documents of resources.

Every change writes the resource's public JSON with its event (`outbox.record_change`), so a read
sends it as it is: one indexed query and a concatenation, instead of loading rows and their
collections into ORM objects and validating and serialising them through several models on every
request. The documents are exactly what the response models produce (a test compares them).

`backfill` writes the documents of rows that have none (those written before documents existed);
`passerelles migrate` runs it after the schema upgrade. A row still without one is read the slow
way, never served stale.
"""

import uuid
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.registry.listings import Listing
from services.registry.models import Actor, ActorRelationship, Convention, Project, Resource
from services.registry.outbox import public_shape
from services.registry.resources import Gone, paginate, paginate_documents
from shared.db import first_row
from shared.errors import NotFound

__all__ = ["DOCUMENTED", "backfill", "documents_page", "live_document"]

DOCUMENTED: tuple[type[Resource], ...] = (Actor, Convention, Project, ActorRelationship)
_BACKFILL_CHUNK = 500
R = TypeVar("R", bound=Resource)


def live_document(
    session: Session, model: type[Resource], resource_id: uuid.UUID
) -> tuple[str, int] | None:
    """(document, version) of a live resource; 404 or 410 as `resources.get_live` answers;
    None if the resource has no document yet (read it the slow way)."""
    row = first_row(session, _document_of(model), {"id": resource_id})
    label = model.__tablename__.replace("_", " ")  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"No {label} with id {resource_id}.")
    document, version, deleted_at = row
    if deleted_at is not None:
        raise Gone(f"The {label} {resource_id} was deleted.", deleted_at=deleted_at.isoformat())
    return None if document is None else (document, version)


@cache
def _document_of(model: type[Resource]) -> Select[tuple[str | None, int, datetime | None]]:
    """The statement reading one resource's document, built once: a GET of one resource is
    mostly framework work, and building the statement anew and going through the ORM's
    execution cost a tenth of it."""
    table = model.__table__  # type: ignore[attr-defined]
    return sa_select(table.c.document, table.c.version, table.c.deleted_at).where(
        table.c.id == bindparam("id")
    )


def documents_page(
    session: Session,
    listing: Listing[R],
    schema: type[BaseModel],
    cursor: str | None,
    limit: int,
) -> tuple[list[str], str | None]:
    """A page of a listing (`resources.paginate`) as the JSON documents of its items, and the
    cursor of the next page. A page with a row that has no document yet is written through
    `schema`, the slow way."""
    found, next_cursor = paginate_documents(session, listing, cursor, limit)
    if all(document is not None for document in found):
        return found, next_cursor  # type: ignore[return-value]
    rows, next_cursor = paginate(session, listing, cursor, limit)
    return [schema.model_validate(row).model_dump_json() for row in rows], next_cursor


def backfill(session: Session) -> int:
    """Write the documents of live resources that have none; returns how many were written."""
    written = 0
    for model in DOCUMENTED:
        shape = public_shape(model)
        while True:
            rows: list[Any] = list(
                session.exec(
                    select(model)
                    .where(col(model.document).is_(None), col(model.deleted_at).is_(None))
                    .limit(_BACKFILL_CHUNK)
                )
            )
            if not rows:
                break
            for row in rows:
                row.document = shape.model_validate(row).model_dump_json()
            session.commit()
            written += len(rows)
    return written

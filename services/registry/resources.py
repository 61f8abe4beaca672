"""What every registry resource shares: lookup, versions, tombstones and keyset pagination."""

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import Integer, Select, Table, bindparam, tuple_, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.registry.bulk import KnownActor, bulk_of
from services.registry.inserts import Along, insert_new
from services.registry.listings import Listing
from services.registry.models import Actor, Resource
from services.registry.outbox import write_document
from shared.db import all_rows, utcnow
from shared.errors import (
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Problem,
)
from shared.pagination import decode_cursor, encode_cursor

__all__ = [
    "Gone",
    "add_new",
    "check_if_match",
    "check_period",
    "etag",
    "etag_of_version",
    "flush_or_recheck",
    "get_live",
    "keyset",
    "live_actors",
    "paginate",
    "paginate_documents",
    "raise_if_invalid",
    "refuse_cleared",
    "soft_delete",
    "sync_links",
    "touch",
]

R = TypeVar("R", bound=Resource)
T = TypeVar("T", bound=SQLModel)
L = TypeVar("L", bound=SQLModel)


class Gone(Problem):
    status = 410
    slug = "gone"
    title = "Gone"


def get_live(session: Session, model: type[R], resource_id: uuid.UUID, *, lock: bool = False) -> R:
    """The resource, or 404 if it never existed and 410 if it was deleted.

    With `lock`, the row is locked until the end of the transaction (PostgreSQL), so that the
    version checked against If-Match is still the current one when the change is written.
    """
    statement = select(model).where(model.id == resource_id)
    if lock:
        statement = statement.with_for_update()
    resource = session.exec(statement).first()
    label = model.__tablename__.replace("_", " ")  # type: ignore[attr-defined]
    if resource is None:
        raise NotFound(f"No {label} with id {resource_id}.")
    if resource.deleted_at is not None:
        raise Gone(
            f"The {label} {resource_id} was deleted.", deleted_at=resource.deleted_at.isoformat()
        )
    return resource


class Versioned(Protocol):
    """A record clients edit with If-Match: resources, and webhook endpoints."""

    version: int
    updated_at: datetime


def etag(resource: Versioned) -> str:
    return etag_of_version(resource.version)


def etag_of_version(version: int) -> str:
    return f'"{version}"'


def check_if_match(resource: Versioned, if_match: str | None) -> None:
    """Refuse a change made against a version that is no longer the current one (412).

    RFC 9110 compares If-Match strongly: a weak tag (`W/"3"`) never matches, since it does not
    promise the representation the client changed is the stored one.
    """
    if if_match is None:
        return
    accepted = [tag.strip() for tag in if_match.split(",")]
    if "*" in accepted or etag(resource) in accepted:
        return
    raise PreconditionFailed(
        f"If-Match {if_match} does not match the current version {etag(resource)}; "
        "read the resource again and reapply your change.",
        current_version=resource.version,
    )


def flush_or_recheck(session: Session, recheck: Callable[[], None]) -> None:
    """Flush, and if a concurrent writer took a unique value first, answer as the non-concurrent
    path would: `recheck` runs the same check again, now seeing the winner, and raises its 409.

    On PostgreSQL two writers can both pass a uniqueness check before either commits; the
    index then stops the second at flush, after the check that would have named the winner.
    A bulk unit of work flushes once per batch instead (its index already ran the check).
    """
    if bulk_of(session) is not None:
        return
    with _rechecked(session, recheck):
        session.flush()


def add_new(
    session: Session,
    resource: Resource,
    recheck: Callable[[], None] | None = None,
    along: Along = (),
) -> None:
    """Write a new resource with its link rows, and its public document with them.

    A single write inserts them at once, as plain statements (`inserts.insert_new`), with
    `along`'s rows of other tables derived from it; a uniqueness race lost there is answered
    as in `flush_or_recheck`. An import adds them to its session, which flushes each batch once
    (and writes what a single write sends `along` its own way).
    """
    if bulk_of(session) is not None:
        if any(rows for _, rows in along):
            raise ValueError("an import writes derived rows at its batch's flush, not along")
        session.add(resource)
        return
    write_document(session, resource)
    with _rechecked(session, recheck):
        insert_new(session, resource, along)


@contextmanager
def _rechecked(session: Session, recheck: Callable[[], None] | None) -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        if recheck is None:
            raise
        session.rollback()
        recheck()
        raise  # no check named it: the generic 409 of the problem handlers


def touch(resource: Versioned) -> None:
    resource.version += 1
    resource.updated_at = utcnow()


def soft_delete(resource: Resource) -> None:
    """Keep a tombstone, so partners following the feed learn of the deletion."""
    touch(resource)
    resource.deleted_at = resource.updated_at


def sync_links(
    links: list[L], wanted: Iterable[Any], key: Callable[[L], Any], make: Callable[[Any], L]
) -> None:
    """Make a link collection hold exactly `wanted`, keeping the rows that stay."""
    wanted_keys = list(dict.fromkeys(wanted))
    for link in [link for link in links if key(link) not in wanted_keys]:
        links.remove(link)
    present = {key(link) for link in links}
    links.extend(make(value) for value in wanted_keys if value not in present)


def live_actors(
    session: Session, ids: Iterable[uuid.UUID], field: str, errors: list[FieldError]
) -> dict[uuid.UUID, Actor | KnownActor]:
    """The live actors among `ids`; each missing or deleted one adds an error on `field.N`."""
    ids = list(ids)
    bulk = bulk_of(session)
    found: dict[uuid.UUID, Actor | KnownActor]
    if bulk is not None:
        found = {i: bulk.actors[i] for i in ids if i in bulk.actors}
    else:
        found = {
            actor.id: actor
            for actor in session.exec(
                select(Actor).where(col(Actor.id).in_(ids), col(Actor.deleted_at).is_(None))
            )
        }
    for index, actor_id in enumerate(ids):
        if actor_id not in found:
            errors.append(
                FieldError(field=field.format(index), reason=f"no actor with id {actor_id}")
            )
    return found


def raise_if_invalid(errors: list[FieldError]) -> None:
    """One 422 naming every field that broke a rule, so a client fixes them all at once."""
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.reason}" for e in errors), errors=errors)


def check_period(starts_on: date | None, ends_on: date | None, errors: list[FieldError]) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        errors.append(FieldError(field="ends_on", reason=f"ends before it starts ({starts_on})"))


def refuse_cleared(data: BaseModel, required: Iterable[str]) -> None:
    """A PATCH may clear optional fields, never required ones."""
    cleared = [n for n in required if n in data.model_fields_set and getattr(data, n) is None]
    raise_if_invalid([FieldError(field=name, reason="cannot be null") for name in cleared])


def paginate(
    session: Session, listing: Listing[R], cursor: str | None, limit: int
) -> tuple[list[R], str | None]:
    """One page of live resources, and the cursor of the next page."""
    model = listing.model
    statement = listing.bound().where(col(model.deleted_at).is_(None))
    return keyset(session, statement, model, cursor, limit)


def paginate_documents(
    session: Session, listing: Listing[R], cursor: str | None, limit: int
) -> tuple[list[str | None], str | None]:
    """The same page as `paginate`, as the resources' stored documents (`documents`)."""
    table = listing.model.__table__  # type: ignore[attr-defined]
    parameters = dict(listing.parameters, page_size=limit + 1)
    if cursor is not None:
        parameters["after_created_at"], parameters["after_id"] = _position(cursor)
    statement = _documents_statement(listing.statement, table, cursor is not None)
    rows = all_rows(session, statement, parameters)
    dialect = session.get_bind().dialect

    def position(row: Any) -> tuple[datetime, uuid.UUID]:
        return _typed(table.c.created_at, row[1], dialect), _typed(table.c.id, row[2], dialect)

    page, next_cursor = _cut(rows, limit, position)
    return [row[0] for row in page], next_cursor


@lru_cache(maxsize=1024)
def _documents_statement(listing: SelectOfScalar[Any], table: Table, after: bool) -> Select[Any]:
    """A page of a listing's live rows as (document, created_at, id), its position and size
    named parameters (`after_created_at`, `after_id`, `page_size`): built once for each
    listing's statement, itself kept for each shape of its filters (`listings`).

    The stored documents are selected from the table and come as plain rows, without the
    ORM's execution and loading of each row. The order's columns come as the driver gives
    them, and only the last row's are made a timestamp and a UUID, for the cursor: doing so
    for every row took a third of a page's time."""
    raw = [type_coerce(table.c[name], NullType()).label(name) for name in ("created_at", "id")]
    statement = select(table.c.document, *raw).where(table.c.deleted_at.is_(None))
    if listing.whereclause is not None:
        statement = statement.where(listing.whereclause)
    if after:
        statement = statement.where(
            tuple_(table.c.created_at, table.c.id)
            > tuple_(
                bindparam("after_created_at", type_=table.c.created_at.type),
                bindparam("after_id", type_=table.c.id.type),
            )
        )
    return statement.order_by(table.c.created_at, table.c.id).limit(
        bindparam("page_size", type_=Integer())
    )


def _typed(column: Any, value: Any, dialect: Any) -> Any:
    """A value of `column` as the driver gave it, as the column's type reads it."""
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return process(value) if process is not None else value


def keyset(
    session: Session, statement: SelectOfScalar[T], model: type[T], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page in (created_at, id) order, and the cursor of the next page (None on the last)."""
    rows = list(session.exec(_keyset_statement(statement, model, cursor, limit)))
    return _cut(rows, limit, lambda row: (row.created_at, row.id))  # type: ignore[attr-defined]


def _keyset_statement(
    statement: SelectOfScalar[T], model: type[Any], cursor: str | None, limit: int
) -> SelectOfScalar[T]:
    """`statement` after the cursor's position, in (created_at, id) order, one row more than
    a page (to know whether another follows)."""
    if cursor is not None:
        position = _position(cursor)
        statement = statement.where(tuple_(col(model.created_at), col(model.id)) > position)
    return statement.order_by(col(model.created_at), col(model.id)).limit(limit + 1)


def _position(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a listing's cursor stands for; 422 if this listing did not issue
    it."""
    created_at, row_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(str(created_at)), uuid.UUID(str(row_id))
    except ValueError as error:
        raise InvalidInput.on("cursor", "not a cursor returned by this listing", "query") from error


def _cut(
    rows: Sequence[Any], limit: int, position: Callable[[Any], tuple[datetime, uuid.UUID]]
) -> tuple[list[Any], str | None]:
    """A page of rows (read with one more than `limit`) and the cursor after its last one,
    whose `position` is its (created_at, id)."""
    if len(rows) <= limit:
        return list(rows), None
    created_at, row_id = position(rows[limit - 1])
    return list(rows[:limit]), encode_cursor([created_at.isoformat(), str(row_id)])

"""Responses written from stored documents (`services.registry.documents`) or a model, without
FastAPI validating and serialising the result a second time."""

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from services.registry.api.deps import PageParams
from services.registry.documents import documents_page, live_document
from services.registry.listings import Listing
from services.registry.models import Resource
from services.registry.resources import etag_of_version, get_live
from shared.pagination import next_link

__all__ = [
    "json_response",
    "page_response",
    "query",
    "stored_page",
    "stored_resource",
    "written",
]

_JSON = "application/json"
T = TypeVar("T")


async def query(threaded: bool, read: Callable[..., T], *args: object) -> T:
    """Run a database read inline, or on a worker thread when it may take long (a scan).

    A short indexed read costs less than the hop to a thread and back; run inline, it holds
    the event loop for as long as it would have held the interpreter anyway.
    """
    if threaded:
        return await run_in_threadpool(read, *args)
    return read(*args)


def json_response(
    document: str, version: int | None = None, *, extra: str = "", status_code: int = 200
) -> Response:
    """A JSON document as a response, with its ETag if `version` is given; `extra` adds
    members at its end (`,"name":value`), for a response model that extends the stored one."""
    body = document[:-1] + extra + "}" if extra else document
    headers = {"ETag": etag_of_version(version)} if version is not None else None
    return Response(body, status_code=status_code, media_type=_JSON, headers=headers)


def written(resource: Resource, *, created: str | None = None) -> Response:
    """The answer to a write: the resource's public document as the write left it, with its
    ETag; `created`, the path of a resource just created (201 with its Location)."""
    assert resource.document is not None, "every write records the resource's document"
    response = json_response(
        resource.document, resource.version, status_code=201 if created else 200
    )
    if created:
        response.headers["Location"] = created
    return response


def page_response(request: Request, documents: Sequence[str], next_cursor: str | None) -> Response:
    """A `shared.pagination.Page` of JSON documents, as its model would write it."""
    tail = json.dumps(
        {"next_cursor": next_cursor, "next": next_link(request, next_cursor)},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return Response('{"items":[' + ",".join(documents) + "]," + tail[1:], media_type=_JSON)


async def stored_resource(
    session: Session,
    model: type[Resource],
    schema: type[BaseModel],
    resource_id: uuid.UUID,
    *,
    extra: str = "",
) -> Response:
    """GET of one live resource from its stored document (404, 410 as `get_live`); `extra` as
    in `json_response`. A row without a document yet is read through `schema`."""
    stored = live_document(session, model, resource_id)
    if stored is not None:
        return json_response(*stored, extra=extra)

    def slow() -> Response:
        resource = get_live(session, model, resource_id)
        return json_response(
            schema.model_validate(resource).model_dump_json(), resource.version, extra=extra
        )

    return await run_in_threadpool(slow)


async def stored_page(
    request: Request,
    session: Session,
    listing: Listing[Any],
    schema: type[BaseModel],
    page: PageParams,
    *,
    scan: bool = False,
) -> Response:
    """A page of a listing from the stored documents. `scan`: the conditions read every row
    (a text search), so the read runs on a worker thread."""
    documents, next_cursor = await query(
        scan, documents_page, session, listing, schema, page.cursor, page.limit
    )
    return page_response(request, documents, next_cursor)

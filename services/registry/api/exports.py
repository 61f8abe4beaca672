"""/v1/exports: spreadsheets (CSV), maps (GeoJSON) and whole listings as JSON lines (NDJSON) of
the registry, open data like the listings, with the same filters, streamed page by page.

The stream reads through the request's own session. The session, and the connection slot
taken for it, are given back only once the response is sent (`shared.unit_of_work.
request_session`), so they stay open until the last chunk is written: an export uses the
request's one pooled connection, counted by the slot mechanism, and never a second one.
On PostgreSQL an anonymous export reads in autocommit (`shared.db.reading_engine`) and a
keyed one in a READ COMMITTED transaction: either way each page sees what was committed when it
was read; keyset pages list no record twice (a record created meanwhile comes
last, or not at all).

Starlette runs the (synchronous) chunk iterator in a worker thread one chunk at a time, and a
chunk is a page, so the threads are not held between pages. Everything that can refuse the
request (the filters, a key) is checked before the first byte is sent; a failure after it (the
database gone mid-way) can only cut the response short, which a client sees as a chunked body
that never ends properly.
"""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import Session
from starlette.responses import StreamingResponse

from services.registry import actors, conventions, projects, relationships
from services.registry.actors import ActorFilters
from services.registry.api.deps import SessionDep
from services.registry.api.filters import (
    ActorQuery,
    ConventionFilters,
    ConventionQuery,
    ProjectFilters,
    ProjectQuery,
    RelationshipQuery,
)
from services.registry.columns import Resource
from services.registry.documents import documents_page
from services.registry.exports.geo import feature_collection, map_features
from services.registry.exports.geojson_schema import MapFeatureCollection
from services.registry.exports.pages import Fetch, actor_names, pages
from services.registry.exports.tabular import csv_chunks
from services.registry.funded import FundedFilters
from services.registry.listings import Listing
from services.registry.models import Actor, Convention, Project
from services.registry.schemas import ActorRead, ConventionRead, ProjectRead, RelationshipRead
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/exports", tags=["exports"])


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


class GeoJsonResponse(StreamingResponse):
    media_type = "application/geo+json"


class NdjsonResponse(StreamingResponse):
    media_type = "application/x-ndjson"


_CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(422),
    200: {
        "description": "UTF-8 with a byte order mark, one row per record: the columns the "
        "import reads (registry ids for references, `;` between values, `id=role` for "
        "parties) with French labels and names beside them."
    },
}


def _actor_pages(session: Session, filters: ActorFilters) -> Fetch[Actor]:
    return lambda cursor, limit: actors.list_actors(session, filters, cursor=cursor, limit=limit)


def _convention_pages(session: Session, filters: ConventionFilters) -> Fetch[Convention]:
    return lambda cursor, limit: conventions.list_conventions(
        session, filters.funded, filters.kinds, cursor=cursor, limit=limit
    )


def _project_pages(session: Session, filters: ProjectFilters) -> Fetch[Project]:
    return lambda cursor, limit: projects.list_projects(
        session, filters.funded, filters.convention_id, filters.lead_id, cursor=cursor, limit=limit
    )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _csv(resource: Resource, session: Session, fetch: Fetch[Any]) -> CsvResponse:
    chunks = csv_chunks(resource, pages(fetch), lambda ids: actor_names(session, ids))
    return CsvResponse(chunks, headers=_attachment(f"{resource}s.csv"))


@router.get("/actors.csv", response_class=CsvResponse, responses=_CSV_RESPONSES)
def export_actors(session: SessionDep, filters: ActorQuery) -> CsvResponse:
    """The actors of `GET /v1/actors`, with the same filters, as a spreadsheet."""
    return _csv("actor", session, _actor_pages(session, filters))


@router.get("/conventions.csv", response_class=CsvResponse, responses=_CSV_RESPONSES)
def export_conventions(session: SessionDep, filters: ConventionQuery) -> CsvResponse:
    """The conventions of `GET /v1/conventions`, with the same filters, as a spreadsheet."""
    return _csv("convention", session, _convention_pages(session, filters))


@router.get("/projects.csv", response_class=CsvResponse, responses=_CSV_RESPONSES)
def export_projects(session: SessionDep, filters: ProjectQuery) -> CsvResponse:
    """The projects of `GET /v1/projects`, with the same filters, as a spreadsheet."""
    return _csv("project", session, _project_pages(session, filters))


@router.get("/relationships.csv", response_class=CsvResponse, responses=_CSV_RESPONSES)
def export_relationships(session: SessionDep, filters: RelationshipQuery) -> CsvResponse:
    """The relationships of `GET /v1/relationships`, with the same filters, as a spreadsheet."""
    return _csv(
        "relationship",
        session,
        lambda cursor, limit: relationships.list_relationships(
            session,
            kinds=filters.kinds,
            subject_id=filters.subject_id,
            object_id=filters.object_id,
            actor_id=filters.actor_id,
            cursor=cursor,
            limit=limit,
        ),
    )


_NDJSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(422),
    200: {
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        "description": "One JSON object per line, exactly as `GET` of the listing gives its "
        "items, in the same order: what a service that mirrors the registry loads at once "
        "before it follows `GET /v1/events` from the head it read first.",
    },
}


def _ndjson(
    resource: str,
    session: Session,
    listing: Listing[Any],
    schema: type[BaseModel],
) -> NdjsonResponse:
    chunks = (
        "\n".join(documents) + "\n"
        for documents in pages(
            lambda cursor, limit: documents_page(session, listing, schema, cursor, limit)
        )
    )
    return NdjsonResponse(chunks, headers=_attachment(f"{resource}.ndjson"))


@router.get("/actors.ndjson", response_class=NdjsonResponse, responses=_NDJSON_RESPONSES)
def export_actors_ndjson(session: SessionDep, filters: ActorQuery) -> NdjsonResponse:
    """The items of `GET /v1/actors`, with the same filters, one per line."""
    return _ndjson("actors", session, actors.actor_listing(filters), ActorRead)


@router.get("/conventions.ndjson", response_class=NdjsonResponse, responses=_NDJSON_RESPONSES)
def export_conventions_ndjson(session: SessionDep, filters: ConventionQuery) -> NdjsonResponse:
    """The items of `GET /v1/conventions`, with the same filters, one per line."""
    listing = conventions.convention_listing(filters.funded, filters.kinds)
    return _ndjson("conventions", session, listing, ConventionRead)


@router.get("/projects.ndjson", response_class=NdjsonResponse, responses=_NDJSON_RESPONSES)
def export_projects_ndjson(session: SessionDep, filters: ProjectQuery) -> NdjsonResponse:
    """The items of `GET /v1/projects`, with the same filters, one per line."""
    listing = projects.project_listing(filters.funded, filters.convention_id, filters.lead_id)
    return _ndjson("projects", session, listing, ProjectRead)


@router.get("/relationships.ndjson", response_class=NdjsonResponse, responses=_NDJSON_RESPONSES)
def export_relationships_ndjson(session: SessionDep, filters: RelationshipQuery) -> NdjsonResponse:
    """The items of `GET /v1/relationships`, with the same filters, one per line."""
    listing = relationships.relationship_listing(
        filters.kinds, filters.subject_id, filters.object_id, filters.actor_id
    )
    return _ndjson("relationships", session, listing, RelationshipRead)


@router.get(
    "/map.geojson",
    response_class=GeoJsonResponse,
    responses={
        **problem_responses(422),
        200: {
            "model": MapFeatureCollection,
            # FastAPI documents the body of a response class that is not JSONResponse as a
            # string; a GeoJSON document is a JSON object.
            "content": {"application/geo+json": {"schema": {"type": "object"}}},
            "description": "An RFC 7946 FeatureCollection, coordinates [longitude, latitude].",
        },
    },
)
def export_map(session: SessionDep, filters: ActorQuery) -> GeoJsonResponse:
    """The actors of `GET /v1/actors` that have coordinates, with the same filters, as Points,
    and the conventions and projects among them as LineStrings.

    A convention is drawn as one line per pair of its parties, a project as a star from its
    lead to each partner; a line is kept when both its ends are on the map. Points carry the
    actor's id, name, kind, level, country and themes (with French labels); lines carry the
    convention's or project's id, `type` (`convention` or `project`), kind, title, themes,
    status and period, and the ids of the actors at their ends (`from`, `to`).
    """
    every_tie = FundedFilters()
    features = map_features(
        pages(_actor_pages(session, filters)),
        pages(_convention_pages(session, ConventionFilters(funded=every_tie, kinds=[]))),
        pages(
            _project_pages(
                session, ProjectFilters(funded=every_tie, convention_id=None, lead_id=None)
            )
        ),
    )
    return GeoJsonResponse(feature_collection(features), headers=_attachment("map.geojson"))

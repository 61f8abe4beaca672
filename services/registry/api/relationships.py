"""/v1/relationships: memberships, support and coordination ties between actors."""

import uuid

from fastapi import APIRouter, Request, Response, status

from services.registry import relationships
from services.registry.api.deps import IfMatch, PageQuery, SessionDep, requires
from services.registry.api.filters import RelationshipQuery
from services.registry.api.responses import stored_page, stored_resource, written
from services.registry.models import ActorRelationship
from services.registry.schemas import RelationshipCreate, RelationshipRead, RelationshipUpdate
from shared.access import Scope
from shared.db import commit
from shared.errors import problem_responses
from shared.pagination import Page
from shared.unit_of_work import write_route

router = APIRouter(prefix="/v1/relationships", tags=["relationships"])


@router.get("", response_model=Page[RelationshipRead], responses=problem_responses(422))
async def list_relationships(
    request: Request,
    session: SessionDep,
    page: PageQuery,
    filters: RelationshipQuery,
) -> Response:
    listing = relationships.relationship_listing(
        filters.kinds, filters.subject_id, filters.object_id, filters.actor_id
    )
    return await stored_page(request, session, listing, RelationshipRead, page)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RelationshipRead,
    responses=problem_responses(400, 409, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def create_relationship(body: RelationshipCreate, session: SessionDep) -> Response:
    """Record that one actor is a member of, supports or coordinates another."""
    relationship = relationships.create_relationship(session, body)
    commit(session)
    return written(relationship, created=f"/v1/relationships/{relationship.id}")


@router.get(
    "/{relationship_id}", response_model=RelationshipRead, responses=problem_responses(404, 410)
)
async def read_relationship(relationship_id: uuid.UUID, session: SessionDep) -> Response:
    return await stored_resource(session, ActorRelationship, RelationshipRead, relationship_id)


@router.patch(
    "/{relationship_id}",
    response_model=RelationshipRead,
    responses=problem_responses(400, 404, 409, 410, 412, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def update_relationship(
    relationship_id: uuid.UUID,
    body: RelationshipUpdate,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    relationship = relationships.update_relationship(
        session, relationship_id, body, if_match=if_match
    )
    commit(session)
    return written(relationship)


@router.delete(
    "/{relationship_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 410, 412),
    dependencies=[requires(Scope.write)],
)
@write_route
def delete_relationship(
    relationship_id: uuid.UUID, session: SessionDep, if_match: IfMatch = None
) -> Response:
    relationships.delete_relationship(session, relationship_id, if_match=if_match)
    commit(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

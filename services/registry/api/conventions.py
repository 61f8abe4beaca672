"""/v1/conventions: twinnings, decentralised cooperation agreements, partnerships, funding."""

import uuid

from fastapi import APIRouter, Request, Response, status

from services.registry import conventions
from services.registry.api.deps import IfMatch, PageQuery, SessionDep, requires
from services.registry.api.filters import ConventionQuery
from services.registry.api.responses import stored_page, stored_resource, written
from services.registry.models import Convention
from services.registry.schemas import ConventionCreate, ConventionRead, ConventionUpdate
from shared.access import Scope
from shared.db import commit
from shared.errors import problem_responses
from shared.pagination import Page
from shared.unit_of_work import write_route

router = APIRouter(prefix="/v1/conventions", tags=["conventions"])


@router.get("", response_model=Page[ConventionRead], responses=problem_responses(422))
async def list_conventions(
    request: Request,
    session: SessionDep,
    page: PageQuery,
    filters: ConventionQuery,
) -> Response:
    """List live conventions. `?actor=A&actor=B` answers "where do A and B work together?"."""
    listing = conventions.convention_listing(filters.funded, filters.kinds)
    return await stored_page(request, session, listing, ConventionRead, page)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConventionRead,
    responses=problem_responses(400, 409, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def create_convention(body: ConventionCreate, session: SessionDep) -> Response:
    """Record a convention between at least two registered actors."""
    convention = conventions.create_convention(session, body)
    commit(session)
    return written(convention, created=f"/v1/conventions/{convention.id}")


@router.get(
    "/{convention_id}", response_model=ConventionRead, responses=problem_responses(404, 410)
)
async def read_convention(convention_id: uuid.UUID, session: SessionDep) -> Response:
    return await stored_resource(session, Convention, ConventionRead, convention_id)


@router.patch(
    "/{convention_id}",
    response_model=ConventionRead,
    responses=problem_responses(400, 404, 409, 410, 412, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def update_convention(
    convention_id: uuid.UUID,
    body: ConventionUpdate,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields sent; send the ETag you read as If-Match to avoid lost updates."""
    convention = conventions.update_convention(session, convention_id, body, if_match=if_match)
    commit(session)
    return written(convention)


@router.delete(
    "/{convention_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 410, 412),
    dependencies=[requires(Scope.write)],
)
@write_route
def delete_convention(
    convention_id: uuid.UUID, session: SessionDep, if_match: IfMatch = None
) -> Response:
    """Soft-delete: the convention leaves listings; its tombstone stays."""
    conventions.delete_convention(session, convention_id, if_match=if_match)
    commit(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

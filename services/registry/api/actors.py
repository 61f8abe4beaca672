"""/v1/actors: the directory of local authorities, associations and migrant organisations."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from services.registry import actors
from services.registry.api.deps import (
    CallerDep,
    IfMatch,
    NamesDep,
    PageQuery,
    SessionDep,
    SettingsDep,
    requires,
)
from services.registry.api.filters import ActorQuery
from services.registry.api.responses import json_response, stored_page, stored_resource
from services.registry.models import Actor
from services.registry.resources import get_live
from services.registry.schemas import (
    ActorCreate,
    ActorDetail,
    ActorRead,
    ActorUpdate,
    PrivateContact,
)
from shared.access import Principal, Scope
from shared.db import commit
from shared.errors import problem_responses
from shared.pagination import Page
from shared.unit_of_work import write_route

router = APIRouter(prefix="/v1/actors", tags=["actors"])


def _detail(actor: Actor, caller: Principal, status_code: int = 200) -> Response:
    """The actor as this caller may see it (`ActorDetail`): its public document, and the
    private contact only for those entitled."""
    private = "null"
    if caller.may_read_private(actor.id) and actor.private_contact:
        private = PrivateContact.model_validate(actor.private_contact).model_dump_json()
    document = actor.document or ActorRead.model_validate(actor).model_dump_json()
    return json_response(
        document, actor.version, extra=f',"private_contact":{private}', status_code=status_code
    )


@router.get("", response_model=Page[ActorRead], responses=problem_responses(422))
async def list_actors(
    request: Request, session: SessionDep, page: PageQuery, filters: ActorQuery
) -> Response:
    """List live actors for a directory or a map; repeat a filter to allow several values."""
    listing = actors.actor_listing(filters)
    return await stored_page(request, session, listing, ActorRead, page, scan=bool(filters.q))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ActorDetail,
    responses=problem_responses(400, 409, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def create_actor(
    caller: CallerDep,
    body: ActorCreate,
    session: SessionDep,
    settings: SettingsDep,
    names: NamesDep,
    not_duplicate: Annotated[
        bool,
        Query(description="Set after a 409 likely-duplicate if this really is another actor."),
    ] = False,
) -> Response:
    """Register an actor. Identifiers must be unique; a near-identical name is a 409 to confirm."""
    threshold = None if not_duplicate else settings.duplicate_name_threshold
    actor = actors.create_actor(session, body, names=names, duplicate_threshold=threshold)
    commit(session)
    created = _detail(actor, caller, status_code=status.HTTP_201_CREATED)
    created.headers["Location"] = f"/v1/actors/{actor.id}"
    return created


@router.get("/{actor_id}", response_model=ActorDetail, responses=problem_responses(404, 410))
async def read_actor(actor_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    """One actor. `private_contact` is shown to keys with `registry:read_private` and to the
    actor's own key; it is null for everyone else."""
    if not caller.may_read_private(actor_id):
        return await stored_resource(
            session, Actor, ActorRead, actor_id, extra=',"private_contact":null'
        )
    return await run_in_threadpool(_read_detail, session, actor_id, caller)


def _read_detail(session: Session, actor_id: uuid.UUID, caller: Principal) -> Response:
    return _detail(get_live(session, Actor, actor_id), caller)


@router.patch(
    "/{actor_id}",
    response_model=ActorDetail,
    responses=problem_responses(400, 404, 409, 410, 412, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def update_actor(
    caller: CallerDep,
    actor_id: uuid.UUID,
    body: ActorUpdate,
    session: SessionDep,
    names: NamesDep,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields sent; send the ETag you read as If-Match to avoid lost updates."""
    actor = actors.update_actor(session, actor_id, body, if_match=if_match, names=names)
    commit(session)
    return _detail(actor, caller)


@router.delete(
    "/{actor_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409, 410, 412),
    dependencies=[requires(Scope.write)],
)
@write_route
def delete_actor(actor_id: uuid.UUID, session: SessionDep, if_match: IfMatch = None) -> Response:
    """Soft-delete: the actor leaves listings, its tombstone stays for partners to learn of it."""
    actors.delete_actor(session, actor_id, if_match=if_match)
    commit(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""/v1/keys: API keys, issued and revoked by admins; any key may ask who it is."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.registry import keys
from services.registry.api.deps import CallerDep, PageQuery, SessionDep, page_of, requires
from services.registry.key_schemas import KeyCreate, KeyCreated, KeyRead
from shared.access import Scope
from shared.db import commit
from shared.errors import problem_responses
from shared.pagination import Page

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("/current", response_model=KeyRead, dependencies=[requires(*Scope)])
def read_current_key(caller: CallerDep, session: SessionDep) -> KeyRead:
    """The key this request was made with: its scopes and the actor it acts for. Services use
    it to check a caller's key with the registry."""
    assert caller.key_id is not None
    return KeyRead.model_validate(keys.get_key(session, caller.key_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    responses=problem_responses(422),
    dependencies=[requires(Scope.admin)],
)
def create_key(body: KeyCreate, session: SessionDep, response: Response) -> KeyCreated:
    """Issue a key. Its secret is in this response **only**: store it now."""
    key, secret = keys.create_key(
        session, name=body.name, scopes=[str(s) for s in body.scopes], actor_id=body.actor_id
    )
    commit(session)
    response.headers["Location"] = f"/v1/keys/{key.id}"
    return KeyCreated(**KeyRead.model_validate(key).model_dump(), secret=secret)


@router.get("", response_model=Page[KeyRead], dependencies=[requires(Scope.admin)])
def list_keys(
    request: Request,
    session: SessionDep,
    page: PageQuery,
    include_revoked: Annotated[bool, Query()] = False,
) -> Page[KeyRead]:
    rows, next_cursor = keys.list_keys(
        session, include_revoked=include_revoked, cursor=page.cursor, limit=page.limit
    )
    return page_of(request, KeyRead, rows, next_cursor)


# `:uuid`: only an id reaches these routes, so /v1/keys/current is its own resource for every
# method (a DELETE there is a 405 that names GET, not an attempt to revoke a key "current").
@router.get(
    "/{key_id:uuid}",
    response_model=KeyRead,
    responses=problem_responses(404),
    dependencies=[requires(Scope.admin)],
)
def read_key(key_id: uuid.UUID, session: SessionDep) -> KeyRead:
    return KeyRead.model_validate(keys.get_key(session, key_id))


@router.delete(
    "/{key_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
    dependencies=[requires(Scope.admin)],
)
def revoke_key(key_id: uuid.UUID, session: SessionDep) -> Response:
    """Revoke a key: it is refused from the next request on. The record stays, for the audit."""
    keys.revoke_key(session, key_id)
    commit(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

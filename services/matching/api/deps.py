"""Dependencies shared by the matching service's routers."""

import uuid
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from services.matching.answers import AnswerCache
from services.matching.follower import GraphHolder
from services.matching.registry_client import RegistryClient
from shared.access import ANONYMOUS, Principal, Scope, bearer_secret, requirement
from shared.db import begin_write
from shared.errors import Problem, Unauthorized
from shared.idempotency import claim_in_transaction
from shared.ratelimit import RateLimiter, limit_dependency
from shared.unit_of_work import is_write, request_session

__all__ = [
    "AnswersDep",
    "CallerDep",
    "HolderDep",
    "NotReady",
    "SessionDep",
    "identify_caller",
    "key_is_valid",
    "query_limit",
    "ready_holder",
    "requires",
]


class NotReady(Problem):
    status = 503
    slug = "graph-not-ready"
    title = "Graph not loaded yet"


async def _session(request: Request) -> Session:
    """The request's unit of work; a write's Idempotency-Key record is written inside it.

    A coroutine: a read opens its session without a hop to a worker thread (it touches the
    database only in the route); a write's lock and record are taken on one. The session and
    the request's turn at the database are given back once it is answered
    (`request_session`)."""
    session = await request_session(request, request.app.state.engine)
    if is_write(request):
        await run_in_threadpool(_begin_write, session, request)
    return session


def _begin_write(session: Session, request: Request) -> None:
    begin_write(session)
    # Feedback creates nothing a retry could read back: a replay needs the response.
    claim_in_transaction(session, request, lambda _session: None)


# The dependencies that touch nothing slow are coroutines: FastAPI runs a plain function on a
# worker thread, a hop per dependency per request.
async def ready_holder(request: Request) -> GraphHolder:
    holder: GraphHolder = request.app.state.holder
    if not holder.synced:
        raise NotReady(
            "The graph has not been loaded from the registry yet; retry in a few seconds.",
            headers={"Retry-After": "5"},
            last_error=holder.last_error,
        )
    return holder


async def _answers(request: Request) -> AnswerCache:
    return request.app.state.answers


SessionDep = Annotated[Session, Depends(_session)]
HolderDep = Annotated[GraphHolder, Depends(ready_holder)]
AnswersDep = Annotated[AnswerCache, Depends(_answers)]


class RegistryUnavailable(Problem):
    status = 503
    slug = "registry-unavailable"
    title = "The registry, which checks API keys, did not answer"


async def _caller(request: Request) -> Principal:
    """Anonymous without a key; otherwise the registry, which issues keys, says whose it is.
    Asked on every request, so a key revoked at the registry is refused here at once too."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    return await run_in_threadpool(_keyed_caller, request, header)


def _keyed_caller(request: Request, header: str) -> Principal:
    registry: RegistryClient = request.app.state.registry
    # Forwarded as parsed: a header that could not even be sent on is a 401 here, not a 503.
    secret = bearer_secret(header)
    try:
        record = registry.whoami(secret)
    except httpx.HTTPError as error:
        raise RegistryUnavailable(
            "Could not check the API key with the registry; retry shortly.",
            headers={"Retry-After": "5"},
        ) from error
    if record is None:
        raise Unauthorized("This API key is unknown or revoked.")
    actor_id = record.get("actor_id")
    return Principal(
        name=record["name"],
        scopes=frozenset(record["scopes"]),
        key_id=uuid.UUID(record["id"]),
        actor_id=uuid.UUID(actor_id) if actor_id else None,
    )


CallerDep = Annotated[Principal, Depends(_caller)]
# On every route: a key that is sent is checked, even where none is needed (401 if unknown).
identify_caller = Depends(_caller)


def key_is_valid(registry: RegistryClient, authorization: str) -> bool:
    """Whether the registry still knows a key (for middleware); unreachable counts as no."""
    try:
        return registry.whoami(bearer_secret(authorization)) is not None
    except (Problem, httpx.HTTPError):
        return False


def requires(*scopes: Scope) -> Any:
    """A route dependency: 401 without a valid key, 403 unless it holds one of `scopes`."""
    return requirement(_caller, *scopes)


def _query_limiters(request: Request) -> tuple[RateLimiter, RateLimiter]:
    return request.app.state.query_limiters


# Suggestions, overlaps and federations walk the graph: the expensive reads.
query_limit = Depends(limit_dependency(_query_limiters))

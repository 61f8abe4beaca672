"""Dependencies shared by the registry's routers."""

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request, Response
from pydantic import BaseModel
from sqlmodel import Session

from services.registry.audit import created_path
from services.registry.keys import authenticate
from services.registry.name_cache import NameCache
from services.registry.resources import Versioned, etag
from services.registry.settings import RegistrySettings
from shared.access import ANONYMOUS, Principal, Scope, requirement
from shared.db import begin_write
from shared.errors import InvalidInput
from shared.idempotency import claim_in_transaction
from shared.pagination import Page, next_link
from shared.unit_of_work import is_write, request_session, run_work

__all__ = [
    "CallerDep",
    "IfMatch",
    "NamesDep",
    "PageParams",
    "PageQuery",
    "SessionDep",
    "SettingsDep",
    "identify_caller",
    "page_of",
    "page_size",
    "requires",
    "send_etag",
]

S = TypeVar("S", bound=BaseModel)


def _open(session: Session, request: Request, writes: bool) -> None:
    """What a unit of work does before the route: identify the caller, and for a write take
    what it needs to stay consistent and claim its Idempotency-Key."""
    if writes:
        begin_write(session)
    header = request.headers.get("authorization")
    session.info["principal"] = authenticate(session, header) if header else ANONYMOUS
    if writes:
        claim_in_transaction(session, request, created_path)
    elif session.info.pop("key_stamped", False):
        session.commit()


async def _session(request: Request) -> Session:
    """The request's unit of work, knowing who it acts for (anonymous without a key).

    It is the request's only connection: the key check, its last-use stamp and the
    Idempotency-Key record all go through it. A write starts by taking what it needs to stay
    consistent (`begin_write`).

    A coroutine, so that an anonymous read (most of the traffic) costs no hop to a worker
    thread: it touches no database here. Whatever may wait on the database (a key look-up and
    its stamp, a write's lock) runs on a worker thread, unless the write is a member of
    SQLite's commit group (`run_work`).

    The request's turn at the database is taken here rather than by a dependency of its own,
    and the session and the turn are given back when the request is answered
    (`request_session`) rather than by a `yield` dependency: each of those costs the event
    loop a context manager on the request's exit stack.
    """
    writes = is_write(request)
    identified = writes or request.headers.get("authorization") is not None
    state = request.app.state
    # An anonymous read only reads, one statement at a time: see `reading_engine`.
    engine = state.engine if identified else state.reading_engine
    session = await request_session(request, engine)
    if identified:
        await run_work(_open, session, request, writes)
    else:
        session.info["principal"] = ANONYMOUS
    request.scope[_PRINCIPAL] = session.info["principal"]
    return session


async def _settings(request: Request) -> RegistrySettings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(_session)]


_PRINCIPAL = "passerelles.principal"


async def _caller(request: Request) -> Principal:
    """Who the request acts for, as its session found (`_session`, a dependency of every
    route, solved before the route's own). Read from the request rather than through a
    dependency on the session: FastAPI walks a route's whole dependency tree on each request,
    and the caller is asked for two or three times per write."""
    principal = request.scope.get(_PRINCIPAL)
    if principal is None:
        raise RuntimeError("the request's session was not opened: is identify_caller installed?")
    return principal  # type: ignore[no-any-return]


CallerDep = Annotated[Principal, Depends(_caller)]
# On every route: a key that is sent is checked, even where none is needed (401 if unknown).
# The session checks it (`_open`); FastAPI solves every dependency of a route on each request,
# so the route-wide one is the session itself, not the caller made from it.
identify_caller = Depends(_session)


def requires(*scopes: Scope) -> Any:
    """A route dependency: 401 without a valid key, 403 unless it holds one of `scopes`."""
    return requirement(_caller, *scopes)


SettingsDep = Annotated[RegistrySettings, Depends(_settings)]


async def _names(request: Request) -> NameCache:
    return request.app.state.name_cache  # type: ignore[no-any-return]


# The process's actor names by name key, for the likely-duplicate check (`name_cache`).
NamesDep = Annotated[NameCache, Depends(_names)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag you last read; the change is refused with 412 if it is stale.",
    ),
]


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int


def page_size(settings: RegistrySettings, limit: int | None) -> int:
    """The page size asked for, or the default; more than the cap is a 422 on `limit`."""
    if limit is not None and limit > settings.page_size_max:
        raise InvalidInput.on(
            "limit", f"at most {settings.page_size_max} items per page", location="query"
        )
    return limit or settings.page_size_default


async def _page_params(
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Items per page.")] = None,
) -> PageParams:
    return PageParams(cursor=cursor, limit=page_size(settings, limit))


PageQuery = Annotated[PageParams, Depends(_page_params)]


def page_of(
    request: Request, schema: type[S], rows: list[object], next_cursor: str | None
) -> Page[S]:
    return Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(row) for row in rows],
        next_cursor=next_cursor,
        next=next_link(request, next_cursor),
    )


def send_etag(response: Response, resource: Versioned) -> None:
    response.headers["ETag"] = etag(resource)

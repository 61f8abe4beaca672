"""What a request's unit of work needs before it touches the database, in both services, and
what ends it once the request is answered.

A request that writes queues for its turn (SQLite: one writer at a time, in arrival order) and
every request waits for a pooled connection without holding a worker thread; see
`shared.db.write_turn` and `shared.db.take_turn` for why. On SQLite, writes that queue behind
one another commit together (`shared.commit_group`), and each is answered once it is durable.
"""

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.commit_group import Member, commit_group
from shared.db import open_session, take_turn, write_lock
from shared.errors import failure, problem_response

__all__ = [
    "UnitOfWorkMiddleware",
    "commits_alone",
    "is_write",
    "request_session",
    "run_work",
    "write_route",
    "writes_nothing",
]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_CLOSERS = "passerelles.closers"
_MEMBER = "passerelles.commit_group_member"
E = TypeVar("E", bound=Callable[..., Any])
P = ParamSpec("P")
T = TypeVar("T")
# Whether the request this task serves is a member of a commit group (`request_session`).
_GROUPED: ContextVar[bool] = ContextVar("passerelles_grouped", default=False)


def writes_nothing(endpoint: E) -> E:
    """Mark a POST route that only reads, such as one that calls out: it takes no write lock."""
    endpoint.__writes_nothing__ = True  # type: ignore[attr-defined]
    return endpoint


def commits_alone(endpoint: E) -> E:
    """Mark a write route that commits several times (a bulk import, batch by batch): it does
    not join the commit group, whose one transaction would hold all its batches."""
    endpoint.__commits_alone__ = True  # type: ignore[attr-defined]
    return endpoint


def is_write(request: Request) -> bool:
    """Whether the request's route may write to the service's database."""
    endpoint = request.scope.get("endpoint")
    return request.method not in _READS and not getattr(endpoint, "__writes_nothing__", False)


async def run_work(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a step of the request's unit of work that uses the database: on the event loop for
    a member of SQLite's commit group, on a worker thread otherwise.

    A member's session is a savepoint in the group's transaction, which holds SQLite's write
    lock from its start: none of its statements waits on another writer, and its pages come
    from the file cache. On a worker thread, a write cost two hops there and back and a handover
    of the interpreter's lock between the two threads at each of its statements, the driver
    letting go of it: a tenth of a `POST /v1/actors`. Elsewhere a statement may wait (a row lock
    or the network on PostgreSQL, SQLite's lock for a write outside the group), and the event
    loop must not.
    """
    if _GROUPED.get():
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


def write_route(endpoint: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """Mark a plain (not async) route that writes to run as `run_work` runs a step; FastAPI
    would always run it on a worker thread. Only for a route whose work is the database's: one
    that calls out, resolves a name or reads a file would hold up the event loop."""

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_work(endpoint, *args, **kwargs)

    return run


async def request_session(request: Request, engine: Engine) -> Session:
    """The request's session on `engine`, opened once its turn at the database has come; both
    are given back once the request is answered. A write on SQLite joins the commit group."""
    state = request.app.state
    writes = is_write(request)
    turn = write_lock(state, engine) if writes else None
    endpoint = request.scope.get("endpoint")
    grouped = turn is not None and not getattr(endpoint, "__commits_alone__", False)
    give_back = await take_turn(state, engine, writes=writes, grouped=grouped)
    if grouped and turn is not None:
        group = commit_group(state, engine, turn)
        try:
            session = await group.join()
        except BaseException:
            give_back()
            raise
        request.scope[_MEMBER] = Member(group, session, give_back)
        _GROUPED.set(True)
        return session
    session = open_session(engine)

    def close() -> None:
        try:
            session.close()
        finally:
            give_back()

    _close_when_answered(request, close)
    return session


def _close_when_answered(request: Request, close: Callable[[], None]) -> None:
    """Call `close` once the request is answered or has failed (`UnitOfWorkMiddleware`), in
    the request's own task, the last registered first.

    What a `yield` dependency does at its end, without its cost: FastAPI enters each one as an
    async context manager on the request's exit stack, with a cancel scope around its exit, a
    tenth of an anonymous GET of one resource on PostgreSQL.
    """
    closers: list[Callable[[], None]] | None = request.scope.get(_CLOSERS)
    if closers is None:
        raise RuntimeError("UnitOfWorkMiddleware is not installed on this application")
    closers.append(close)


class UnitOfWorkMiddleware:
    """Run what `_close_when_answered` registered once the response is sent or the request
    failed, as FastAPI ends `yield` dependencies of the request scope; and end a commit group
    member's unit of work before its response starts, answering with the group's failure if
    its commit failed. Install it innermost, so that everything a route opened is closed before
    outer middlewares (the Idempotency-Key record of a write) use the database again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        closers: list[Callable[[], None]] = []
        scope[_CLOSERS] = closers
        replaced = False

        async def when_durable(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the rest of an answer that was replaced by the group's failure
            member: Member | None = scope.get(_MEMBER)
            if member is not None and message["type"] == "http.response.start":
                commit_failure = await member.finish()
                if commit_failure is not None:
                    replaced = True
                    answer = problem_response(failure(commit_failure), scope["path"])
                    await answer(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, when_durable)
        finally:
            member = scope.get(_MEMBER)
            try:
                if member is not None:
                    # No answer was started (the route raised): what it did is rolled back.
                    await member.finish()
            finally:
                _close_all(closers)


def _close_all(closers: list[Callable[[], None]]) -> None:
    """Call each closer, the last first, even if one fails; then raise the first failure."""
    failure: BaseException | None = None
    while closers:
        try:
            closers.pop()()
        except BaseException as error:
            failure = failure or error
    if failure is not None:
        raise failure

"""What a request's unit of work needs before it touches the database, in both services.

A request that writes queues for its turn (SQLite: one writer at a time, in arrival order) and
every request waits for a pooled connection without holding a worker thread; see
`shared.db.write_turn` and `shared.db.connection_slot` for why.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.requests import Request

from shared.db import connection_slot, write_turn

__all__ = ["connection_turn", "database_turn", "is_write", "writes_nothing"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
E = TypeVar("E", bound=Callable[..., Any])


def writes_nothing(endpoint: E) -> E:
    """Mark a POST route that only reads, such as one that calls out: it takes no write lock."""
    endpoint.__writes_nothing__ = True  # type: ignore[attr-defined]
    return endpoint


def is_write(request: Request) -> bool:
    """Whether the request's route may write to the service's database."""
    endpoint = request.scope.get("endpoint")
    return request.method not in _READS and not getattr(endpoint, "__writes_nothing__", False)


@asynccontextmanager
async def database_turn(request: Request) -> AsyncIterator[None]:
    """The request's turn to use the database, held until it is done."""
    state, engine = request.app.state, request.app.state.engine
    if not is_write(request):
        async with connection_slot(state, engine):
            yield
        return
    async with write_turn(state, engine), connection_slot(state, engine):
        yield


async def connection_turn(request: Request) -> AsyncIterator[None]:
    """`database_turn` as a dependency, for a route whose session dependency does not take it
    itself."""
    async with database_turn(request):
        yield

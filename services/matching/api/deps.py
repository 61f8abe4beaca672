"""Dependencies shared by the matching service's routers."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from services.matching.follower import GraphHolder
from shared.db import new_session
from shared.errors import Problem

__all__ = ["HolderDep", "NotReady", "SessionDep", "ready_holder"]


class NotReady(Problem):
    status = 503
    slug = "graph-not-ready"
    title = "Graph not loaded yet"


def _session(request: Request) -> Iterator[Session]:
    yield from new_session(request.app.state.engine)


def ready_holder(request: Request) -> GraphHolder:
    holder: GraphHolder = request.app.state.holder
    if not holder.synced:
        raise NotReady(
            "The graph has not been loaded from the registry yet; retry in a few seconds.",
            headers={"Retry-After": "5"},
            last_error=holder.last_error,
        )
    return holder


SessionDep = Annotated[Session, Depends(_session)]
HolderDep = Annotated[GraphHolder, Depends(ready_holder)]

"""Reading the registry for an export: one keyset page at a time, never the whole table.

An export walks a listing (the same query, the same filters) page by page, so what it holds
in memory is one page whatever the size of the registry; `PAGE_SIZE` trades memory for round
trips to the database.
"""

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from sqlmodel import Session, col, select

from services.registry.models import Actor

__all__ = ["PAGE_SIZE", "Fetch", "actor_names", "pages"]

T = TypeVar("T")
# A listing's page: (cursor, limit) -> (rows, the cursor of the next page or None).
Fetch = Callable[[str | None, int], tuple[list[T], str | None]]

PAGE_SIZE = 500


def pages(fetch: Fetch[T]) -> Iterator[list[T]]:
    """Every page of a listing, in its stable order, fetched only when the previous one is
    consumed."""
    cursor: str | None = None
    while True:
        rows, cursor = fetch(cursor, PAGE_SIZE)
        if rows:
            yield rows
        if cursor is None:
            return


def actor_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these actors, in one query (deleted ones too: a past convention keeps the
    name of a party that left the registry)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.exec(select(Actor.id, Actor.name).where(col(Actor.id).in_(wanted)))
    return dict(rows.all())

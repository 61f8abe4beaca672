"""The public change feed: events in sequence order, a head to measure lag, and retention."""

from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, delete, func
from sqlmodel import Session, col, exists, select

from services.registry.models import Event, FeedState, WebhookAttempt, WebhookDelivery
from services.registry.resources import Gone
from shared.db import utcnow

__all__ = ["FeedGap", "feed_bounds", "purge_expired", "read_feed"]


class FeedGap(Gone):
    slug = "feed-gap"
    title = "Events no longer retained"


def _purged_through(session: Session) -> int:
    state = session.get(FeedState, 1)
    return state.purged_through if state else 0


def feed_bounds(session: Session) -> tuple[int, int]:
    """(head, purged_through): the last sequence written and the last one purged."""
    purged = _purged_through(session)
    head = session.exec(select(func.max(Event.sequence))).one()
    return max(head or 0, purged), purged


def read_feed(
    session: Session, *, after: int, limit: int, types: list[str]
) -> tuple[list[Any], int, int]:
    """Events after `after` (of the given types), the cursor to ask with next, and the head.

    Events come as rows of their columns with `data` as its stored JSON text
    (`outbox.envelope_json` writes them).

    Sequence numbers commit in order (see outbox.record_change), so every event up to a head
    read *before* the events is visible: when fewer than `limit` events come back, the
    consumer can safely jump its cursor to that head, even past events of other types.
    """
    head, purged = feed_bounds(session)
    if after < purged:
        raise FeedGap(
            f"Events up to sequence {purged} were purged after the retention period; "
            "resynchronise from the listings (a snapshot), then follow the feed from the head "
            "you read before the snapshot.",
            purged_through=purged,
            head=head,
        )
    statement = select(
        col(Event.sequence),
        col(Event.id),
        col(Event.type),
        col(Event.occurred_at),
        col(Event.resource_type),
        col(Event.resource_id),
        col(Event.resource_version),
        cast(col(Event.data), Text).label("data"),
    ).where(col(Event.sequence) > after, col(Event.sequence) <= head)
    if types:
        statement = statement.where(col(Event.type).in_(types))
    events = list(session.exec(statement.order_by(col(Event.sequence)).limit(limit)))
    next_after = events[-1].sequence if len(events) == limit else max(head, after)
    assert next_after is not None
    return events, next_after, head


def purge_expired(session: Session, retention: timedelta) -> int:
    """Drop the oldest events past retention whose deliveries are all settled; returns how many.

    Only a prefix of the feed is dropped, so `purged_through` is one number consumers can test.
    """
    cutoff = utcnow() - retention
    pending = exists().where(
        WebhookDelivery.event_sequence == Event.sequence, WebhookDelivery.status == "pending"
    )
    blocker = session.exec(
        select(func.min(Event.sequence)).where((Event.occurred_at >= cutoff) | pending)
    ).one()
    head, purged = feed_bounds(session)
    through = (blocker - 1) if blocker is not None else head
    if through <= purged:
        return 0
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_sequence <= through)
    session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_sequence <= through))
    removed = session.execute(delete(Event).where(Event.sequence <= through)).rowcount  # type: ignore[attr-defined]
    state = session.get(FeedState, 1) or FeedState(id=1)
    state.purged_through = through
    session.add(state)
    return removed

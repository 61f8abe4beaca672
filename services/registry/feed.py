"""The public change feed: events in sequence order, a head to measure lag, and retention."""

from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, exists, select

from services.registry.models import Event, FeedState, WebhookAttempt, WebhookDelivery
from services.registry.outbox import numbered, stored_envelope
from services.registry.resources import Gone
from shared.db import utcnow

__all__ = [
    "FeedGap",
    "FeedItem",
    "backfill_envelopes",
    "feed_bounds",
    "purge_expired",
    "read_feed",
]


class FeedGap(Gone):
    slug = "feed-gap"
    title = "Events no longer retained"


def feed_bounds(session: Session) -> tuple[int, int]:
    """(head, purged_through): the last sequence written and the last one purged."""
    head, purged = session.execute(_BOUNDS).one()
    purged = purged or 0
    return max(head or 0, purged), purged


# Both bounds in one statement: every page of the feed reads them first.
_BOUNDS = sa_select(
    sa_select(func.max(Event.__table__.c.sequence)).scalar_subquery(),  # type: ignore[attr-defined]
    sa_select(FeedState.__table__.c.purged_through)  # type: ignore[attr-defined]
    .where(FeedState.__table__.c.id == 1)  # type: ignore[attr-defined]
    .scalar_subquery(),
)


class FeedItem(NamedTuple):
    sequence: int
    envelope: str  # the event's envelope as JSON (`EventEnvelope`)


def read_feed(
    session: Session, *, after: int, limit: int, types: list[str]
) -> tuple[list[FeedItem], int, int]:
    """Events after `after` (of the given types), the cursor to ask with next, and the head.

    Each event comes as its stored envelope with its sequence put in (`outbox.numbered`): two
    columns a row, read without the ORM. An event written before envelopes were stored is
    written from its columns.

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
    table = Event.__table__  # type: ignore[attr-defined]
    statement = sa_select(table.c.sequence, table.c.envelope).where(
        table.c.sequence > after, table.c.sequence <= head
    )
    if types:
        statement = statement.where(table.c.type.in_(types))
    rows = session.execute(statement.order_by(table.c.sequence).limit(limit)).all()
    unstored = [sequence for sequence, envelope in rows if envelope is None]
    if unstored:
        older = session.exec(select(Event).where(col(Event.sequence).in_(unstored)))
        written = {event.sequence: stored_envelope(event) for event in older}
        rows = [(sequence, envelope or written[sequence]) for sequence, envelope in rows]
    events = [FeedItem(sequence, numbered(envelope, sequence)) for sequence, envelope in rows]
    next_after = events[-1].sequence if len(events) == limit else max(head, after)
    return events, next_after, head


def backfill_envelopes(session: Session, chunk: int = 2_000) -> int:
    """Store the envelopes of events written before they were stored; returns how many."""
    written = 0
    while True:
        events = session.exec(
            select(Event).where(col(Event.envelope).is_(None)).order_by(Event.sequence).limit(chunk)  # type: ignore[arg-type]
        ).all()
        if not events:
            return written
        for event in events:
            event.envelope = stored_envelope(event)
        session.commit()
        written += len(events)


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

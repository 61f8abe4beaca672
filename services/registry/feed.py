"""The public change feed: events in sequence order, a head to measure lag, and retention."""

from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Text,
    bindparam,
    cast,
    delete,
    func,
    null,
    union_all,
)
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
    return _bounds(head, purged)


def _bounds(head: int | None, purged: int | None) -> tuple[int, int]:
    purged = purged or 0
    return max(head or 0, purged), purged


_EVENTS = Event.__table__  # type: ignore[attr-defined]
_HEAD = sa_select(func.max(_EVENTS.c.sequence)).scalar_subquery()
_PURGED = (
    sa_select(FeedState.__table__.c.purged_through)  # type: ignore[attr-defined]
    .where(FeedState.__table__.c.id == 1)  # type: ignore[attr-defined]
    .scalar_subquery()
)
# Both bounds in one statement, for a caller that wants only them.
_BOUNDS = sa_select(_HEAD, _PURGED)


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

    Sequence numbers commit in order (see outbox.record_change), so every event up to the
    head read in the same snapshot as the events is visible: when fewer than `limit` events
    come back, the consumer can safely jump its cursor to that head, even past events of
    other types.
    """
    parameters: dict[str, Any] = {"after": after, "limit": limit}
    if types:
        parameters["types"] = types
    rows = session.execute(_PAGES[bool(types)], parameters).all()
    head, purged = _bounds(*next(row[:2] for row in rows if row[2] is None))
    if after < purged:
        raise FeedGap(
            f"Events up to sequence {purged} were purged after the retention period; "
            "resynchronise from the listings (a snapshot), then follow the feed from the head "
            "you read before the snapshot.",
            purged_through=purged,
            head=head,
        )
    # (sequence, envelope) pairs: sequences are unique, so they order the page alone.
    page = sorted(tuple(row[2:]) for row in rows if row[2] is not None)
    unstored = [sequence for sequence, envelope in page if envelope is None]
    if unstored:
        older = session.exec(select(Event).where(col(Event.sequence).in_(unstored)))
        written = {event.sequence: stored_envelope(event) for event in older}
        page = [(sequence, envelope or written[sequence]) for sequence, envelope in page]
    events = [FeedItem(sequence, numbered(envelope, sequence)) for sequence, envelope in page]
    next_after = events[-1].sequence if len(events) == limit else max(head, after)
    return events, next_after, head


def _page_statement(typed: bool) -> CompoundSelect:
    """The bounds and a page of the feed in one statement, hence one snapshot and, on
    PostgreSQL, one round trip: a row (head, purged_through, NULL, NULL), then a row (NULL,
    NULL, sequence, envelope) per event of the page, in no particular order. Parameters:
    `after`, `limit`, and `types` if `typed`.

    The page stops at the head read in the same snapshot: sequences commit in order, so every
    event up to it is visible (see `read_feed`).
    """
    page = sa_select(_EVENTS.c.sequence, _EVENTS.c.envelope).where(
        _EVENTS.c.sequence > bindparam("after"), _EVENTS.c.sequence <= _HEAD
    )
    if typed:
        page = page.where(_EVENTS.c.type.in_(bindparam("types", expanding=True)))
    events = page.order_by(_EVENTS.c.sequence).limit(bindparam("limit")).subquery()
    no_number, no_text = cast(null(), BigInteger), cast(null(), Text)
    return union_all(
        sa_select(
            _HEAD.label("head"),
            _PURGED.label("purged"),
            no_number.label("sequence"),
            no_text.label("envelope"),
        ),
        sa_select(no_number, no_number, events.c.sequence, events.c.envelope),
    )


# Built once: building and caching the statement anew took a fifth of a page's time.
_PAGES = {typed: _page_statement(typed) for typed in (False, True)}


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

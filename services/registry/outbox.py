"""The transactional outbox: every change is recorded, with its webhook deliveries, in its own
transaction, so an acknowledged write always has its event and a failed one has none.
"""

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import CTE, BigInteger, Select, Table, and_, bindparam, event, func, insert
from sqlmodel import Session, select

from services.registry import audit
from services.registry.bulk import bulk_of
from services.registry.models import (
    Actor,
    ActorRelationship,
    AuditEntry,
    Convention,
    Event,
    Project,
    Resource,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.registry.schemas import ActorRead, ConventionRead, ProjectRead, RelationshipRead
from shared.db import new_id, utcnow
from shared.driver import execute_plain
from shared.events import EventEnvelope, ResourceRef
from shared.operations import request_id
from shared.records import ActorRecord, ConventionRecord, ProjectRecord, Record, RelationshipRecord

__all__ = [
    "ContractDrift",
    "envelope",
    "flush_events",
    "numbered",
    "public_shape",
    "record_change",
    "resource_type_of",
    "stored_envelope",
    "write_document",
]

_PUBLIC_SHAPES: dict[type, tuple[str, type[BaseModel], type[Record]]] = {
    Actor: ("actor", ActorRead, ActorRecord),
    Convention: ("convention", ConventionRead, ConventionRecord),
    Project: ("project", ProjectRead, ProjectRecord),
    ActorRelationship: ("relationship", RelationshipRead, RelationshipRecord),
}
# Any constant works; it names the lock that orders the feed on PostgreSQL.
_FEED_LOCK = 0x70617373


class ContractDrift(RuntimeError):
    """The registry's public shape of a resource no longer matches the feed's contract."""


def resource_type_of(resource: Resource) -> str:
    return _PUBLIC_SHAPES[type(resource)][0]


def public_shape(model: type[Resource]) -> type[BaseModel]:
    """The schema of a resource's public document (what its event carries, private data out)."""
    return _PUBLIC_SHAPES[model][1]


_DOCUMENTED = "passerelles.documented"


def _public(session: Session, resource: Resource) -> tuple[BaseModel, bool]:
    """The resource's public shape as of now, and whether its stored document already says it
    (`_document_before_flush` wrote it in this unit of work, at this version)."""
    made = session.info.get(_DOCUMENTED, {}).pop(id(resource), None)
    if made is not None and made[0] is resource and made[1] == resource.version:
        return made[2], True
    return public_shape(type(resource)).model_validate(resource), False


@event.listens_for(Session, "before_flush")
def _document_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Write the public document of every live resource the flush inserts or updates, in the
    same statement: set after the flush, it would cost a second UPDATE per write. An import
    sets its documents with its events, before its one flush per batch."""
    if bulk_of(session) is not None:
        return
    for resource in (*session.new, *session.dirty):
        if isinstance(resource, Resource) and resource.deleted_at is None:
            write_document(session, resource)


def write_document(session: Session, resource: Resource) -> None:
    """Set the public document of a live resource about to be written, and keep its public
    shape for its event (`_public`)."""
    public = public_shape(type(resource)).model_validate(resource)
    resource.document = public.model_dump_json()
    made = session.info.setdefault(_DOCUMENTED, {})
    made[id(resource)] = (resource, resource.version, public)


def _event_data(session: Session, resource: Resource) -> dict[str, Any]:
    """The resource as the feed's contract carries it; its public document is kept with it.

    Going through the shared record means that a field renamed, retyped or dropped in the
    registry's schemas fails here, at the write, rather than in every consumer later; a field
    added to the schemas but not to the contract is refused too, since consumers would never
    see it.
    """
    _, shape, record = _PUBLIC_SHAPES[type(resource)]
    public_model, stored = _public(session, resource)
    public = public_model.model_dump(mode="json")
    if resource.deleted_at is None and not stored:
        resource.document = public_model.model_dump_json()
    unknown = set(public) - set(record.model_fields)
    if unknown:
        raise ContractDrift(
            f"{shape.__name__} has {', '.join(sorted(unknown))}, which {record.__name__} in "
            "shared/records.py does not carry: add it to the contract"
        )
    tombstone = {"deleted_at": resource.deleted_at} if resource.deleted_at is not None else {}
    return record.model_validate(public | tombstone).model_dump(mode="json", exclude_none=False)


def record_change(session: Session, resource: Resource, action: str) -> None:
    """Append the event of `resource` after its change, and one delivery per subscribed endpoint.

    On PostgreSQL, sequence numbers are handed out at insert time but become visible at commit,
    so a later number could be seen before an earlier one and a consumer following the feed
    would skip the earlier for ever. A transaction-scoped advisory lock taken before the number
    is drawn makes writers draw and commit in the same order; it is held only from here to the
    commit, which follows at once. A single change takes it in the statement that appends its
    event (`_append`).

    A bulk unit of work (an import) takes the lock once, at its first change, and writes its
    events, audit entries and deliveries once per batch, in `flush_events`, as plain rows: an
    ORM object per event costs more than the change it records. A dry run records no event.
    A single change writes its event and audit entry the same way, as rows, not ORM objects.
    """
    bulk = bulk_of(session)
    if bulk is not None and bulk.dry_run:
        return None
    resource_type = resource_type_of(resource)
    data = _event_data(session, resource)
    if bulk is None:
        session.flush()
    elif not bulk.feed_locked:
        _lock_feed(session)
        bulk.feed_locked = True
    columns = {
        "id": new_id(),
        "type": f"{resource_type}.{action}",
        "occurred_at": utcnow(),
        "resource_type": resource_type,
        "resource_id": resource.id,
        "resource_version": resource.version,
        "data": data,
        "request_id": request_id.current(),
    }
    columns["envelope"] = stored_envelope(columns)
    if bulk is not None:
        bulk.pending_events.append(columns)
        bulk.pending_audit.append(audit.entry(session, columns["type"], resource_type, resource.id))
        return
    entry = audit.note(session, columns["type"], resource_type, resource.id)
    sequence, endpoints = _append(session, columns, entry)
    _add_deliveries(session, [(sequence, columns["type"])], endpoints)


def _append(
    session: Session, event: dict[str, Any], entry: dict[str, Any]
) -> tuple[int, list[Any]]:
    """Insert an event and its audit entry; return the event's sequence and the endpoints
    subscribed (`_subscribed_endpoints`).

    On PostgreSQL in one statement, which takes the feed's lock first: each statement is a
    round trip to the server and its cost in the driver. And the lock is held from the moment
    it is granted to the commit: taken in a statement of its own, it was held too while the
    registry woke to send the next one, waiting its turn at the interpreter behind every other
    request; writers queued behind it. SQLite has no round trips, nor inserts inside a WITH
    clause, and one writer at a time.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        sequence = execute_plain(connection, _INSERT_EVENT, event)[0].sequence
        audit.write_entries(session, [entry])
        return sequence, _subscribed_endpoints(session)
    parameters: dict[str, Any] = {"feed_lock": _FEED_LOCK}
    parameters.update((f"event_{name}", value) for name, value in event.items())
    parameters.update((f"entry_{name}", value) for name, value in entry.items())
    rows = execute_plain(connection, _APPEND, parameters)
    return rows[0].sequence, [(row.id, row.event_types) for row in rows if row.id is not None]


_EVENTS = Event.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.sequence)


def flush_events(session: Session) -> None:
    """Write what a bulk unit of work has pending: its rows, then their events, audit entries
    and deliveries, each in one statement."""
    session.flush()
    bulk = bulk_of(session)
    if bulk is None or not bulk.pending_events:
        return
    events, entries = bulk.pending_events, bulk.pending_audit
    bulk.pending_events, bulk.pending_audit = [], []
    endpoints = _subscribed_endpoints(session)
    if endpoints:
        inserted = session.execute(
            insert(_EVENTS).returning(
                _EVENTS.c.sequence, _EVENTS.c.type, sort_by_parameter_order=True
            ),
            events,
        )
        _add_deliveries(session, [(sequence, type_) for sequence, type_ in inserted], endpoints)
    else:
        session.execute(insert(_EVENTS), events)
    audit.write_entries(session, entries)
    session.flush()


def _lock_feed(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        execute_plain(connection, _LOCK_FEED, {"feed_lock": _FEED_LOCK})


_LOCK_FEED = select(func.pg_advisory_xact_lock(bindparam("feed_lock", type_=BigInteger)))


def _subscribed_endpoints(session: Session) -> list[Any]:
    """(id, event_types) of the enabled endpoints: two columns, not ORM objects, on each write."""
    return execute_plain(session.connection(), _SUBSCRIBED, {})


# Plain statements (a table's, not an ORM entity's): the ORM's compile step costs more than
# these small statements themselves, once per write.
_ENDPOINTS = WebhookEndpoint.__table__.c  # type: ignore[attr-defined]
_SUBSCRIBED = select(_ENDPOINTS.id, _ENDPOINTS.event_types).where(
    _ENDPOINTS.enabled.is_(True), _ENDPOINTS.deleted_at.is_(None)
)


def _append_statement() -> Select[Any]:
    """`_append`'s statement on PostgreSQL: the feed's lock taken (`feed_lock`), then the event
    inserted, then the audit entry, in WITH clauses each selecting from the one before, which
    orders them; and the event's sequence beside each enabled endpoint (one row of nulls if
    none)."""
    entries = AuditEntry.__table__  # type: ignore[attr-defined]
    # MATERIALIZED: run once, before the event's insert reads its row, whatever the planner.
    locked = _LOCK_FEED.cte("feed_lock").prefix_with("MATERIALIZED")
    event = (
        insert(_EVENTS)
        .from_select(*_parameters_of(_EVENTS, "event_", locked))
        .returning(_EVENTS.c.sequence)
        .cte("appended_event")
    )
    entry = insert(entries).from_select(*_parameters_of(entries, "entry_", event))
    entry = entry.cte("appended_entry")
    enabled = and_(_ENDPOINTS.enabled.is_(True), _ENDPOINTS.deleted_at.is_(None))
    return (
        select(event.c.sequence, _ENDPOINTS.id, _ENDPOINTS.event_types)
        .select_from(event.outerjoin(WebhookEndpoint.__table__, enabled))  # type: ignore[attr-defined]
        .add_cte(entry)
    )


def _parameters_of(table: Table, prefix: str, after: CTE) -> tuple[list[str], Select[Any]]:
    """The columns of a row of `table` but its key, and a SELECT of one parameter each (named
    `prefix` + column) from `after`: what `Insert.from_select` takes."""
    columns = [column for column in table.c if not column.primary_key]
    values = [bindparam(prefix + c.key, type_=c.type) for c in columns]
    return [c.key for c in columns], select(*values).select_from(after)


_APPEND = _append_statement()


def _add_deliveries(session: Session, events: list[tuple[int, str]], endpoints: list[Any]) -> None:
    """One delivery per event (its sequence and type) and subscribed endpoint (`(id,
    event_types)` of `_subscribed_endpoints`)."""
    rows = [
        {"endpoint_id": endpoint_id, "event_sequence": sequence}
        for sequence, event_type in events
        for endpoint_id, types in endpoints
        if not types or event_type in types
    ]
    if rows:
        session.execute(insert(WebhookDelivery.__table__), rows)  # type: ignore[attr-defined]


# The sequence a stored envelope carries until a page of the feed puts the event's own in.
_UNNUMBERED = '"sequence":0,'


def stored_envelope(event: Any) -> str:
    """The JSON of `envelope(event)` from an event's columns (attributes or a dict's keys), with
    0 for its sequence, which the insert draws: what `Event.envelope` keeps.

    Every member but `data` and `request_id` is a UUID, a number, a timestamp or an event or
    resource type (a fixed vocabulary): none needs escaping. A test holds it equal to
    `EventEnvelope`'s JSON.
    """
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    data = get("data")
    if not isinstance(data, str):
        data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        f'{{"id":"{get("id")}","type":"{get("type")}",{_UNNUMBERED}'
        f'"occurred_at":{_timestamp(get("occurred_at"))},'
        f'"resource":{{"type":"{get("resource_type")}","id":"{get("resource_id")}",'
        f'"version":{get("resource_version")}}},"data":{data},'
        f'"request_id":{json.dumps(get("request_id"))}}}'
    )


def numbered(envelope: str, sequence: int) -> str:
    """A stored envelope (`stored_envelope`) with its event's sequence."""
    return envelope.replace(_UNNUMBERED, f'"sequence":{sequence},', 1)


_TIMESTAMP = TypeAdapter(datetime)


def _timestamp(moment: datetime) -> str:
    """pydantic's JSON for a timestamp (a `Z` for UTC), as every other response writes it."""
    return _TIMESTAMP.dump_json(moment).decode()


def envelope(event: Event) -> EventEnvelope:
    assert event.sequence is not None
    return EventEnvelope(
        id=event.id,
        type=event.type,
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        resource=ResourceRef(
            type=event.resource_type, id=event.resource_id, version=event.resource_version
        ),
        data=event.data,
        request_id=event.request_id,
    )

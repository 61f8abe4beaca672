"""The transactional outbox: every change is recorded, with its webhook deliveries, in its own
transaction, so an acknowledged write always has its event and a failed one has none.
"""

from sqlalchemy import text
from sqlmodel import Session, col, select

from services.registry import audit
from services.registry.models import (
    Actor,
    ActorRelationship,
    Convention,
    Event,
    Project,
    Resource,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.registry.schemas import ActorRead, ConventionRead, ProjectRead, RelationshipRead
from shared.events import EventEnvelope, ResourceRef

__all__ = ["envelope", "record_change", "resource_type_of"]

_PUBLIC_SHAPES = {
    Actor: ("actor", ActorRead),
    Convention: ("convention", ConventionRead),
    Project: ("project", ProjectRead),
    ActorRelationship: ("relationship", RelationshipRead),
}
# Any constant works; it names the lock that orders the feed on PostgreSQL.
_FEED_LOCK = 0x70617373


def resource_type_of(resource: Resource) -> str:
    return _PUBLIC_SHAPES[type(resource)][0]


def record_change(session: Session, resource: Resource, action: str) -> Event:
    """Append the event of `resource` after its change, and one delivery per subscribed endpoint.

    On PostgreSQL, sequence numbers are handed out at insert time but become visible at commit,
    so a later number could be seen before an earlier one and a consumer following the feed
    would skip the earlier for ever. A transaction-scoped advisory lock taken before the number
    is drawn makes writers draw and commit in the same order; it is held only from here to the
    commit, which follows at once.
    """
    resource_type, shape = _PUBLIC_SHAPES[type(resource)]
    data = shape.model_validate(resource).model_dump(mode="json")
    if resource.deleted_at is not None:
        data["deleted_at"] = resource.deleted_at.isoformat()
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FEED_LOCK})
    event = Event(
        type=f"{resource_type}.{action}",
        resource_type=resource_type,
        resource_id=resource.id,
        resource_version=resource.version,
        data=data,
    )
    session.add(event)
    audit.record(session, event.type, resource_type, resource.id)
    session.flush()
    assert event.sequence is not None
    endpoints = session.exec(
        select(WebhookEndpoint).where(
            col(WebhookEndpoint.enabled).is_(True), col(WebhookEndpoint.deleted_at).is_(None)
        )
    )
    for endpoint in endpoints:
        if endpoint.accepts(event.type):
            session.add(WebhookDelivery(endpoint_id=endpoint.id, event_sequence=event.sequence))
    return event


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
    )

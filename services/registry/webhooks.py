"""Webhook endpoints of partner platforms: registration, secrets, replays and retries."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.registry import audit
from services.registry.audit import acting
from services.registry.delivery import Outcome, delivery_client, send
from services.registry.dispatcher import cancel_pending, signing_secrets
from services.registry.models import Event, WebhookDelivery, WebhookEndpoint
from services.registry.netguard import UnsafeUrl, check_webhook_url
from services.registry.resources import check_if_match, keyset, touch
from services.registry.settings import RegistrySettings
from services.registry.webhook_schemas import WebhookCreate, WebhookUpdate
from shared.db import utcnow
from shared.errors import InvalidInput, NotFound
from shared.events import EventEnvelope, ResourceRef
from shared.webhooks import new_secret

__all__ = [
    "create_endpoint",
    "delete_endpoint",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "replay",
    "retry_delivery",
    "rotate_secret",
    "send_test",
    "update_endpoint",
]

_REPLAY_MAX = 100_000


def _check_url(url: str, settings: RegistrySettings) -> None:
    try:
        check_webhook_url(url, settings.allowed_hosts)
    except UnsafeUrl as error:
        reason = str(error)
        if error.allow_listable:
            # A receiver on a developer's machine or an intranet is refused by design; say
            # how the operator lets it through.
            reason += (
                f"; the registry's operator can allow {urlsplit(url).hostname or 'this host'} "
                "by adding it to WEBHOOK_ALLOWED_HOSTS"
            )
        raise InvalidInput.on("url", reason) from error


def _visible(session: Session) -> SelectOfScalar[WebhookEndpoint]:
    """Live endpoints the caller may see: its own, or all for an admin. Another key's endpoint
    answers 404, exactly like one that does not exist."""
    statement = select(WebhookEndpoint).where(col(WebhookEndpoint.deleted_at).is_(None))
    caller = acting(session)
    if not caller.is_admin:
        statement = statement.where(WebhookEndpoint.owner_key_id == caller.key_id)
    return statement


def create_endpoint(
    session: Session, data: WebhookCreate, settings: RegistrySettings
) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret; it receives events committed from now on."""
    _check_url(data.url, settings)
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description,
        event_types=list(dict.fromkeys(data.event_types)),
        secret=new_secret(),
        owner_key_id=acting(session).key_id,
    )
    session.add(endpoint)
    session.flush()
    audit.record(session, "webhook.created", "webhook", endpoint.id)
    return endpoint


def get_endpoint(
    session: Session, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    statement = _visible(session).where(WebhookEndpoint.id == endpoint_id)
    endpoint = session.exec(statement.with_for_update() if lock else statement).first()
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return endpoint


def list_endpoints(
    session: Session, *, cursor: str | None, limit: int
) -> tuple[list[WebhookEndpoint], str | None]:
    statement = _visible(session)
    return keyset(session, statement, WebhookEndpoint, cursor, limit)


def update_endpoint(
    session: Session,
    endpoint_id: uuid.UUID,
    data: WebhookUpdate,
    settings: RegistrySettings,
    *,
    if_match: str | None,
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id, lock=True)
    check_if_match(endpoint, if_match)
    fields = data.model_fields_set
    if "url" in fields and data.url is not None:
        _check_url(data.url, settings)
        endpoint.url = data.url
    if "description" in fields:
        endpoint.description = data.description
    if "event_types" in fields:
        endpoint.event_types = list(dict.fromkeys(data.event_types or []))
    if "enabled" in fields and data.enabled is not None:
        if data.enabled:
            endpoint.disabled_reason, endpoint.failing_since = None, None
        elif endpoint.enabled:
            endpoint.disabled_reason = "disabled by its owner"
            # Nothing more reaches it, not even deliveries a dispatcher has already claimed:
            # the dispatcher checks the delivery is still pending right before sending.
            cancel_pending(session, endpoint.id)
        endpoint.enabled = data.enabled
    touch(endpoint)
    audit.record(session, "webhook.updated", "webhook", endpoint.id)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint_id: uuid.UUID) -> None:
    """Stop deliveries for good; pending ones are cancelled, the history is kept."""
    endpoint = get_endpoint(session, endpoint_id, lock=True)
    endpoint.deleted_at = utcnow()
    endpoint.enabled = False
    cancel_pending(session, endpoint.id)
    audit.record(session, "webhook.deleted", "webhook", endpoint.id)
    session.flush()


def rotate_secret(
    session: Session, endpoint_id: uuid.UUID, settings: RegistrySettings
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (as a second signature) during the grace period."""
    endpoint = get_endpoint(session, endpoint_id, lock=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + timedelta(
        seconds=settings.webhook_secret_grace_seconds
    )
    endpoint.secret = new_secret()
    touch(endpoint)
    audit.record(session, "webhook.secret_rotated", "webhook", endpoint.id)
    session.flush()
    return endpoint


def send_test(session: Session, endpoint_id: uuid.UUID, settings: RegistrySettings) -> Outcome:
    """POST a signed `webhook.test` message now and report how the receiver answered."""
    endpoint = get_endpoint(session, endpoint_id)
    message = EventEnvelope(
        id=uuid.uuid4(),
        type="webhook.test",
        sequence=0,
        occurred_at=utcnow(),
        resource=ResourceRef(type="webhook", id=endpoint.id, version=endpoint.version),
        data={"message": "Test delivery from the Passerelles registry."},
    )
    with delivery_client(settings.webhook_timeout_seconds, settings.allowed_hosts) as client:
        return send(
            client,
            endpoint.url,
            signing_secrets(endpoint),
            str(message.id),
            message.model_dump_json().encode(),
            settings.allowed_hosts,
        )


def replay(session: Session, endpoint_id: uuid.UUID, after: int) -> int:
    """Queue again every retained event after `after` that the endpoint subscribes to."""
    endpoint = get_endpoint(session, endpoint_id)
    statement = select(Event.sequence, Event.type).where(Event.sequence > after)
    if endpoint.event_types:
        statement = statement.where(col(Event.type).in_(endpoint.event_types))
    rows = session.exec(statement.order_by(col(Event.sequence)).limit(_REPLAY_MAX)).all()
    for sequence, _type in rows:
        session.add(WebhookDelivery(endpoint_id=endpoint.id, event_sequence=sequence))
    audit.record(session, "webhook.replayed", "webhook", endpoint.id)
    session.flush()
    return len(rows)


def retry_delivery(
    session: Session, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a settled delivery again, as a new delivery with a fresh retry schedule."""
    endpoint = get_endpoint(session, endpoint_id)
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery {delivery_id} for this endpoint.")
    if original.status == "pending":
        raise InvalidInput.on(
            "delivery_id", "still pending; it will be retried on schedule", "path"
        )
    again = WebhookDelivery(endpoint_id=endpoint.id, event_sequence=original.event_sequence)
    session.add(again)
    audit.record(session, "webhook.delivery_retried", "webhook", endpoint.id)
    session.flush()
    return again


def list_deliveries(
    session: Session,
    endpoint_id: uuid.UUID,
    *,
    status: list[str],
    cursor: str | None,
    limit: int,
) -> tuple[list[WebhookDelivery], str | None]:
    endpoint = get_endpoint(session, endpoint_id)
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status:
        statement = statement.where(col(WebhookDelivery.status).in_(status))
    return keyset(session, statement, WebhookDelivery, cursor, limit)

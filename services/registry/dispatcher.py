"""Delivers pending webhook deliveries: claim a batch, POST each, record what happened.

Delivery state lives only in the database, so a crash or a restart resumes where it stopped:
a claimed delivery carries a lease, and one whose dispatcher died is claimed again once the
lease runs out (at-least-once; receivers deduplicate on `webhook-id`). Several dispatchers
share the work on PostgreSQL: they claim with FOR UPDATE SKIP LOCKED, then a conditional
update, and hold no lock during the HTTP call.
"""

import logging
import random
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, Engine, exists, func, or_, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from services.registry.delivery import Outcome, delivery_client, next_delay, send
from services.registry.feed import purge_expired
from services.registry.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.registry.netguard import Resolver
from services.registry.outbox import numbered, stored_envelope
from services.registry.resources import touch
from services.registry.settings import RegistrySettings
from shared.db import utcnow
from shared.operations.metrics import WEBHOOK_DELIVERIES
from shared.operations.request_id import request_id_context

__all__ = ["Dispatcher", "cancel_pending", "signing_secrets"]

log = logging.getLogger(__name__)
_PURGE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secrets: list[str]
    msg_id: str
    body: bytes
    lease_until: datetime
    request_id: str | None = None


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > utcnow():
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def cancel_pending(session: Session, endpoint_id: uuid.UUID) -> None:
    """Cancel the endpoint's pending deliveries, claimed ones included: none of them is sent."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(status="cancelled", completed_at=utcnow(), next_attempt_at=None)
    )


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) < now)


class Dispatcher:
    """Keeps up to `webhook_concurrency` deliveries in flight, at most
    `webhook_endpoint_concurrency` of them to any one endpoint (counted across every
    dispatcher sharing the database), so a hanging receiver holds only its own share of the
    slots and the others keep serving every other endpoint."""

    def __init__(
        self, engine: Engine, settings: RegistrySettings, resolver: Resolver | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.resolver = resolver
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds + 30)
        self._rng = random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = utcnow() - _PURGE_EVERY

    def client(self) -> httpx.Client:
        return delivery_client(
            self.settings.webhook_timeout_seconds, self.settings.allowed_hosts, self.resolver
        )

    def run_once(self) -> int:
        """Attempt, once each, every delivery due now; returns how many were attempted.

        Later retries wait for the next call, so a test can step through the schedule.
        """
        return self._pump(horizon=utcnow())

    def run_forever(self) -> None:
        self._pump(horizon=None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="webhooks", daemon=True)
        self._thread.start()

    def stop_soon(self) -> None:
        """Ask the loop to end once the deliveries in flight are recorded (safe from a signal
        handler)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_seconds + 5)

    def _pump(self, horizon: datetime | None) -> int:
        """Claim as slots free up; `horizon` set: stop once nothing due by then is left."""
        slots = self.settings.webhook_concurrency
        attempted = 0
        in_flight: set[Future[None]] = set()
        claims: dict[Future[None], Claimed] = {}
        pool = ThreadPoolExecutor(slots)
        with self.client() as client:
            while not self._stop.is_set():
                claimed: list[Claimed] = []
                try:
                    if horizon is None:
                        self._purge_now_and_then()
                    if len(in_flight) < slots:
                        claimed = self.claim(slots - len(in_flight), horizon)
                except OperationalError:
                    # The database is away or busy; keep the process alive and try again.
                    log.exception("webhook dispatcher could not reach the database")
                    self._stop.wait(self.settings.webhook_poll_seconds * 5)
                    continue
                attempted += len(claimed)
                for item in claimed:
                    future = pool.submit(self.deliver, item, client)
                    claims[future] = item
                    # In flight until `wait` says it is done, even if it already is: the loop
                    # then goes round again and claims what is due next.
                    in_flight.add(future)
                claims = {future: claims[future] for future in in_flight}
                if in_flight:
                    # A finished delivery frees a slot, and its endpoint's share.
                    in_flight = wait(
                        in_flight,
                        timeout=self.settings.webhook_poll_seconds,
                        return_when=FIRST_COMPLETED,
                    ).not_done
                elif horizon is not None:
                    break
                else:
                    self._stop.wait(self.settings.webhook_poll_seconds)
            if horizon is None:
                # Stopping for good: what is still in flight is handed back, for another
                # dispatcher to send at once rather than when the lease runs out.
                self._hand_back([item for future, item in claims.items() if not future.done()])
                pool.shutdown(wait=False, cancel_futures=True)
            else:
                wait(in_flight)
                pool.shutdown()
        return attempted

    def _hand_back(self, items: list[Claimed]) -> None:
        """Give up the leases of `items`, so that any dispatcher may claim them now. A send
        already under way may still reach its receiver: it is then received twice, which
        receivers expect (they deduplicate on `webhook-id`); its outcome is not recorded."""
        if not items:
            return
        try:
            with Session(self.engine) as session:
                for item in items:
                    _release(session, item)
                session.commit()
        except OperationalError:
            log.warning("could not hand back %d deliveries: their leases will run out", len(items))
            return
        log.info("handed back %d deliveries in flight for other dispatchers", len(items))

    def claim(self, limit: int, horizon: datetime | None = None) -> list[Claimed]:
        """Lease up to `limit` due deliveries, within every endpoint's share, and commit.

        Endpoint rows are locked (SKIP LOCKED) while their deliveries in flight are counted and
        new ones leased, so two dispatchers cannot both fill the same endpoint's share.
        """
        now = utcnow()
        due_by = min(now, horizon) if horizon is not None else now
        share = self.settings.webhook_endpoint_concurrency
        same_endpoint = col(WebhookDelivery.endpoint_id) == WebhookEndpoint.id
        due = (
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.next_attempt_at) <= due_by,
            _lease_free(now),
        )
        leased = (
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.lease_until) >= now,
        )
        with Session(self.engine) as session:
            endpoints = session.exec(
                select(WebhookEndpoint)
                .where(
                    col(WebhookEndpoint.enabled).is_(True),
                    col(WebhookEndpoint.deleted_at).is_(None),
                    exists().where(same_endpoint, *due),
                    select(func.count()).where(same_endpoint, *leased).scalar_subquery() < share,
                )
                .order_by(
                    select(func.min(WebhookDelivery.next_attempt_at))
                    .where(same_endpoint, *due)
                    .scalar_subquery()
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claimed: list[Claimed] = []
            for endpoint in endpoints:
                # Counted again now that the row is locked: another dispatcher may have leased
                # some since the statement above took its snapshot.
                busy = session.exec(
                    select(func.count()).where(WebhookDelivery.endpoint_id == endpoint.id, *leased)
                ).one()
                take = min(share - busy, limit - len(claimed))
                if take <= 0:
                    continue
                claimed += self._lease(session, endpoint, due, take, now)
            session.commit()
        return claimed

    def _lease(
        self,
        session: Session,
        endpoint: WebhookEndpoint,
        due: tuple[ColumnElement[bool], ...],
        take: int,
        now: datetime,
    ) -> list[Claimed]:
        rows = session.exec(
            select(WebhookDelivery, Event)
            .join(Event, col(Event.sequence) == WebhookDelivery.event_sequence)
            .where(WebhookDelivery.endpoint_id == endpoint.id, *due)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(take)
            .with_for_update(skip_locked=True, of=WebhookDelivery)  # type: ignore[arg-type]
        ).all()
        lease_until = now + self.lease
        claimed = []
        for delivery, event in rows:
            # Conditional, so that two dispatchers on a database without SKIP LOCKED cannot
            # both take the same delivery.
            taken = session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery.id,
                    col(WebhookDelivery.status) == "pending",
                    _lease_free(now),
                )
                .values(lease_until=lease_until)
            ).rowcount  # type: ignore[attr-defined]
            if taken:
                claimed.append(
                    Claimed(
                        delivery_id=delivery.id,
                        endpoint_id=endpoint.id,
                        url=endpoint.url,
                        secrets=signing_secrets(endpoint),
                        msg_id=str(event.id),
                        # The bytes the feed serves for this event: one way to write it.
                        body=numbered(
                            event.envelope or stored_envelope(event), event.sequence
                        ).encode(),
                        lease_until=lease_until,
                        request_id=event.request_id,
                    )
                )
        return claimed

    def deliver(self, item: Claimed, client: httpx.Client) -> None:
        """Send one claimed delivery, unless it stopped being wanted since the claim, and
        record the outcome; never raises (it runs on a pool thread)."""
        try:
            if not self._still_wanted(item):
                return
            outcome = send(
                client,
                item.url,
                item.secrets,
                item.msg_id,
                item.body,
                self.settings.allowed_hosts,
                request_id=item.request_id,
            )
            with request_id_context(item.request_id):
                log.info(
                    "delivery %s of event %s to %s: %s in %d ms",
                    item.delivery_id,
                    item.msg_id,
                    item.url,
                    outcome.status_code or outcome.error,
                    outcome.duration_ms,
                )
            self._record(item, outcome)
        except Exception:
            # The lease runs out and the delivery is claimed again: at least once, not lost.
            log.exception("webhook delivery %s could not be completed", item.delivery_id)

    def _still_wanted(self, item: Claimed) -> bool:
        """Checked right before sending: the endpoint may have been disabled, deleted or moved,
        or the lease lost, since the claim."""
        with Session(self.engine) as session:
            row = session.exec(
                select(
                    WebhookDelivery.status,
                    WebhookDelivery.lease_until,
                    WebhookEndpoint.enabled,
                    WebhookEndpoint.deleted_at,
                    WebhookEndpoint.url,
                )
                .join(WebhookEndpoint, col(WebhookEndpoint.id) == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id == item.delivery_id)
            ).first()
            if row is None:
                return False
            status, lease_until, enabled, deleted_at, url = row
            if status != "pending" or lease_until != item.lease_until:
                return False
            if enabled and deleted_at is None and url == item.url:
                return True
            # Give the lease back at once: the endpoint's share is free for its new URL.
            _release(session, item)
            session.commit()
            return False

    def _record(self, item: Claimed, outcome: Outcome) -> None:
        now = utcnow()
        with Session(self.engine) as session:
            endpoint = session.get(WebhookEndpoint, item.endpoint_id)
            if endpoint is None:
                return
            # A success on a healthy endpoint leaves the endpoint row alone, so it waits for no
            # claim that holds that row. Otherwise the endpoint is locked before the delivery,
            # the order in which the API locks them, so that the two never wait for each other.
            if not outcome.succeeded or endpoint.failing_since is not None:
                session.refresh(endpoint, with_for_update=True)
            delivery = session.get(WebhookDelivery, item.delivery_id, with_for_update=True)
            if delivery is None or delivery.status != "pending":
                return
            if delivery.lease_until != item.lease_until:
                # Handed back at a shutdown (`_hand_back`), or leased by another dispatcher
                # since: the delivery is theirs to record, and to send again (at least once).
                return
            delivery.attempts += 1
            attempt = delivery.attempts
            delivery.lease_until = None
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=delivery.attempts,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    duration_ms=outcome.duration_ms,
                    error=outcome.error,
                    response_excerpt=outcome.excerpt,
                )
            )
            if outcome.succeeded:
                delivery.status, delivery.completed_at, delivery.next_attempt_at = (
                    "succeeded",
                    now,
                    None,
                )
                if endpoint.failing_since is not None:
                    endpoint.failing_since = None
            else:
                self._after_failure(session, delivery, endpoint, outcome)
            session.commit()
        WEBHOOK_DELIVERIES.labels(
            "succeeded" if outcome.succeeded else "failed", str(attempt)
        ).inc()

    def _after_failure(
        self,
        session: Session,
        delivery: WebhookDelivery,
        endpoint: WebhookEndpoint,
        outcome: Outcome,
    ) -> None:
        now = utcnow()
        delay = None
        if not outcome.gone:
            delay = next_delay(
                delivery.attempts, self.settings.retry_schedule, outcome.retry_after, self._rng
            )
        if delay is None:
            delivery.status, delivery.completed_at, delivery.next_attempt_at = "failed", now, None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        endpoint.failing_since = endpoint.failing_since or now
        failing_for = (now - endpoint.failing_since).total_seconds()
        if outcome.gone:
            _disable(session, endpoint, "the receiver answered 410 Gone")
        elif failing_for >= self.settings.webhook_disable_after_seconds:
            _disable(session, endpoint, f"every delivery failed for {failing_for / 3600:.1f} hours")

    def _purge_now_and_then(self) -> None:
        if utcnow() - self._last_purge < _PURGE_EVERY:
            return
        self._last_purge = utcnow()
        with Session(self.engine) as session:
            purged = purge_expired(session, timedelta(days=self.settings.event_retention_days))
            session.commit()
        if purged:
            log.info("purged %d events older than the retention period", purged)


def _release(session: Session, item: Claimed) -> None:
    """Give up `item`'s lease, if it is still the one this claim took."""
    session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == item.delivery_id,
            col(WebhookDelivery.lease_until) == item.lease_until,
        )
        .values(lease_until=None)
    )


def _disable(session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    if endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = reason
        touch(endpoint)
        # Flushed first so the delivery in hand is recorded, then cancelled with the others.
        session.flush()
        cancel_pending(session, endpoint.id)

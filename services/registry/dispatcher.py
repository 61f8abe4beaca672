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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from services.registry.delivery import Outcome, next_delay, send
from services.registry.feed import purge_expired
from services.registry.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.registry.outbox import envelope
from services.registry.resources import touch
from services.registry.settings import RegistrySettings
from shared.db import utcnow

__all__ = ["Dispatcher", "signing_secrets"]

log = logging.getLogger(__name__)
_PURGE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class _Claimed:
    delivery_id: uuid.UUID
    url: str
    secrets: list[str]
    msg_id: str
    body: bytes


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > utcnow():
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


class Dispatcher:
    def __init__(self, engine: Engine, settings: RegistrySettings, batch_size: int = 50) -> None:
        self.engine = engine
        self.settings = settings
        self.batch_size = batch_size
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds + 30)
        self._rng = random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = utcnow() - _PURGE_EVERY

    def run_once(self) -> int:
        """Deliver one batch of due deliveries; returns how many were attempted."""
        claimed = self._claim()
        if not claimed:
            return 0
        timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            ThreadPoolExecutor(self.settings.webhook_concurrency) as pool,
        ):
            outcomes = pool.map(lambda c: (c, self._send(client, c)), claimed)
            for item, outcome in outcomes:
                self._record(item.delivery_id, outcome)
        return len(claimed)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self._purge_now_and_then()
                if self.run_once() == 0:
                    self._stop.wait(self.settings.webhook_poll_seconds)
            except OperationalError:
                # The database is away or busy; keep the process alive and try again.
                log.exception("webhook dispatcher could not reach the database")
                self._stop.wait(self.settings.webhook_poll_seconds * 5)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="webhooks", daemon=True)
        self._thread.start()

    def stop_soon(self) -> None:
        """Ask the loop to end after the batch in hand (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_seconds + 5)

    def _send(self, client: httpx.Client, item: _Claimed) -> Outcome:
        return send(
            client, item.url, item.secrets, item.msg_id, item.body, self.settings.allowed_hosts
        )

    def _claim(self) -> list[_Claimed]:
        now = utcnow()
        with Session(self.engine) as session:
            due = session.exec(
                select(WebhookDelivery, WebhookEndpoint, Event)
                .join(WebhookEndpoint, col(WebhookEndpoint.id) == WebhookDelivery.endpoint_id)
                .join(Event, col(Event.sequence) == WebhookDelivery.event_sequence)
                .where(
                    WebhookDelivery.status == "pending",
                    col(WebhookDelivery.next_attempt_at) <= now,
                    or_(
                        col(WebhookDelivery.lease_until).is_(None),
                        col(WebhookDelivery.lease_until) < now,
                    ),
                    col(WebhookEndpoint.enabled).is_(True),
                    col(WebhookEndpoint.deleted_at).is_(None),
                )
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(self.batch_size)
                .with_for_update(skip_locked=True, of=WebhookDelivery)  # type: ignore[arg-type]
            ).all()
            claimed = []
            for delivery, endpoint, event in due:
                # Conditional, so that two dispatchers on a database without SKIP LOCKED
                # cannot both take the same delivery.
                taken = session.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.id) == delivery.id,
                        or_(
                            col(WebhookDelivery.lease_until).is_(None),
                            col(WebhookDelivery.lease_until) < now,
                        ),
                    )
                    .values(lease_until=now + self.lease)
                ).rowcount  # type: ignore[attr-defined]
                if taken:
                    claimed.append(
                        _Claimed(
                            delivery_id=delivery.id,
                            url=endpoint.url,
                            secrets=signing_secrets(endpoint),
                            msg_id=str(event.id),
                            body=envelope(event).model_dump_json().encode(),
                        )
                    )
            session.commit()
        return claimed

    def _record(self, delivery_id: uuid.UUID, outcome: Outcome) -> None:
        now = utcnow()
        with Session(self.engine) as session:
            delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None or delivery.status != "pending":
                return
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            assert endpoint is not None
            delivery.attempts += 1
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
                endpoint.failing_since = None
            else:
                self._after_failure(delivery, endpoint, outcome)
            session.commit()

    def _after_failure(
        self, delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: Outcome
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
            _disable(endpoint, "the receiver answered 410 Gone")
        elif failing_for >= self.settings.webhook_disable_after_seconds:
            _disable(endpoint, f"every delivery failed for {failing_for / 3600:.1f} hours")

    def _purge_now_and_then(self) -> None:
        if utcnow() - self._last_purge < _PURGE_EVERY:
            return
        self._last_purge = utcnow()
        with Session(self.engine) as session:
            purged = purge_expired(session, timedelta(days=self.settings.event_retention_days))
            session.commit()
        if purged:
            log.info("purged %d events older than the retention period", purged)


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    if endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = reason
        touch(endpoint)

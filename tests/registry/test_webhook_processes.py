"""Deliveries survive a registry killed mid-flight, and workers share them without doubles."""

import time
import uuid
from collections import Counter

import httpx
import pytest
from sqlmodel import Session, col, func, select

from services.registry.models import Event, WebhookDelivery, WebhookEndpoint
from shared.access import Scope
from shared.db import make_engine
from shared.migrate import upgrade
from tests.conftest import bearer, issue_key
from tests.databases import BACKENDS, POSTGRES_URL, fresh_database
from tests.processes import Service, free_port
from tests.receiver import Receiver

pytestmark = pytest.mark.slow


def _env(url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_POLL_SECONDS": "0.1",
        **extra,
    }


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pending_deliveries_complete_after_the_registry_is_killed(backend, tmp_path):
    receiver = Receiver(status=503).start()
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        env = _env(url, WEBHOOK_RETRY_SCHEDULE=",".join(["0"] + ["0.5"] * 40))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        engine = make_engine(url)
        admin = bearer(issue_key(engine, "test admin", Scope.admin))
        engine.dispose()
        registry = Service.api(env, port)
        try:
            endpoint = httpx.post(
                f"{base}/v1/webhooks", json={"url": receiver.url}, headers=admin
            ).json()
            receiver.secret = endpoint["secret"]
            for i in range(20):
                body = {"kind": "association", "name": f"Association {i:02d}", "country": "FR"}
                response = httpx.post(
                    f"{base}/v1/actors?not_duplicate=true", json=body, headers=admin
                )
                assert response.status_code == 201
            _wait(lambda: len(receiver.received) >= 5, 30, "first failing attempts")
        finally:
            registry.kill()

        engine = make_engine(url)
        with Session(engine) as session:
            pending = session.exec(
                select(func.count()).where(WebhookDelivery.status == "pending")
            ).one()
            event_ids = {str(e.id) for e in session.exec(select(Event))}
        assert pending == 20, "nothing was delivered before the crash"

        receiver.status = 200
        receiver.received.clear()
        registry = Service.api(env, port)
        try:
            _wait(lambda: set(receiver.ids()) >= event_ids, 60, "deliveries after the restart")
        finally:
            registry.stop()
        with Session(engine) as session:
            statuses = session.exec(select(WebhookDelivery.status)).all()
        engine.dispose()
        assert Counter(statuses) == {"succeeded": 20}
    receiver.stop()


@pytest.mark.skipif(POSTGRES_URL is None, reason="several workers need PostgreSQL")
def test_two_workers_drain_1000_deliveries_without_delivering_one_twice(tmp_path):
    receiver = Receiver().start()
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            endpoint = WebhookEndpoint(
                url=receiver.url, secret="whsec_" + "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz"
            )
            session.add(endpoint)
            events = [
                Event(
                    type="actor.created",
                    resource_type="actor",
                    resource_id=uuid.uuid4(),
                    resource_version=1,
                    data={"n": n},
                )
                for n in range(1000)
            ]
            session.add_all(events)
            session.flush()
            session.add_all(
                WebhookDelivery(endpoint_id=endpoint.id, event_sequence=e.sequence) for e in events
            )
            session.commit()
            receiver.secret = endpoint.secret
        workers = [Service(_env(url, WEBHOOK_CONCURRENCY="4"), "worker") for _ in range(2)]
        try:
            _wait(lambda: len(receiver.received) >= 1000, 120, "1,000 deliveries")

            def settled() -> bool:
                with Session(engine) as session:
                    return not session.exec(
                        select(WebhookDelivery.id).where(WebhookDelivery.status == "pending")
                    ).first()

            _wait(settled, 30, "every delivery recorded")
        finally:
            for worker in workers:
                worker.stop()
        time.sleep(0.5)
        ids = receiver.ids()
        assert len(ids) == 1000, f"{len(ids) - len(set(ids))} deliveries were sent twice"
        assert len(set(ids)) == 1000
        with Session(engine) as session:
            succeeded = session.exec(
                select(func.count()).where(col(WebhookDelivery.status) == "succeeded")
            ).one()
        engine.dispose()
        assert succeeded == 1000
    receiver.stop()

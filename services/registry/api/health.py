"""/health (is the process alive), /ready (may it take traffic), /metrics (Prometheus)."""

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from services.registry.api.deps import SessionDep
from services.registry.models import WebhookDelivery
from shared.db import utcnow
from shared.errors import ServiceUnavailable, database_unreachable, problem_responses
from shared.migrate import current_revision
from shared.operations.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_SECONDS, metrics_response

router = APIRouter(tags=["operations"])


@router.get("/health")
def health(session: SessionDep) -> dict[str, str]:
    """Liveness: 200 while the process serves, whatever the database does (a process restarted
    for a database outage would not bring the database back). `database` says whether it
    answers now; `/ready` is what a load balancer should ask."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = "ok"
    except SQLAlchemyError:
        database = "unreachable"
    return {"status": "ok", "database": database, "backend": session.get_bind().dialect.name}


@router.get("/ready", responses=problem_responses(503))
def ready(request: Request, session: SessionDep) -> dict[str, Any]:
    """Readiness: 200 when the database answers and its schema is at the migrations' head;
    503 (problem+json, with the reason) otherwise — route traffic elsewhere meanwhile."""
    head = request.app.state.migrations_head
    try:
        revision = current_revision(session.connection())
    except SQLAlchemyError as error:
        raise database_unreachable(error) from error
    if revision != head:
        raise ServiceUnavailable(
            f"The database schema is at {revision or 'no revision'}, not at {head}: run "
            "`python -m services.registry migrate` (the compose file's `migrate` job).",
            reason="migrations-pending",
            retry_after=10,
            schema_revision=revision,
            expected_revision=head,
        )
    return {"status": "ready", "schema_revision": revision}


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(session: SessionDep) -> Response:
    """Prometheus metrics of this process, with the outbox backlog read from the database."""
    return metrics_response(lambda: _refresh_outbox(session))


def _refresh_outbox(session: Session) -> None:
    try:
        count, oldest = session.execute(
            select(func.count(), func.min(WebhookDelivery.created_at)).where(
                WebhookDelivery.status == "pending"
            )
        ).one()
    except SQLAlchemyError:
        return  # the scrape still answers, with the last known backlog
    OUTBOX_BACKLOG.set(count)
    OUTBOX_OLDEST_SECONDS.set((utcnow() - oldest).total_seconds() if oldest else 0)

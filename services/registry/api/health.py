"""/health: is the service up and can it reach its database?"""

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.registry.api.deps import SessionDep
from shared.errors import ServiceUnavailable, problem_responses, unavailable

router = APIRouter(tags=["health"])


@router.get("/health", responses=problem_responses(503))
def health(session: SessionDep) -> dict[str, str]:
    """Answers 200 when the service can query its database, 503 (with the reason) when not."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError as error:
        # Any failure of `SELECT 1` means the database cannot serve: a load balancer should
        # route elsewhere, whatever the cause.
        outage = unavailable(error)
        reason = outage.extensions["reason"] if outage else "database error"
        raise ServiceUnavailable(
            f"The database is unreachable ({reason}).", reason=reason, database="unreachable"
        ) from error
    return {"status": "ok", "database": session.get_bind().dialect.name}

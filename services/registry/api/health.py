"""/health: is the service up and can it reach its database?"""

from fastapi import APIRouter
from sqlalchemy import text

from services.registry.api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> dict[str, str]:
    """Answers 200 when the service can query its database."""
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ok", "database": session.get_bind().dialect.name}

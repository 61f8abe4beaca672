"""/v1/audit: which key made each write, for admins."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.registry import audit
from services.registry.api.deps import SessionDep, SettingsDep, page_size, requires
from services.registry.key_schemas import AuditEntryRead, AuditPage
from shared.access import Scope
from shared.db import BIGINT_MAX

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[requires(Scope.admin)])


@router.get("", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    settings: SettingsDep,
    after: Annotated[
        int, Query(ge=0, le=BIGINT_MAX, description="Entries after this sequence number.")
    ] = 0,
    key_id: uuid.UUID | None = None,
    resource_id: uuid.UUID | None = None,
    limit: Annotated[int | None, Query(ge=1, description="Entries per page.")] = None,
) -> AuditPage:
    """Writes oldest first; follow with `after` set to `next_after`."""
    rows = audit.list_entries(
        session,
        key_id=key_id,
        resource_id=resource_id,
        after=after,
        limit=page_size(settings, limit),
    )
    next_after = rows[-1].sequence if rows else after
    assert next_after is not None
    return AuditPage(
        items=[AuditEntryRead.model_validate(row) for row in rows], next_after=next_after
    )

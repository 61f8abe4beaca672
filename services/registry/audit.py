"""The audit trail: which key made each write. Rows are added in the write's own transaction,
so a committed change always names its author and a rolled-back one leaves no trace."""

import uuid
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from services.registry.models import AuditEntry
from shared.access import Principal
from shared.db import utcnow
from shared.driver import execute_plain

__all__ = [
    "acting",
    "created_path",
    "entry",
    "list_entries",
    "note",
    "record",
    "write_entries",
]


def acting(session: Session) -> Principal:
    """Who this unit of work acts for. Every session that writes must say so: a forgotten
    caller must fail loudly rather than act with some default authority."""
    principal = session.info.get("principal")
    if not isinstance(principal, Principal):
        raise RuntimeError("this session has no caller; set session.info['principal']")
    return principal


def record(
    session: Session, action: str, resource_type: str, resource_id: uuid.UUID | None
) -> None:
    # A row, not an ORM object: one per write, it cost more through the unit of work.
    write_entries(session, [note(session, action, resource_type, resource_id)])


def note(
    session: Session, action: str, resource_type: str, resource_id: uuid.UUID | None
) -> dict[str, Any]:
    """The columns of a write's audit entry (`entry`), noted in the session for the write's
    caller; the caller inserts them (`record`, or with the event: `outbox.record_change`)."""
    # Kept beside the rows: the session's identity map holds flushed rows only weakly.
    session.info.setdefault("audited", []).append((action, resource_type, resource_id))
    return entry(session, action, resource_type, resource_id)


def write_entries(session: Session, entries: list[dict[str, Any]]) -> None:
    """Insert audit entries (`entry`'s columns) in one statement: a write's one, or an
    import batch's."""
    if entries:
        execute_plain(session.connection(), _INSERT_ENTRY, entries)


_INSERT_ENTRY = insert(AuditEntry.__table__)  # type: ignore[attr-defined]


def entry(
    session: Session, action: str, resource_type: str, resource_id: uuid.UUID | None
) -> dict[str, Any]:
    """The columns of one audit entry, for `record` or for a bulk insert (imports)."""
    caller = acting(session)
    return {
        "at": utcnow(),
        "key_id": caller.key_id,
        "key_name": caller.name,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
    }


# Where each kind of audited resource is read, for a retried POST whose response was lost.
_PATHS = {
    "actor": "/v1/actors",
    "convention": "/v1/conventions",
    "project": "/v1/projects",
    "relationship": "/v1/relationships",
    "key": "/v1/keys",
    "webhook": "/v1/webhooks",
}


def created_path(session: Session) -> str | None:
    """The path of the first resource this unit of work created, if it created one."""
    for action, resource_type, resource_id in session.info.get("audited", []):
        if action.endswith(".created") and resource_type in _PATHS:
            return f"{_PATHS[resource_type]}/{resource_id}"
    return None


def list_entries(
    session: Session,
    *,
    key_id: uuid.UUID | None,
    resource_id: uuid.UUID | None,
    after: int,
    limit: int,
) -> list[AuditEntry]:
    """Entries after a sequence number, oldest first."""
    statement = select(AuditEntry).where(col(AuditEntry.sequence) > after)
    if key_id is not None:
        statement = statement.where(AuditEntry.key_id == key_id)
    if resource_id is not None:
        statement = statement.where(AuditEntry.resource_id == resource_id)
    return list(session.exec(statement.order_by(col(AuditEntry.sequence)).limit(limit)))

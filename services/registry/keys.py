"""API keys: issued once, kept as a digest, revocable, and resolved to a caller on each request."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import Engine, bindparam, or_, update
from sqlmodel import Session, col, select

from services.registry import audit
from services.registry.models import ApiKey
from services.registry.resources import keyset, live_actors, raise_if_invalid
from shared.access import Principal, bearer_secret
from shared.db import utcnow
from shared.driver import execute_plain
from shared.errors import FieldError, NotFound, Problem, Unauthorized

__all__ = [
    "authenticate",
    "create_key",
    "digest",
    "get_key",
    "is_valid",
    "list_keys",
    "revoke_key",
]

# Recognisable in logs and by secret scanners.
_PREFIX = "pss_"
# last_used_at is a hint for owners, not a log: write it at most this often per key.
_TOUCH_EVERY = timedelta(seconds=60)
_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
# The columns a caller is made of, from the table: read on every request that sends a key,
# where an ORM object cost more than the look-up. Built once: building the statement cost a
# third of the look-up.
_LIVE_KEY = select(
    _KEYS.c.id, _KEYS.c.name, _KEYS.c.scopes, _KEYS.c.actor_id, _KEYS.c.last_used_at
).where(_KEYS.c.revoked_at.is_(None), _KEYS.c.secret_hash == bindparam("secret_hash"))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, *, name: str, scopes: list[str], actor_id: uuid.UUID | None
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret exists only in this return value."""
    if actor_id is not None:
        errors: list[FieldError] = []
        live_actors(session, [actor_id], "actor_id", errors)
        raise_if_invalid(errors)
    secret = _PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:12],
        secret_hash=digest(secret),
        scopes=sorted(set(scopes)),
        actor_id=actor_id,
        created_by=audit.acting(session).name,
    )
    session.add(key)
    session.flush()
    audit.record(session, "key.created", "key", key.id)
    return key, secret


def get_key(session: Session, key_id: uuid.UUID) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    return key


def list_keys(
    session: Session, *, include_revoked: bool, cursor: str | None, limit: int
) -> tuple[list[ApiKey], str | None]:
    statement = select(ApiKey)
    if not include_revoked:
        statement = statement.where(col(ApiKey.revoked_at).is_(None))
    return keyset(session, statement, ApiKey, cursor, limit)


def revoke_key(session: Session, key_id: uuid.UUID) -> ApiKey:
    """Refused from the next request on; revoking twice changes nothing."""
    key = get_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(session, "key.revoked", "key", key.id)
        session.flush()
    return key


def authenticate(session: Session, authorization: str) -> Principal:
    """The caller behind an `Authorization` header, or 401. Looked up on every request, so a
    revocation takes effect at once.

    The last-use stamp goes through the request's own session: a second connection taken while
    the request holds the first is how a burst of requests used to drain the pool and stall.
    The update is conditional and skips a row another request is stamping, so of many
    concurrent first uses one writes and the others change nothing and wait for nothing.
    Whoever commits the session commits the stamp (a read-only request commits it at once:
    see `api.deps`).
    """
    secret = bearer_secret(authorization)
    found = execute_plain(session.connection(), _LIVE_KEY, {"secret_hash": digest(secret)})
    if not found:
        raise Unauthorized("This API key is unknown or revoked.")
    key = found[0]
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        stale = (
            select(ApiKey.id)
            .where(
                col(ApiKey.id) == key.id,
                or_(
                    col(ApiKey.last_used_at).is_(None),
                    col(ApiKey.last_used_at) < now - _TOUCH_EVERY,
                ),
            )
            # A write keeps the stamp's row lock until it commits; another request skips the
            # stamp rather than wait for it (PostgreSQL; SQLite has one writer at a time).
            # NO KEY UPDATE: the other writers' audit rows check their foreign key to this row
            # with a KEY SHARE lock, which a plain FOR UPDATE would block (a deadlock, since
            # they hold the feed lock the stamping request waits for).
            .with_for_update(skip_locked=True, key_share=True)
            .scalar_subquery()
        )
        session.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == stale)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        session.info["key_stamped"] = True
    return Principal(
        name=key.name, scopes=frozenset(key.scopes), key_id=key.id, actor_id=key.actor_id
    )


def is_valid(engine: Engine, authorization: str) -> bool:
    """Whether a header names a live key, in a session of its own (for middleware)."""
    with Session(engine) as session:
        try:
            authenticate(session, authorization)
        except Problem:
            return False
    return True

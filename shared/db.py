"""Engines, sessions and column types for the services' databases (SQLite or PostgreSQL)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from shared.errors import Conflict

__all__ = ["BIGINT_MAX", "UTCDateTime", "commit", "make_engine", "new_session", "utcnow"]

# The largest integer a BIGINT column (an INTEGER in SQLite) holds: the bound of any integer a
# client sends that is stored or compared in SQL, so larger ones are a 422, not an overflow.
BIGINT_MAX = 2**63 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC.

    SQLite has no timezone type and hands back naive values; without this the API would
    print the same instant differently depending on the database behind it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # SQLite leaves foreign keys off unless asked; WAL lets readers work while one writes.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; an SQLite file's folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _prepare_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def new_session(engine: Engine) -> Iterator[Session]:
    """A session for one request: whatever was not committed explicitly is rolled back.

    No autoflush: the domain checks a change against the database before writing it, and an
    automatic flush in the middle would send the unchecked change first (a foreign key error
    instead of a clear 422). Domain code flushes when it is ready.
    """
    with Session(engine, expire_on_commit=False, autoflush=False) as session:
        yield session


def commit(session: Session) -> None:
    """Commit the unit of work; a uniqueness race lost to a concurrent writer becomes a 409."""
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(
            "The change conflicts with data written at the same time; nothing was saved."
        ) from error

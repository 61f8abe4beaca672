"""The matching service's own tables (suggestion feedback), in a metadata of their own."""

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, new_id, utcnow
from shared.idempotency import idempotency_table

__all__ = ["Feedback", "idempotency_records", "metadata"]


class MatchingModel(SQLModel, registry=registry()):
    """Base of the matching tables: a metadata apart from the registry's, for its own database."""


metadata: MetaData = MatchingModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Feedback(MatchingModel, table=True):
    """What an actor said of a suggestion; the latest word on a pair counts."""

    __tablename__: ClassVar[str] = "suggestion_feedback"  # type: ignore[misc]

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    actor_id: uuid.UUID = Field(index=True)
    candidate_id: uuid.UUID = Field(index=True)
    verdict: str = Field(max_length=16)
    comment: str | None = Field(default=None, max_length=2000)
    # Which registry key gave it: the matching service's own audit of its only write.
    key_id: uuid.UUID | None = Field(default=None, index=True)
    key_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


idempotency_records = idempotency_table(metadata)

"""API shapes of webhook endpoints and their deliveries."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.db import BIGINT_MAX
from shared.events import EVENT_TYPES
from shared.text import NO_NUL

__all__ = [
    "AttemptRead",
    "DeliveryRead",
    "ReplayRequest",
    "ReplayResult",
    "SecretRotated",
    "TestResult",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookRead",
    "WebhookUpdate",
]


def _event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type {value!r}; one of {', '.join(EVENT_TYPES)}")
    return value


EventType = Annotated[str, AfterValidator(_event_type)]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL)
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=NO_NUL)
]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.org/hooks/passerelles",
                    "description": "Atlas national de la coopération décentralisée",
                    "event_types": ["actor.created", "actor.updated", "convention.created"],
                }
            ]
        }
    )

    url: Url = Field(description="https URL that receives POSTs of events.")
    description: Description | None = None
    event_types: list[EventType] = Field(
        default_factory=list, description="Event types to receive; empty means all."
    )


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"event_types": ["actor.created", "actor.updated", "actor.deleted"]}]
        }
    )

    url: Url | None = None
    description: Description | None = None
    event_types: list[EventType] | None = None
    enabled: bool | None = Field(
        default=None,
        description="`false` disables the endpoint and cancels its pending deliveries at once; "
        "`true` re-enables it (replay to catch up on what it missed).",
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown once: verify deliveries with it (Standard Webhooks).")


class SecretRotated(BaseModel):
    secret: str = Field(description="The new secret, shown once.")
    previous_secret_expires_at: datetime = Field(
        description="Until then deliveries carry signatures by both the old and the new secret."
    )


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_sequence: int
    status: str = Field(description="`pending`, `succeeded`, `failed` or `cancelled`.")
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[AttemptRead]


class TestResult(BaseModel):
    delivered: bool
    status_code: int | None
    duration_ms: int
    error: str | None


class ReplayRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"after": 0}]})

    after: int = Field(
        ge=0, le=BIGINT_MAX, description="Replay every event with a sequence above this one."
    )


class ReplayResult(BaseModel):
    deliveries: int = Field(description="How many deliveries were queued.")

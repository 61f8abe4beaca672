"""The one event envelope: what the change feed lists and what every webhook delivery carries."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ACTIONS", "EVENT_TYPES", "RESOURCE_TYPES", "EventEnvelope", "ResourceRef"]

RESOURCE_TYPES = ("actor", "convention", "project", "relationship")
ACTIONS = ("created", "updated", "deleted")
EVENT_TYPES = tuple(f"{resource}.{action}" for resource in RESOURCE_TYPES for action in ACTIONS)


class ResourceRef(BaseModel):
    type: str = Field(examples=["actor"])
    id: uuid.UUID
    version: int = Field(description="The resource's version once this change was made.")


class EventEnvelope(BaseModel):
    """One committed change of one resource."""

    id: uuid.UUID = Field(description="Unique; also the `webhook-id` of every delivery of it.")
    type: str = Field(examples=["actor.updated"])
    sequence: int = Field(description="Position in the feed; strictly increasing.")
    occurred_at: datetime
    resource: ResourceRef
    data: dict[str, Any] = Field(
        description="The whole public resource as it is after the change; for a deletion, its "
        "tombstone (with `deleted_at`). Private contact data is never included."
    )

"""The one event envelope: what the change feed lists and what every webhook delivery carries.

`Event` is the typed form of the feed's events: a union discriminated on `type`, whose `data`
is the record of `shared.records` for that resource, and for a deletion its tombstone (the
record with `deleted_at`).
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from shared.records import (
    ActorRecord,
    ConventionRecord,
    ProjectRecord,
    Record,
    RelationshipRecord,
)

__all__ = [
    "ACTIONS",
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "RESOURCE_TYPES",
    "ActorDeleted",
    "ActorEvent",
    "ConventionDeleted",
    "ConventionEvent",
    "Event",
    "EventEnvelope",
    "ProjectDeleted",
    "ProjectEvent",
    "RelationshipDeleted",
    "RelationshipEvent",
    "ResourceRef",
    "parse_event",
]

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
    request_id: str | None = Field(
        default=None,
        description="The `X-Request-ID` of the request that made the change, to follow it "
        "in the logs of the registry, the matching service and webhook receivers.",
    )


class _Typed(BaseModel):
    # Narrowed by every subclass; declared here so the check below reads them typed.
    type: str
    data: Record
    id: uuid.UUID
    sequence: int = Field(ge=1)
    occurred_at: datetime
    resource: ResourceRef
    request_id: str | None = None

    @model_validator(mode="after")
    def _refers_to_its_data(self) -> Self:
        data = self.data
        kind = self.type.split(".")[0]
        if (self.resource.type, self.resource.id, self.resource.version) != (
            kind,
            data.id,
            data.version,
        ):
            raise ValueError(
                f"resource {self.resource.type} {self.resource.id} v{self.resource.version} "
                f"does not match the {kind} {data.id} v{data.version} in data"
            )
        deleted = self.type.endswith(".deleted")
        if deleted != (data.deleted_at is not None):
            raise ValueError("data.deleted_at is set on a deletion, and only on one")
        return self


class ActorTombstone(ActorRecord):
    deleted_at: datetime


class ConventionTombstone(ConventionRecord):
    deleted_at: datetime


class ProjectTombstone(ProjectRecord):
    deleted_at: datetime


class RelationshipTombstone(RelationshipRecord):
    deleted_at: datetime


class ActorEvent(_Typed):
    type: Literal["actor.created", "actor.updated"]
    data: ActorRecord


class ActorDeleted(_Typed):
    type: Literal["actor.deleted"]
    data: ActorTombstone


class ConventionEvent(_Typed):
    type: Literal["convention.created", "convention.updated"]
    data: ConventionRecord


class ConventionDeleted(_Typed):
    type: Literal["convention.deleted"]
    data: ConventionTombstone


class ProjectEvent(_Typed):
    type: Literal["project.created", "project.updated"]
    data: ProjectRecord


class ProjectDeleted(_Typed):
    type: Literal["project.deleted"]
    data: ProjectTombstone


class RelationshipEvent(_Typed):
    type: Literal["relationship.created", "relationship.updated"]
    data: RelationshipRecord


class RelationshipDeleted(_Typed):
    type: Literal["relationship.deleted"]
    data: RelationshipTombstone


Event = Annotated[
    ActorEvent
    | ActorDeleted
    | ConventionEvent
    | ConventionDeleted
    | ProjectEvent
    | ProjectDeleted
    | RelationshipEvent
    | RelationshipDeleted,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: Any) -> Event:
    """The typed event of a feed item (a dict from JSON); raises pydantic.ValidationError."""
    return EVENT_ADAPTER.validate_python(raw)

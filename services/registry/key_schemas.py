"""API shapes of keys and of the audit trail."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.registry import examples
from shared.access import Scope
from shared.text import NO_NUL, VISIBLE

__all__ = ["AuditEntryRead", "AuditPage", "KeyCreate", "KeyCreated", "KeyRead"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ville de Montreuil, service des relations internationales",
                    "scopes": ["registry:write"],
                    "actor_id": examples.MONTREUIL,
                }
            ]
        }
    )

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL),
        VISIBLE,
    ] = Field(examples=["Plateforme Kayes–Montreuil"])
    scopes: list[Scope] = Field(min_length=1, examples=[["registry:write"]])
    actor_id: uuid.UUID | None = Field(
        default=None,
        description="Bind the key to an actor: it may then change only that actor and the "
        "conventions, projects and relationships the actor is party to.",
    )


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    scopes: list[Scope]
    actor_id: uuid.UUID | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    secret: str = Field(description="The key itself, **shown this once**; only a digest is kept.")


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sequence: int
    at: datetime
    key_id: uuid.UUID | None = Field(description="Null for command-line work.")
    key_name: str
    action: str = Field(examples=["convention.created"])
    resource_type: str
    resource_id: uuid.UUID | None


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    next_after: int = Field(description="Ask next with `after` set to this.")

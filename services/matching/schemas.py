"""API shapes of the matching service."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActorSummary",
    "FeedbackCreate",
    "FeedbackRead",
    "ReasonRead",
    "SuggestionList",
    "SuggestionRead",
]


class ActorSummary(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    level: str | None
    country: str


class ReasonRead(BaseModel):
    code: str = Field(
        description="shared_themes, structural_proximity, migrant_bridge, complementarity, "
        "affinity or crowding (a penalty)."
    )
    contribution: float = Field(description="What this reason adds to (or takes from) the score.")
    text: str
    details: dict[str, Any] = Field(default_factory=dict)


class SuggestionRead(BaseModel):
    actor: ActorSummary
    score: float = Field(ge=0, le=1)
    reasons: list[ReasonRead]


class SuggestionList(BaseModel):
    actor: ActorSummary
    items: list[SuggestionRead]
    graph_sequence: int = Field(description="The registry event the graph is up to date with.")


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"verdict": "dismissed", "comment": "Déjà rencontrés."}]}
    )

    verdict: Literal["accepted", "dismissed"]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    actor_id: uuid.UUID
    candidate_id: uuid.UUID
    verdict: str
    comment: str | None
    created_at: datetime

"""API shapes of the matching service."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.text import NO_NUL

__all__ = [
    "ActorSummary",
    "FeedbackCreate",
    "FeedbackRead",
    "ReasonRead",
    "SuggestionList",
    "SuggestionRead",
]


class ActorSummary(BaseModel):
    id: uuid.UUID | None = Field(
        description="Null only for a target known at country level (`kind` is `country`)."
    )
    name: str
    kind: str
    level: str | None
    country: str


class ReasonRead(BaseModel):
    code: str = Field(
        description="structural_proximity, country_pair, popularity, distance, "
        "complementarity, shared_themes, migrant_bridge, same_network or crowding."
    )
    contribution: float = Field(
        description="What this reason adds to (or, negative, takes from) the log-odds of the "
        "score: score = 1 / (1 + e^-(model intercept + the sum of the contributions))."
    )
    text: str
    details: dict[str, Any] = Field(default_factory=dict)


class SuggestionRead(BaseModel):
    actor: ActorSummary
    score: float = Field(ge=0, le=1, description="The model's probability of a tie.")
    reasons: list[ReasonRead]


class ModelSummary(BaseModel):
    version: str
    kind: Literal["learned", "prior"]
    intercept: float = Field(description="The log-odds of an average candidate.")


class SuggestionList(BaseModel):
    actor: ActorSummary
    items: list[SuggestionRead]
    graph_sequence: int = Field(description="The registry event the graph is up to date with.")
    model: ModelSummary = Field(description="The ranking model that ordered these suggestions.")


class ModelRead(BaseModel):
    """The ranking model serving suggestions: what it learned from and how it did."""

    version: str
    kind: Literal["learned", "prior"] = Field(
        description="`learned` from the graph's own ties, or the documented `prior` model for "
        "a graph too small to learn from."
    )
    trained_at: str | None
    training: dict[str, Any] = Field(
        description="The cooperation pairs, hidden pairs, sources and candidates it learned from."
    )
    validation: dict[str, Any] = Field(
        description="Recall@10 and MRR on held-out actors, with Adamic–Adar's on the same split."
    )
    coefficients: dict[str, float] = Field(description="Per feature, on standardised values.")
    training_in_progress: bool
    trainings: int
    last_training_error: str | None


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"verdict": "dismissed", "comment": "Déjà rencontrés."}]}
    )

    verdict: Literal["accepted", "dismissed"]
    comment: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    actor_id: uuid.UUID
    candidate_id: uuid.UUID
    verdict: str
    comment: str | None
    created_at: datetime
    key_name: str | None = Field(description="The registry key that gave it.")


class EngagementTie(BaseModel):
    source_type: str = Field(description="`convention` or `project`.")
    source_id: uuid.UUID
    themes: list[str]
    starts_on: date | None
    ends_on: date | None
    active: bool


class EngagedActor(BaseModel):
    actor: ActorSummary
    home_territory: str = Field(description="Its French département (FR-59…) or its own id.")
    ties: list[EngagementTie]


class UncoordinatedPair(BaseModel):
    a: uuid.UUID
    b: uuid.UUID
    weight: float = Field(description="theme_overlap × period_overlap × activity.")
    theme_overlap: float
    period_overlap: float
    activity: float = Field(description="1 both active, 0.5 one ended, 0.25 both ended.")


class HotspotRead(BaseModel):
    target: ActorSummary
    theme: str
    competition_index: float
    actors: list[EngagedActor]
    uncoordinated_pairs: list[UncoordinatedPair]


class HotspotList(BaseModel):
    items: list[HotspotRead]
    graph_sequence: int


class HotspotSummary(BaseModel):
    target: ActorSummary
    theme: str
    competition_index: float
    actors: int


class CoordinationMetrics(BaseModel):
    total_competition_index: float
    hotspots: int
    top: list[HotspotSummary]
    graph_sequence: int


class FederationRead(BaseModel):
    id: uuid.UUID = Field(description="Stable while the graph does not change.")
    target: ActorSummary
    themes: list[str]
    members: list[ActorSummary] = Field(description="The overlapping actors to bring together.")
    migrant_organisations: list[ActorSummary] = Field(
        description="Based in a member territory and originating from the target or its region."
    )
    associations: list[ActorSummary] = Field(
        description="Other organisations of member territories already active in the target."
    )
    coordinator: ActorSummary
    coordinator_reason: str
    competition_index_before: float
    competition_index_after: float = Field(
        description="Recomputed on a copy of the graph where the proposal's ties exist."
    )
    reduction: float
    left_out: list[ActorSummary] = Field(
        description="Actors not pooled because one of them dismissed another member."
    )
    explanation: str


class FederationList(BaseModel):
    items: list[FederationRead]
    graph_sequence: int


class Adoption(BaseModel):
    proposal: FederationRead
    project: dict[str, Any] = Field(description="The draft project created in the registry.")

"""The query filters of the listings, as dependencies: a listing and the export of the same
resource take exactly the same parameters, parsed in one place."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from services.registry.actors import ActorFilters
from services.registry.funded import FundedFilters
from services.registry.vocabulary import (
    ActorKind,
    ConventionKind,
    CountryCode,
    Level,
    RelationshipKind,
    Status,
    ThemeCode,
)
from shared.errors import InvalidInput

__all__ = [
    "ActorQuery",
    "ConventionFilters",
    "ConventionQuery",
    "FundedQuery",
    "ProjectFilters",
    "ProjectQuery",
    "RelationshipFilters",
    "RelationshipQuery",
]


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    reason = "west,south,east,north in decimal degrees, e.g. -5.2,41.3,9.6,51.1"
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError as error:
        raise InvalidInput.on("bbox", reason, location="query") from error
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidInput.on("bbox", reason, location="query")
    return west, south, east, north


async def _actor_filters(
    kind: Annotated[list[ActorKind], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    level: Annotated[list[Level], Query()] = [],  # noqa: B006
    country: Annotated[list[CountryCode], Query()] = [],  # noqa: B006
    intervention_country: Annotated[
        list[CountryCode], Query(description="Works in this country (ISO alpha-2).")
    ] = [],  # noqa: B006
    theme: Annotated[list[ThemeCode], Query(description="Has any of these themes.")] = [],  # noqa: B006
    based_in_id: uuid.UUID | None = None,
    origin_id: Annotated[
        uuid.UUID | None,
        Query(description="Migrant organisations originating from this territory."),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words of the name, any case or accents.")
    ] = None,
    bbox: Annotated[
        str | None, Query(description="west,south,east,north: actors located inside this box.")
    ] = None,
) -> ActorFilters:
    return ActorFilters(
        kind=kind,
        level=level,
        country=country,
        intervention_country=intervention_country,
        theme=theme,
        based_in_id=based_in_id,
        origin_id=origin_id,
        q=q,
        bbox=_bbox(bbox),
    )


async def _funded_filters(
    status: Annotated[list[Status], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    theme: Annotated[list[ThemeCode], Query(description="Has any of these themes.")] = [],  # noqa: B006
    target_id: Annotated[
        uuid.UUID | None, Query(description="Action in this local authority.")
    ] = None,
    target_country: Annotated[
        list[CountryCode], Query(description="Action in this country (ISO alpha-2).")
    ] = [],  # noqa: B006
    actor: Annotated[
        list[uuid.UUID],
        Query(description="Actors taking part; several mean all of them together."),
    ] = [],  # noqa: B006
) -> FundedFilters:
    return FundedFilters(
        status=status,
        theme=theme,
        target_id=target_id,
        target_country=target_country,
        actor_ids=actor,
    )


ActorQuery = Annotated[ActorFilters, Depends(_actor_filters)]
FundedQuery = Annotated[FundedFilters, Depends(_funded_filters)]


@dataclass(frozen=True)
class ConventionFilters:
    funded: FundedFilters
    kinds: list[ConventionKind]


async def _convention_filters(
    funded: FundedQuery,
    kind: Annotated[list[ConventionKind], Query()] = [],  # noqa: B006 - FastAPI copies defaults
) -> ConventionFilters:
    return ConventionFilters(funded=funded, kinds=kind)


@dataclass(frozen=True)
class ProjectFilters:
    funded: FundedFilters
    convention_id: uuid.UUID | None
    lead_id: uuid.UUID | None


async def _project_filters(
    funded: FundedQuery,
    convention_id: Annotated[uuid.UUID | None, Query(description="Under this convention.")] = None,
    lead_id: Annotated[uuid.UUID | None, Query(description="Led by this actor.")] = None,
) -> ProjectFilters:
    return ProjectFilters(funded=funded, convention_id=convention_id, lead_id=lead_id)


@dataclass(frozen=True)
class RelationshipFilters:
    kinds: list[RelationshipKind]
    subject_id: uuid.UUID | None
    object_id: uuid.UUID | None
    actor_id: uuid.UUID | None


async def _relationship_filters(
    kind: Annotated[list[RelationshipKind], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    subject_id: uuid.UUID | None = None,
    object_id: uuid.UUID | None = None,
    actor: Annotated[uuid.UUID | None, Query(description="On either side of the tie.")] = None,
) -> RelationshipFilters:
    return RelationshipFilters(
        kinds=kind, subject_id=subject_id, object_id=object_id, actor_id=actor
    )


ConventionQuery = Annotated[ConventionFilters, Depends(_convention_filters)]
ProjectQuery = Annotated[ProjectFilters, Depends(_project_filters)]
RelationshipQuery = Annotated[RelationshipFilters, Depends(_relationship_filters)]

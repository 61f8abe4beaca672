"""/v1/overlaps and /v1/metrics/coordination: where territories work side by side unaware."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.matching import overlaps
from services.matching.api.deps import HolderDep
from services.matching.api.present import actor_summary, hotspot_read, known_actor
from services.matching.schemas import (
    CoordinationMetrics,
    HotspotList,
    HotspotSummary,
)
from shared.errors import problem_responses
from shared.vocabulary import CountryCode, ThemeCode

router = APIRouter(tags=["overlaps"])

Country = Annotated[CountryCode | None, Query(description="ISO alpha-2.")]
Theme = Annotated[ThemeCode | None, Query(description="A theme of GET /v1/themes (registry).")]


@router.get("/v1/overlaps", response_model=HotspotList, responses=problem_responses(404, 422, 503))
def list_overlaps(
    holder: HolderDep,
    country: Country = None,
    target: Annotated[uuid.UUID | None, Query(description="Target local authority.")] = None,
    theme: Theme = None,
    min_actors: Annotated[int, Query(ge=2, le=100)] = 2,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HotspotList:
    """Hotspots: a target and a theme on which actors of different home territories are active
    without coordinating, with their ties, the uncoordinated pairs and the competition index."""
    with holder.lock:
        graph = holder.graph
        target_key = known_actor(graph, target) if target else None
        spots = overlaps.hotspots(
            graph,
            country=country,
            target=target_key,
            theme=theme,
            min_actors=min_actors,
        )
        return HotspotList(
            items=[hotspot_read(graph, spot) for spot in spots[:limit]],
            graph_sequence=holder.applied,
        )


@router.get(
    "/v1/metrics/coordination",
    response_model=CoordinationMetrics,
    responses=problem_responses(503),
)
def coordination_metrics(holder: HolderDep, country: Country = None) -> CoordinationMetrics:
    """The registry-wide competition index, the number of hotspots and the top ten, so a
    national or regional body can follow coordination over time."""
    with holder.lock:
        graph = holder.graph
        spots = overlaps.hotspots(graph, country=country)
        return CoordinationMetrics(
            total_competition_index=round(sum(spot.index for spot in spots), 4),
            hotspots=len(spots),
            top=[
                HotspotSummary(
                    target=actor_summary(graph, spot.target),
                    theme=spot.theme,
                    competition_index=spot.index,
                    actors=len(spot.engagements),
                )
                for spot in spots[:10]
            ],
            graph_sequence=holder.applied,
        )

"""/v1/overlaps and /v1/metrics/coordination: where territories work side by side unaware."""

import uuid
from itertools import islice
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.matching.api.deps import HolderDep
from services.matching.api.present import known_actor
from services.matching.schemas import CoordinationMetrics, HotspotList
from shared.errors import problem_responses
from shared.vocabulary import CountryCode, ThemeCode

router = APIRouter(tags=["overlaps"])

Country = Annotated[CountryCode | None, Query(description="ISO alpha-2.")]
Theme = Annotated[ThemeCode | None, Query(description="A theme of GET /v1/themes (registry).")]


def json_list(items: list[bytes], graph_sequence: int) -> Response:
    """A list of items already serialised by the read model, as `HotspotList` or
    `FederationList` (the same JSON as the model would give, without making it again)."""
    body = b'{"items":[%s],"graph_sequence":%d}' % (b",".join(items), graph_sequence)
    return Response(body, media_type="application/json")


@router.get("/v1/overlaps", response_model=HotspotList, responses=problem_responses(404, 422, 503))
def list_overlaps(
    holder: HolderDep,
    country: Country = None,
    target: Annotated[uuid.UUID | None, Query(description="Target local authority.")] = None,
    theme: Theme = None,
    min_actors: Annotated[int, Query(ge=2, le=100)] = 2,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Hotspots: a target and a theme on which actors of different home territories are active
    without coordinating, with their ties, the uncoordinated pairs and the competition index."""
    # From the read model, without the graph's lock (an actor look-up needs none either).
    overlaps = holder.overlaps
    target_key = known_actor(holder.graph, target) if target else None
    spots = overlaps.hotspots(
        country=country, target=target_key, theme=theme, min_actors=min_actors
    )
    return json_list([spot.read_json() for spot in islice(spots, limit)], overlaps.sequence)


@router.get(
    "/v1/metrics/coordination",
    response_model=CoordinationMetrics,
    responses=problem_responses(503),
)
def coordination_metrics(holder: HolderDep, country: Country = None) -> CoordinationMetrics:
    """The registry-wide competition index, the number of hotspots and the top ten, so a
    national or regional body can follow coordination over time."""
    overlaps = holder.overlaps
    total, count, top = overlaps.metrics(country)
    return CoordinationMetrics(
        total_competition_index=total,
        hotspots=count,
        top=[spot.summary() for spot in top],
        graph_sequence=overlaps.sequence,
    )

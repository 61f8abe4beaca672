"""/health (is the process alive), /ready (may it take traffic), /metrics (Prometheus)."""

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from services.matching.follower import GraphHolder
from shared.errors import ServiceUnavailable, problem_responses
from shared.operations.metrics import (
    FEED_LAG,
    FEED_SECONDS_SINCE_CONTACT,
    GRAPH_EDGES,
    GRAPH_NODES,
    metrics_response,
)

router = APIRouter(tags=["operations"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness: always 200 while the process serves. `status` is `degraded` while the
    registry does not answer (then `lag` is null: nobody can know it;
    `seconds_since_registry_contact` says for how long) or before the first snapshot;
    `skipped_events` counts events that could not be read or applied, with the last one's
    sequence and reason. `/ready` is what a load balancer should ask."""
    return request.app.state.holder.status()


@router.get("/ready", responses=problem_responses(503))
def ready(request: Request) -> dict[str, Any]:
    """Readiness: 200 once the graph is loaded and was in step with the registry's feed less
    than `MATCHING_READY_MAX_LAG` seconds ago; 503 (problem+json, with the reason) before the
    first load, and when the registry has been unreachable, or the graph behind, for longer."""
    holder: GraphHolder = request.app.state.holder
    max_lag = request.app.state.settings.ready_max_lag
    status = holder.status()
    if not status["loaded"]:
        raise ServiceUnavailable(
            "The graph is being loaded from the registry.", reason="graph-loading", retry_after=5
        )
    behind = time.time() - (holder.in_step_at or 0)
    if behind > max_lag:
        reason = "registry-unreachable" if not status["registry_reachable"] else "graph-behind"
        detail = (
            f"The registry has not answered for {behind:.0f} s"
            if reason == "registry-unreachable"
            else f"The graph has been {status['lag']} events behind the registry for {behind:.0f} s"
        )
        raise ServiceUnavailable(
            f"{detail} (MATCHING_READY_MAX_LAG is {max_lag:g} s).",
            reason=reason,
            seconds_behind=round(behind, 1),
            lag=status["lag"],
        )
    return {"status": "ready", "lag": status["lag"], "seconds_behind": round(behind, 1)}


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics of this process: requests, the feed, the graph, computation times."""
    holder: GraphHolder = request.app.state.holder

    def refresh() -> None:
        status = holder.status()
        FEED_LAG.set(-1 if status["lag"] is None else status["lag"])
        since = status["seconds_since_registry_contact"]
        FEED_SECONDS_SINCE_CONTACT.set(-1 if since is None else since)
        GRAPH_NODES.set(status["nodes"])
        GRAPH_EDGES.set(status["edges"])

    return metrics_response(refresh)

"""/v1/graph: the cooperation graph for visualisations (JSON) and Gephi or Cytoscape (GraphML)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from services.matching import export
from services.matching.api.deps import HolderDep
from shared.errors import InvalidInput, NotFound, problem_responses

router = APIRouter(prefix="/v1/graph", tags=["graph"])

_MAX_NODES = 20_000


@router.get(
    "",
    responses={
        **problem_responses(404, 422, 503),
        200: {"content": {"application/json": {}, "application/graphml+xml": {}}},
    },
)
def read_graph(
    holder: HolderDep,
    center: Annotated[uuid.UUID | None, Query(description="Actor at the centre.")] = None,
    depth: Annotated[int, Query(ge=0, le=4, description="Ties away from the centre.")] = 1,
    format: Annotated[Literal["json", "graphml"], Query()] = "json",
) -> Any:
    """Nodes (actors) and edges (ties, with their types, themes and periods)."""
    with holder.lock:
        if center is not None and not holder.graph.has_actor(str(center)):
            raise NotFound(f"No actor {center} in the graph.")
        sub = export.neighbourhood(holder.graph, str(center) if center else None, depth)
        if sub.number_of_nodes() > _MAX_NODES:
            raise InvalidInput.on(
                "center",
                f"the graph has {sub.number_of_nodes()} actors; export a neighbourhood",
                location="query",
            )
        if format == "graphml":
            return Response(export.to_graphml(sub), media_type="application/graphml+xml")
        return export.to_json(sub)

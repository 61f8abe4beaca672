"""/v1/graph: the cooperation graph for visualisations (JSON, Cytoscape.js, graphology and
Sigma.js) and for graph tools (GraphML: Gephi, Cytoscape desktop, networkx).

Every format is streamed, the whole graph included: the graph is copied a slice at a time
under its lock and the document written from the copy, outside the lock (`export.snapshot`),
so an export never holds up the feed or suggestions for more than a slice."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from services.matching import export
from services.matching.api.deps import HolderDep
from shared.errors import NotFound, problem_responses

router = APIRouter(prefix="/v1/graph", tags=["graph"])

GRAPHML = "application/graphml+xml"

_FORMAT_DESCRIPTION = (
    "`json`: this service's own shape (`nodes`, `edges`). `cytoscape`: Cytoscape.js elements "
    "JSON (`elements: {nodes, edges}`, a geographic `position` on every node). `sigma`: "
    "graphology's serialisation (`attributes`, `options`, `nodes`, `edges`) for `graph.import` "
    "and Sigma.js, with `label`, `x` (longitude), `y` (latitude) and `size` on every node. "
    f"`graphml`: GraphML ({GRAPHML}). Every format is streamed; the whole graph shows each "
    "actor and tie as it was at one moment of the copy (see docs/matching.md)."
)


@router.get(
    "",
    # The three JSON shapes, told apart by their keys; none is checked at run time (the graph
    # can be large), tests and the schema fuzzing check them.
    response_model=export.GraphJson | export.CytoscapeGraph | export.GraphologyGraph,
    responses={
        **problem_responses(404, 422, 503),
        200: {
            "description": "The graph, or the neighbourhood of `center`, in `format`.",
            "content": {GRAPHML: {"schema": {"type": "string"}}},
        },
    },
)
def read_graph(
    holder: HolderDep,
    center: Annotated[uuid.UUID | None, Query(description="Actor at the centre.")] = None,
    depth: Annotated[int, Query(ge=0, le=4, description="Ties away from the centre.")] = 1,
    format: Annotated[
        Literal["json", "cytoscape", "sigma", "graphml"], Query(description=_FORMAT_DESCRIPTION)
    ] = "json",
) -> Response:
    """Nodes (actors) and edges (ties, with their types, themes and periods)."""
    with holder.lock:
        if center is not None and not holder.graph.has_actor(str(center)):
            raise NotFound(f"No actor {center} in the graph.")
        graph = holder.graph
    sub = export.snapshot(graph, str(center) if center else None, depth, holder.lock)
    media_type = GRAPHML if format == "graphml" else "application/json"
    return StreamingResponse(export.stream(sub, format), media_type=media_type)

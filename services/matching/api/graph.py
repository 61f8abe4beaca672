"""/v1/graph: the cooperation graph for visualisations (JSON, Cytoscape.js, graphology and
Sigma.js) and for graph tools (GraphML: Gephi, Cytoscape desktop, networkx)."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from services.matching import export
from services.matching.api.deps import HolderDep
from shared.errors import InvalidInput, NotFound, problem_responses

router = APIRouter(prefix="/v1/graph", tags=["graph"])

_MAX_NODES = 20_000
GRAPHML = "application/graphml+xml"

_JSON_FORMATS: dict[str, Callable[[Any], Any]] = {
    "json": export.to_json,
    "cytoscape": export.to_cytoscape,
    "sigma": export.to_sigma,
}

_FORMAT_DESCRIPTION = (
    "`json`: this service's own shape (`nodes`, `edges`). `cytoscape`: Cytoscape.js elements "
    "JSON (`elements: {nodes, edges}`, a geographic `position` on every node). `sigma`: "
    "graphology's serialisation (`attributes`, `options`, `nodes`, `edges`) for `graph.import` "
    "and Sigma.js, with `label`, `x` (longitude), `y` (latitude) and `size` on every node. "
    f"`graphml`: GraphML ({GRAPHML})."
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
        sub = export.neighbourhood(holder.graph, str(center) if center else None, depth)
        if sub.number_of_nodes() > _MAX_NODES:
            raise InvalidInput.on(
                "center",
                f"the graph has {sub.number_of_nodes()} actors; export a neighbourhood",
                location="query",
            )
        if format == "graphml":
            return Response(export.to_graphml(sub), media_type=GRAPHML)
        return JSONResponse(_JSON_FORMATS[format](sub))

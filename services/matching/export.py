"""The graph, or a neighbourhood of it, for front ends and graph tools.

Pure: no I/O. One description of an actor (`node_attributes`), one of the ties between two actors
(`edge_attributes`) and one layout (`positions`) are written out in four formats:

- ``json``, the project's own shape: ``{"nodes": [...], "edges": [...]}``;
- ``cytoscape``, the elements JSON of Cytoscape.js: ``{"data", "elements": {"nodes", "edges"}}``,
  attributes under each element's ``data`` and a model ``position`` on every node (the ``preset``
  layout shows them as a map; any other layout ignores them);
- ``sigma``, graphology's serialisation, which ``graph.import`` reads and Sigma.js renders: an
  undirected simple graph whose nodes carry ``label``, ``x``, ``y`` and ``size``;
- ``graphml``, for Gephi, Cytoscape desktop or networkx: plain attributes only, lists become
  ``;``-separated strings.

Positions are geographic: x is the longitude and y the latitude, in degrees (Cytoscape.js counts y
downwards, so its positions are scaled and y negated: north stays up). An actor without coordinates
(a country node, an association without an address) is placed beside the actors it is tied to.
"""

import io
import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import networkx as nx

# Pydantic reads TypedDicts (the response schemas) from typing_extensions before Python 3.12.
from typing_extensions import TypedDict

from services.matching.graph import COUNTRY_PREFIX, CooperationGraph

__all__ = [
    "CytoscapeGraph",
    "GraphJson",
    "GraphologyGraph",
    "edge_attributes",
    "neighbourhood",
    "node_attributes",
    "positions",
    "to_cytoscape",
    "to_graphml",
    "to_json",
    "to_sigma",
]

# --- shapes (also the response schemas of GET /v1/graph) ------------------------------------------

GraphTie = TypedDict(
    "GraphTie",
    {
        "type": str,
        "source": str,
        "themes": list[str],
        "starts_on": str | None,
        "ends_on": str | None,
        "active": bool,
        # The actor a directed tie (member_of, based_in…) goes from.
        "from": str | None,
    },
)


class NodeAttributes(TypedDict):
    name: str
    kind: str
    level: str | None
    country: str
    latitude: float | None
    longitude: float | None
    population: int | None
    themes: list[str]


class EdgeAttributes(TypedDict):
    types: list[str]
    ties: list[GraphTie]
    weight: int


class GraphAttributes(TypedDict):
    name: str


class JsonNode(NodeAttributes):
    id: str


class JsonEdge(EdgeAttributes):
    source: str
    target: str


class GraphJson(TypedDict):
    nodes: list[JsonNode]
    edges: list[JsonEdge]


class CytoscapeNodeData(NodeAttributes):
    id: str
    label: str


class CytoscapePosition(TypedDict):
    x: float
    y: float


class CytoscapeNode(TypedDict):
    data: CytoscapeNodeData
    position: CytoscapePosition


class CytoscapeEdgeData(EdgeAttributes):
    id: str
    source: str
    target: str


class CytoscapeEdge(TypedDict):
    data: CytoscapeEdgeData


class CytoscapeElements(TypedDict):
    nodes: list[CytoscapeNode]
    edges: list[CytoscapeEdge]


class CytoscapeGraph(TypedDict):
    data: GraphAttributes
    elements: CytoscapeElements


class SigmaNodeAttributes(NodeAttributes):
    label: str
    x: float
    y: float
    size: float


class SigmaEdgeAttributes(EdgeAttributes):
    size: float


class GraphologyNode(TypedDict):
    key: str
    attributes: SigmaNodeAttributes


class GraphologyEdge(TypedDict):
    key: str
    source: str
    target: str
    undirected: bool
    attributes: SigmaEdgeAttributes


class GraphologyOptions(TypedDict):
    type: Literal["undirected"]
    multi: bool
    allowSelfLoops: bool


class GraphologyGraph(TypedDict):
    attributes: GraphAttributes
    options: GraphologyOptions
    nodes: list[GraphologyNode]
    edges: list[GraphologyEdge]


# --- one description of nodes, edges and their places ------------------------------------------

_GRAPH = GraphAttributes(name="Passerelles cooperation graph")
# Cytoscape.js model pixels per degree: towns a few tens of kilometres apart stay apart at its
# default node size (30 px).
_PIXELS_PER_DEGREE = 100.0
# How far (in degrees) an actor without coordinates sits from the point it is placed at.
_OFFSET_DEGREES = 0.25


def neighbourhood(graph: CooperationGraph, center: str | None, depth: int) -> nx.Graph:
    """The whole graph, or the actors within `depth` ties of `center`, with their ties."""
    if center is None:
        return graph.g
    return nx.ego_graph(graph.g, center, radius=depth)


def node_attributes(attrs: dict[str, Any]) -> NodeAttributes:
    """What every format says of an actor (or a country node)."""
    return NodeAttributes(
        name=attrs["name"],
        kind=attrs["kind"],
        level=attrs.get("level"),
        country=attrs["country"],
        latitude=attrs.get("latitude"),
        longitude=attrs.get("longitude"),
        population=attrs.get("population"),
        themes=sorted(attrs["themes"]),
    )


def edge_attributes(data: dict[str, Any]) -> EdgeAttributes:
    """What every format says of the ties between two actors: their types and each tie."""
    ties = [
        GraphTie(
            {
                "type": tie.type,
                "source": tie.source,
                "themes": sorted(tie.themes),
                "starts_on": tie.starts_on.isoformat() if tie.starts_on else None,
                "ends_on": tie.ends_on.isoformat() if tie.ends_on else None,
                "active": tie.active,
                "from": tie.origin,
            }
        )
        for tie in data["ties"].values()
    ]
    return EdgeAttributes(types=sorted({tie["type"] for tie in ties}), ties=ties, weight=len(ties))


def positions(sub: nx.Graph) -> dict[str, tuple[float, float]]:
    """(longitude, latitude) of every node, in degrees, the same for the same graph.

    An actor with coordinates is at them. A country node is beside the actors of that country
    that have some. Any other node is beside the mean of its placed neighbours, ring after ring
    out from the placed ones; what no placed node reaches goes on a circle around them.
    """
    placed = {
        node: (attrs["longitude"], attrs["latitude"])
        for node, attrs in sub.nodes(data=True)
        if attrs.get("longitude") is not None and attrs.get("latitude") is not None
    }
    by_country: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for node, point in placed.items():
        by_country[sub.nodes[node]["country"]].append(point)
    for node, attrs in sub.nodes(data=True):
        if node.startswith(COUNTRY_PREFIX) and by_country.get(attrs["country"]):
            placed[node] = _beside(_mean(by_country[attrs["country"]]), node)

    ring = list(placed)
    while ring:
        # Each ring is placed from the rings before it only, so the order within it is irrelevant.
        reached = {other for node in ring for other in sub.adj[node] if other not in placed}
        ring = sorted(reached)
        placed |= {
            node: _beside(_mean(placed[o] for o in sub.adj[node] if o in placed), node)
            for node in ring
        }

    unreached = sorted(set(sub) - placed.keys())
    if unreached:
        placed |= _circle(unreached, list(placed.values()))
    return placed


def _mean(points: Iterable[tuple[float, float]]) -> tuple[float, float]:
    xs, ys = zip(*points, strict=True)
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _beside(point: tuple[float, float], node: str) -> tuple[float, float]:
    """A point near `point`, in a direction that depends on the node only (not on `hash`)."""
    angle = 2 * math.pi * zlib.crc32(node.encode()) / 2**32
    return (
        point[0] + _OFFSET_DEGREES * math.cos(angle),
        point[1] + _OFFSET_DEGREES * math.sin(angle),
    )


def _circle(nodes: list[str], around: list[tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Nodes on a circle about a degree apart, enclosing the `around` points (if any)."""
    center = _mean(around) if around else (0.0, 0.0)
    enclosing = max((math.dist(center, point) + 5 for point in around), default=0.0)
    radius = max(enclosing, len(nodes) / (2 * math.pi), 1.0)
    step = 2 * math.pi / len(nodes)
    return {
        node: (
            center[0] + radius * math.cos(i * step),
            center[1] + radius * math.sin(i * step),
        )
        for i, node in enumerate(nodes)
    }


def _edge_key(source: str, target: str) -> str:
    return f"{source}--{target}"


def _placed_nodes(sub: nx.Graph) -> Iterator[tuple[str, NodeAttributes, tuple[float, float]]]:
    """Every node, what all formats say of it, and its (longitude, latitude)."""
    places = positions(sub)
    for node, attrs in sub.nodes(data=True):
        yield node, node_attributes(attrs), places[node]


def _described_edges(sub: nx.Graph) -> Iterator[tuple[str, str, EdgeAttributes]]:
    for a, b, data in sub.edges(data=True):
        yield a, b, edge_attributes(data)


# --- the four formats ----------------------------------------------------------------------------


def to_json(sub: nx.Graph) -> GraphJson:
    return GraphJson(
        nodes=[JsonNode(id=node, **node_attributes(attrs)) for node, attrs in sub.nodes(data=True)],
        edges=[
            JsonEdge(source=a, target=b, **described) for a, b, described in _described_edges(sub)
        ],
    )


def to_cytoscape(sub: nx.Graph) -> CytoscapeGraph:
    """Cytoscape.js elements JSON; `cytoscape({elements, layout: {name: "preset"}})` shows a map."""
    nodes = [
        CytoscapeNode(
            data=CytoscapeNodeData(id=node, label=described["name"], **described),
            position=CytoscapePosition(x=x * _PIXELS_PER_DEGREE, y=-y * _PIXELS_PER_DEGREE),
        )
        for node, described, (x, y) in _placed_nodes(sub)
    ]
    edges = [
        CytoscapeEdge(data=CytoscapeEdgeData(id=_edge_key(a, b), source=a, target=b, **described))
        for a, b, described in _described_edges(sub)
    ]
    return CytoscapeGraph(data=_GRAPH, elements=CytoscapeElements(nodes=nodes, edges=edges))


def to_sigma(sub: nx.Graph) -> GraphologyGraph:
    """graphology's serialisation of the graph, ready for `graph.import` and Sigma.js."""
    nodes = [
        GraphologyNode(
            key=node,
            attributes=SigmaNodeAttributes(
                # Sigma's `size` is a radius: well-tied actors stand out, none disappears.
                label=described["name"],
                x=x,
                y=y,
                size=3 + 2 * math.sqrt(sub.degree(node)),
                **described,
            ),
        )
        for node, described, (x, y) in _placed_nodes(sub)
    ]
    edges = [
        GraphologyEdge(
            key=_edge_key(a, b),
            source=a,
            target=b,
            undirected=True,
            attributes=SigmaEdgeAttributes(size=float(described["weight"]), **described),
        )
        for a, b, described in _described_edges(sub)
    ]
    return GraphologyGraph(
        attributes=_GRAPH,
        options=GraphologyOptions(type="undirected", multi=False, allowSelfLoops=False),
        nodes=nodes,
        edges=edges,
    )


def to_graphml(sub: nx.Graph) -> str:
    """GraphML keeps only plain attributes: lists become `;`-separated strings, ties their
    sources, and a missing value is left out."""
    plain = nx.Graph(**_GRAPH)
    for node, described, (x, y) in _placed_nodes(sub):
        values = {k: v for k, v in described.items() if v is not None and k != "themes"}
        plain.add_node(
            node, **values, label=described["name"], x=x, y=y, themes=";".join(described["themes"])
        )
    for a, b, described in _described_edges(sub):
        plain.add_edge(
            a,
            b,
            types=";".join(described["types"]),
            sources=";".join(sorted({tie["source"] for tie in described["ties"]})),
            weight=described["weight"],
        )
    buffer = io.BytesIO()
    nx.write_graphml(plain, buffer)
    return buffer.getvalue().decode()

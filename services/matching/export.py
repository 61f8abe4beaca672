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

Every format is also written piece by piece (`snapshot`, then `stream`): the graph is copied
a slice of actors at a time under the graph's lock (`CooperationGraph.read_copy`), so no writer
or query waits for more than a slice, and the document is written from the copy outside the
lock, a few hundred elements per chunk, so the whole graph at national scale is served without
building it in memory. What a whole-graph export promises: each actor and each edge as it was
at one moment of the copy (an actor added while it runs may be missing, one deleted while it
runs may be there without its ties), never a half-applied change of one of them; a
neighbourhood is copied at once, under the lock.

Positions are geographic: x is the longitude and y the latitude, in degrees (Cytoscape.js counts y
downwards, so its positions are scaled and y negated: north stays up). An actor without coordinates
(a country node, an association without an address) is placed beside the actors it is tied to.
"""

import json
import math
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

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
    "snapshot",
    "stream",
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


def snapshot(
    graph: CooperationGraph, center: str | None, depth: int, lock: AbstractContextManager[Any]
) -> nx.Graph:
    """A copy of the whole graph (taken a slice at a time under `lock`), or of the actors
    within `depth` ties of `center` (taken at once under it), that nobody else changes: what
    `stream` writes out without the lock."""
    if center is None:
        return graph.read_copy(lock).g
    with lock:
        sub = nx.ego_graph(graph.g, center, radius=depth)  # a copy, sharing the ties' dicts
        for _a, _b, data in sub.edges(data=True):
            data["ties"] = dict(data["ties"])
    return sub


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


def _json_shape(sub: nx.Graph) -> dict[str, Any]:
    return {
        "nodes": (
            JsonNode(id=node, **node_attributes(attrs)) for node, attrs in sub.nodes(data=True)
        ),
        "edges": (
            JsonEdge(source=a, target=b, **described) for a, b, described in _described_edges(sub)
        ),
    }


def _cytoscape_shape(sub: nx.Graph) -> dict[str, Any]:
    nodes = (
        CytoscapeNode(
            data=CytoscapeNodeData(id=node, label=described["name"], **described),
            position=CytoscapePosition(x=x * _PIXELS_PER_DEGREE, y=-y * _PIXELS_PER_DEGREE),
        )
        for node, described, (x, y) in _placed_nodes(sub)
    )
    edges = (
        CytoscapeEdge(data=CytoscapeEdgeData(id=_edge_key(a, b), source=a, target=b, **described))
        for a, b, described in _described_edges(sub)
    )
    return {"data": _GRAPH, "elements": {"nodes": nodes, "edges": edges}}


def _sigma_shape(sub: nx.Graph) -> dict[str, Any]:
    nodes = (
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
    )
    edges = (
        GraphologyEdge(
            key=_edge_key(a, b),
            source=a,
            target=b,
            undirected=True,
            attributes=SigmaEdgeAttributes(size=float(described["weight"]), **described),
        )
        for a, b, described in _described_edges(sub)
    )
    return {
        "attributes": _GRAPH,
        "options": GraphologyOptions(type="undirected", multi=False, allowSelfLoops=False),
        "nodes": nodes,
        "edges": edges,
    }


def _materialised(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {key: _materialised(value) for key, value in shape.items()}
    if isinstance(shape, Iterator):
        return [_materialised(item) for item in shape]
    return shape


def to_json(sub: nx.Graph) -> GraphJson:
    return _materialised(_json_shape(sub))  # type: ignore[no-any-return]


def to_cytoscape(sub: nx.Graph) -> CytoscapeGraph:
    """Cytoscape.js elements JSON; `cytoscape({elements, layout: {name: "preset"}})` shows a map."""
    return _materialised(_cytoscape_shape(sub))  # type: ignore[no-any-return]


def to_sigma(sub: nx.Graph) -> GraphologyGraph:
    """graphology's serialisation of the graph, ready for `graph.import` and Sigma.js."""
    return _materialised(_sigma_shape(sub))  # type: ignore[no-any-return]


_SHAPES: dict[str, Callable[[nx.Graph], dict[str, Any]]] = {
    "json": _json_shape,
    "cytoscape": _cytoscape_shape,
    "sigma": _sigma_shape,
}
# Elements written per chunk of a streamed document.
_CHUNK = 500


def stream(sub: nx.Graph, fmt: str) -> Iterator[bytes]:
    """The document of `sub` in `fmt`, in chunks: the same bytes as the whole document
    (JSON as FastAPI's JSONResponse writes it: compact, UTF-8).

    `sub` is a copy made for this document (`snapshot`), emptied once the document is
    written or the client has gone."""
    chunks = _graphml_chunks(sub) if fmt == "graphml" else _json_chunks(_SHAPES[fmt](sub))
    return _emptied_after(chunks, sub)


def _emptied_after(chunks: Iterator[bytes], sub: nx.Graph) -> Iterator[bytes]:
    # Reading a graph's edges caches a view of them in the graph, and the view points back
    # at the graph: a cycle, which only the cycle collector frees. At national scale the
    # copy is hundreds of MB, held until it comes round; emptied here, it goes at once.
    try:
        yield from chunks
    finally:
        sub.clear()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _json_chunks(shape: dict[str, Any]) -> Iterator[bytes]:
    buffer: list[str] = []

    def parts(value: Any) -> Iterator[str]:
        if isinstance(value, dict) and any(isinstance(v, Iterator | dict) for v in value.values()):
            yield "{"
            for i, (key, item) in enumerate(value.items()):
                yield ("," if i else "") + _dumps(key) + ":"
                yield from parts(item)
            yield "}"
        elif isinstance(value, Iterator):
            yield "["
            for i, item in enumerate(value):
                yield ("," if i else "") + _dumps(item)
            yield "]"
        else:
            yield _dumps(value)

    for part in parts(shape):
        buffer.append(part)
        if len(buffer) >= _CHUNK:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()


# GraphML keys, declared whether or not a value uses them: (for, name, type).
_GRAPHML_KEYS = (
    ("graph", "name", "string"),
    ("node", "name", "string"),
    ("node", "kind", "string"),
    ("node", "level", "string"),
    ("node", "country", "string"),
    ("node", "latitude", "double"),
    ("node", "longitude", "double"),
    ("node", "population", "long"),
    ("node", "label", "string"),
    ("node", "x", "double"),
    ("node", "y", "double"),
    ("node", "themes", "string"),
    ("edge", "types", "string"),
    ("edge", "sources", "string"),
    ("edge", "weight", "long"),
)
_KEY_IDS = {(domain, name): f"d{i}" for i, (domain, name, _type) in enumerate(_GRAPHML_KEYS)}
_GRAPHML_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
    + "".join(
        f'<key id="{_KEY_IDS[domain, name]}" for="{domain}" attr.name="{name}" '
        f'attr.type="{kind}"/>\n'
        for domain, name, kind in _GRAPHML_KEYS
    )
)


def _data(domain: str, values: dict[str, Any]) -> str:
    return "".join(
        f'  <data key="{_KEY_IDS[domain, name]}">{escape(_plain(value))}</data>\n'
        for name, value in values.items()
    )


def _plain(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _graphml_chunks(sub: nx.Graph) -> Iterator[bytes]:
    """GraphML keeps only plain attributes: lists become `;`-separated strings, ties their
    sources, and a missing value is left out."""
    buffer = [
        _GRAPHML_HEAD,
        '<graph edgedefault="undirected">',
        f'<data key="{_KEY_IDS["graph", "name"]}">{escape(_GRAPH["name"])}</data>\n',
    ]
    for node, described, (x, y) in _placed_nodes(sub):
        values = {k: v for k, v in described.items() if v is not None and k != "themes"}
        values |= {"label": described["name"], "x": x, "y": y}
        values["themes"] = ";".join(described["themes"])
        buffer.append(f"<node id={quoteattr(node)}>\n{_data('node', values)}</node>\n")
        if len(buffer) >= _CHUNK:
            yield "".join(buffer).encode()
            buffer.clear()
    for a, b, described in _described_edges(sub):
        values = {
            "types": ";".join(described["types"]),
            "sources": ";".join(sorted({tie["source"] for tie in described["ties"]})),
            "weight": described["weight"],
        }
        buffer.append(
            f"<edge source={quoteattr(a)} target={quoteattr(b)}>\n{_data('edge', values)}</edge>\n"
        )
        if len(buffer) >= _CHUNK:
            yield "".join(buffer).encode()
            buffer.clear()
    buffer.append("</graph></graphml>")
    yield "".join(buffer).encode()


def to_graphml(sub: nx.Graph) -> str:
    """The GraphML document of `sub`, whole (see `stream` for it in chunks)."""
    return b"".join(_graphml_chunks(sub)).decode()

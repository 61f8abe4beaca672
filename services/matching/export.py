"""The graph, or a neighbourhood of it, as JSON for front ends and as GraphML for Gephi."""

import io
from typing import Any

import networkx as nx

from services.matching.graph import CooperationGraph

__all__ = ["neighbourhood", "to_graphml", "to_json"]

_NODE_FIELDS = ("name", "kind", "level", "country", "latitude", "longitude", "population")


def neighbourhood(graph: CooperationGraph, center: str | None, depth: int) -> nx.Graph:
    """The whole graph, or the actors within `depth` ties of `center`, with their ties."""
    if center is None:
        return graph.g
    return nx.ego_graph(graph.g, center, radius=depth)


def _ties(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": tie.type,
            "source": tie.source,
            "themes": sorted(tie.themes),
            "starts_on": tie.starts_on.isoformat() if tie.starts_on else None,
            "ends_on": tie.ends_on.isoformat() if tie.ends_on else None,
            "active": tie.active,
            "from": tie.origin,
        }
        for tie in data["ties"].values()
    ]


def to_json(sub: nx.Graph) -> dict[str, Any]:
    return {
        "nodes": [
            {
                "id": node,
                **{f: attrs.get(f) for f in _NODE_FIELDS},
                "themes": sorted(attrs["themes"]),
            }
            for node, attrs in sub.nodes(data=True)
        ],
        "edges": [
            {
                "source": a,
                "target": b,
                "types": sorted({tie["type"] for tie in _ties(data)}),
                "ties": _ties(data),
            }
            for a, b, data in sub.edges(data=True)
        ],
    }


def to_graphml(sub: nx.Graph) -> str:
    """GraphML keeps only plain attributes: lists become `;`-separated strings."""
    plain = nx.Graph()
    for node, attrs in sub.nodes(data=True):
        values = {f: attrs.get(f) for f in _NODE_FIELDS if attrs.get(f) is not None}
        plain.add_node(node, **values, themes=";".join(sorted(attrs["themes"])))
    for a, b, data in sub.edges(data=True):
        ties = _ties(data)
        plain.add_edge(
            a,
            b,
            types=";".join(sorted({t["type"] for t in ties})),
            sources=";".join(sorted({t["source"] for t in ties})),
            weight=len(ties),
        )
    buffer = io.BytesIO()
    nx.write_graphml(plain, buffer)
    return buffer.getvalue().decode()

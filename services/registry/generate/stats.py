"""Statistics of a network given as pairs: what docs/generator.md reports and the tests check,
comparable with the published figures of the real sister-city network (KONECT "twin")."""

from collections.abc import Iterable
from typing import Any

import networkx as nx

__all__ = ["network_statistics"]


def network_statistics(pairs: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """Nodes with at least one tie, ties, mean and largest degree, share of nodes with a single
    tie, global clustering (transitivity: closed over connected triples, KONECT's figure),
    average local clustering, and degree assortativity (Pearson, over ties)."""
    graph = nx.Graph()
    graph.add_edges_from((a, b) for a, b in pairs if a != b)
    nodes, ties = graph.number_of_nodes(), graph.number_of_edges()
    if ties == 0:
        return {"nodes": nodes, "ties": 0}
    degrees = [d for _, d in graph.degree()]
    return {
        "nodes": nodes,
        "ties": ties,
        "mean_degree": round(2 * ties / nodes, 3),
        "max_degree": max(degrees),
        "share_degree_1": round(sum(1 for d in degrees if d == 1) / nodes, 3),
        "clustering": round(nx.transitivity(graph), 3),
        "average_clustering": round(nx.average_clustering(graph), 3),
        "assortativity": round(nx.degree_assortativity_coefficient(graph), 3),
    }

"""Hiding ties: the one protocol the training and the evaluation share.

A seeded share of the cooperation pairs (two actors joined by a convention or a project) is
drawn among the pairs whose two actors keep another cooperation, so that both remain in the
graph with something to go on; every `cooperates_with` and `active_in` tie between them is
removed. Whoever finds them again has predicted a tie it was not told about.
"""

import random
from collections import Counter
from collections.abc import Iterable

from services.matching.graph import CooperationGraph

__all__ = ["HIDDEN_TIES", "cooperation_pairs", "draw_hidden", "hidden_partners", "hide"]

HIDDEN_TIES = frozenset({"cooperates_with", "active_in"})


def cooperation_pairs(graph: CooperationGraph) -> list[tuple[str, str]]:
    """Actor pairs joined by at least one `cooperates_with` tie, sorted, as (smaller, larger)."""
    return sorted(
        (min(a, b), max(a, b))
        for a, b, data in graph.g.edges(data=True)
        if any(tie.type == "cooperates_with" for tie in data["ties"].values())
    )


def draw_hidden(pairs: list[tuple[str, str]], fraction: float, seed: int) -> list[tuple[str, str]]:
    """A seeded `fraction` of `pairs`, each actor keeping at least one pair not drawn."""
    rng = random.Random(seed)
    left = Counter(actor for pair in pairs for actor in pair)
    order = list(pairs)
    rng.shuffle(order)
    wanted = max(1, round(fraction * len(pairs)))
    drawn = []
    for a, b in order:
        if len(drawn) >= wanted:
            break
        if left[a] > 1 and left[b] > 1:
            drawn.append((a, b))
            left[a] -= 1
            left[b] -= 1
    return sorted(drawn)


def hide(graph: CooperationGraph, pairs: Iterable[tuple[str, str]]) -> None:
    """Remove every `cooperates_with` and `active_in` tie between the two actors of each pair
    (the edge too when nothing else joins them): the graph no longer knows they cooperate."""
    for a, b in pairs:
        edge = graph.g.edges[a, b]
        kept = {key: tie for key, tie in edge["ties"].items() if tie.type not in HIDDEN_TIES}
        if kept:
            edge["ties"] = kept  # replaced, not changed (`CooperationGraph`): it may be shared
        else:
            graph.remove_edge(a, b)


def hidden_partners(
    graph: CooperationGraph, hidden: Iterable[tuple[str, str]]
) -> dict[str, set[str]]:
    """Per actor, its hidden partners; a pair still tied by a relationship (a membership, a
    support) stays partners, so no method may suggest it, and is left out."""
    found: dict[str, set[str]] = {}
    for a, b in hidden:
        if b in graph.partners(a):
            continue
        found.setdefault(a, set()).add(b)
        found.setdefault(b, set()).add(a)
    return found

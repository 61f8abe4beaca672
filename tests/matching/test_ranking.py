"""The learned ranker (issue 12): it learns from the graph's own ties, finds a tie it was not
told about, falls back to the prior on a graph too small to learn from, explains its score
additively, and orders candidates the same way every time."""

import random

import numpy as np

from services.matching.follower import GraphHolder
from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FEATURES, FeatureSpace
from services.matching.ranking.model import PRIOR
from services.matching.ranking.query import rank
from services.matching.ranking.splits import cooperation_pairs, draw_hidden
from services.matching.ranking.trainer import Trainer
from services.matching.ranking.training import query_rows, train
from tests.matching.resources import actor, convention

# Twinning circles as sister-city networks have them: towns of two countries that cooperate a
# lot (France–Germany, Germany–Poland, France–Italy…) tied all to all, a few ties across.
_PAIRS = [("FR", "DE"), ("DE", "PL"), ("FR", "IT"), ("IT", "ES"), ("PL", "CZ")]


def _network(seed: int = 7, circles: int = 60) -> tuple[list[object], list[object]]:
    rng = random.Random(seed)
    towns, ties = [], set()
    for number in range(circles):
        first, second = _PAIRS[number % len(_PAIRS)]
        members = [f"t{number}-{i}" for i in range(rng.randint(4, 6))]
        for i, town in enumerate(members):
            towns.append(actor(town, country=first if i % 2 else second, themes=[]))
        ties |= {(a, b) for i, a in enumerate(members) for b in members[i + 1 :]}
    names = [str(t.id) for t in towns]
    for _ in range(circles):
        a, b = rng.sample(names, 2)
        ties.add((min(a, b), max(a, b)))
    conventions = [
        convention(f"c{i}", a, b, themes=[], kind="twinning")
        for i, (a, b) in enumerate(sorted(ties))
    ]
    return towns, conventions


def _graph(towns: list[object], conventions: list[object]) -> CooperationGraph:
    return CooperationGraph.from_resources(towns, conventions, [], [])


def test_the_ranker_learns_from_the_graph_and_ranks_a_planted_hidden_tie_first():
    towns, conventions = _network()
    # The planted tie: two towns of one circle, never told to the graph.
    planted = ("t3-0", "t3-1")
    kept = [c for c in conventions if {p.actor_id for p in c.parties} != set(planted)]
    assert len(kept) == len(conventions) - 1
    graph = _graph(towns, kept)

    model = train(_graph(towns, kept), seed=1)
    assert model.kind == "learned"
    assert model.training["positives"] > 0 and model.validation["queries"] > 0
    # On held-out towns it finds their hidden partners better than Adamic–Adar.
    assert model.validation["recall_at_10"] >= model.validation["adamic_adar_recall_at_10"]

    space = FeatureSpace.build(graph)
    row, excluded, bridges = query_rows(graph, space, planted[0])
    ranked = rank(space, model, row, excluded=excluded, bridged=bridges)
    assert space.nodes[ranked.rows[0]] == planted[1]


def test_training_hides_ties_in_its_own_copy_and_leaves_the_graph_as_it_was():
    towns, conventions = _network()
    graph = _graph(towns, conventions)
    edges = {(a, b): dict(d["ties"]) for a, b, d in graph.g.edges(data=True)}
    model = train(graph, seed=4)
    assert model.kind == "learned" and model.training["hidden_pairs"] > 0
    assert {(a, b): dict(d["ties"]) for a, b, d in graph.g.edges(data=True)} == edges


def test_a_discarded_copy_is_empty_and_the_graph_it_came_from_is_not():
    towns, conventions = _network(circles=3)
    graph = _graph(towns, conventions)
    copy = graph.read_copy()
    copy.discard()
    assert copy.g.number_of_nodes() == 0 and copy.g.number_of_edges() == 0
    assert graph.g.number_of_nodes() == len(towns) and graph.g.number_of_edges() > 0


def test_a_graph_too_small_to_learn_from_is_served_by_the_prior():
    towns, conventions = _network(circles=3)
    graph = _graph(towns, conventions)
    assert len(draw_hidden(cooperation_pairs(graph), 0.1, 0)) < 40
    model = train(graph, seed=0)
    assert model is PRIOR
    assert model.kind == "prior" and model.describe()["version"] == "prior-1"


def test_contributions_add_up_to_the_log_odds_of_every_candidate():
    towns, conventions = _network()
    graph = _graph(towns, conventions)
    model = train(_graph(towns, conventions), seed=2)
    space = FeatureSpace.build(graph)
    row, excluded, bridges = query_rows(graph, space, "t10-0")
    ranked = rank(space, model, row, excluded=excluded, bridged=bridges)
    assert ranked.contributions.shape == (len(ranked.rows), len(FEATURES))
    np.testing.assert_allclose(
        model.intercept + ranked.contributions.sum(axis=1), ranked.log_odds, atol=1e-9
    )
    assert np.all(np.diff(ranked.log_odds) <= 0)
    assert np.all((ranked.scores > 0) & (ranked.scores < 1))


def test_the_order_is_the_same_for_a_given_model():
    towns, conventions = _network()
    graph = _graph(towns, conventions)
    first = train(_graph(towns, conventions), seed=3)
    again = train(_graph(towns, conventions), seed=3)
    np.testing.assert_array_equal(first.coefficients, again.coefficients)
    space = FeatureSpace.build(graph)
    row, excluded, bridges = query_rows(graph, space, "t20-2")
    orders = [rank(space, first, row, excluded=excluded, bridged=bridges).rows for _ in range(3)]
    assert all(np.array_equal(orders[0], order) for order in orders)
    # Partners and the source itself are never candidates.
    assert not set(orders[0]) & {*excluded, row}


def test_the_pool_reaches_beyond_two_hops_and_stays_bounded():
    towns, conventions = _network()
    graph = _graph(towns, conventions)
    space = FeatureSpace.build(graph)
    row, _, _ = query_rows(graph, space, "t0-0")
    pool = space.pool(row, space.pagerank(row))
    two_hops = set((space.adjacency[row] @ space.adjacency).indices)
    assert set(pool) - two_hops - {row}, "nothing beyond two hops"
    assert row not in pool


def test_the_trainer_swaps_in_a_new_version_after_enough_changes_and_health_shows_it():
    towns, conventions = _network()
    holder = GraphHolder(graph=_graph(towns, conventions), synced=True, reachable=True)
    trainer = Trainer(holder, retrain_after=3, check_seconds=60)
    assert holder.status()["model"]["kind"] == "prior"

    assert trainer.train_once()
    first = holder.status()["model"]
    assert first["kind"] == "learned" and first["trainings"] == 1
    assert first["validation"]["queries"] > 0
    assert not trainer.train_once(), "nothing changed: no training due"

    # Two changes are not enough; the third is.
    for number, (a, b) in enumerate([("t1-0", "t9-1"), ("t2-0", "t8-1"), ("t4-0", "t7-1")]):
        holder.graph.put_convention(convention(f"new-{number}", a, b, themes=[]))
        holder.revision += 1
        assert trainer.train_once() == (number == 2)
    second = holder.status()["model"]
    assert second["version"] != first["version"] and second["trainings"] == 2
    # Training worked on a copy: the graph served still has every tie.
    assert len(cooperation_pairs(holder.graph)) == len(conventions) + 3

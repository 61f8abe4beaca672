"""Suggestions at scale (issue 13): the optimised ranking path (walk in its own numbering,
features from one reading of the source, crowds computed once per space) returns exactly what
the straightforward one returned, and the feature space is rebuilt in the background while the
previous one serves."""

import hashlib
import itertools
import json
import random
import threading

import numpy as np

from services.matching import scoring
from services.matching.graph import CooperationGraph
from services.matching.ranking.features import _PAGERANK_STEPS, FEATURES, FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel
from services.matching.ranking.ranker import Ranker
from tests.matching.resources import actor, convention, project, relationship

THEMES = ["water_sanitation", "health", "education", "culture", "youth", "climate"]


def small_graph(seed: int = 11, towns: int = 120) -> CooperationGraph:
    rng = random.Random(seed)
    actors, conventions, projects, relationships = [], [], [], []
    french = [f"fr-{i:03}" for i in range(towns)]
    foreign = [f"{c.lower()}-{i:03}" for i, c in enumerate(["SN", "ML", "MA", "DE"] * (towns // 4))]
    for i, town in enumerate(french):
        actors.append(
            actor(
                town,
                themes=rng.sample(THEMES, rng.randint(0, 3)),
                insee_code=f"{10 + i % 7}{i:03}",
                latitude=43 + rng.random() * 7,
                longitude=-1 + rng.random() * 7,
            )
        )
    for town in foreign:
        actors.append(
            actor(
                town,
                country=town[:2].upper(),
                themes=rng.sample(THEMES, 2),
                latitude=10 + rng.random() * 5 if rng.random() < 0.7 else None,
                longitude=-10 + rng.random() * 5,
            )
        )
    networks = [f"net-{i}" for i in range(4)]
    actors += [actor(n, "network", themes=[]) for n in networks]
    for i in range(towns // 2):
        home = rng.choice(french)
        actors.append(
            actor(f"asso-{i:03}", "association", based_in_id=home, themes=rng.sample(THEMES, 1))
        )
        actors.append(
            actor(
                f"diaspora-{i:03}",
                "migrant_organisation",
                based_in_id=home,
                origin_ids=[rng.choice(foreign)],
                themes=[],
            )
        )
    weights = [1 / (1 + i) for i in range(len(foreign))]
    for i in range(towns * 2):
        a, b = rng.choice(french), rng.choices(foreign, weights)[0]
        conventions.append(
            convention(
                f"c{i:03}",
                a,
                b,
                target_id=b,
                themes=rng.sample(THEMES, 1),
                status=rng.choice(["active", "active", "ended"]),
            )
        )
    for i in range(towns // 2):
        lead = f"asso-{rng.randrange(towns // 2):03}"
        partners = rng.sample(french, 2)
        projects.append(
            project(
                {
                    "id": f"p{i:03}",
                    "version": 1,
                    "status": "active",
                    "title": "p",
                    "themes": rng.sample(THEMES, 1),
                    "lead_id": lead,
                    "partners": [{"actor_id": p, "role": "partner"} for p in partners],
                    "target_id": rng.choices(foreign, weights)[0],
                }
            )
        )
    for i in range(towns):
        relationships.append(
            relationship(
                {
                    "id": f"r{i:03}",
                    "version": 1,
                    "kind": "member_of",
                    "subject_id": rng.choice(french),
                    "object_id": rng.choice(networks),
                }
            )
        )
    return CooperationGraph.from_resources(actors, conventions, projects, relationships)


# Computed with the implementation before the optimisation (commit b291e47), its walk cut to
# the 8 steps it takes now (24, then 12, until the real-network evaluation showed fewer rank
# as well) and its crowds read only from the actors working in a target, not from the
# target's own work elsewhere (a fix of 2026-12-06): every suggestion of every seventh actor,
# by the prior and by a model weighing every feature, with reasons.
BEFORE = "d709bf584c8e4c924dd2a47d616074c47a665960df6c3a3eea19a1e0fac021bf"


def _everything() -> RankingModel:
    rng = np.random.default_rng(3)
    return RankingModel(
        version="t",
        kind="learned",
        mean=rng.normal(0, 0.3, len(FEATURES)),
        scale=rng.uniform(0.5, 2, len(FEATURES)),
        coefficients=rng.normal(0, 1, len(FEATURES)),
        intercept=-1.0,
    )


def test_the_optimised_path_returns_the_same_ranked_lists_and_reasons_as_before():
    graph = small_graph()
    space = scoring.space_of(graph)
    found = []
    for source in sorted(graph.g.nodes)[::7]:
        if source.startswith("country:"):
            continue
        for model in (PRIOR, _everything()):
            for s in scoring.suggest(graph, source, model=model, space=space, limit=10):
                reasons = [[r.code, r.contribution, r.text, r.details] for r in s.reasons]
                found.append([source, s.actor_id, s.score, reasons])
    assert len(found) == 1040
    codes = {reason[0] for item in found for reason in item[3]}
    assert len(codes) == 9, "every kind of reason is exercised"
    text = json.dumps(found, sort_keys=True, default=str)
    assert hashlib.sha256(text.encode()).hexdigest() == BEFORE


def test_the_walk_is_the_personalised_pagerank_of_the_plain_power_iteration():
    graph = small_graph()
    space = FeatureSpace.build(graph)
    degree = space.degree
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    walk = space.adjacency @ np.diag(inverse)
    for source in (0, 17, len(space.nodes) - 1):
        restart = np.zeros(len(space.nodes))
        restart[source] = 1.0
        rank = restart.copy()
        for _ in range(_PAGERANK_STEPS):
            rank = 0.2 * restart + 0.8 * (walk @ rank)
        np.testing.assert_allclose(space.pagerank(source), rank, rtol=1e-12, atol=1e-300)


def test_the_walk_reads_only_the_rows_it_has_reached_and_still_is_the_power_iteration():
    # A chain of 600 towns with a hub at one end: from the far end the walk stays on a few
    # rows for every step (the gathered sum of rows), from the hub it spreads at once.
    towns = [f"t{i:03}" for i in range(600)]
    hub_partners = towns[-200:]
    chain = enumerate(itertools.pairwise(towns))
    conventions = [convention(f"c{i}", a, b) for i, (a, b) in chain]
    conventions += [convention(f"h{i}", "hub", t) for i, t in enumerate(hub_partners)]
    actors = [actor(t) for t in towns] + [actor("hub"), actor("alone")]
    space = FeatureSpace.build(CooperationGraph.from_resources(actors, conventions, [], []))
    inverse = np.divide(1.0, space.degree, out=np.zeros_like(space.degree), where=space.degree > 0)
    walk = space.adjacency @ np.diag(inverse)
    for name in ("t000", "t300", "hub", "alone"):
        source = space.index[name]
        restart = np.zeros(len(space.nodes))
        restart[source] = 1.0
        rank = restart.copy()
        for _ in range(_PAGERANK_STEPS):
            rank = 0.2 * restart + 0.8 * (walk @ rank)
        np.testing.assert_allclose(space.pagerank(source), rank, rtol=1e-12, atol=1e-300)


def test_a_newer_space_is_built_in_the_background_while_the_previous_one_serves():
    graph = small_graph()
    lock = threading.RLock()
    ranker = Ranker(max_age_seconds=0.0)
    with lock:
        first = ranker.space(graph, 1, "fr-000", lock)
    graph.put_actor(actor("newcomer", themes=["health"]))
    graph.put_convention(convention("c-new", "newcomer", "fr-001"))
    with lock:
        # The graph changed: the space there is serves (the newcomer is unknown to it) while
        # the next one is built; the query does not wait.
        assert ranker.space(graph, 2, "newcomer", lock) is first
    ranker.wait_for_build(timeout=30)
    with lock:
        second = ranker.space(graph, 2, "newcomer", lock)
    assert second is not first and "newcomer" in second.index
    assert [s.actor_id for s in scoring.suggest(graph, "newcomer", space=second, limit=5)]

"""Partner suggestions on small hand-made graphs: who appears, and the reasons people read.

On graphs this small the documented prior model ranks (ranking/model.py); the learned model has
its own tests (test_ranking.py)."""

import math
from typing import Any

import networkx as nx
import numpy as np
import pytest

from services.matching import scoring
from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FEATURES, FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel
from services.matching.scoring import crowding, score, suggest
from services.matching.territories import crowds
from tests.matching.resources import actor, convention, relationship


def membership(relationship_id: str, member: str, group: str) -> Any:
    return relationship(
        {
            "id": relationship_id,
            "version": 1,
            "kind": "member_of",
            "subject_id": member,
            "object_id": group,
        }
    )


def graph_of(actors, conventions=(), relationships=()) -> CooperationGraph:
    return CooperationGraph.from_resources(actors, conventions, [], relationships)


def reasons(suggestion: scoring.Suggestion) -> dict[str, scoring.Reason]:
    return {reason.code: reason for reason in suggestion.reasons}


def ids(suggestions: list[scoring.Suggestion]) -> list[str]:
    return [s.actor_id for s in suggestions]


def test_the_prior_weighs_partners_in_common_themes_and_bridges_up_and_crowding_down() -> None:
    weight = dict(zip(FEATURES, PRIOR.coefficients, strict=True))
    for feature in ("adamic_adar", "pagerank", "shared_themes", "migrant_bridge", "same_network"):
        assert weight[feature] > 0, feature
    assert weight["crowding"] < 0


# --- migrant bridge ------------------------------------------------------------------------------


def bridged_towns() -> CooperationGraph:
    """A diaspora organisation based in Évry, from Kayes; Évry and Kayes share no theme."""
    return graph_of(
        [
            actor("evry", themes=["culture"]),
            actor("kayes", country="ML", themes=["health"]),
            actor(
                "ressortissants",
                "migrant_organisation",
                based_in_id="evry",
                origin_ids=["kayes"],
                themes=["migration_development"],
            ),
            actor("bamako", country="ML", themes=["health"]),
        ]
    )


@pytest.mark.parametrize(("source", "other"), [("evry", "kayes"), ("kayes", "evry")])
def test_a_migrant_organisation_bridges_its_home_and_its_origin(source: str, other: str) -> None:
    graph = bridged_towns()
    found = {s.actor_id: s for s in suggest(graph, source, limit=10)}
    assert other in found
    bridge = reasons(found[other])["migrant_bridge"]
    assert bridge.contribution > 0
    assert bridge.details == {
        "organisation": "ressortissants",
        "based_in": "evry",
        "originates_from": "kayes",
    }
    assert bridge.text == "Ressortissants is based in Evry and originates from Kayes"
    # Bamako, in the same country as Kayes, has no bridge to Évry.
    assert "migrant_bridge" not in reasons(score(graph, "evry", "bamako"))


def test_the_bridge_reaches_the_organisations_of_both_territories() -> None:
    graph = bridged_towns()
    graph.put_actor(actor("asso-evry", "association", based_in_id="evry", themes=["health"]))
    found = {s.actor_id: s for s in suggest(graph, "asso-evry", limit=10)}
    assert reasons(found["kayes"])["migrant_bridge"].details["organisation"] == "ressortissants"


# --- who never appears ---------------------------------------------------------------------------


def test_partners_the_actor_itself_and_dismissed_candidates_never_appear() -> None:
    graph = graph_of(
        [
            actor("evry"),
            actor("kayes", country="ML"),
            actor("angers"),
            actor("dakar", country="SN"),
            actor("thies", country="SN"),
            actor("reseau", "network"),
        ],
        [convention("c1", "evry", "kayes")],
        [membership("r1", "evry", "reseau")],
    )
    everyone = ids(suggest(graph, "evry", limit=100))
    assert sorted(everyone) == ["angers", "dakar", "thies"]
    assert sorted(ids(suggest(graph, "evry", limit=100, exclude={"dakar"}))) == ["angers", "thies"]
    for candidate in ("kayes", "reseau"):
        assert candidate in graph.partners("evry")
    assert "evry" not in ids(suggest(graph, "kayes", limit=100))


def test_filters_and_limit() -> None:
    graph = graph_of(
        [
            actor("evry"),
            actor("dakar", country="SN"),
            actor("thies", country="SN", themes=["health"]),
            actor("eau-vive", "association"),
        ]
    )
    assert sorted(ids(suggest(graph, "evry", country="SN"))) == ["dakar", "thies"]
    assert ids(suggest(graph, "evry", kind="association")) == ["eau-vive"]
    assert ids(suggest(graph, "evry", theme="health")) == ["thies"]
    assert ids(suggest(graph, "evry", theme="culture")) == []
    assert len(suggest(graph, "evry", limit=1)) == 1


# --- signals -------------------------------------------------------------------------------------


def test_shared_themes_are_listed_and_weighted_by_their_overlap() -> None:
    graph = graph_of(
        [
            actor("evry", themes=["water_sanitation", "health", "education"]),
            actor("angers", themes=["health", "water_sanitation", "culture"]),
        ]
    )
    shared = reasons(score(graph, "evry", "angers"))["shared_themes"]
    assert shared.details == {"themes": ["health", "water_sanitation"]}
    assert "health, water_sanitation" in shared.text
    # Two themes in common out of four between them, at the prior's weight.
    weight = PRIOR.coefficients[FEATURES.index("shared_themes")]
    assert shared.contribution == pytest.approx(weight * 2 / 4, abs=1e-4)


def test_structural_proximity_is_adamic_adar_with_its_intermediaries() -> None:
    # a and b share two neighbours: x (degree 2) and y (degree 3, also tied to z).
    graph = graph_of(
        [actor(name, themes=[]) for name in ("a", "b", "x", "y", "z")],
        [
            convention("ax", "a", "x"),
            convention("bx", "b", "x"),
            convention("ay", "a", "y"),
            convention("by", "b", "y"),
            convention("yz", "y", "z"),
        ],
    )
    by_hand = 1 / math.log(2) + 1 / math.log(3)
    [(_, _, index)] = nx.adamic_adar_index(graph.g, [("a", "b")])
    assert index == pytest.approx(by_hand)
    structural = reasons(score(graph, "a", "b"))["structural_proximity"]
    assert structural.details["adamic_adar"] == pytest.approx(by_hand, abs=1e-4)
    assert structural.contribution > 0
    # The intermediary that weighs most (the one with fewer ties) is named first.
    assert structural.details["intermediaries"] == ["x", "y"]
    assert "through X, Y" in structural.text
    # z is two hops from a, through y only.
    z = reasons(score(graph, "a", "z"))["structural_proximity"]
    assert z.details["adamic_adar"] == pytest.approx(1 / math.log(3), abs=1e-4)


def _weighing_everything() -> RankingModel:
    """A model where every feature counts, so that every kind of reason shows."""
    return RankingModel(
        version="test",
        kind="prior",
        mean=np.zeros(len(FEATURES)),
        scale=np.ones(len(FEATURES)),
        coefficients=np.ones(len(FEATURES)),
        intercept=0.0,
    )


def test_reasons_name_the_organisation_of_a_territory_that_already_works_with_the_candidate():
    graph = graph_of(
        [
            actor("evry", themes=[]),
            actor("kayes", country="ML", themes=[]),
            actor("eau-vive", "association", based_in_id="evry", themes=[]),
        ],
        [convention("c1", "evry", "kayes", target_id="kayes")],
    )
    model = _weighing_everything()
    found = {s.actor_id: s for s in suggest(graph, "eau-vive", limit=10, model=model)}
    complementarity = reasons(found["kayes"])["complementarity"]
    assert "Evry, which already cooperates with Kayes" in complementarity.text
    own = reasons(score(graph, "eau-vive", "evry", model=model))["complementarity"]
    assert own.text == "an organisation of the authority's own territory"


def test_distance_and_country_reasons_say_how_far_and_how_often() -> None:
    graph = graph_of(
        [
            actor("paris", latitude=48.8566, longitude=2.3522, themes=[]),
            actor("montreuil", latitude=48.8638, longitude=2.4485, themes=[]),
            actor("dakar", country="SN", themes=[]),
            actor("thies", country="SN", themes=[]),
        ],
        [convention("c1", "paris", "dakar", themes=[])],
    )
    model = _weighing_everything()
    near = reasons(score(graph, "paris", "montreuil", model=model))["distance"]
    assert near.details == {"distance_km": 7}
    unknown = reasons(score(graph, "paris", "thies", model=model))["distance"]
    assert unknown.text == "no coordinates to compare their places"
    pair = reasons(score(graph, "paris", "thies", model=model))["country_pair"]
    assert pair.details["countries"] == ["FR", "SN"]
    assert pair.text.startswith("actors of France and Senegal cooperate ")
    assert pair.details["lift"] > 1  # their only tie is French–Senegalese


# --- crowding ------------------------------------------------------------------------------------


def crowded_target(*extra_relationships: dict[str, Any]) -> CooperationGraph:
    """Kayes, where Évry and Angers work on water without coordinating; Rouen wonders."""
    return graph_of(
        [
            actor("kayes", country="ML"),
            actor("evry"),
            actor("angers"),
            actor("rouen"),
            actor("cites-unies", "network", themes=[]),
            actor("eau-vive", "association", based_in_id="evry"),
        ],
        [
            convention("c1", "evry", "kayes", target_id="kayes"),
            convention("c2", "angers", "kayes", target_id="kayes"),
        ],
        extra_relationships,
    )


def test_a_crowded_target_is_penalised_with_a_pointer_to_join() -> None:
    graph = crowded_target()
    assert crowding(graph, "kayes", ["water_sanitation"]) == ["angers", "evry"]
    suggestion = score(graph, "rouen", "kayes")
    penalty = reasons(suggestion)["crowding"]
    assert penalty.contribution < 0
    assert penalty.details == {"uncoordinated_actors": ["angers", "evry"], "join_instead": True}
    assert "join them" in penalty.text
    assert "Angers, Evry" in penalty.text
    # Other themes: nobody is crowding Kayes on health.
    assert crowding(graph, "kayes", ["health"]) == []


def test_no_penalty_once_the_partners_coordinate() -> None:
    graph = crowded_target(
        membership("r1", "evry", "cites-unies"), membership("r2", "angers", "cites-unies")
    )
    assert crowding(graph, "kayes", ["water_sanitation"]) == []
    assert "crowding" not in reasons(score(graph, "rouen", "kayes"))


def test_no_penalty_with_a_single_partner_or_for_ones_own_territory() -> None:
    graph = crowded_target()
    # Angers, one of the two, does not crowd itself: only Évry is left.
    assert "crowding" not in reasons(score(graph, "angers", "kayes"))
    # An association of Évry joining Évry's cooperation is the coordination asked for.
    assert "crowding" not in reasons(score(graph, "eau-vive", "kayes"))
    # A French authority of its own is not: Rouen would be a third uncoordinated partner.
    assert "crowding" in reasons(score(graph, "rouen", "kayes"))


def test_no_penalty_when_partners_share_a_home() -> None:
    graph = graph_of(
        [
            actor("kayes", country="ML"),
            actor("evry"),
            actor("asso-1", "association", based_in_id="evry"),
            actor("asso-2", "association", based_in_id="evry"),
            actor("rouen"),
        ],
        [
            convention("c1", "evry", "kayes", target_id="kayes"),
            convention("c2", "asso-1", "kayes", target_id="kayes"),
            convention("c3", "asso-2", "kayes", target_id="kayes"),
        ],
    )
    assert crowding(graph, "kayes", ["water_sanitation"]) == []


def test_no_crowd_where_an_authority_comes_from() -> None:
    """Évry working in Kayes and in Dakar does not make them active in Évry."""
    graph = graph_of(
        [
            actor("kayes", country="ML"),
            actor("dakar", country="SN"),
            actor("evry"),
            actor("rouen"),
        ],
        [
            convention("c1", "evry", "kayes", target_id="kayes"),
            convention("c2", "evry", "dakar", target_id="dakar"),
        ],
    )
    assert crowding(graph, "evry", ["water_sanitation"]) == []
    assert "crowding" not in reasons(score(graph, "rouen", "evry"))
    assert crowds(graph) == {}


# --- the whole -----------------------------------------------------------------------------------


def test_scores_are_the_probability_of_the_intercept_plus_their_reasons() -> None:
    graph = crowded_target()
    graph.put_actor(
        actor("diaspora", "migrant_organisation", based_in_id="rouen", origin_ids=["kayes"])
    )
    for model in (PRIOR, _weighing_everything()):
        for source in ("rouen", "kayes", "eau-vive", "diaspora"):
            for suggestion in suggest(graph, source, limit=100, model=model):
                assert 0 < suggestion.score <= 1
                log_odds = model.intercept + sum(r.contribution for r in suggestion.reasons)
                # Each contribution is rounded to 4 decimals, the score too.
                expected = 1 / (1 + math.exp(-log_odds))
                assert suggestion.score == pytest.approx(expected, abs=2e-3)
                assert all(r.text and r.contribution != 0 for r in suggestion.reasons)


def test_the_pool_is_bounded_and_the_order_stable() -> None:
    members = [actor(f"town-{n:02}", themes=[]) for n in range(30)]
    graph = graph_of(
        [actor("hub", "network", themes=[]), actor("source", themes=[]), *members],
        relationships=[membership(f"r{n}", a.id, "hub") for n, a in enumerate(members)]
        + [membership("rs", "source", "hub")],
    )
    space = FeatureSpace.of(graph)
    row = space.index["source"]
    pool = space.pool(row, space.pagerank(row))
    assert len(pool) == 31  # the hub and its 30 other members
    first = ids(suggest(graph, "source", limit=50))
    assert first == ids(suggest(graph, "source", limit=50))
    assert len(first) == 30  # the hub is a partner

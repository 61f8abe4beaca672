"""Hotspots, the competition index and federation proposals on small hand-checked graphs."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.matching.app import create_app
from services.matching.evaluate import build, demo_resources
from services.matching.federations import proposals, propose
from services.matching.graph import CooperationGraph
from services.matching.overlaps import home_territory, hotspots
from services.matching.scoring import suggest
from services.matching.settings import MatchingSettings
from shared.migrate import upgrade
from tests.matching.resources import actor, convention, relationship

KAYES = actor("kayes", country="ML", themes=["water_sanitation"])


def town(name: str, insee: str) -> Any:
    return actor(name, insee_code=insee)


def water(cid: str, town_id: str, **fields) -> Any:
    return convention(cid, town_id, "kayes", target_id="kayes", **fields)


def graph_of(actors, conventions, relationships=()) -> CooperationGraph:
    return CooperationGraph.from_resources([KAYES, *actors], conventions, [], list(relationships))


def member(rid: str, subject: str, group: str) -> Any:
    return relationship(
        {"id": rid, "version": 1, "kind": "member_of", "subject_id": subject, "object_id": group}
    )


FOUR_TOWNS = [
    town("evry", "91228"),
    town("angers", "49007"),
    town("metz", "57463"),
    town("poitiers", "86194"),
]


def test_four_uncoordinated_towns_make_six_pairs_of_weight_one():
    graph = graph_of(FOUR_TOWNS, [water(f"c{i}", t.id) for i, t in enumerate(FOUR_TOWNS)])
    [spot] = hotspots(graph)
    assert (spot.target, spot.theme) == ("kayes", "water_sanitation")
    assert len(spot.pairs) == 6 and spot.index == pytest.approx(6.0)
    assert spot.homes == {"evry": "FR-91", "angers": "FR-49", "metz": "FR-57", "poitiers": "FR-86"}


def test_pairs_are_weighted_by_theme_and_period_overlap_and_ended_ties_count_less():
    a, b = town("evry", "91228"), town("angers", "49007")
    conventions = [
        water(
            "c1",
            "evry",
            themes=["water_sanitation", "health"],
            starts_on="2020-01-01",
            ends_on="2023-12-31",
            status="ended",
        ),
        water("c2", "angers", starts_on="2022-01-01", ends_on="2025-12-31"),
    ]
    [spot] = hotspots(graph_of([a, b], conventions))
    [pair] = spot.pairs
    # themes: {water} / {water, health}; period: 2022–2023 of 2020–2025; one tie ended.
    assert pair.theme_overlap == pytest.approx(0.5)
    assert pair.period_overlap == pytest.approx(729 / 2191, abs=1e-4)
    assert pair.activity == 0.5
    assert spot.index == pytest.approx(0.5 * 729 / 2191 * 0.5, abs=1e-4)


def test_coordinated_or_same_home_pairs_are_not_competition():
    towns = [
        town("evry", "91228"),
        town("corbeil", "91174"),
        town("angers", "49007"),
        town("metz", "57463"),
        actor("lianes", "resource_centre", based_in_id="evry"),
    ]
    conventions = [
        water("c1", "evry"),
        water("c2", "corbeil"),
        water("c3", "angers"),
        water("c4", "metz"),
        convention("c5", "angers", "metz"),
    ]
    [spot] = hotspots(
        graph_of(
            towns, conventions, [member("r1", "evry", "lianes"), member("r2", "metz", "lianes")]
        )
    )
    pairs = {frozenset((p.a, p.b)) for p in spot.pairs}
    assert frozenset(("evry", "corbeil")) not in pairs, "same département"
    assert frozenset(("angers", "metz")) not in pairs, "a common convention"
    assert frozenset(("evry", "metz")) not in pairs, "a common resource centre"
    assert pairs == {
        frozenset(p) for p in [("evry", "angers"), ("corbeil", "angers"), ("corbeil", "metz")]
    }
    assert home_territory(graph_of(towns, conventions), "lianes") == "FR-91"


def test_the_proposal_pools_members_and_bridges_around_the_linking_resource_centre():
    towns = [
        town("evry", "91228"),
        town("angers", "49007"),
        town("metz", "57463"),
        actor("lianes", "resource_centre", based_in_id="evry"),
        actor("arke", "migrant_organisation", based_in_id="evry", origin_ids=["kayes"]),
    ]
    conventions = [water("c1", "evry"), water("c2", "angers"), water("c3", "metz")]
    graph = graph_of(
        towns, conventions, [member("r1", "evry", "lianes"), member("r2", "angers", "lianes")]
    )
    [spot] = hotspots(graph)
    assert spot.index == pytest.approx(2.0)
    [proposal] = proposals(graph)
    assert proposal.members == ["angers", "evry", "metz"]
    assert proposal.migrant_organisations == ["arke"]
    assert proposal.coordinator == "lianes" and "already links" in proposal.coordinator_reason
    assert (proposal.index_before, proposal.index_after, proposal.reduction) == (2.0, 0.0, 2.0)
    assert proposals(graph)[0].id == proposal.id, "stable while the graph does not change"


def test_the_index_after_is_recomputed_so_a_left_out_actor_still_counts():
    graph = graph_of(FOUR_TOWNS, [water(f"c{i}", t.id) for i, t in enumerate(FOUR_TOWNS)])
    [spot] = hotspots(graph)
    # Poitiers dismissed Évry: they are never pooled, Poitiers (the later comer) stays out.
    proposal = propose(graph, spot, dismissed={frozenset(("poitiers", "evry"))})
    assert proposal.left_out == ["poitiers"]
    assert "poitiers" not in proposal.members
    assert proposal.index_before == pytest.approx(6.0)
    assert proposal.index_after == pytest.approx(3.0), "its three pairs remain uncoordinated"
    assert proposal.reduction == pytest.approx(3.0)


def test_without_a_linking_group_the_longest_engaged_member_coordinates():
    conventions = [water("c0", "evry", starts_on="2012-01-01")] + [
        water(f"c{i}", t.id, starts_on="2019-01-01") for i, t in enumerate(FOUR_TOWNS[1:], 1)
    ]
    [proposal] = proposals(graph_of(FOUR_TOWNS, conventions))
    assert proposal.coordinator == "evry"
    assert "since 2012" in proposal.coordinator_reason


def test_filters_of_hotspots_and_proposals():
    graph = graph_of(FOUR_TOWNS, [water(f"c{i}", t.id) for i, t in enumerate(FOUR_TOWNS)])
    assert hotspots(graph, country="SN") == []
    assert hotspots(graph, theme="health") == []
    assert hotspots(graph, min_actors=5) == []
    assert len(proposals(graph, actor="metz")) == 1
    assert proposals(graph, actor="kayes") == []


def test_the_demo_data_shows_its_planted_hotspots_with_explained_proposals():
    resources = demo_resources()
    graph = build(resources)
    spots = hotspots(graph)
    assert len(spots) >= 3
    assert (spots[0].target, spots[0].theme) == ("ml-kayes", "water_sanitation")
    towns = {a for a in spots[0].engagements if graph.g.nodes[a]["kind"] == "local_authority"}
    assert len(towns) >= 5, "the five uncoordinated towns of the showcase"
    found = proposals(graph)
    assert len(found) == len(spots)
    assert all(p.reduction > 0 and p.coordinator_reason for p in found)
    assert found[0].migrant_organisations == ["mo-ressortissants-kayes-evry"]


def test_work_known_only_at_country_level_makes_a_country_hotspot():
    towns = FOUR_TOWNS[:3]
    conventions = [
        convention(f"c{i}", t.id, "kayes", target_country="ML") for i, t in enumerate(towns)
    ]
    graph = graph_of(towns, conventions)
    [spot] = hotspots(graph, country="ML")
    assert spot.target == "country:ML" and graph.g.nodes[spot.target]["name"] == "Mali"
    assert spot.index == pytest.approx(3.0)
    assert "country:ML" not in {s.actor_id for s in suggest(graph, "evry", limit=50)}


def test_the_api_shows_a_country_level_target_without_an_id(tmp_path):
    towns = [town(str(uuid.uuid4()), code) for code in ("91228", "49007")]
    kayes = actor(str(uuid.uuid4()), country="ML")
    conventions = [
        convention(str(uuid.uuid4()), t.id, kayes.id, target_country="ML") for t in towns
    ]
    database = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(database, "matching")
    app = create_app(
        MatchingSettings(database_url=database, registry_url="http://127.0.0.1:9"), follow=False
    )
    holder = app.state.holder
    holder.graph = CooperationGraph.from_resources([kayes, *towns], conventions, [], [])
    holder.synced = True
    with TestClient(app) as client:
        [spot] = client.get("/v1/overlaps").json()["items"]
        assert spot["target"] == {
            "id": None,
            "name": "Mali",
            "kind": "country",
            "level": None,
            "country": "ML",
        }
        [proposal] = client.get("/v1/federations").json()["items"]
        assert proposal["target"]["kind"] == "country"
        assert proposal["competition_index_after"] == 0

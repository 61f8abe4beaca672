"""The cooperation graph, built from registry resources and kept current by their events."""

from typing import Any

from services.matching.graph import CooperationGraph
from services.matching.ranking.splits import hide
from shared import events
from shared.events import ResourceRef
from tests.matching.resources import actor, convention, record
from tests.matching.test_suggestion_speed import small_graph

_EVENTS = {
    "actor": events.ActorEvent,
    "convention": events.ConventionEvent,
    "project": events.ProjectEvent,
    "relationship": events.RelationshipEvent,
}


def event(resource_type: str, data: Any) -> Any:
    """The typed event of /v1/events around a resource (readable ids, so built unchecked)."""
    data = record(resource_type, data)
    return _EVENTS[resource_type].model_construct(
        type=f"{resource_type}.updated",
        resource=ResourceRef.model_construct(type=resource_type, id=data.id, version=data.version),
        data=data,
    )


def types(graph: CooperationGraph, a: str, b: str) -> list[str]:
    return sorted(tie.type for tie in graph.ties(a, b))


def edges(graph: CooperationGraph) -> dict[tuple[str, str], list[str]]:
    return {
        tuple(sorted((a, b))): sorted(t.type for t in data["ties"].values())
        for a, b, data in graph.g.edges(data=True)
    }


def town_and_partner() -> CooperationGraph:
    return CooperationGraph.from_resources(
        [actor("evry"), actor("kayes", country="ML"), actor("angers")], [], [], []
    )


def test_actors_are_nodes_with_their_attributes_and_indexes() -> None:
    graph = CooperationGraph.from_resources(
        [
            actor("kayes", country="ML", themes=["water_sanitation", "health"], population=1),
            actor("diaspora", "migrant_organisation", based_in_id="evry", origin_ids=["kayes"]),
            actor("evry"),
        ],
        [],
        [],
        [],
    )
    node = graph.actor("kayes")
    assert (node["kind"], node["country"], node["population"]) == ("local_authority", "ML", 1)
    assert node["themes"] == {"water_sanitation", "health"}
    assert graph.by_theme["health"] == {"kayes"}
    assert graph.by_country["FR"] == {"diaspora", "evry"}
    # The home territory is listed after the organisation: the tie waits for it, then links.
    assert types(graph, "diaspora", "evry") == ["based_in"]
    assert types(graph, "diaspora", "kayes") == ["originates_from"]
    assert graph.home_of("diaspora") == "evry"
    assert graph.home_of("evry") == "evry"
    # Neither a home nor an origin makes partners.
    assert graph.partners("diaspora") == set()


def test_a_convention_ties_its_parties_and_its_target() -> None:
    graph = town_and_partner()
    graph.apply(event("convention", convention("c1", "evry", "kayes", "angers", target_id="kayes")))
    assert types(graph, "evry", "angers") == ["cooperates_with"]
    assert types(graph, "evry", "kayes") == ["active_in", "cooperates_with"]
    [active_in] = [t for t in graph.ties("evry", "kayes") if t.type == "active_in"]
    assert active_in.origin == "evry"
    assert active_in.themes == {"water_sanitation"}
    assert active_in.source == "convention:c1"
    assert graph.partners("evry") == {"kayes", "angers"}


def test_a_project_ties_its_lead_its_partners_and_its_target() -> None:
    graph = town_and_partner()
    project = {
        "id": "p1",
        "version": 1,
        "status": "active",
        "themes": ["health"],
        "lead_id": "evry",
        "partners": [{"actor_id": "angers", "role": "partner"}],
        "target_id": "kayes",
    }
    graph.apply(event("project", project))
    assert edges(graph) == {
        ("angers", "evry"): ["cooperates_with"],
        ("evry", "kayes"): ["active_in"],
        ("angers", "kayes"): ["active_in"],
    }


def test_applying_the_same_event_twice_changes_nothing() -> None:
    graph = town_and_partner()
    change = event("convention", convention("c1", "evry", "kayes", target_id="kayes"))
    graph.apply(change)
    before = edges(graph)
    graph.apply(change)
    assert edges(graph) == before
    assert len(graph.ties("evry", "kayes")) == 2


def test_an_older_version_after_a_newer_one_is_ignored() -> None:
    graph = town_and_partner()
    graph.apply(event("convention", convention("c1", "evry", "kayes", version=2)))
    graph.apply(event("convention", convention("c1", "evry", "angers", version=1)))
    assert edges(graph) == {("evry", "kayes"): ["cooperates_with"]}

    graph.apply(event("actor", actor("angers", version=3, themes=["health"])))
    graph.apply(event("actor", actor("angers", version=2, themes=["culture"])))
    assert graph.actor("angers")["themes"] == {"health"}
    assert graph.by_theme["culture"] == set()
    assert "angers" not in graph.by_theme["water_sanitation"]


def test_deleting_an_actor_removes_it_and_its_edges() -> None:
    graph = town_and_partner()
    graph.apply(event("actor", actor("diaspora", "migrant_organisation", based_in_id="evry")))
    graph.apply(event("convention", convention("c1", "evry", "kayes", "angers")))
    graph.apply(event("actor", actor("evry", version=2, deleted_at="2025-01-01T00:00:00Z")))
    assert not graph.has_actor("evry")
    assert edges(graph) == {("angers", "kayes"): ["cooperates_with"]}
    assert "evry" not in graph.by_country["FR"]
    assert "evry" not in graph.by_theme["water_sanitation"]
    # The deletion replayed, or an older version of the actor arriving late, changes nothing.
    graph.apply(event("actor", actor("evry", version=2, deleted_at="2025-01-01T00:00:00Z")))
    graph.apply(event("actor", actor("evry", version=1)))
    assert not graph.has_actor("evry")


def test_deleting_a_convention_removes_its_ties_and_only_its_ties() -> None:
    graph = town_and_partner()
    graph.apply(event("convention", convention("c1", "evry", "kayes", target_id="kayes")))
    graph.apply(event("convention", convention("c2", "evry", "kayes", "angers")))
    graph.apply(
        event("convention", convention("c1", "evry", "kayes", version=2, deleted_at="2025-01-01"))
    )
    assert {t.source for t in graph.ties("evry", "kayes")} == {"convention:c2"}
    graph.apply(
        event("convention", convention("c2", "evry", "kayes", "angers", version=2, deleted_at="x"))
    )
    assert edges(graph) == {}
    assert graph.partners("evry") == set()


def test_an_ended_convention_stays_marked_inactive() -> None:
    graph = town_and_partner()
    graph.apply(event("convention", convention("c1", "evry", "kayes", target_id="kayes")))
    assert all(t.active for t in graph.ties("evry", "kayes"))
    ended = convention(
        "c1", "evry", "kayes", target_id="kayes", version=2, status="ended", ends_on="2024-12-31"
    )
    graph.apply(event("convention", ended))
    ties = graph.ties("evry", "kayes")
    assert sorted(t.type for t in ties) == ["active_in", "cooperates_with"]
    assert not any(t.active for t in ties)
    assert str(ties[0].ends_on) == "2024-12-31"
    # History: they have worked together, so they are still no suggestion for each other.
    assert graph.partners("evry") == {"kayes"}


def test_a_draft_coordinates_its_members_but_works_nowhere_yet() -> None:
    graph = town_and_partner()
    draft = convention("c1", "evry", "angers", target_id="kayes", status="draft")
    graph.apply(event("convention", draft))
    assert types(graph, "evry", "angers") == ["cooperates_with"]
    assert not any(t.active for t in graph.ties("evry", "angers"))
    assert graph.ties("evry", "kayes") == []
    signed = convention("c1", "evry", "angers", target_id="kayes", version=2)
    graph.apply(event("convention", signed))
    assert types(graph, "evry", "kayes") == ["active_in"]


def test_relationships_are_ties_with_their_direction() -> None:
    graph = town_and_partner()
    graph.apply(event("actor", actor("cites-unies", "network")))
    membership = {
        "id": "r1",
        "version": 1,
        "kind": "member_of",
        "subject_id": "evry",
        "object_id": "cites-unies",
        "starts_on": None,
        "ends_on": None,
    }
    graph.apply(event("relationship", membership))
    [tie] = graph.ties("evry", "cites-unies")
    assert (tie.type, tie.origin, tie.active) == ("member_of", "evry", True)
    assert graph.partners("cites-unies") == {"evry"}
    graph.apply(event("relationship", membership | {"version": 2, "deleted_at": "x"}))
    assert edges(graph) == {}


def test_changing_an_actors_home_moves_its_tie() -> None:
    graph = town_and_partner()
    graph.apply(event("actor", actor("solidarite", "association", based_in_id="evry")))
    graph.apply(event("actor", actor("solidarite", "association", based_in_id="angers", version=2)))
    assert edges(graph) == {("angers", "solidarite"): ["based_in"]}
    assert graph.home_of("solidarite") == "angers"


def test_a_tie_to_an_actor_not_yet_seen_is_linked_when_it_arrives() -> None:
    graph = town_and_partner()
    graph.apply(event("convention", convention("c1", "evry", "newcomer")))
    assert edges(graph) == {}
    graph.apply(event("actor", actor("newcomer")))
    graph.retry_waiting()  # the follower calls it after each batch of events
    assert types(graph, "evry", "newcomer") == ["cooperates_with"]


def test_a_copy_keeps_the_ties_it_was_taken_with_while_the_graph_changes():
    graph = CooperationGraph.from_resources(
        [actor("evry"), actor("kayes"), actor("lyon")],
        [convention("c1", "evry", "kayes"), convention("c2", "evry", "lyon")],
        [],
        [],
    )
    copy = graph.read_copy()
    # The graph changes after the copy: a second convention on one edge, one ended.
    graph.put_convention(convention("c3", "evry", "kayes"))
    graph.put_convention(
        convention("c2", "evry", "lyon", version=2, deleted_at="2026-01-01T00:00:00Z")
    )
    assert {t.source for t in graph.ties("evry", "kayes")} == {"convention:c1", "convention:c3"}
    assert not graph.g.has_edge("evry", "lyon")
    assert [t.source for t in copy.ties("evry", "kayes")] == ["convention:c1"]
    assert [t.source for t in copy.ties("evry", "lyon")] == ["convention:c2"]


def test_the_edge_count_follows_every_change_copy_and_hidden_tie() -> None:
    # /health and /metrics read the count under the graph's lock instead of walking every node.
    graph = small_graph()
    assert graph.edge_count == graph.g.number_of_edges() > 300
    # A convention that changes parties, one deleted, an actor deleted with all its edges, and
    # a tie to an actor not yet known (no edge until it comes).
    graph.apply(event("convention", convention("c001", "fr-001", "fr-002", version=9)))
    graph.apply(event("convention", convention("c002", "fr-003", version=9, deleted_at="x")))
    graph.apply(event("actor", actor("fr-005", version=9, deleted_at="2025-01-01T00:00:00Z")))
    graph.apply(event("convention", convention("c-late", "fr-006", "newcomer")))
    assert graph.edge_count == graph.g.number_of_edges()
    graph.apply(event("actor", actor("newcomer")))
    graph.retry_waiting()
    assert graph.edge_count == graph.g.number_of_edges()
    copy = graph.read_copy()
    assert copy.edge_count == copy.g.number_of_edges() == graph.edge_count
    hide(copy, [(a, b) for a, b in list(copy.g.edges)[:40]])
    assert copy.edge_count == copy.g.number_of_edges() < graph.edge_count
    copy.discard()
    assert copy.edge_count == 0

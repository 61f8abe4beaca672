"""Suggestions asked again are answered from the answer cache exactly as computed, and never
once anything they were computed from has changed."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.matching import store
from services.matching.answers import AnswerCache
from services.matching.app import create_app
from services.matching.graph import CooperationGraph
from services.matching.settings import MatchingSettings
from shared.access import ANONYMOUS
from shared.migrate import upgrade
from tests.matching.resources import actor, convention

LILLE, DAKAR, THIES, KAYES = (str(uuid.uuid4()) for _ in range(4))


def _graph() -> CooperationGraph:
    return CooperationGraph.from_resources(
        [
            actor(LILLE, themes=["water_sanitation"]),
            actor(DAKAR, country="SN", themes=["water_sanitation"]),
            actor(THIES, country="SN", themes=["water_sanitation"]),
            actor(KAYES, country="ML", themes=["water_sanitation"]),
        ],
        [
            convention(str(uuid.uuid4()), LILLE, DAKAR, target_id=DAKAR),
            convention(str(uuid.uuid4()), KAYES, DAKAR, target_id=DAKAR),
        ],
        [],
        [],
    )


@pytest.fixture
def matching(tmp_path) -> Iterator[TestClient]:
    database = f"sqlite:///{tmp_path / 'matching.db'}"
    upgrade(database, "matching")
    app = create_app(
        MatchingSettings(database_url=database, registry_url="http://127.0.0.1:9"), follow=False
    )
    app.state.holder.graph = _graph()
    app.state.holder.synced = True
    with TestClient(app) as client:
        yield client


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["actor"]["id"] for item in response.json()["items"]]


def test_the_same_question_is_answered_from_the_cache_byte_for_byte(matching: TestClient):
    answers: AnswerCache = matching.app.state.answers  # type: ignore[attr-defined]
    path = f"/v1/actors/{LILLE}/suggestions"
    first = matching.get(path)
    again = matching.get(path)
    assert again.content == first.content and again.headers["content-type"] == "application/json"
    assert (answers.hits, answers.misses) == (1, 1)
    # Another limit or filter is another question.
    matching.get(path, params={"limit": 1})
    matching.get(path, params={"country": "SN"})
    assert (answers.hits, answers.misses) == (1, 3) and len(answers) == 3


def test_a_change_of_the_graph_or_of_its_revision_is_never_answered_from_before(
    matching: TestClient,
):
    holder = matching.app.state.holder  # type: ignore[attr-defined]
    path = f"/v1/actors/{LILLE}/suggestions"
    assert THIES in _ids(matching.get(path))
    # A change applied as the follower applies it: the graph changes and its revision moves.
    with holder.lock:
        holder.graph.put_convention(convention(str(uuid.uuid4()), LILLE, THIES, target_id=THIES))
        holder.revision += 1
        holder.applied += 1
    assert THIES not in _ids(matching.get(path)), "Thiès is a partner now"
    # A graph put in place whole (a resynchronisation), even at the same revision.
    holder.graph = _graph()
    assert THIES in _ids(matching.get(path))


def test_a_dismissal_is_another_question(matching: TestClient):
    holder = matching.app.state.holder  # type: ignore[attr-defined]
    path = f"/v1/actors/{LILLE}/suggestions"
    before = _ids(matching.get(path))
    assert KAYES in before
    with Session(matching.app.state.engine) as session:  # type: ignore[attr-defined]
        store.record_feedback(
            session, uuid.UUID(LILLE), uuid.UUID(KAYES), "dismissed", None, given_by=ANONYMOUS
        )
        session.commit()
    assert holder.revision == 0
    assert KAYES not in _ids(matching.get(path))


def test_the_cache_keeps_only_the_current_state_and_at_most_its_capacity():
    cache = AnswerCache(capacity=2)
    graph, other = CooperationGraph(), CooperationGraph()
    cache.put(graph, (1,), "a", "A")
    cache.put(graph, (1,), "b", "B")
    cache.put(graph, (1,), "c", "C")
    assert cache.get(graph, (1,), "a") is None and cache.get(graph, (1,), "c") == "C"
    assert cache.get(graph, (2,), "c") is None and cache.get(other, (1,), "c") is None
    cache.put(graph, (2,), "a", "A2")
    assert len(cache) == 1 and cache.get(graph, (1,), "c") is None

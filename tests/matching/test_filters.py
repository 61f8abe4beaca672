"""Matching filters take the registry's vocabularies: an unknown value is a 422 naming it."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.matching.app import create_app
from services.matching.graph import CooperationGraph
from services.matching.settings import MatchingSettings
from shared.migrate import upgrade
from tests.conftest import assert_problem
from tests.matching.resources import actor, convention

LILLE, DAKAR = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture(scope="module")
def matching(tmp_path_factory) -> Iterator[TestClient]:
    database = f"sqlite:///{tmp_path_factory.mktemp('matching') / 'matching.db'}"
    upgrade(database, "matching")
    app = create_app(
        MatchingSettings(database_url=database, registry_url="http://127.0.0.1:9"), follow=False
    )
    app.state.holder.graph = CooperationGraph.from_resources(
        [actor(LILLE), actor(DAKAR, country="SN")],
        [convention(str(uuid.uuid4()), LILLE, DAKAR, target_id=DAKAR)],
        [],
        [],
    )
    app.state.holder.synced = True
    with TestClient(app) as client:
        yield client


SUGGESTIONS = f"/v1/actors/{LILLE}/suggestions"


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        (SUGGESTIONS, "theme", "nonexistent"),
        (SUGGESTIONS, "kind", "alien"),
        (SUGGESTIONS, "country", "ZZ"),
        ("/v1/overlaps", "theme", "nonexistent"),
        ("/v1/overlaps", "country", "ZZ"),
        ("/v1/metrics/coordination", "country", "ZZ"),
        ("/v1/federations", "theme", "nonexistent"),
        ("/v1/federations", "country", "ZZ"),
    ],
)
def test_an_unknown_filter_value_is_a_422_naming_the_field(
    matching: TestClient, path: str, field: str, value: str
):
    problem = assert_problem(matching.get(path, params={field: value}), 422, field)
    assert value in problem["errors"][0]["reason"] or field == "kind"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (SUGGESTIONS, {"theme": "water_sanitation", "kind": "local_authority", "country": "sn"}),
        ("/v1/overlaps", {"theme": "water_sanitation", "country": "sn"}),
        ("/v1/federations", {"theme": "water_sanitation", "country": "SN"}),
    ],
)
def test_known_values_are_accepted_in_any_case_of_country(
    matching: TestClient, path: str, params: dict[str, str]
):
    assert matching.get(path, params=params).status_code == 200

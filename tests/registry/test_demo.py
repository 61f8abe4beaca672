"""The demo data set loads through the registry's rules and shows what the product is for."""

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.registry.demo.loader import demo_id, is_empty, load_demo
from shared.access import SYSTEM
from tests.conftest import Registry, empty_database


@pytest.fixture(scope="module")
def demo(registry_app) -> Iterator[Registry]:
    """The demo data loaded once per backend into an emptied registry; the tests only read."""
    empty_database(registry_app.state.engine)
    with Session(registry_app.state.engine) as session:
        session.info["principal"] = SYSTEM
        assert is_empty(session)
        load_demo(session)
        session.commit()
        assert not is_empty(session)
    with TestClient(registry_app) as client:
        yield Registry(client)


def _all(registry: Registry, path: str, **params) -> list[dict]:
    page = registry.client.get(path, params={"limit": 200, **params}).json()
    items = page["items"]
    while page["next"]:
        page = registry.client.get(page["next"]).json()
        items += page["items"]
    return items


def test_the_demo_is_large_and_varied_enough_to_speak(demo: Registry):
    actors = _all(demo, "/v1/actors")
    assert len(actors) >= 150
    kinds = {actor["kind"] for actor in actors}
    assert {
        "local_authority",
        "association",
        "migrant_organisation",
        "resource_centre",
        "network",
    } <= kinds
    foreign = {
        a["country"] for a in actors if a["kind"] == "local_authority" and a["country"] != "FR"
    }
    assert len(foreign) >= 8
    levels = {a["level"] for a in actors if a["kind"] == "local_authority" and a["country"] == "FR"}
    assert {"municipality", "department", "region"} <= levels
    assert all(a["origin_ids"] for a in actors if a["kind"] == "migrant_organisation")
    located = [a for a in actors if a["latitude"] is not None]
    assert len(located) >= 150
    assert len(_all(demo, "/v1/conventions")) + len(_all(demo, "/v1/projects")) >= 60


def test_french_authorities_carry_real_insee_codes(demo: Registry):
    lille = _all(demo, "/v1/actors", q="Lille", kind="local_authority", level="municipality")
    assert [a["insee_code"] for a in lille] == ["59350"]
    assert 50.5 < lille[0]["latitude"] < 50.7


def test_several_french_territories_work_in_the_same_town_on_the_same_theme(demo: Registry):
    """The overlaps the matching service will find: same target and theme, different homes."""
    actors = {a["id"]: a for a in _all(demo, "/v1/actors")}

    def home(actor_id: str) -> str | None:
        actor = actors[actor_id]
        if actor["kind"] == "local_authority" and actor["country"] == "FR" and actor["insee_code"]:
            code = actor["insee_code"]
            return code[:3] if code.startswith("97") else code[:2]
        return None

    homes_by_hotspot: dict[tuple[str, str], set[str]] = defaultdict(set)
    for convention in _all(demo, "/v1/conventions"):
        for theme in convention["themes"]:
            for party in convention["parties"]:
                if (territory := home(party["actor_id"])) and convention["target_id"]:
                    homes_by_hotspot[(convention["target_id"], theme)].add(territory)
    for project in _all(demo, "/v1/projects"):
        members = [project["lead_id"]] + [p["actor_id"] for p in project["partners"]]
        for theme in project["themes"]:
            for member in members:
                if (territory := home(member)) and project["target_id"]:
                    homes_by_hotspot[(project["target_id"], theme)].add(territory)

    crowded = {key: homes for key, homes in homes_by_hotspot.items() if len(homes) >= 3}
    assert len(crowded) >= 3
    kayes = next(a["id"] for a in actors.values() if a["name"] == "Kayes")
    assert len(homes_by_hotspot[(kayes, "water_sanitation")]) >= 5


def test_the_readme_quick_start_says_what_the_demo_holds(demo: Registry):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    said = re.search(
        r"demo data set \((\d+) actors, (\d+) relationships, (\d+) conventions and (\d+) "
        r"projects\)",
        " ".join(readme.split()),
    )
    assert said, "the quick start no longer gives the demo's counts"
    counts = [len(_all(demo, f"/v1/{name}")) for name in _COUNTED]
    assert [int(n) for n in said.groups()] == counts
    query = re.search(r"`/v1/actors\?q=([^`]+)`", readme)
    assert query, "the README no longer shows a text search"
    found = demo.client.get("/v1/actors", params={"q": query.group(1)}).json()["items"]
    assert found, f"the README's search {query.group(1)!r} finds no demo actor"
    kayes = demo.client.get(f"/v1/actors/{demo_id('ml-kayes')}").json()
    assert kayes["name"] == "Kayes" and str(demo_id("ml-kayes")) in readme


_COUNTED = ("actors", "relationships", "conventions", "projects")

"""End to end: a hotspot is found, its federation adopted in the registry, its index falls."""

from typing import Any

import httpx

from tests.conftest import bearer
from tests.matching.conftest import System, eventually


def _get(system: System, path: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{system.matching_url}{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_three_towns_in_one_foreign_town_get_a_federating_project(system: System):
    kayes = system.authority("Kayes", "ML", themes=["water_sanitation"])
    evry = system.authority("Évry-Courcouronnes", insee_code="91228")
    angers = system.authority("Angers", insee_code="49007")
    metz = system.authority("Metz", insee_code="57463")
    centre = system.post(
        "/v1/actors",
        {
            "kind": "resource_centre",
            "name": "Réseau régional multi-acteurs",
            "country": "FR",
            "based_in_id": evry["id"],
        },
    )
    for town in (evry, angers):
        system.post(
            "/v1/relationships",
            {"kind": "member_of", "subject_id": town["id"], "object_id": centre["id"]},
        )
    migrants = system.post(
        "/v1/actors",
        {
            "kind": "migrant_organisation",
            "name": "Ressortissants de Kayes à Évry",
            "country": "FR",
            "based_in_id": evry["id"],
            "origin_ids": [kayes["id"]],
        },
    )
    for town in (evry, angers, metz):
        system.post(
            "/v1/conventions",
            {
                "kind": "decentralised_cooperation",
                "title": f"{town['name']} – Kayes : eau potable",
                "parties": [{"actor_id": town["id"]}, {"actor_id": kayes["id"]}],
                "target_id": kayes["id"],
                "themes": ["water_sanitation"],
                "starts_on": "2020-01-01",
            },
        )

    def hotspot() -> dict[str, Any] | None:
        spots = _get(system, "/v1/overlaps", target=kayes["id"], theme="water_sanitation")
        return spots["items"][0] if spots["items"] else None

    eventually(lambda: hotspot() is not None, what="the hotspot")
    spot = hotspot()
    assert spot is not None
    assert {a["actor"]["id"] for a in spot["actors"]} == {evry["id"], angers["id"], metz["id"]}
    pairs = {frozenset((p["a"], p["b"])) for p in spot["uncoordinated_pairs"]}
    assert pairs == {frozenset((evry["id"], metz["id"])), frozenset((angers["id"], metz["id"]))}
    assert spot["competition_index"] == 2.0
    assert all(tie["source_type"] == "convention" for a in spot["actors"] for tie in a["ties"])

    top = _get(system, "/v1/federations", theme="water_sanitation")["items"][0]
    assert {m["id"] for m in top["members"]} == {evry["id"], angers["id"], metz["id"]}
    assert [m["id"] for m in top["migrant_organisations"]] == [migrants["id"]]
    assert top["coordinator"]["id"] == centre["id"]
    assert "already links" in top["coordinator_reason"]
    assert (top["competition_index_before"], top["competition_index_after"]) == (2.0, 0.0)
    assert "Kayes" in top["explanation"]
    assert _get(system, f"/v1/federations/{top['id']}")["id"] == top["id"]
    # In French for a French page; the English answer is what it was.
    french = httpx.get(
        f"{system.matching_url}/v1/federations",
        params={"theme": "water_sanitation"},
        headers={"Accept-Language": "fr"},
        timeout=10,
    )
    assert french.headers["content-language"] == "fr"
    proposal = french.json()["items"][0]
    assert proposal["id"] == top["id"] and "relie déjà" in proposal["coordinator_reason"]
    assert (
        "territoires" in proposal["explanation"]
        and "Eau et assainissement" in (proposal["explanation"])
    )
    one = httpx.get(
        f"{system.matching_url}/v1/federations/{top['id']}",
        headers={"Accept-Language": "fr"},
        timeout=10,
    ).json()
    assert one["coordinator_reason"] == proposal["coordinator_reason"]
    again = _get(system, "/v1/federations", theme="water_sanitation")["items"][0]
    assert again["coordinator_reason"] == top["coordinator_reason"]
    metrics = _get(system, "/v1/metrics/coordination")
    assert metrics["hotspots"] == 1 and metrics["total_competition_index"] == 2.0

    adopt_url = f"{system.matching_url}/v1/federations/{top['id']}/adopt"
    admin = bearer(system.admin_key)
    adopted = httpx.post(adopt_url, headers=admin, timeout=10)
    assert adopted.status_code == 201, adopted.text
    project = adopted.json()["project"]
    assert project["status"] == "draft" and project["lead_id"] == centre["id"]
    partners = {p["actor_id"] for p in project["partners"]}
    assert partners == {evry["id"], angers["id"], metz["id"], migrants["id"]}
    in_registry = httpx.get(f"{system.registry_url}/v1/projects/{project['id']}", timeout=10)
    assert in_registry.status_code == 200

    eventually(lambda: hotspot() is None, what="the index to fall to zero")
    assert _get(system, "/v1/metrics/coordination")["total_competition_index"] == 0
    gone = httpx.post(adopt_url, headers=admin, timeout=10)
    assert gone.status_code == 404, "the proposal is spent once the graph changed"

"""Names and titles need a visible character: blank-looking ones are refused, not stored."""

import pytest

from tests.conftest import Registry, assert_problem

# Each shows nothing at all: spaces of every kind, controls, zero-width and format characters.
INVISIBLE = [
    "\u00a0\u200b\u3000",  # no-break space, zero-width space, ideographic space
    "\u200b",
    "\ufeff",  # byte order mark
    "\u200c\u200d\u2060",  # zero-width non-joiner, joiner, word joiner
    "\t\n\u2028\u2029",
    "\u202f\u205f\u2007",
    "\u200e\u200f\u061c",  # bidirectional marks
    "\u3164\u115f",  # Hangul fillers, letters in Unicode that render as nothing
]


@pytest.mark.parametrize("name", INVISIBLE)
def test_an_invisible_actor_name_is_a_422_on_name_and_writes_nothing(
    client, registry: Registry, name
):
    body = {"kind": "association", "name": name, "country": "FR"}
    problem = assert_problem(client.post("/v1/actors", json=body), 422, "name")
    assert "visible" in problem["detail"] or "at least 1" in problem["detail"]
    assert registry.count("/v1/actors") == 0


def test_invisible_characters_around_a_name_are_stripped_and_inside_kept(registry: Registry):
    actor = registry.actor("association", "\u200b\u00a0Sahel Vert\u3000\u2060\ufeff")
    assert actor["name"] == "Sahel Vert"
    # A joiner inside a name is part of how it is written (here, a farmer woman emoji).
    joined = registry.actor("association", "Femmes \U0001f469\u200d\U0001f33e du Sahel")
    assert joined["name"] == "Femmes \U0001f469\u200d\U0001f33e du Sahel"


def test_renaming_an_actor_to_an_invisible_name_is_a_422_and_changes_nothing(
    client, registry: Registry
):
    actor = registry.actor("association", "Eau Vive")
    response = client.patch(f"/v1/actors/{actor['id']}", json={"name": "\u200b\u3000"})
    assert_problem(response, 422, "name")
    current = client.get(f"/v1/actors/{actor['id']}").json()
    assert (current["name"], current["version"]) == ("Eau Vive", 1)


def test_a_private_contact_name_needs_a_visible_character(client, registry: Registry):
    body = {
        "kind": "association",
        "name": "Eau Vive",
        "country": "FR",
        "private_contact": {"name": "\u200b", "email": "a@example.org"},
    }
    assert_problem(client.post("/v1/actors", json=body), 422, "private_contact.name")


@pytest.mark.parametrize("title", ["\u00a0\u200b\u3000", "\ufeff\u2060"])
def test_invisible_convention_and_project_titles_are_a_422_on_title(
    client, registry: Registry, title
):
    one = registry.authority("Montreuil")
    other = registry.authority("Kayes", country="ML")
    convention = {
        "kind": "decentralised_cooperation",
        "title": title,
        "parties": [
            {"actor_id": one["id"], "role": "signatory"},
            {"actor_id": other["id"], "role": "signatory"},
        ],
    }
    assert_problem(client.post("/v1/conventions", json=convention), 422, "title")
    project = {"title": title, "lead_id": one["id"], "partners": []}
    assert_problem(client.post("/v1/projects", json=project), 422, "title")
    assert registry.count("/v1/conventions") == registry.count("/v1/projects") == 0
    created = registry.convention(one, other)
    response = client.patch(f"/v1/conventions/{created['id']}", json={"title": title})
    assert_problem(response, 422, "title")


def test_an_invisible_key_name_is_a_422_on_name(client):
    body = {"name": "\u200b\u3000", "scopes": ["registry:write"]}
    assert_problem(client.post("/v1/keys", json=body), 422, "name")
    assert client.post("/v1/keys", json={**body, "name": "\u200bPlateforme"}).json()["name"] == (
        "Plateforme"
    )

"""Themes: the controlled vocabulary, in French and English, mapped to the 17 SDGs."""

import pytest

from tests.conftest import Registry

# The themes the field names (issue 2), by their code in the API.
NAMED_IN_THE_ISSUE = {
    "sustainable_development": "Agenda 21",
    "climate": "Climat",
    "water_sanitation": "Eau",
    "health": "Santé",
    "education": "Éducation",
    "youth": "Jeunesse",
    "culture": "Culture",
    "economic_development": "économique",
    "social_solidarity_economy": "commerce équitable",
    "agriculture_food_security": "sécurité alimentaire",
    "governance_decentralisation": "décentralisation",
    "peace": "Paix",
    "migration_development": "Migrations",
    "gender_equality": "Égalité",
    "emergency_reconstruction": "reconstruction",
    "global_citizenship_education": "citoyenneté",
}


def test_the_vocabulary_lists_every_theme_with_labels_and_sdgs(client):
    response = client.get("/v1/themes")
    assert response.status_code == 200
    themes = response.json()
    codes = [theme["code"] for theme in themes]
    assert len(codes) == len(set(codes))
    assert set(NAMED_IN_THE_ISSUE) <= set(codes)
    for theme in themes:
        assert set(theme) == {"code", "label_fr", "label_en", "sdgs", "dac_sectors"}, theme
        assert theme["label_fr"].strip() and theme["label_en"].strip(), theme
        assert theme["sdgs"], theme
        assert all(1 <= sdg <= 17 for sdg in theme["sdgs"]), theme
        assert theme["sdgs"] == sorted(set(theme["sdgs"])), theme


def test_french_labels_speak_the_words_of_the_field(client):
    labels = {theme["code"]: theme["label_fr"] for theme in client.get("/v1/themes").json()}
    for code, word in NAMED_IN_THE_ISSUE.items():
        assert word.casefold() in labels[code].casefold(), (code, labels[code])


def test_english_labels_are_english(client):
    by_code = {theme["code"]: theme for theme in client.get("/v1/themes").json()}
    assert by_code["water_sanitation"]["label_en"] == "Water and sanitation"
    assert by_code["peace"]["label_en"] != by_code["peace"]["label_fr"]
    assert 6 in by_code["water_sanitation"]["sdgs"]
    assert 5 in by_code["gender_equality"]["sdgs"]
    assert 13 in by_code["climate"]["sdgs"]


@pytest.mark.parametrize("code", sorted(NAMED_IN_THE_ISSUE))
def test_a_theme_is_read_by_its_code(client, code):
    response = client.get(f"/v1/themes/{code}")
    assert response.status_code == 200
    listed = [theme for theme in client.get("/v1/themes").json() if theme["code"] == code]
    assert response.json() == listed[0]


@pytest.mark.parametrize("code", ["astrology", "Climate", "water sanitation"])
def test_an_unknown_theme_is_a_404_problem(client, code):
    response = client.get(f"/v1/themes/{code}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"]
    assert code in problem["detail"]


def test_every_listed_theme_is_accepted_and_no_other(client, registry: Registry):
    codes = [theme["code"] for theme in client.get("/v1/themes").json()]
    actor = registry.actor("association", "Touche-à-tout", themes=codes)
    assert actor["themes"] == sorted(codes)
    lille = registry.authority("Lille")
    convention = registry.convention(actor, lille, themes=codes)
    assert convention["themes"] == sorted(codes)
    refused = client.post(
        "/v1/actors?not_duplicate=true",
        json={"kind": "association", "name": "Autre", "country": "FR", "themes": ["tourism"]},
    )
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["field"] == "themes.0"
    assert "tourism" in error["reason"]

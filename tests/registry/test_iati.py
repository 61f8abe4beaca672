"""IATI activity XML: projects exported as IATI 2.03 activities, checked against the IATI
schema with lxml's XML Schema validator and against IATI's codelists (copied, with their
attribution, in tests/data/iati)."""

import doctest
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, event

from services.registry.exports import iati, pages
from tests.conftest import Registry, assert_problem

DATA = Path(__file__).parent.parent / "data" / "iati"
FILE = "/v1/exports/iati-activities.xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(DATA / "schema-2.03" / "iati-activities-schema.xsd"))


@cache
def codelist(name: str) -> dict[str, str]:
    """Code → status ("active" unless the codelist says otherwise) of an IATI codelist."""
    root = etree.parse(DATA / "codelists" / f"{name}.xml")
    return {
        item.findtext("code"): item.get("status", "active") for item in root.iter("codelist-item")
    }


def read_iati(response: Any) -> etree._Element:
    """The `iati-activities` root of an export, after checking it against the IATI schema."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert schema().validate(root), schema().error_log
    assert root.get("version") == "2.03"
    return root


def activities(root: etree._Element) -> dict[str, etree._Element]:
    """The activities of a file by project id (the end of their iati-identifier)."""
    return {
        element.findtext("iati-identifier").removeprefix("XX-PASSERELLES-"): element
        for element in root.iter("iati-activity")
    }


@contextmanager
def counting(engine: Engine) -> Iterator[dict[str, Any]]:
    """SQL statements run and pool connections taken ("checkout") and given back ("checkin")."""
    seen: dict[str, Any] = {"statements": 0, "pool": []}
    listeners = {
        "before_cursor_execute": lambda *_: seen.update(statements=seen["statements"] + 1),
        "checkout": lambda *_: seen["pool"].append("checkout"),
        "checkin": lambda *_: seen["pool"].append("checkin"),
    }
    targets = {"before_cursor_execute": engine}
    for name, listener in listeners.items():
        event.listen(targets.get(name, engine.pool), name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            event.remove(targets.get(name, engine.pool), name, listener)


def only(client: TestClient, project: dict[str, Any]) -> etree._Element:
    root = read_iati(client.get(f"/v1/exports/iati-activities/{project['id']}.xml"))
    [element] = root.findall("iati-activity")
    return element


def orgs(element: etree._Element) -> list[tuple[str, str, str, str | None]]:
    """(name, role, type, ref) of each participating organisation."""
    return [
        (org.findtext("narrative"), org.get("role"), org.get("type"), org.get("ref"))
        for org in element.findall("participating-org")
    ]


@pytest.fixture
def kayes(registry: Registry) -> SimpleNamespace:
    """A water project in Kayes (Mali) led by Évry with the partners of every kind and role."""
    evry = registry.authority("Évry-Courcouronnes", iati_id="FR-COG-91228")
    town = registry.authority("Kayes", "ML")
    ngo = registry.actor("association", "Évry Solidarité Sahel")
    diaspora = registry.actor("migrant_organisation", "Ressortissants de Kayes à Évry")
    malian_ngo = registry.actor("association", "Femmes de Kayes pour l'eau", "ML")
    belgian_ngo = registry.actor("association", "Eau Sahel Belgique", "BE")
    agency = registry.actor("public_body", "Agence de l'eau Seine-Normandie")
    project = registry.project(
        evry,
        title="Bornes-fontaines à Kayes",
        description="Douze bornes-fontaines et un comité de gestion.",
        partners=[
            {"actor_id": ngo["id"], "role": "operator"},
            {"actor_id": diaspora["id"], "role": "partner"},
            {"actor_id": malian_ngo["id"], "role": "partner"},
            {"actor_id": belgian_ngo["id"], "role": "signatory"},
            {"actor_id": agency["id"], "role": "funder"},
        ],
        target_id=town["id"],
        themes=["water_sanitation", "migration_development"],
        starts_on="2024-01-01",
        ends_on="2025-06-30",
        budget={"amount": "95000", "currency": "EUR"},
    )
    return SimpleNamespace(evry=evry, town=town, project=project)


def test_a_project_is_a_valid_iati_activity_with_its_mapped_values(client, kayes):
    root = read_iati(client.get(FILE))
    element = activities(root)[kayes.project["id"]]
    assert element.get(XML_LANG) == "fr"
    assert element.get("default-currency") == "EUR"
    assert element.findtext("iati-identifier") == f"XX-PASSERELLES-{kayes.project['id']}"
    reporting = element.find("reporting-org")
    assert (reporting.get("ref"), reporting.get("type")) == ("XX-PASSERELLES", "90")
    assert reporting.get("secondary-reporter") == "1"
    assert element.findtext("title/narrative") == "Bornes-fontaines à Kayes"
    assert element.findtext("description/narrative").startswith("Douze bornes-fontaines")
    assert orgs(element) == [
        ("Évry-Courcouronnes", "2", "11", "FR-COG-91228"),  # lead: accountable
        ("Évry-Courcouronnes", "3", "11", "FR-COG-91228"),  # and extending, as it has funders
        ("Agence de l'eau Seine-Normandie", "1", "15", None),  # funder: funding, public
        ("Eau Sahel Belgique", "2", "21", None),  # signatory: accountable; third-country NGO
        ("Femmes de Kayes pour l'eau", "4", "24", None),  # partner-country NGO
        ("Ressortissants de Kayes à Évry", "4", "22", None),  # French (national) NGO
        ("Évry Solidarité Sahel", "4", "22", None),  # operator: implementing
    ]
    assert element.find("activity-status").get("code") == "2"
    dates = {d.get("type"): d.get("iso-date") for d in element.findall("activity-date")}
    assert dates == {"1": "2024-01-01", "3": "2025-06-30"}
    assert element.find("recipient-country").get("code") == "ML"
    sectors = {s.get("code"): s.get("percentage") for s in element.findall("sector")}
    assert sectors == {"15190": "50", "14030": "50"}
    assert {s.get("vocabulary") for s in element.findall("sector")} == {"1"}
    tags = [(t.get("vocabulary"), t.get("code")) for t in element.findall("tag")]
    assert tags == [("2", "6"), ("2", "10"), ("2", "17")]


def test_every_code_the_export_uses_is_in_iati_codelists(client, kayes):
    element = activities(read_iati(client.get(FILE)))[kayes.project["id"]]
    for sector in element.findall("sector"):
        assert codelist("Sector").get(sector.get("code")) == "active", sector.get("code")
    for org in element.findall("participating-org") + element.findall("reporting-org"):
        assert org.get("type") in codelist("OrganisationType")
    for tag in element.findall("tag"):
        assert tag.get("code") in codelist("UNSDG-Goals")
    assert element.find("recipient-country").get("code") in codelist("Country")


def test_a_budget_is_cut_into_periods_of_at_most_a_year_summing_to_it(client, kayes):
    budgets = only(client, kayes.project).findall("budget")
    periods = [
        (
            date.fromisoformat(b.find("period-start").get("iso-date")),
            date.fromisoformat(b.find("period-end").get("iso-date")),
            b.find("value"),
        )
        for b in budgets
    ]
    assert [(str(start), str(end)) for start, end, _ in periods] == [
        ("2024-01-01", "2024-12-31"),
        ("2025-01-01", "2025-06-30"),
    ]
    assert sum(Decimal(value.text) for *_, value in periods) == Decimal("95000.00")
    for (start, _end, value), budget in zip(periods, budgets, strict=True):
        assert (budget.get("type"), budget.get("status")) == ("1", "1")  # original, indicative
        assert (value.get("currency"), value.get("value-date")) == ("EUR", str(start))


@pytest.mark.parametrize(
    ("status", "code"), [("draft", "1"), ("active", "2"), ("suspended", "6"), ("ended", "4")]
)
def test_activity_status_follows_the_project_status(client, registry: Registry, status, code):
    lead = registry.authority("Grenoble")
    project = registry.project(lead, status=status, starts_on="2023-03-01")
    assert only(client, project).find("activity-status").get("code") == code


def test_kosovo_is_a_recipient_country(client, registry: Registry):
    prizren = registry.authority("Prizren", "XK")
    project = registry.project(
        registry.authority("Mulhouse"), target_id=prizren["id"], starts_on="2024-05-01"
    )
    element = only(client, project)
    assert element.find("recipient-country").get("code") == "XK"
    assert "XK" in codelist("Country")


def test_what_a_project_does_not_say_is_left_out_and_the_file_still_validates(
    client, registry: Registry
):
    """No themes, target, end, budget or description: a valid activity all the same, its
    sector "not specified", its description made of who takes part."""
    lead = registry.authority("Chambéry")
    partner = registry.actor("association", "Chambéry Ouahigouya")
    project = registry.project(lead, partner, starts_on="2022-01-01")
    element = only(client, project)
    assert [(s.get("code"), s.get("percentage")) for s in element.findall("sector")] == [
        ("99810", "100")
    ]
    assert element.find("recipient-country") is None
    assert element.findall("budget") == [] and element.find("tag") is None
    assert element.get("default-currency") is None
    assert element.findtext("description/narrative") == (
        "Projet porté par Chambéry, avec Chambéry Ouahigouya."
    )
    assert orgs(element) == [
        ("Chambéry", "2", "11", None),
        ("Chambéry Ouahigouya", "4", "22", None),
    ]


def test_a_budget_without_a_whole_period_is_not_reported(client, registry: Registry):
    project = registry.project(
        registry.authority("Poitiers"),
        ends_on="2026-12-31",
        budget={"amount": "1000", "currency": "XOF"},
    )
    element = only(client, project)
    assert element.findall("budget") == []
    assert element.get("default-currency") == "XOF"
    assert [d.get("type") for d in element.findall("activity-date")] == ["3"]


def test_sector_percentages_sum_to_100(client, registry: Registry):
    themes = ["health", "education", "culture"]
    project = registry.project(registry.authority("Rennes"), themes=themes, starts_on="2024-01-01")
    sectors = only(client, project).findall("sector")
    assert sum(Decimal(s.get("percentage")) for s in sectors) == 100
    assert {s.get("code") for s in sectors} == {"12220", "11220", "16066"}


def test_text_xml_cannot_carry_is_dropped_not_a_server_error(client, registry: Registry):
    project = registry.project(
        registry.authority("Nantes"),
        title="Eau\x01 et\x1f assainissement",
        description="Ligne\x0bverticale",
        starts_on="2024-01-01",
    )
    element = only(client, project)
    assert element.findtext("title/narrative") == "Eau et assainissement"
    assert element.findtext("description/narrative") == "Ligneverticale"


def test_a_project_without_dates_is_left_out_of_the_file_with_a_comment(client, registry: Registry):
    lead = registry.authority("Lille")
    dated = registry.project(lead, title="Daté", starts_on="2024-01-01")
    undated = registry.project(lead, title="Sans date")
    root = read_iati(client.get(FILE))
    assert list(activities(root)) == [dated["id"]]
    comments = [node.text for node in root.iter(etree.Comment)]
    assert any(undated["id"] in text and "date" in text for text in comments), comments
    problem = assert_problem(client.get(f"/v1/exports/iati-activities/{undated['id']}.xml"), 409)
    assert "date" in problem["detail"]


def test_the_file_takes_the_filters_of_the_projects_listing(client, registry: Registry, kayes):
    lille = registry.authority("Lille")
    peace = registry.project(
        lille, themes=["peace"], status="ended", starts_on="2019-01-01", target_country="SN"
    )
    both = [kayes.project["id"], peace["id"]]
    assert sorted(activities(read_iati(client.get(FILE)))) == sorted(both)
    for query, expected in [
        ("theme=peace", [peace["id"]]),
        ("status=active", [kayes.project["id"]]),
        ("target_country=ML&target_country=SN", both),
        (f"lead_id={lille['id']}", [peace["id"]]),
        (f"actor={kayes.evry['id']}", [kayes.project["id"]]),
        (f"target_id={kayes.town['id']}", [kayes.project["id"]]),
    ]:
        listed = [p["id"] for p in client.get(f"/v1/projects?{query}").json()["items"]]
        exported = list(activities(read_iati(client.get(f"{FILE}?{query}"))))
        assert sorted(exported) == sorted(listed) == sorted(expected), query
    assert_problem(client.get(f"{FILE}?theme=astrology"), 422, "theme.0")
    assert_problem(client.get(f"{FILE}?status=sleeping"), 422, "status.0")


def test_no_matching_project_is_a_404_problem_not_an_invalid_file(client, kayes):
    problem = assert_problem(client.get(f"{FILE}?theme=peace"), 404)
    assert "IATI" in problem["detail"]


def test_open_data_needs_no_key(anonymous, kayes):
    read_iati(anonymous.get(FILE))
    read_iati(anonymous.get(f"/v1/exports/iati-activities/{kayes.project['id']}.xml"))
    disposition = anonymous.get(FILE).headers["content-disposition"]
    assert disposition == 'attachment; filename="iati-activities.xml"'


def test_one_project_unknown_or_deleted_is_a_problem_like_reading_it(
    client, registry: Registry, kayes
):
    assert_problem(client.get(f"/v1/exports/iati-activities/{kayes.town['id']}.xml"), 404)
    assert_problem(client.get("/v1/exports/iati-activities/not-a-uuid.xml"), 422)
    assert client.delete(f"/v1/projects/{kayes.project['id']}").status_code == 204
    assert_problem(client.get(f"/v1/exports/iati-activities/{kayes.project['id']}.xml"), 410)
    assert_problem(client.get(FILE), 404)  # the deleted project leaves the file too


def test_a_partner_deleted_after_the_project_ended_is_still_named(client, registry: Registry):
    lead = registry.authority("Metz")
    gone = registry.actor("association", "Association dissoute")
    project = registry.project(lead, gone, status="ended", starts_on="2010-01-01")
    assert client.delete(f"/v1/actors/{gone['id']}").status_code == 204
    assert ("Association dissoute", "4", "22", None) in orgs(only(client, project))


def test_the_file_is_streamed_page_by_page_through_the_requests_own_connection(
    anonymous, registry: Registry, reading_engine: Engine, monkeypatch
):
    """Pages of two projects: each comes once, in the listing's order, and the connection the
    request took serves every page and goes back to the pool only at the end."""
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    lead = registry.authority("Angers")
    made = [
        registry.project(lead, title=f"Projet {i}", starts_on="2024-01-01")["id"] for i in range(5)
    ]
    with counting(reading_engine) as seen:
        root = read_iati(anonymous.get(FILE))
    assert list(activities(root)) == made
    assert seen["pool"] == ["checkout", "checkin"], seen["pool"]


def test_the_queries_of_a_page_do_not_grow_with_its_projects(
    anonymous, registry: Registry, reading_engine: Engine
):
    lead = registry.authority("Dunkerque")
    partner = registry.actor("association", "Dunkerque Océan Indien")

    def statements() -> int:
        with counting(reading_engine) as seen:
            read_iati(anonymous.get(FILE))
        return seen["statements"]

    registry.project(lead, partner, starts_on="2024-01-01", themes=["education"])
    few = statements()
    assert few > 0
    for i in range(5):
        other = registry.actor("association", f"Partenaire {i}")
        registry.project(lead, partner, other, starts_on="2024-01-01", themes=["culture"])
    assert statements() == few


def test_the_openapi_document_says_the_exports_are_xml(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (FILE, "/v1/exports/iati-activities/{project_id}.xml"):
        responses = paths[path]["get"]["responses"]
        assert list(responses["200"]["content"]) == ["application/xml"], path
        assert "404" in responses
    assert "410" in paths["/v1/exports/iati-activities/{project_id}.xml"]["get"]["responses"]


def test_themes_expose_their_dac_sectors_all_active_iati_sector_codes(client):
    themes = client.get("/v1/themes").json()
    for theme in themes:
        codes = theme["dac_sectors"]
        assert codes and len(codes) == len(set(codes)), theme["code"]
        for code in codes:
            assert codelist("Sector").get(code) == "active", (theme["code"], code)
    by_code = {theme["code"]: theme["dac_sectors"] for theme in themes}
    assert by_code["water_sanitation"][0] == "14030"
    assert by_code["governance_decentralisation"][0] == "15112"
    assert by_code["migration_development"][0] == "15190"
    assert by_code["global_citizenship_education"] == ["99820"]


# --- the pure functions, without a database --------------------------------------------------


def test_the_module_examples_hold():
    assert doctest.testmod(iati).failed == 0


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "periods"),
    [
        (date(2024, 1, 1), date(2024, 1, 1), 1),
        (date(2024, 2, 29), date(2027, 3, 1), 4),
        (date(2020, 7, 1), date(2030, 6, 30), 10),
    ],
)
def test_budget_periods_are_contiguous_at_most_a_year_and_sum_to_the_budget(
    starts_on, ends_on, periods
):
    amount = Decimal("123456.78")
    cut = iati.budget_periods(amount, starts_on, ends_on)
    assert len(cut) == periods
    assert cut[0][0] == starts_on and cut[-1][1] == ends_on
    assert sum(value for *_, value in cut) == amount
    for (start, end, value), following in zip(cut, [*cut[1:], None], strict=True):
        assert 0 <= (end - start).days <= 365  # a year at most, 366 days when leap
        assert value >= 0
        if following is not None:
            assert following[0] == end + timedelta(days=1)


def test_organisation_types_by_kind_level_and_where_based():
    def org(kind: str, country: str = "FR", level: str | None = None) -> iati.Organisation:
        return iati.Organisation("X", kind, level, country, None)

    assert iati.organisation_type(org("local_authority", "ML", "municipality"), "ML") == "11"
    assert iati.organisation_type(org("local_authority", "FR", "region"), "ML") == "11"
    assert iati.organisation_type(org("local_authority", "ML", "state"), "ML") == "10"
    assert iati.organisation_type(org("public_body"), "ML") == "15"
    assert iati.organisation_type(org("network"), "ML") == "22"
    assert iati.organisation_type(org("resource_centre"), None) == "22"
    assert iati.organisation_type(org("migrant_organisation", "SN"), "SN") == "24"
    assert iati.organisation_type(org("association", "DE"), "ML") == "21"
    assert iati.organisation_type(org("business"), "ML") == "71"
    assert iati.organisation_type(org("business", "ML"), "ML") == "72"
    assert iati.organisation_type(org("business", "CN"), "ML") == "73"
    assert iati.organisation_type(org("other"), "ML") == "90"

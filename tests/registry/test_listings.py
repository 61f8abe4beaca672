"""A listing's statement is built once for each shape of its filters and binds each request's
values: requests of the same shape with other values get their own rows, on every page."""

import json

import pytest

from services.registry.actors import ActorFilters, actor_listing
from services.registry.conventions import convention_listing
from services.registry.funded import FundedFilters
from services.registry.listings import like_pattern
from services.registry.models import Actor
from services.registry.resources import _documents_statement
from services.registry.vocabulary import ActorKind
from shared.driver import compiled_for_driver
from tests.conftest import Registry


def _names(anonymous, path: str) -> list[str]:
    """Every item's name (or title) of a listing, following its pages."""
    names: list[str] = []
    url: str | None = path
    while url is not None:
        response = anonymous.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        names += [item.get("name") or item.get("title") for item in page["items"]]
        url = page["next"]
    return names


def test_a_listing_keeps_one_statement_for_each_shape_of_its_filters():
    lyon = actor_listing(ActorFilters(kind=[ActorKind.association], country=["FR"]))
    kayes = actor_listing(ActorFilters(kind=[ActorKind.local_authority], country=["ML"]))
    assert kayes.statement is lyon.statement
    assert lyon.parameters == {"kind": "association", "country": "FR"}
    assert kayes.parameters == {"kind": "local_authority", "country": "ML"}

    several = actor_listing(ActorFilters(kind=list(ActorKind)[:2], country=["FR"]))
    assert several.statement is not lyon.statement
    assert several.parameters["kind"] == [kind.value for kind in list(ActorKind)[:2]]
    assert actor_listing(ActorFilters(country=["FR"])).statement is not lyon.statement

    one_word = actor_listing(ActorFilters(q="eau"))
    assert actor_listing(ActorFilters(q="santé")).statement is one_word.statement
    assert actor_listing(ActorFilters(q="eau santé")).statement is not one_word.statement

    funded = FundedFilters()
    assert convention_listing(funded, []).statement is convention_listing(funded, []).statement


def test_requests_of_one_shape_each_get_their_own_rows_on_every_page(anonymous, registry: Registry):
    for number in range(7):
        registry.actor("association", f"Association lyonnaise {number}")
        registry.actor("association", f"Association de Kayes {number}", country="ML")
    registry.authority("Lyon")

    french = _names(anonymous, "/v1/actors?kind=association&country=FR&limit=3")
    malian = _names(anonymous, "/v1/actors?kind=association&country=ML&limit=3")
    assert french == [f"Association lyonnaise {n}" for n in range(7)]
    assert malian == [f"Association de Kayes {n}" for n in range(7)]
    assert _names(anonymous, "/v1/actors?kind=local_authority&country=FR&limit=3") == ["Lyon"]

    both = _names(anonymous, "/v1/actors?kind=association&country=FR&country=ML&limit=4")
    assert sorted(both) == sorted(french + malian)


def test_a_text_search_keeps_every_word_and_matches_wildcards_as_written(
    anonymous, registry: Registry
):
    registry.actor("association", "Solidarité Eau Sahel")
    registry.actor("association", "Solidarité Santé Sahel")
    registry.actor("association", "Eau Vive Bretagne")

    assert _names(anonymous, "/v1/actors?q=sahel&limit=1") == [
        "Solidarité Eau Sahel",
        "Solidarité Santé Sahel",
    ]
    assert _names(anonymous, "/v1/actors?q=eau%20sahel") == ["Solidarité Eau Sahel"]
    assert _names(anonymous, "/v1/actors?q=eau") == ["Solidarité Eau Sahel", "Eau Vive Bretagne"]
    # Search words are folded without punctuation; a pattern still escapes LIKE's wildcards.
    assert like_pattern("50%") == "%50/%%"
    assert like_pattern("a_b/c") == "%a/_b//c%"


def test_a_text_search_on_postgresql_reads_the_trigram_index(anonymous, registry: Registry):
    """A search for a rare word, its page's statement as the registry sends it, is planned on
    the trigram index of live names; SQLite has none and reads every name."""
    engine = anonymous.app.state.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no trigram index: its text search reads every name")
    registry.actor("association", "Solidarité Eau Sahel")
    listing = actor_listing(ActorFilters(q="sahel"))
    statement = _documents_statement(listing.statement, Actor.__table__, False)  # type: ignore[attr-defined]
    parameters = {**listing.parameters, "page_size": 51}
    plan = compiled_for_driver(statement, engine.dialect, tuple(parameters))
    assert plan is not None
    sql = plan.sql
    with engine.connect() as connection:  # rolled back at the end
        # Enough other names, and the planner told of them, for an index to be worth reading.
        connection.exec_driver_sql(
            "INSERT INTO actor (id, created_at, updated_at, version, kind, name, search_name,"
            " country) SELECT gen_random_uuid(), now(), now(), 1, 'association',"
            " 'Association ' || n, 'association ' || n, 'FR' FROM generate_series(1, 2000) AS n"
        )
        # New entries wait in the index's pending list, which a search reads whole: merged in.
        connection.exec_driver_sql("SELECT gin_clean_pending_list('ix_actor_live_text')")
        connection.exec_driver_sql("ANALYZE actor")
        explained = connection.exec_driver_sql(f"EXPLAIN {sql}", parameters).scalars().all()
        assert any("Bitmap Index Scan on ix_actor_live_text" in line for line in explained), (
            explained
        )
        rows = connection.exec_driver_sql(sql, parameters).all()
    assert [json.loads(row[0])["name"] for row in rows] == ["Solidarité Eau Sahel"]

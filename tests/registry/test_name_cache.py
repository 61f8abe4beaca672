"""Each process's name cache finds every name written before a check, by any process, and a
name it holds too many (renamed, deleted, rolled back) never makes a likely duplicate."""

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from services.registry.actors import create_actor, delete_actor
from services.registry.name_cache import NameCache
from services.registry.name_keys import probe_keys
from services.registry.schemas import ActorCreate
from shared.access import Principal, Scope
from shared.text import comparable_name
from tests.conftest import Registry, empty_database, issue_key

_ADMIN = Principal(name="another process", scopes=frozenset({Scope.admin}))


@pytest.fixture
def cache(engine: Engine) -> Iterator[NameCache]:
    names = NameCache(engine)
    yield names
    names.close()


def _found(names: NameCache, engine: Engine, name: str, country: str = "FR") -> bool:
    comparable = comparable_name(name)
    with engine.connect() as connection:
        found = names.candidates(connection, probe_keys("association", country, comparable))
    return comparable in found


def _session(engine: Engine) -> Session:
    session = Session(engine)
    session.info["principal"] = _ADMIN
    return session


def _write_elsewhere(engine: Engine, name: str, *, commit: bool = True) -> Session:
    """An actor written as another process (or an import) would: without this cache."""
    session = _session(engine)
    body = ActorCreate(kind="association", name=name, country="FR")
    create_actor(session, body, names=None, duplicate_threshold=None)
    if commit:
        session.commit()
        session.close()
    return session


def test_a_name_another_process_commits_is_found_by_the_next_check(engine, cache):
    assert not _found(cache, engine, "Les Amis de Kayes")  # loaded, cursor at the head
    _write_elsewhere(engine, "Les Amis de Kayes")
    assert _found(cache, engine, "Les Amis de Kayes")
    assert _found(cache, engine, "Les Amis de Kayes", "BE") is False


def test_a_name_this_process_is_writing_is_found_before_it_commits(engine, cache):
    assert not _found(cache, engine, "Solidarité Bamako Montreuil")
    session = _session(engine)
    body = ActorCreate(kind="association", name="Solidarité Bamako Montreuil", country="FR")
    create_actor(session, body, names=cache, duplicate_threshold=92.0)
    # Not committed: only this process knows it, as the next write of its commit group must.
    assert _found(cache, engine, "Solidarité Bamako Montreuil")
    other = NameCache(engine)
    try:
        assert not _found(other, engine, "Solidarité Bamako Montreuil")
        session.commit()
        assert _found(other, engine, "Solidarité Bamako Montreuil")
    finally:
        other.close()
        session.close()


def test_a_write_rolled_back_does_not_hide_the_one_that_takes_its_number(engine, cache):
    """On SQLite a rolled-back event's sequence number is drawn again by the next write: a
    cache that had read past it would skip that write. The cache reads only what is
    committed, so it never does."""
    assert not _found(cache, engine, "Comité de jumelage de Nioro")
    pending = _write_elsewhere(engine, "Comité de jumelage de Nioro", commit=False)
    assert not _found(cache, engine, "Comité de jumelage de Nioro")
    pending.rollback()
    pending.close()
    _write_elsewhere(engine, "Association des ressortissants de Diéma")
    assert _found(cache, engine, "Association des ressortissants de Diéma")


def test_an_emptied_or_restored_database_is_loaded_again(client, engine, cache):
    _write_elsewhere(engine, "Eau Vive Yélimané")
    _write_elsewhere(engine, "Santé Sud Kayes")
    assert _found(cache, engine, "Santé Sud Kayes")
    # Emptied, then written again past the cursor's number: the event under the cursor is
    # another one, so the cache reloads rather than read on from there.
    empty_database(engine)
    issue_key(engine, "admin again", Scope.admin)
    for number in range(4):
        _write_elsewhere(engine, f"Jeunesse Kidal {number}")
    assert _found(cache, engine, "Jeunesse Kidal 0")


def test_after_a_long_idle_time_the_cache_reloads_and_forgets_the_names_that_left(
    engine, registry: Registry
):
    kept = registry.actor("association", "Les Amis de Tambacounda")
    left = registry.actor("association", "Coopération Ségou Angers")
    names = NameCache(engine, max_idle=0.0)
    try:
        assert _found(names, engine, kept["name"]) and _found(names, engine, left["name"])
        with _session(engine) as session:
            delete_actor(session, uuid.UUID(left["id"]), if_match=None)
            session.commit()
        assert _found(names, engine, kept["name"])
        assert not _found(names, engine, left["name"])
    finally:
        names.close()


def test_an_old_name_the_cache_still_holds_is_not_a_likely_duplicate(client, registry: Registry):
    actor = registry.actor("association", "Coopération Dakar Nantes")
    renamed = client.patch(f"/v1/actors/{actor['id']}", json={"name": "Horizons Sahel Nantes"})
    assert renamed.status_code == 200, renamed.text
    body = {"kind": "association", "country": "FR"}
    old = client.post("/v1/actors", json=body | {"name": "Coopération Dakar-Nantes"})
    assert old.status_code == 201, old.text
    new = client.post("/v1/actors", json=body | {"name": "Horizons Sahel-Nantes"})
    assert new.status_code == 409
    assert [c["id"] for c in new.json()["candidates"]] == [actor["id"]]


def test_a_warmed_cache_is_loaded_once_and_still_follows_the_feed(engine):
    names = NameCache(engine)
    try:
        names.warm()
        _write_elsewhere(engine, "Association Kayes Solidarité Montreuil")
        assert _found(names, engine, "Association Kayes Solidarité Montreuil")
        assert names._loads == 1  # the first check did not load again
    finally:
        names.close()

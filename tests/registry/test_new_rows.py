"""`shared.db.new_row`: the rows the create paths build without sqlmodel's constructor are the
rows the constructor builds, and the ORM inserts them whole; `resources.add_new` writes them
as a flush would."""

import subprocess
import sys
import textwrap
import uuid
from datetime import datetime

import pytest
from pydantic_core import PydanticUndefined
from sqlalchemy import event
from sqlmodel import Session, SQLModel, select

import services.registry.models as models
from services.registry.actors import create_actor
from services.registry.models import (
    Actor,
    ActorIntervention,
    ActorNameKey,
    ActorOrigin,
    ActorRelationship,
    ActorTheme,
    Convention,
    ConventionParty,
    ConventionTheme,
    Project,
)
from services.registry.name_cache import NameCache
from services.registry.name_keys import stored_keys
from services.registry.resources import add_new
from services.registry.schemas import ActorCreate
from shared.access import Principal, Scope
from shared.db import new_row
from shared.text import comparable_name

_GENERATED = {"id", "created_at", "updated_at"}

ROWS: list[tuple[type[SQLModel], dict]] = [
    (Actor, {"kind": "association", "name": "Eau Vive", "search_name": "", "country": "FR"}),
    (Convention, {"kind": "twinning", "title": "Jumelage", "status": "active"}),
    (Project, {"title": "Puits", "lead_id": uuid.uuid4(), "status": "draft"}),
    (
        ActorRelationship,
        {"kind": "member_of", "subject_id": uuid.uuid4(), "object_id": uuid.uuid4()},
    ),
    # Link rows: their owner's id comes from the collection they join, at the flush.
    (ActorTheme, {"theme": "water_sanitation"}),
    (ConventionParty, {"actor_id": uuid.uuid4(), "role": "party"}),
]


@pytest.mark.parametrize(("model", "values"), ROWS, ids=lambda v: getattr(v, "__name__", ""))
def test_a_new_row_holds_what_the_constructor_would(model, values) -> None:
    fast, slow = new_row(model, **values), model(**values)
    for name in model.model_fields:
        if name in _GENERATED:
            continue
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.model_fields_set == slow.model_fields_set == set(values)
    if "id" in model.model_fields:
        assert isinstance(fast.id, uuid.UUID) and fast.id != slow.id
        assert isinstance(fast.created_at, datetime) and fast.created_at.tzinfo is not None
        # Fresh values per row, as default factories give.
        assert new_row(model, **values).id != fast.id


def test_a_new_row_is_inserted_whole_and_changes_are_tracked(engine) -> None:
    actor = new_row(
        Actor, kind="association", name="Eau Vive", search_name="eau vive", country="FR"
    )
    actor.description = "Puits au Sahel"
    actor.theme_links.append(new_row(ActorTheme, theme="water_sanitation"))
    with Session(engine) as session:
        session.add(actor)
        session.commit()
        actor_id = actor.id
    with Session(engine) as session:
        stored = session.get(Actor, actor_id)
        assert stored is not None
        assert (stored.name, stored.description, stored.version) == (
            "Eau Vive",
            "Puits au Sahel",
            1,
        )
        assert stored.deleted_at is None and stored.created_at is not None
        assert [link.theme for link in stored.theme_links] == ["water_sanitation"]


def test_a_fresh_process_first_row_has_its_relationships() -> None:
    """The constructor configures the ORM's mappers on a process's first row; a registry
    whose first write had read only through table statements (the key check) got a row
    without relationships, and a 500. In a process of its own: this one's are configured."""
    code = textwrap.dedent(
        """
        from services.registry.models import Actor, ActorTheme
        from shared.db import new_row

        actor = new_row(Actor, kind="association", name="X", search_name="x", country="FR")
        actor.theme_links.append(new_row(ActorTheme, theme="health"))
        assert [link.theme for link in actor.theme_links] == ["health"]
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


def test_no_table_field_has_a_mutable_default_that_new_rows_would_share() -> None:
    tables = [
        model
        for model in vars(models).values()
        if isinstance(model, type) and issubclass(model, SQLModel) and hasattr(model, "__table__")
    ]
    assert Actor in tables and ConventionParty in tables
    for model in tables:
        for name, field in model.model_fields.items():
            default = field.default
            assert default is PydanticUndefined or isinstance(default, _IMMUTABLE), (
                f"{model.__name__}.{name}: a mutable default would be shared by new_row's rows"
            )


def _stored(session: Session, model: type[SQLModel], key: str, owner: uuid.UUID) -> list[dict]:
    table = model.__table__  # type: ignore[attr-defined]
    rows = session.execute(select(table).where(table.c[key] == owner)).mappings().all()
    return sorted(
        ({k: v for k, v in row.items() if k not in {key, "id"}} for row in rows), key=repr
    )


def test_a_new_resource_inserted_as_plain_statements_is_stored_as_a_flush_stores_it(
    engine,
) -> None:
    """`resources.add_new` (`inserts.insert_new`) writes the row, its document and its link
    rows, each with its owner's key, as the ORM's flush writes them."""
    with Session(engine, expire_on_commit=False) as session:
        town = new_row(
            Actor,
            kind="local_authority",
            name="Kayes",
            search_name="kayes",
            country="ML",
            level="municipality",
        )
        session.add(town)
        session.commit()

    def made() -> tuple[Actor, Convention]:
        actor = new_row(
            Actor,
            kind="migrant_organisation",
            name=f"Association {uuid.uuid4().hex[:6]}",
            search_name="x",
            country="FR",
        )
        actor.description = "Puits et écoles"
        actor.public_contact = {"email": "contact@example.org"}
        actor.theme_links.extend(new_row(ActorTheme, theme=t) for t in ("health", "youth"))
        actor.intervention_links.append(new_row(ActorIntervention, country="ML"))
        actor.origin_links.append(new_row(ActorOrigin, origin_id=town.id))
        convention = new_row(Convention, kind="twinning", title="Jumelage", status="active")
        convention.parties.extend(
            new_row(ConventionParty, actor_id=i, role="signatory") for i in (town.id, actor.id)
        )
        convention.theme_links.append(new_row(ConventionTheme, theme="water_sanitation"))
        return actor, convention

    flushed, inserted = made(), made()
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(flushed)
        session.flush()
        for row in inserted:
            add_new(session, row)
        session.commit()
    with Session(engine) as session:
        pairs = list(zip(flushed, inserted, strict=True))
        for fresh, plain in pairs:
            model = type(fresh)
            table = model.__table__  # type: ignore[attr-defined]
            one, two = (
                session.execute(select(table).where(table.c.id == row.id)).mappings().one()
                for row in (fresh, plain)
            )
            # Each document carries its own id, name and times; both have one.
            different = {"id", "name", "search_name", "created_at", "updated_at", "document"}
            assert one["document"] and two["document"]
            assert {k: v for k, v in one.items() if k not in different} == {
                k: v for k, v in two.items() if k not in different
            }
        links = [
            (ActorTheme, "actor_id"),
            (ActorIntervention, "actor_id"),
            (ActorOrigin, "actor_id"),
        ]
        for link, key in links:
            assert _stored(session, link, key, flushed[0].id) == _stored(
                session, link, key, inserted[0].id
            )
            assert _stored(session, link, key, inserted[0].id)
        for link, key in [(ConventionParty, "convention_id"), (ConventionTheme, "convention_id")]:
            plain = _stored(session, link, key, inserted[1].id)
            fresh = _stored(session, link, key, flushed[1].id)
            assert plain
            assert [{k: v for k, v in r.items() if k != "actor_id"} for r in plain] == [
                {k: v for k, v in r.items() if k != "actor_id"} for r in fresh
            ]


def test_a_new_actor_is_written_with_its_name_keys(engine) -> None:
    """The name keys of a new actor go with it (`duplicates.keys_along`): on PostgreSQL in the
    actor's own statement, a round trip of their own costing a fifth of a write's CPU."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    body = ActorCreate(
        kind="association", name="Les Amis de Kayes", country="FR", themes=["health"]
    )
    names = NameCache(engine)
    with Session(engine) as session:
        session.info["principal"] = Principal(name="test", scopes=frozenset({Scope.admin}))
        event.listen(engine, "before_cursor_execute", seen)
        try:
            actor = create_actor(session, body, names=names, duplicate_threshold=92.0)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
            names.close()
        session.commit()
        keys = session.execute(
            select(ActorNameKey.key).where(ActorNameKey.actor_id == actor.id)
        ).scalars()
        assert sorted(keys) == sorted(stored_keys("association", "FR", comparable_name(body.name)))
    writing_keys = [s for s in statements if "INSERT INTO actor_name_key" in s]
    assert len(writing_keys) == 1
    if engine.dialect.name == "postgresql":
        assert "INSERT INTO actor " in writing_keys[0]


def test_new_rows_and_their_events_take_ids_that_grow_with_time(client, registry) -> None:
    """Version 7 ids: each new row's index entries go to the last page of the index."""
    created = [registry.actor("association", f"Solidarité {word}") for word in ("Nord", "Sud")]
    created.append(registry.convention(*created))
    ids = [uuid.UUID(row["id"]) for row in created]
    assert [i.version for i in ids] == [7, 7, 7]
    assert ids == sorted(ids)
    events = client.get("/v1/events", params={"after": 0}).json()["items"]
    event_ids = [uuid.UUID(e["id"]) for e in events]
    assert event_ids and all(i.version == 7 for i in event_ids)
    assert event_ids == sorted(event_ids)

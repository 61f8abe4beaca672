"""`shared.db.new_row`: the rows the create paths build without sqlmodel's constructor are the
rows the constructor builds, and the ORM inserts them whole."""

import subprocess
import sys
import textwrap
import uuid
from datetime import datetime

import pytest
from pydantic_core import PydanticUndefined
from sqlmodel import Session, SQLModel

import services.registry.models as models
from services.registry.models import (
    Actor,
    ActorRelationship,
    ActorTheme,
    Convention,
    ConventionParty,
    Project,
)
from shared.db import new_row

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

"""`shared.db.in_list`: a column matched against a list bound as one parameter, on both
databases, with the column's index."""

import uuid

from sqlalchemy import Engine, insert, select, text

from services.registry.models import ActorNameKey
from shared.db import in_list

_KEYS = ActorNameKey.__table__  # type: ignore[attr-defined]
_MATCHING = select(_KEYS.c.key).where(in_list(_KEYS.c.key, "keys")).order_by(_KEYS.c.key)


def test_matches_exactly_the_values_of_a_long_list(engine: Engine):
    # Characters that quoting or a separator could get wrong: quotes, commas, braces, pipes,
    # backslashes, accents.
    stored = [f"k|{i}|é'\",{{}}\\ {i}" for i in range(400)]
    owner = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            insert(_KEYS), [{"key": k, "actor_id": owner, "comparable": k} for k in stored]
        )
    asked = stored[::3] + [f"absent {i}" for i in range(200)]
    with engine.connect() as connection:
        found = connection.execute(_MATCHING, {"keys": asked}).scalars().all()
        assert found == sorted(stored[::3])
        assert connection.execute(_MATCHING, {"keys": []}).scalars().all() == []
        # One statement, whatever the length: the same SQL for 1 and 600 values.
        sql = str(_MATCHING.compile(dialect=engine.dialect))
        assert sql.count("?") + sql.count("%(") == 1


def test_the_index_serves_the_look_up(engine: Engine):
    sql = str(_MATCHING.compile(dialect=engine.dialect))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ('["a"]',))
            )
            assert "SEARCH actor_name_key USING" in plan and "(key=?)" in plan, plan
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(
                row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}", {"keys": ["a"]})
            )
            assert "Index" in plan, plan

"""Statements run on the driver's own cursor, their SQL compiled once.

SQLAlchemy's execution of a small statement (its cache key, execution context, result object)
costs several times what SQLite's driver spends running it, and about as much as psycopg's: a
single `POST /v1/actors` runs about ten such statements, and that execution was a tenth of its
CPU. Here a statement is compiled once per dialect and set of parameter names, with the bind
processing of its parameters and the result processing of its columns; each execution then
goes straight to the driver's cursor of the connection the unit of work holds, in its
transaction.

What SQLAlchemy would add is kept: parameters and columns go through their types (UUIDs, JSON,
timestamps), driver errors come out as SQLAlchemy's (`IntegrityError`…), and a connection found
dead is invalidated. A statement that needs more runs through SQLAlchemy as before: one whose
columns take Python-side defaults, one with a list expanded into placeholders (`in_`; see
`shared.db.in_list`), or any statement on a connection whose engine has
cursor-execution listeners (tracing, tests counting statements), so they still see every one.
"""

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.base import Executable

__all__ = [
    "DriverPlan",
    "Parameters",
    "compiled_for_driver",
    "driver_arguments",
    "execute_plain",
    "sqlalchemy_error",
]

Parameters = dict[str, Any]
_Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class DriverPlan:
    """A statement as its driver runs it."""

    sql: str
    # The parameters' names in the order of the SQL's placeholders (a positional driver:
    # SQLite's), or None if the driver takes them by name (psycopg).
    order: tuple[str, ...] | None
    binds: tuple[tuple[str, _Processor], ...]
    # Values bound in the statement itself (`column == 3`), for names not given.
    given: tuple[tuple[str, Any], ...]
    columns: tuple[tuple[int, _Processor], ...]
    # Rows read by their columns' names, as SQLAlchemy's are (`row.id`).
    row: type[tuple[Any, ...]]
    # Whether it returns rows, known from its columns; None for SQL text, whose columns
    # SQLAlchemy does not know: the cursor's description then says. psycopg builds that
    # description anew at each call, a tenth of a write's CPU when asked of every statement.
    returns_rows: bool | None


def execute_plain(
    connection: Connection, statement: Executable, parameters: Parameters | Sequence[Parameters]
) -> list[Any]:
    """Run `statement` in `connection`'s transaction, once with `parameters` (a dict) or once per
    row of them (a list: the driver's `executemany`); return the rows it returns, if any."""
    many = not isinstance(parameters, dict)
    if many and not parameters:
        return []
    first: Parameters = parameters[0] if many else parameters  # type: ignore[assignment,index]
    dialect = connection.dialect
    plan = None if _observed(connection) else compiled_for_driver(statement, dialect, tuple(first))
    if plan is None:
        result = connection.execute(statement, parameters)
        return list(result) if result.returns_rows else []
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    kept = dialect.name == "postgresql"
    cursor = _kept_cursor(connection, dbapi_connection) if kept else dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(plan.sql, [driver_arguments(plan, row) for row in parameters])  # type: ignore[union-attr]
        else:
            cursor.execute(plan.sql, driver_arguments(plan, first))
        returns_rows = plan.returns_rows
        if returns_rows is None or many:
            # An `executemany` returns no rows whatever its SQL, unless its driver is told to.
            returns_rows = cursor.description is not None
        if not returns_rows:
            return []
        fetched = cursor.fetchall()
        if len(fetched) > _KEEP_AFTER_ROWS:
            kept = False  # its result stays in the cursor until the next statement
        return _read(plan, fetched)
    except dialect.loaded_dbapi.Error as error:
        dead = dialect.is_disconnect(error, dbapi_connection, cursor)
        raise sqlalchemy_error(
            dialect, error, plan.sql, parameters, dead, connection.invalidate
        ) from error
    finally:
        if not kept:
            cursor.close()


_CURSOR = "passerelles.driver_cursor"
# A cursor is kept with the result of its last statement: after a large one (a page of the
# name cache's load) it is closed, and the connection's next statement makes a new one.
_KEEP_AFTER_ROWS = 1_000


def _kept_cursor(connection: Connection, dbapi_connection: Any) -> Any:
    """PostgreSQL: one driver cursor per pooled connection, kept between statements. psycopg
    builds each new cursor its own map of adapters, and then finds each parameter's adapter
    again: 1.6 % of the instructions of a `POST /v1/actors` in the registry. (SQLite's cursors
    cost next to nothing to make, and one left holding a statement could hold the database's
    lock.)"""
    info = connection.connection.info
    cursor = info.get(_CURSOR)
    if cursor is None or cursor.closed or cursor.connection is not dbapi_connection:
        cursor = info[_CURSOR] = dbapi_connection.cursor()
    return cursor


def sqlalchemy_error(
    dialect: Dialect,
    error: Exception,
    sql: str,
    parameters: Any,
    dead: bool,
    invalidate: Callable[[BaseException], None],
) -> DBAPIError:
    """The SQLAlchemy error for a driver's `error` (`IntegrityError`…), as SQLAlchemy's own
    execution raises it, its connection invalidated first if the error says it is `dead`."""
    if dead:
        invalidate(error)
    return DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error)


def driver_arguments(plan: DriverPlan, parameters: Parameters) -> Any:
    """`parameters` as the driver takes them for `plan`: processed by their types, in
    placeholder order for a positional driver."""
    if plan.given or plan.binds:
        parameters = dict(parameters)
        for name, value in plan.given:
            parameters.setdefault(name, value)
        for name, process in plan.binds:
            if name in parameters:
                parameters[name] = process(parameters[name])
    if plan.order is None:
        return parameters
    return tuple(parameters[name] for name in plan.order)


def _observed(connection: Connection) -> bool:
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _read(plan: DriverPlan, rows: list[Any]) -> list[Any]:
    make = plan.row
    if not plan.columns:
        return [make(*row) for row in rows]
    read = []
    for row in rows:
        values = list(row)
        for index, process in plan.columns:
            values[index] = process(values[index])
        read.append(make(*values))
    return read


@lru_cache(maxsize=1024)
def compiled_for_driver(
    statement: Executable, dialect: Dialect, names: tuple[str, ...]
) -> DriverPlan | None:
    """The plan of `statement` on `dialect` for parameters named `names`, or None if it must
    run through SQLAlchemy (see the module's docstring)."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(names))
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # Python-side column defaults: SQLAlchemy's execution computes them
    if compiled.post_compile_params:
        return None  # a list expanded into placeholders at each execution (`in_`)
    binds, given = [], []
    for name, bind in compiled.binds.items():
        if name not in names and not bind.required:
            given.append((name, bind.effective_value))
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    columns, column_names = [], []
    for index, column in enumerate(compiled._result_columns):
        column_names.append(column[0])
        process = column[3].dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            columns.append((index, process))
    order = tuple(compiled.positiontup) if compiled.positional else None
    row = namedtuple("Row", column_names, rename=True)  # type: ignore[misc]
    returns_rows = None if compiled.isplaintext else bool(column_names)
    return DriverPlan(
        str(compiled), order, tuple(binds), tuple(given), tuple(columns), row, returns_rows
    )

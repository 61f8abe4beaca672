"""Engines, sessions and column types for the services' databases (SQLite or PostgreSQL)."""

import inspect
import json
import select
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
from psycopg.types.array import ListBinaryDumper
from pydantic_core import PydanticUndefined
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Row,
    Select,
    String,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, SQLModel
from uuid_utils.compat import uuid7

from shared.commit_group import settle
from shared.driver import compiled_for_driver, driver_arguments, sqlalchemy_error

__all__ = [
    "BIGINT_MAX",
    "UTCDateTime",
    "all_rows",
    "begin_write",
    "commit",
    "dispose_engines",
    "first_row",
    "in_list",
    "make_engine",
    "new_id",
    "new_row",
    "new_session",
    "open_session",
    "reading_engine",
    "refresh_planner_statistics",
    "take_turn",
    "utcnow",
    "write_lock",
    "write_turn",
]

# The largest integer a BIGINT column (an INTEGER in SQLite) holds: the bound of any integer a
# client sends that is stored or compared in SQL, so larger ones are a 422, not an overflow.
BIGINT_MAX = 2**63 - 1

_Factory = TypeVar("_Factory", bound=Callable[[], Any])


def _signature_computed_once(function: _Factory) -> _Factory:
    """Give a column's default factory its signature up front.

    pydantic asks a default factory for its signature (does it take the validated data?) each
    time sqlmodel builds a table row, and `inspect.signature` computes it anew unless the
    function carries one: a fifth of the cost of building a row, on every write.
    """
    function.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    return function


@_signature_computed_once
def utcnow() -> datetime:
    return datetime.now(UTC)


@_signature_computed_once
def new_id() -> uuid.UUID:
    """A time-ordered (version 7, RFC 9562) UUID: the id of a new row.

    Ids index the rows they name and their links and events. Random (version 4) ids put each
    new row's index entries on random pages, each read and rewritten for one entry: a
    `POST /v1/actors` to a 100,000-actor directory dirtied about seven such pages. Ids that
    grow with time put them on the last page of each index, which the next writes share. The
    74 bits after the millisecond stay random; the creation time an id shows is public anyway
    (`created_at`, an event's `occurred_at`)."""
    return uuid7()


_Row = TypeVar("_Row", bound=SQLModel)


def new_row(model: type[_Row], **values: Any) -> _Row:
    """A new row of a table model: `values`, and each other field's default.

    What `model(**values)` makes, without its cost: sqlmodel sets every field of a table row
    one at a time through the ORM's instrumentation, a seventh of an import's time for the
    actors alone. The row is made as the ORM makes the rows it loads (`new_instance`) and its
    fields are put in its state, from which the ORM inserts it; later changes go through the
    instrumentation as usual. No validation, as with the constructor of a table model: callers
    pass checked values. A required field left out stays unset until it is set: by the ORM for
    a link row's owner id (from the collection the row joins), else by the caller before the
    insert, which fails otherwise. A default is shared, not copied as pydantic copies a
    mutable one (which costs three times as much here): no table field has a mutable default,
    and a test keeps it so.
    """
    # The constructor would configure the mappers on a process's first row; a write that
    # has read only through table statements so far finds its relationships unset otherwise.
    if not model.__mapper__.configured:  # type: ignore[attr-defined]
        configure_mappers()
    row: _Row = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    state = row.__dict__
    for name, field in model.model_fields.items():
        if name in values:
            state[name] = values[name]
        elif field.default_factory is not None:
            state[name] = field.default_factory()  # type: ignore[call-arg]
        elif field.default is not PydanticUndefined:
            state[name] = field.default
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC.

    SQLite has no timezone type and hands back naive values; without this the API would
    print the same instant differently depending on the database behind it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class _TextList(TypeDecorator[list[str]]):
    """A list of strings sent as one parameter: an array on PostgreSQL, JSON text on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(String()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(list(value), ensure_ascii=False)


class _InList(ColumnElement[bool]):
    """`column` equal to one of the strings of a list bound as one parameter (`in_list`)."""

    inherit_cache = True
    type = Boolean()
    # A comparison, as `IN` is: SQLite's compiler would otherwise write it `(…) = 1`, which no
    # index serves.
    _is_implicitly_boolean = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads it from the class)
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.values = bindparam(name, type_=_TextList())


@compiles(_InList)
def _in_json_list(element: _InList, compiler: SQLCompiler, **options: Any) -> str:
    column, values = (
        compiler.process(element.column, **options),
        compiler.process(element.values, **options),
    )
    return f"{column} IN (SELECT value FROM json_each({values}))"


@compiles(_InList, "postgresql")
def _in_array(element: _InList, compiler: SQLCompiler, **options: Any) -> str:
    column, values = (
        compiler.process(element.column, **options),
        compiler.process(element.values, **options),
    )
    return f"{column} = ANY({values})"


def in_list(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """`column IN` the strings bound as `name` (a list), sent as one parameter, however long.

    `column.in_(values)` writes one placeholder per value: the SQL differs with each length, so
    no statement cache keeps it, and on PostgreSQL the driver parses it in Python on every
    execution. A likely-duplicate check looks up about 150 name keys: that parse was a quarter
    of the CPU of a `POST /v1/actors`. Both databases still look each value up in the column's
    index.
    """
    return _InList(column, name)


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # SQLite leaves foreign keys off unless asked; WAL lets readers work while one writes.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        # A statement inside a savepoint (each write of a commit group is one) keeps a statement
        # journal, and a DISTINCT or an ORDER BY without an index a temporary tree: in files by
        # default, each opened, written, read back and deleted. In memory they cost a write to
        # a 100,000-actor database about a third of its kernel time.
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Pages read through a memory map of the file rather than a `pread` each into this
        # connection's own cache (2 MB, too small for the index pages a likely-duplicate probe
        # reads): the map's pages are the system's file cache, shared by every connection, not
        # memory of the process. Pages still in the write-ahead log are read as before.
        cursor.execute(f"PRAGMA mmap_size={_SQLITE_MMAP_BYTES}")
        cursor.close()


# SQLite's own ceiling (a little under 2 GiB, unless built otherwise); a national directory's
# file is 1.3 GB at 100,000 actors and their ties.
_SQLITE_MMAP_BYTES = 2 << 30


# Connections a process keeps to its database, per engine: all kept once opened. The default
# pool keeps 5 and opens up to 10 more under load, each closed as soon as it is given back
# while 5 are idle: under a steady load of more than 5 requests at a time, a new connection
# for most requests (on PostgreSQL, 160 server processes started in 5 s of POSTs), each paying
# its set-up, and on PostgreSQL a server process whose caches start cold.
POOL_SIZE = 15


def make_engine(url: str) -> Engine:
    """An engine for `url`; an SQLite file's folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        pooled: dict[str, Any] = {}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # A file's pool (one in memory has one connection): kept whole, as a server's.
            pooled.update(pool_use_lifo=True, pool_size=POOL_SIZE, max_overflow=0)
        # The pool lends the connection given back last: the commit group's writes then keep to
        # one connection, whose view of the database stays current. Each connection that
        # another one's commit has overtaken starts its next transaction by dropping what it
        # had read; lent in turn (the default), every group paid that, and the memory map gave
        # nothing. With both, a POST /v1/actors costs 0.3 ms less kernel time at 100,000 actors.
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pooled)
        _prepare_sqlite(engine)
        _savepoints_as_plain_sql(engine)
        return engine
    return _server_engine(url)


def _server_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for a database server (PostgreSQL), with `create_engine`'s `options`."""
    options = {"pool_size": POOL_SIZE, "max_overflow": 0, **options}
    # The planner's default cost of a random read (4) is a spinning disk's. With it, a listing
    # filtered on one kind and one country walked the whole creation order and filtered it
    # (65 ms a page at 100,000 actors, the matches being late in that order) rather than its
    # own index (0.4 ms); 1.1 is the usual figure for the SSDs databases run on today.
    engine = create_engine(url, connect_args={"options": "-c random_page_cost=1.1"}, **options)
    _lists_in_binary(engine)
    _discard_dead_connections(engine)
    _savepoints_as_plain_sql(engine)
    return engine


def _savepoints_as_plain_sql(engine: Engine) -> None:
    """Send savepoints as their SQL text, through SQLAlchemy's execution (its listeners see
    them).

    SQLAlchemy builds and compiles a new clause for every SAVEPOINT and RELEASE, which its
    statement cache never keeps: on SQLite, where each write of a commit group is a savepoint
    (`shared.commit_group`), that compiling was a tenth of the CPU of a `POST /v1/actors`.
    """
    dialect = engine.dialect
    quote = dialect.identifier_preparer.quote

    def sending(template: str) -> Callable[[Connection, str], None]:
        def send(connection: Connection, name: str) -> None:
            connection.exec_driver_sql(template.format(quote(name)))

        return send

    dialect.do_savepoint = sending("SAVEPOINT {}")  # type: ignore[method-assign]
    dialect.do_release_savepoint = sending("RELEASE SAVEPOINT {}")  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = sending("ROLLBACK TO SAVEPOINT {}")  # type: ignore[method-assign]


def _lists_in_binary(engine: Engine) -> None:
    """Send Python lists (array parameters) in PostgreSQL's binary format.

    psycopg sends a list in the text format unless told otherwise, and writes that text in
    Python, element by element: for the hundred-odd name keys of a likely-duplicate check
    (`in_list`), 300–450 µs of a write's CPU. Its binary format is written in C: about
    140 µs. The arrays a new resource's link rows are inserted with
    (`services.registry.inserts`) go the same way.
    """

    @event.listens_for(engine, "connect")
    def _binary_lists(dbapi_connection: Any, _record: Any) -> None:
        adapters = getattr(dbapi_connection, "adapters", None)  # psycopg 3's
        if adapters is not None:
            adapters.register_dumper(list, ListBinaryDumper)


def _discard_dead_connections(engine: Engine) -> None:
    """Lend no pooled connection that the server has closed (a restart, an outage, an idle
    timeout), so a request never fails on a connection that died while it sat in the pool.

    A server that ends a connection sends its reason and closes the socket: an idle pooled
    connection with something to read has been ended. Looking costs one system call; the
    usual check (`pool_pre_ping`) costs a round trip to the server on every checkout, a
    seventh of an anonymous GET's time on PostgreSQL. The pool replaces a connection refused
    here with a new one.
    """

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed:
            raise DisconnectionError("the connection was closed")
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        if readable:
            raise DisconnectionError("the server ended the connection while it was idle")


def reading_engine(engine: Engine) -> Engine:
    """An engine for units of work that only read, one statement each (an anonymous GET), on
    `engine`'s database; dispose of it with `engine` (`dispose_engines`).

    On PostgreSQL its connections are in autocommit: a read is then one round trip to the
    server, not three (BEGIN, the query, and the ROLLBACK that returns the connection to the
    pool), and a listing or a resource is one statement, consistent on its own. They have a
    pool of their own, always in autocommit: switching a shared pool's connection into it and
    back on every checkout cost a fifth of the database work of an anonymous GET of one
    resource. SQLite's driver opens no transaction for a read anyway: the same engine.
    """
    if engine.dialect.name == "postgresql":
        return _server_engine(engine.url, isolation_level="AUTOCOMMIT")
    return engine


def dispose_engines(*engines: Engine) -> None:
    """Close the pooled connections of each engine, once each."""
    for engine in dict.fromkeys(engines):
        engine.dispose()


def _connection_slots(state: Any, engine: Engine) -> anyio.Semaphore | None:
    """The semaphore a request takes, without holding a worker thread, before the pool lends
    it a connection; None if the pool is unbounded.

    Sync routes and dependencies run on a bounded set of worker threads. Without this, a burst
    larger than the pool fills every thread with requests blocked on the pool, while the
    requests holding its connections wait for a thread to go on: nothing moves until the pool
    times out. Admitting at most as many requests as the pool lends keeps both moving.
    `state` is where the application keeps it (its `app.state`).
    """
    slots = getattr(state, "connection_slots", None)
    if slots is None:
        size = getattr(engine.pool, "size", lambda: 0)()
        overflow = getattr(engine.pool, "_max_overflow", 0)
        slots = anyio.Semaphore(size + overflow) if size and overflow >= 0 else False
        state.connection_slots = slots
    return slots or None


@asynccontextmanager
async def write_turn(state: Any, engine: Engine) -> AsyncIterator[None]:
    """On SQLite, queue this process's writers in arrival order before they ask for the lock.

    SQLite lets one writer in at a time and makes the others poll until the busy timeout; under
    a burst the polling is unfair and some writers time out while others pass again and again.
    Waiting here, in order, leaves the busy timeout only for writers of other processes.
    PostgreSQL locks rows, not the database: nothing to queue.
    """
    turn = write_lock(state, engine)
    if turn is None:
        yield
        return
    async with turn:
        await settle(state)
        yield


def write_lock(state: Any, engine: Engine) -> anyio.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    turn = getattr(state, "sqlite_write_turn", None)
    if turn is None:
        turn = state.sqlite_write_turn = anyio.Lock()
    return turn  # type: ignore[no-any-return]


async def take_turn(
    state: Any, engine: Engine, *, writes: bool, grouped: bool = False
) -> Callable[[], None]:
    """`write_turn` (for a write) then a connection slot (`_connection_slots`), taken without
    a context manager; returns the function that gives both back. It must be called by the
    same task. A write that joins the commit group (`grouped`) leaves it open; any other
    commits it first (`shared.commit_group`)."""
    lock = write_lock(state, engine) if writes else None
    slots = _connection_slots(state, engine)
    if lock is not None:
        await lock.acquire()
    try:
        if lock is not None and not grouped:
            await settle(state)
        if slots is not None:
            await slots.acquire()
    except BaseException:
        if lock is not None:
            lock.release()
        raise

    def give_back() -> None:
        if slots is not None:
            slots.release()
        if lock is not None:
            lock.release()

    return give_back


def open_session(engine: Engine) -> Session:
    """A session for one request, to use as a context manager: whatever was not committed
    explicitly is rolled back when it closes.

    No autoflush: the domain checks a change against the database before writing it, and an
    automatic flush in the middle would send the unchecked change first (a foreign key error
    instead of a clear 422). Domain code flushes when it is ready.
    """
    return Session(engine, expire_on_commit=False, autoflush=False)


def first_row(
    session: Session, statement: Select[Any], parameters: dict[str, Any]
) -> Row[Any] | tuple[Any, ...] | None:
    """The first row of a read statement of the session's unit of work, or None.

    On PostgreSQL, in a session that has not begun a transaction (an anonymous read, in
    autocommit on `reading_engine`), the statement runs on the driver's own cursor of a pooled
    connection, its SQL compiled once: SQLAlchemy's execution around one small statement cost
    as much CPU as the driver's own work (about 100 µs each at 100,000 actors), a tenth of an
    anonymous GET of one resource. The parameters go through their types' bind processing, as
    through the session; errors come out as SQLAlchemy's, and a connection found dead is
    dropped from the pool. Only for a statement whose columns the driver returns as their
    types read them (UUIDs, numbers, text, timestamps with a time zone), without expanding
    parameters (`IN` a list: use `in_list`); elsewhere it runs through the session.
    """
    engine = session.get_bind()
    if engine.dialect.name != "postgresql" or session.in_transaction():
        return session.execute(statement, parameters).first()
    return _on_driver(engine, statement, parameters, lambda cursor: cursor.fetchone())  # type: ignore[no-any-return]


def all_rows(
    session: Session, statement: Select[Any], parameters: dict[str, Any]
) -> Sequence[Row[Any] | tuple[Any, ...]]:
    """Every row of a read statement of the session's unit of work, as `first_row` reads
    them (on the driver's cursor for an anonymous read on PostgreSQL)."""
    engine = session.get_bind()
    if engine.dialect.name != "postgresql" or session.in_transaction():
        return session.connection().execute(statement, parameters).all()
    return _on_driver(engine, statement, parameters, lambda cursor: cursor.fetchall())  # type: ignore[no-any-return]


def _on_driver(
    engine: Engine, statement: Select[Any], parameters: dict[str, Any], fetch: Callable[[Any], Any]
) -> Any:
    dialect = engine.dialect
    plan = compiled_for_driver(statement, dialect, tuple(parameters))
    assert plan is not None  # a read statement: no column defaults to compute
    arguments = driver_arguments(plan, parameters)
    connection = None
    try:
        # Inside: a connection the pool fails to make raises the driver's own error.
        connection = engine.raw_connection()
        return fetch(connection.driver_connection.execute(plan.sql, arguments))  # type: ignore[union-attr]
    except dialect.loaded_dbapi.Error as error:
        dead = connection is not None and dialect.is_disconnect(
            error, connection.dbapi_connection, None
        )
        invalidate = connection.invalidate if connection is not None else lambda _error: None
        raise sqlalchemy_error(dialect, error, plan.sql, parameters, dead, invalidate) from error
    finally:
        if connection is not None:
            connection.close()


def new_session(engine: Engine) -> Iterator[Session]:
    """`open_session` as a generator, for a dependency that runs on a worker thread."""
    with open_session(engine) as session:
        yield session


def refresh_planner_statistics(session: Session) -> None:
    """Let PostgreSQL's planner know what a bulk load wrote (`ANALYZE`), in the session's
    transaction.

    Until autovacuum comes round (a minute or more), the planner still believes tables just
    filled are nearly empty and reads a listing's thousands of rows to sort them, instead of
    walking its index in order (5 ms instead of 0.2 ms a page, measured at 10,000 actors).
    SQLite's planner keeps no statistics unless asked, and choosing by the indexes alone is
    what the listings are indexed for: nothing to do there.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))


def begin_write(session: Session) -> None:
    """Start a unit of work that will write, so that what it reads stays true until it commits.

    PostgreSQL locks the rows a write depends on (`SELECT … FOR UPDATE`, unique indexes). SQLite
    has no row locks and its driver opens a transaction only at the first INSERT or UPDATE, so
    two writers could both read version 3 and both write version 4. `BEGIN IMMEDIATE` takes
    SQLite's single write lock before the first read: writers queue (up to the busy timeout)
    and each one reads what the previous one committed. Call it before the session's first
    statement.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if isinstance(session.bind, Connection):
        # A member of a commit group: the group took the lock as it opened (`BEGIN IMMEDIATE`),
        # and each member's unit of work is a savepoint in its transaction. If SQLite ended
        # that transaction on its own, the group's commit is refused whatever follows
        # (`shared.commit_group`).
        return
    session.execute(text("BEGIN IMMEDIATE"))


def commit(session: Session) -> None:
    """Commit the unit of work. A uniqueness race lost here becomes the generic 409 in the
    problem handlers (`shared.errors`), as it does in any other statement."""
    session.commit()

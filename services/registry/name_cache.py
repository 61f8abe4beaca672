"""The comparable names of actors by name key, in each registry process's memory, kept current
by following the change feed.

A likely-duplicate check used to read its candidates from the name-key table (`actor_name_key`):
about 150 key look-ups and a few hundred rows for a name built like many others, on SQLite the
largest single part of a `POST /v1/actors`'s own CPU. A process now keeps the same keys in
memory: it loads them from that table as it starts (`warm`), then, at every check, reads the
actor events committed since the last one, as any follower of the feed does. Sequence numbers
commit in order (`outbox.record_change`), so every write committed before a check is seen by
it, whichever process wrote it. A process also adds the names it writes itself as it writes
them, before they commit: a write sees those that precede it in its own transaction (a commit
group's members, on SQLite), as it saw them in the table.

The cache may hold too many names, never too few: the old name of a renamed actor, a deleted
one, a write rolled back stay in it until the next full load. So a candidate is only a name to
score; the actors behind the few that score are read from the database, which is the truth
(`duplicates.likely_duplicates`). Keys are held by their hash, not their text: a collision only
adds a candidate. At 100,000 actors (392,000 keys) the cache takes 64 MB and 2 s to load.

Where it reads matters. On SQLite it reads on a connection of its own, outside any write's
transaction: a commit group's transaction shows its members' events before they commit, and if
it rolled back, their sequence numbers would be drawn again, by writes a cursor that had passed
them would skip. On PostgreSQL it reads in the write's own transaction, which shows only
committed events and its own (a number once drawn is never drawn again there): a connection of
its own would be a lock held across a round trip, and every write of the process would queue
on it, each holder waiting for its turn at the interpreter before letting go.
"""

import logging
import math
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, tuple_
from sqlalchemy.exc import DBAPIError

from services.registry.models import ActorNameKey, Event
from services.registry.name_keys import stored_keys
from shared.db import make_engine
from shared.driver import execute_plain
from shared.text import comparable_name

__all__ = ["KeyRow", "NameCache"]

_log = logging.getLogger("passerelles")

# A name-key row as `duplicates` writes it: key, actor_id, comparable.
KeyRow = dict[str, Any]

# Past this long without a check, the process reloads the table rather than follow the feed:
# the events it has not read may have been purged meanwhile (retention is days), and the load
# also drops the names that left since the last one.
MAX_IDLE_SECONDS = 3600.0


class NameCache:
    """The names of one database's actors by name key, for `duplicates.likely_duplicates`.
    Safe to share between threads; `close` closes its own connections."""

    def __init__(self, engine: Engine, *, max_idle: float = MAX_IDLE_SECONDS) -> None:
        self._engine, self._max_idle = engine, max_idle
        # SQLite: an engine of its own, so that it never waits for a connection the requests
        # of its process hold (their pool lends no more than it has).
        self._reader = make_engine(str(engine.url)) if engine.dialect.name == "sqlite" else None
        self._own: Connection | None = None
        self._reading = threading.Lock()
        self._lock = threading.Lock()
        self._names: dict[int, str | tuple[str, ...]] = {}
        # Names added since the last check: those a full load must keep, not yet in the table.
        self._recent: list[KeyRow] = []
        # The feed's sequence read through, and that event's id: a cursor that still stands on
        # the same event has missed none.
        self._after: int = 0
        self._after_id: uuid.UUID | None = None
        self._checked_at = -math.inf
        self._loads = 0
        self._warming: threading.Thread | None = None

    def candidates(self, connection: Connection, keys: Iterable[str]) -> list[str]:
        """The distinct comparable names stored under any of `keys`, as of every write
        committed so far and every write of this process. `connection` is the write's own."""
        self._catch_up(connection)
        with self._lock:
            names = self._names
            found: set[str] = set()
            for key in keys:
                held = names.get(hash(key))
                if held is None:
                    continue
                if type(held) is str:
                    found.add(held)
                else:
                    found.update(held)
            return list(found)

    def add(self, rows: Iterable[KeyRow]) -> None:
        """A name this process is writing, found by the checks after this one."""
        with self._lock:
            for row in rows:
                self._hold(row["key"], row["comparable"])
                self._recent.append(row)

    def warm(self) -> None:
        """Load the keys now, on a thread of its own, rather than at the first check: the
        checks that come meanwhile wait for it, the process's other work does not."""

        def load() -> None:
            try:
                with self._engine.connect() as connection:
                    self._catch_up(connection)
            except Exception:
                # The first check loads them, or says why it cannot.
                _log.warning("the name cache could not load", exc_info=True)

        self._warming = threading.Thread(target=load, name="name-cache", daemon=True)
        self._warming.start()

    def close(self) -> None:
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        with self._reading:
            if self._own is not None:
                self._own.close()
                self._own = None
        if self._reader is not None:
            self._reader.dispose()

    def _catch_up(self, connection: Connection) -> None:
        with self._lock:
            after, after_id, loads = self._after, self._after_id, self._loads
            stale = time.monotonic() - self._checked_at > self._max_idle
        rows: list[Any] = []
        if not stale:
            rows = self._read(connection, _FOLLOW, {"after": after})
            # The event the cursor stands on gone, or another one: purged, or the database
            # was emptied or restored. What was read since may no longer hold.
            stale = bool(after) and not any(
                row.sequence == after and row.id == after_id for row in rows
            )
        with self._lock:
            if stale:
                # Unless another check (or the warm-up) has loaded since this one looked.
                if self._loads == loads:
                    self._load(connection)
                after = self._after
                rows = self._read(connection, _FOLLOW, {"after": after})
            self._checked_at, self._recent = time.monotonic(), []
            for row in rows:
                if row.resource_type == "actor" and row.name and row.sequence > after:
                    comparable = comparable_name(row.name)
                    for key in stored_keys(row.kind, row.country, comparable):
                        self._hold(key, comparable)
            last = max(rows, key=lambda row: row.sequence, default=None)
            if last is not None and last.sequence > self._after:
                self._after, self._after_id = last.sequence, last.id

    def _load(self, connection: Connection) -> None:
        # The head first: an event committed between the two reads is read again from the
        # feed, never missed.
        head = self._read(connection, _HEAD, {})
        self._names = {}
        # A page at a time, each comparable name kept once however many keys it has: read
        # whole, the table's 800,000 rows at 100,000 actors cost 190 MB, mostly copies.
        once: dict[str, str] = {}
        after = {"key": "", "actor_id": uuid.UUID(int=0), "size": _PAGE}
        while page := self._read(connection, _KEYS, after):
            for row in page:
                self._hold(row.key, once.setdefault(row.comparable, row.comparable))
            after.update(key=page[-1].key, actor_id=page[-1].actor_id)
        # Names this process is writing may not have committed yet, so not be in the table.
        # Any added before the last check has long committed: a commit group lives for
        # milliseconds, and this comes after an hour without a check or a change of database.
        for recent in self._recent:
            self._hold(recent["key"], recent["comparable"])
        self._after, self._after_id = (head[0].sequence, head[0].id) if head else (0, None)
        self._loads += 1

    def _hold(self, key: str, comparable: str) -> None:
        hashed = hash(key)
        held = self._names.get(hashed)
        if held is None:
            self._names[hashed] = comparable
        elif type(held) is str:
            if held != comparable:
                self._names[hashed] = (held, comparable)
        elif comparable not in held:
            # Tuples, not sets: the collector stops tracking a tuple of strings, while it
            # walks every set at each full collection (40,000 of them at 100,000 actors, which
            # doubled the pause of the process's every full collection).
            self._names[hashed] = (*held, comparable)

    def _read(
        self, connection: Connection, statement: Any, parameters: dict[str, Any]
    ) -> list[Any]:
        if self._reader is None:
            return execute_plain(connection, statement, parameters)
        # One connection kept, each read its own snapshot of what is committed (no
        # transaction held open): borrowed from a pool and given back at every check, it cost
        # as much as the reads it saved.
        with self._reading:
            if self._own is None:
                self._own = self._reader.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                return execute_plain(self._own, statement, parameters)
            except DBAPIError:
                self._own.close()
                self._own = None
                raise


_EVENTS = Event.__table__  # type: ignore[attr-defined]
_DATA = _EVENTS.c.data
# What a check needs of each event from the cursor's on: an actor's scope and name, read from
# the event's data by the database, not the whole document parsed in Python.
_FOLLOW = select(
    _EVENTS.c.sequence,
    _EVENTS.c.id,
    _EVENTS.c.resource_type,
    _DATA["kind"].as_string().label("kind"),
    _DATA["country"].as_string().label("country"),
    _DATA["name"].as_string().label("name"),
).where(_EVENTS.c.sequence >= bindparam("after"))
_HEAD = select(_EVENTS.c.sequence, _EVENTS.c.id).order_by(_EVENTS.c.sequence.desc()).limit(1)
_NAME_KEYS = ActorNameKey.__table__  # type: ignore[attr-defined]
# The rows after the last one read, in the order of the primary key (key, actor_id).
_KEYS = (
    select(_NAME_KEYS.c.key, _NAME_KEYS.c.actor_id, _NAME_KEYS.c.comparable)
    .where(
        tuple_(_NAME_KEYS.c.key, _NAME_KEYS.c.actor_id)
        > tuple_(
            bindparam("key", type_=_NAME_KEYS.c.key.type),
            bindparam("actor_id", type_=_NAME_KEYS.c.actor_id.type),
        )
    )
    .order_by(_NAME_KEYS.c.key, _NAME_KEYS.c.actor_id)
    .limit(bindparam("size"))
)
_PAGE = 20_000

"""Group commit on SQLite: the writes of one process that queue for the database's one write
lock commit together, in one transaction and one `fsync`, instead of one each.

SQLite lets one writer in at a time, so a process's writers already take turns
(`shared.db.write_turn`). Each used to commit on its own: its `fsync` and the pages it rewrote
in the write-ahead log were paid while every other writer waited. Here the writers that queue
behind one another share one connection and one transaction: each one's unit of work is a
savepoint in it, so a write that fails rolls back alone, and the transaction commits once no
writer is waiting, or once it holds `MAX_MEMBERS` writes or has been open `MAX_AGE` seconds.

No write is acknowledged before it is durable: a member's response waits for the group's
commit (`Member.finish`, called by `shared.unit_of_work.UnitOfWorkMiddleware` before the
response starts). If that commit fails, every member of the group answers with the failure,
as a single write whose commit failed does. A write that does not take part (a bulk import,
the Idempotency-Key record added after a response) commits the open group before it writes
(`settle`), so it never waits on a lock its own turn holds.

PostgreSQL locks rows, not the database, and groups concurrent commits itself: no group there.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from sqlalchemy import Connection, Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

_log = logging.getLogger("passerelles")

__all__ = [
    "MAX_AGE",
    "MAX_MEMBERS",
    "CommitGroup",
    "Member",
    "TransactionLost",
    "commit_group",
    "member_session",
    "settle",
]

# Beyond a few dozen writes, one more shares a commit that is already shared: the gain is gone,
# while the first member's answer waits longer.
MAX_MEMBERS = 32
# The longest the first member of a group waits for the others (seconds).
MAX_AGE = 0.05


class TransactionLost(RuntimeError):
    """SQLite ended the group's transaction on its own (it rolls back on some I/O errors)."""


class CommitGroup:
    """The open transaction of a process's writers on one SQLite database, if any."""

    def __init__(self, engine: Engine, turn: anyio.Lock) -> None:
        self.engine, self.turn = engine, turn
        self.connection: Connection | None = None
        self.members = 0
        self.opened = 0.0
        self.durable: asyncio.Future[BaseException | None] | None = None
        self.lost = False
        # Groups' `_commit_after_queue` tasks still waiting for the turn: not writers.
        self.watchers = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self) -> Session:
        """A session whose unit of work is a savepoint of the group's transaction, which the
        group begins, taking SQLite's write lock, as it opens. Call it holding the write
        turn."""
        if self.connection is None:
            # The pool may make a new connection, and the lock may be held by another
            # process for a while: not on the event loop.
            self.connection = await run_in_threadpool(_connect_to_write, self.engine)
            self.opened, self.lost = time.monotonic(), False
            self.durable = asyncio.get_running_loop().create_future()
            # Whatever happens to the writers queued now, this group commits once their turns
            # have passed: a writer that gives up waiting must not leave it open.
            self.watchers += 1
            task = asyncio.get_running_loop().create_task(self._commit_after_queue(self.durable))
            self._tasks.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._tasks.discard)
        return member_session(self.connection)

    async def _commit_after_queue(self, durable: asyncio.Future[BaseException | None]) -> None:
        try:
            await self.turn.acquire()
        finally:
            self.watchers -= 1
        try:
            if self.durable is durable:
                await self.commit()
        finally:
            self.turn.release()

    def is_due(self) -> bool:
        """Whether the group commits now rather than let the next writer in."""
        return (
            self.turn.statistics().tasks_waiting <= self.watchers
            or self.members >= MAX_MEMBERS
            or time.monotonic() - self.opened >= MAX_AGE
        )

    def check_transaction(self) -> None:
        """Note if the transaction holding committed members is gone: SQLite rolls a
        transaction back by itself on some errors, and the driver would then begin a new one
        at the next write, whose commit would wrongly vouch for the lost members."""
        if self.members and self.connection is not None and not _in_transaction(self.connection):
            self.lost = True

    async def commit(self) -> None:
        """Commit the open transaction, if any, and tell its members how it went. Call it
        holding the write turn."""
        connection, durable = self.connection, self.durable
        if connection is None or durable is None:
            return
        self.connection, self.durable = None, None
        # Until the commit is known to have succeeded, the members are told it failed: a task
        # cancelled while it commits (a server stopping) must neither leave them waiting nor
        # vouch for writes it did not see committed.
        outcome: BaseException | None = TransactionLost("the commit was interrupted")
        try:
            await run_in_threadpool(_end, connection, self.lost)
            outcome = None
        except Exception as error:
            _log.warning("the commit of %d grouped writes failed: %s", self.members, error)
            outcome = error
        finally:
            self.members = 0
            durable.set_result(outcome)


def member_session(connection: Connection) -> Session:
    """A member's unit of work on the group's connection: a savepoint in its transaction, so a
    write that fails rolls back alone."""
    return Session(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )


# A savepoint held from the group's first statement to its commit: it exists at the commit only
# if the transaction that began with the group is still the one open.
_ANCHOR = "passerelles_group"


def _connect_to_write(engine: Engine) -> Connection:
    """A connection holding SQLite's write lock, in the transaction the group's members share
    (what `shared.db.begin_write` does for a write outside a group)."""
    connection = engine.connect()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql(f"SAVEPOINT {_ANCHOR}")
    except BaseException:
        connection.close()
        raise
    return connection


def _in_transaction(connection: Connection) -> bool:
    return bool(connection.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]


def _end(connection: Connection, lost: bool) -> None:
    """Commit the group's transaction and give its connection back, in one hop to a worker
    thread (each hop costs the event loop a wake-up and a result).

    A connection whose commit failed is discarded, not pooled: SQLite may keep the transaction
    open after a failed commit, and the pool, which saw a commit attempted, would not roll it
    back; the next group would then have begun inside it, and committed its writes with the
    failed group's.
    """
    try:
        if lost:
            raise TransactionLost("the database rolled back the writes of this group")
        # Gone if SQLite ended the group's transaction on its own, even if the driver began
        # another at a later write: then the commit would vouch for writes that were lost.
        connection.exec_driver_sql(f"RELEASE SAVEPOINT {_ANCHOR}")
        connection.commit()
    except BaseException:
        connection.invalidate()
        raise
    finally:
        connection.close()


class Member:
    """One write request's part in a group, from its session to its durable answer."""

    def __init__(self, group: CommitGroup, session: Session, give_back: Callable[[], None]):
        self.group, self.session, self.give_back = group, session, give_back
        self.finished = False

    async def finish(self) -> BaseException | None:
        """End the request's unit of work: roll back what it did not commit, let the next
        writer in or commit the group, and wait until what it committed is durable. Returns
        the group's commit failure, if any. Call it once the route is done, before answering."""
        if self.finished:
            return None
        self.finished = True
        group = self.group
        durable = None
        try:
            # What the route did not commit is rolled back here, before the next member starts.
            committed = not self.session.in_transaction()
            self.session.close()
            group.check_transaction()
            if committed:
                durable = group.durable
                group.members += 1
            if group.is_due():
                await group.commit()
        finally:
            self.give_back()
        return await durable if durable is not None else None


def commit_group(state: Any, engine: Engine, turn: anyio.Lock) -> CommitGroup:
    """The application's commit group on `engine` (`state` is its `app.state`)."""
    group: CommitGroup | None = getattr(state, "commit_group", None)
    if group is None:
        group = state.commit_group = CommitGroup(engine, turn)
    return group


async def settle(state: Any) -> None:
    """Commit the open group before a write that does not take part in it. Call it holding the
    write turn."""
    group: CommitGroup | None = getattr(state, "commit_group", None)
    if group is not None:
        await group.commit()

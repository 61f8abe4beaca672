"""`Idempotency-Key` on POST, after the IETF httpapi draft "The Idempotency-Key HTTP Header Field".

A client that retries a POST after a timeout sends the same key; the first request's response
is replayed instead of creating a second resource. Same key with another payload is 422. Only
successful responses are kept, so a request refused (401, 422, 429, …) may be retried with the
same key once corrected. A request is kept as a digest; a response that created a resource is
kept as its location and replayed with the resource as it is now (201, its current body and
ETag), so the store stays a small fraction of the database; other responses are kept whole.

The record of a key is written in the request's own transaction (`claim_in_transaction`,
called by the service's session dependency), so a crash leaves either the write and its record
or neither: there is no claim left behind to answer "still processing" for ever, and no way to
run the request twice. A duplicate sent while the first is running waits on the record's
primary key (PostgreSQL) or on SQLite's write lock, then finds the first committed and replays
it. The exact response is added to the record just after it is sent; a retry that finds the
record without it (the process died in between) is answered with the created resource as it
is now, read through the service itself.

Keys are scoped to the credential that sent them (a digest of the Authorization header), so two
callers can never see each other's responses, and a stored response is replayed only while
that credential is still valid: a revoked key retrying is refused, not answered.

Responses that carry a secret shown once (a new API key) are not kept: a retry learns where
the created resource is, never its secret.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import UTCDateTime, utcnow, write_turn
from shared.errors import BadRequest, Conflict, InvalidInput, problem_response

__all__ = ["HEADER", "IdempotencyMiddleware", "Locate", "claim_in_transaction", "idempotency_table"]

HEADER = "idempotency-key"
_KEPT_HEADERS = {"content-type", "location", "etag"}
_MAX_KEY_LENGTH = 255


def idempotency_table(metadata: MetaData) -> Table:
    """The table of remembered POSTs, in the database of the service that declares it."""
    return Table(
        "idempotency_record",
        metadata,
        Column("owner", String(64), primary_key=True),
        Column("key", String(_MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False, index=True),
        # NULL from the commit of the write until its response is added just after.
        Column("status", Integer, nullable=True),
        # Where the resource the request created can be read, for a retry that finds no response.
        Column("location", String(255), nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", LargeBinary, nullable=True),
    )


_SCOPE_KEY = "passerelles.idempotency"
# How long a duplicate that lost the race waits for the winner's response to be added.
_RESPONSE_WAIT_SECONDS = 2.0


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


@dataclass
class _Claim:
    """A POST's Idempotency-Key on its way through the service."""

    table: Table
    owner: str
    key: str
    fingerprint: str
    # Set when a request with this key committed first: its answer is replayed instead.
    lost: bool = False


class _AlreadyCommitted(Conflict):
    """Raised inside the service when the record exists: the middleware answers with a replay."""


Locate = Callable[[Session], str | None]


def claim_in_transaction(session: Session, request: Request, locate: Locate) -> None:
    """Write the request's Idempotency-Key record in its own transaction, if it carries one.

    Call it as the transaction's first write. `locate(session)`, called just before commit,
    says where the created resource can be read (its path), for a retry after a crash.
    """
    claim = request.scope.get(_SCOPE_KEY)
    if not isinstance(claim, _Claim):
        return
    table = claim.table
    try:
        session.execute(
            insert(table).values(
                owner=claim.owner, key=claim.key, fingerprint=claim.fingerprint, created_at=utcnow()
            )
        )
    except IntegrityError as error:
        session.rollback()
        claim.lost = True
        raise _AlreadyCommitted("A request with this Idempotency-Key was already made.") from error

    def note_location(committing: Session) -> None:
        location = locate(committing)
        if location is not None:
            committing.execute(
                update(table)
                .where((table.c.owner == claim.owner) & (table.c.key == claim.key))
                .values(location=location[:255])
            )

    event.listen(session, "before_commit", note_location, once=True)


class _Store:
    def __init__(self, engine: Engine, table: Table, ttl: timedelta) -> None:
        self.engine, self.table, self.ttl = engine, table, ttl

    def _where(self, owner: str, key: str):
        return (self.table.c.owner == owner) & (self.table.c.key == key)

    def find(self, owner: str, key: str) -> Any:
        """The live record of a key, if any. A read: on SQLite a write here would make every
        POST queue twice for the database's one write lock."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(self.table).where(
                    self._where(owner, key), self.table.c.created_at >= utcnow() - self.ttl
                )
            ).first()

    def find_answered(self, owner: str, key: str) -> Any:
        """The record, waiting a moment for the response of a request that just committed."""
        deadline = utcnow() + timedelta(seconds=_RESPONSE_WAIT_SECONDS)
        while True:
            row = self.find(owner, key)
            if row is None or row.status is not None or utcnow() > deadline:
                return row
            time.sleep(0.05)

    def keep(
        self,
        claim: _Claim,
        status: int,
        headers: list[list[str]],
        body: bytes | None,
        location: str | None,
    ) -> None:
        """Add the response to the record, or write the record if the request made none (a
        route that wrote nothing in the service's own database)."""
        values = {"status": status, "headers": headers, "body": body}
        with self.engine.begin() as connection:
            # Forget expired records here, with a write that is made anyway: the table stays small.
            connection.execute(
                delete(self.table).where(self.table.c.created_at < utcnow() - self.ttl)
            )
            updated = connection.execute(
                update(self.table).where(self._where(claim.owner, claim.key)).values(**values)
            )
            if updated.rowcount:
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(self.table).values(
                        owner=claim.owner,
                        key=claim.key,
                        fingerprint=claim.fingerprint,
                        created_at=utcnow(),
                        location=location,
                        **values,
                    )
                )
        except IntegrityError:
            pass  # a duplicate running at the same time wrote it first; either record serves


CredentialCheck = Callable[[Any, str], bool]


class IdempotencyMiddleware:
    """Wraps a service: POSTs that carry `Idempotency-Key` are run at most once per key.

    `credential_is_valid(app, authorization)` says whether a key may still be answered;
    `secret_paths` are the paths whose responses must not be stored."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        table: Table,
        credential_is_valid: CredentialCheck,
        secret_paths: frozenset[str] = frozenset(),
        ttl_seconds: float = 24 * 3600,
    ) -> None:
        self.app, self.table, self.ttl = app, table, timedelta(seconds=ttl_seconds)
        self.credential_is_valid, self.secret_paths = credential_is_valid, secret_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value for name, value in scope["headers"]}
        raw_key = headers.get(HEADER)
        # Every POST of the services needs a key and refuses anonymous callers outright: they
        # need no record, and a flood of them cannot write to the store.
        authorization = headers.get("authorization")
        if raw_key is None or authorization is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > _MAX_KEY_LENGTH or not key.isprintable():
            problem = BadRequest(
                f"Idempotency-Key must be 1 to {_MAX_KEY_LENGTH} printable characters."
            )
            await problem_response(problem, scope["path"])(scope, receive, send)
            return

        body = await _read_body(receive)
        claim = _Claim(
            table=self.table,
            owner=_digest(authorization),
            key=key,
            fingerprint=_digest(scope["path"].encode(), scope.get("query_string", b""), body),
        )
        store = _Store(scope["app"].state.engine, self.table, self.ttl)

        def request_body() -> Receive:
            sent = False

            async def receive_body() -> Message:
                nonlocal sent
                chunk, sent = (b"" if sent else body), True
                return {"type": "http.request", "body": chunk, "more_body": False}

            return receive_body

        record = await run_in_threadpool(store.find, claim.owner, claim.key)
        if record is not None:
            await self._answer(record, claim, scope, request_body(), send)
            return

        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if claim.lost:
                return  # another request with this key committed first; its answer is sent
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app({**scope, _SCOPE_KEY: claim}, request_body(), capture)
        if claim.lost:
            record = await run_in_threadpool(store.find_answered, claim.owner, claim.key)
            if record is None:  # expired in between: vanishingly rare, and safe to retry
                problem = Conflict(
                    "A request with this Idempotency-Key was just made; retry to learn its outcome",
                    headers={"Retry-After": "1"},
                )
                await problem_response(problem, scope["path"])(scope, receive, send)
                return
            await self._answer(record, claim, scope, request_body(), send)
            return
        status = int(started.get("status", 500))
        if 200 <= status < 300:
            secret = scope["path"] in self.secret_paths
            response_headers = [
                [name.decode("latin-1"), value.decode("latin-1")]
                for name, value in started.get("headers", [])
            ]
            kept = [
                [name, value]
                for name, value in response_headers
                if name.lower() in ({"location"} if secret else _KEPT_HEADERS)
            ]
            location = next((v for n, v in response_headers if n.lower() == "location"), None)
            # A created resource is replayed as it is read now (`_send_current`): keeping its
            # first response too would make this table weigh as much as the resources.
            if location is not None:
                kept = []
            stored = None if secret or location is not None else b"".join(chunks)
            async with write_turn(scope["app"].state, store.engine):
                await run_in_threadpool(store.keep, claim, status, kept, stored, location)

    async def _answer(
        self, record: Any, claim: _Claim, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer a request whose key already has a committed record."""
        path = scope["path"]
        if record.fingerprint != claim.fingerprint:
            problem = InvalidInput.on(
                "Idempotency-Key",
                "already used for a different request; use a new key for a new request",
                location="header",
            )
            await problem_response(problem, path)(scope, receive, send)
            return
        authorization = dict(scope["headers"])[b"authorization"].decode("latin-1")
        if not await run_in_threadpool(self.credential_is_valid, scope["app"], authorization):
            # Let the service refuse the credential as it would any request.
            await self.app(scope, receive, send)
            return
        if record.body is not None:
            await _send_replay(
                {"status": record.status, "headers": record.headers, "body": record.body},
                path,
                send,
            )
            return
        # A creation, or a request whose process died before its response was added.
        if path in self.secret_paths or record.location is None:
            headers = [["location", record.location]] if record.location else []
            await _send_unkept({"headers": headers}, path, send)
            return
        await self._send_current(record.location, scope, send)

    async def _send_current(self, location: str, scope: Scope, send: Send) -> None:
        """Replay a creation whose response was lost with the resource as it is now."""
        read_scope = {
            **scope,
            "method": "GET",
            "path": location,
            "raw_path": location.encode(),
            "query_string": b"",
            "headers": [
                (name, value)
                for name, value in scope["headers"]
                if name in (b"authorization", b"host", b"accept")
            ],
        }
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(read_scope, _no_body, capture)
        status = int(started.get("status", 500))
        headers = [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in started.get("headers", [])
            if name.decode("latin-1").lower() in _KEPT_HEADERS
        ]
        headers.append(["location", location])
        # The request created the resource: a replay says so, as the first answer did.
        replay_status = 201 if status == 200 else status
        await _send_replay(
            {"status": replay_status, "headers": headers, "body": b"".join(chunks)}, location, send
        )


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _send_replay(replay: dict[str, Any], path: str, send: Send) -> None:
    if replay["body"] is None:
        await _send_unkept(replay, path, send)
        return
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in replay["headers"]
    ]
    headers.append((b"idempotent-replayed", b"true"))
    body = replay["body"] or b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": replay["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_unkept(replay: dict[str, Any], path: str, send: Send) -> None:
    """The first request succeeded, but its response held a secret shown once: say where the
    created resource is, and that its secret is gone."""
    location = next(
        (value for name, value in replay["headers"] if name.lower() == "location"), None
    )
    problem = Conflict(
        "This Idempotency-Key already created a resource whose secret was shown once and is "
        "not kept. If the first response was lost, revoke that resource and create a new one.",
        headers={"Location": location} if location else {},
        location=location,
    )
    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    await problem_response(problem, path)(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}

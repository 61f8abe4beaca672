"""`Idempotency-Key` on POST, after the IETF httpapi draft "The Idempotency-Key HTTP Header Field".

A client that retries a POST after a timeout sends the same key; the first request's response
is replayed instead of creating a second resource. Same key with another payload is 422; same
key while the first request is still running is 409. Only successful responses are kept, so a
request refused (401, 422, 429, …) may be retried with the same key once corrected.

Keys are scoped to the credential that sent them (a digest of the Authorization header), so two
callers can never see each other's responses, and a stored response is replayed only while
that credential is still valid: a revoked key retrying is refused, not answered.

Responses that carry a secret shown once (a new API key) are not kept: a retry learns where
the created resource is, never its secret.
"""

import hashlib
from collections.abc import Callable
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
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import UTCDateTime, utcnow
from shared.errors import BadRequest, Conflict, InvalidInput, Problem, problem_response

__all__ = ["HEADER", "IdempotencyMiddleware", "idempotency_table"]

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
        # NULL while the first request runs.
        Column("status", Integer, nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", LargeBinary, nullable=True),
    )


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


class _Claim:
    """What the store says about a key: go ahead, replay this, or refuse with a problem."""

    def __init__(
        self, replay: dict[str, Any] | None = None, problem: Problem | None = None
    ) -> None:
        self.replay, self.problem = replay, problem


class _Store:
    def __init__(self, engine: Engine, table: Table, ttl: timedelta) -> None:
        self.engine, self.table, self.ttl = engine, table, ttl

    def _where(self, owner: str, key: str):
        return (self.table.c.owner == owner) & (self.table.c.key == key)

    def claim(self, owner: str, key: str, fingerprint: str) -> _Claim:
        now = utcnow()
        with self.engine.begin() as connection:
            # Forget every expired record, this key's included: the table stays small.
            connection.execute(delete(self.table).where(self.table.c.created_at < now - self.ttl))
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(self.table).values(
                        owner=owner, key=key, fingerprint=fingerprint, created_at=now
                    )
                )
            return _Claim()
        except IntegrityError:
            pass
        with self.engine.connect() as connection:
            row = connection.execute(select(self.table).where(self._where(owner, key))).first()
        if row is None:  # the holder gave up between our insert and this read
            return self.claim(owner, key, fingerprint)
        if row.fingerprint != fingerprint:
            return _Claim(
                problem=InvalidInput.on(
                    "Idempotency-Key",
                    "already used for a different request; use a new key for a new request",
                    location="header",
                )
            )
        if row.status is None:
            return _Claim(
                problem=Conflict(
                    "A request with this Idempotency-Key is still being processed; retry later.",
                    headers={"Retry-After": "1"},
                )
            )
        return _Claim(replay={"status": row.status, "headers": row.headers, "body": row.body})

    def keep(
        self, owner: str, key: str, status: int, headers: list[list[str]], body: bytes | None
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(self.table)
                .where(self._where(owner, key))
                .values(status=status, headers=headers, body=body)
            )

    def release(self, owner: str, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(self.table).where(self._where(owner, key)))


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
        owner = _digest(authorization)
        fingerprint = _digest(scope["path"].encode(), scope.get("query_string", b""), body)
        store = _Store(scope["app"].state.engine, self.table, self.ttl)
        claim = await run_in_threadpool(store.claim, owner, key, fingerprint)
        if claim.problem is not None:
            await problem_response(claim.problem, scope["path"])(scope, receive, send)
            return

        async def replay_body() -> Message:
            nonlocal body
            chunk, body = body, b""
            return {"type": "http.request", "body": chunk, "more_body": False}

        if claim.replay is not None:
            if not await run_in_threadpool(
                self.credential_is_valid, scope["app"], authorization.decode("latin-1")
            ):
                # Let the service refuse the credential as it would any request.
                await self.app(scope, replay_body, send)
                return
            await _send_replay(claim.replay, scope["path"], send)
            return

        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(store.release, owner, key)
            raise
        status = int(started.get("status", 500))
        if 200 <= status < 300:
            secret = scope["path"] in self.secret_paths
            kept = [
                [name.decode("latin-1"), value.decode("latin-1")]
                for name, value in started.get("headers", [])
                if name.decode("latin-1").lower() in ({"location"} if secret else _KEPT_HEADERS)
            ]
            stored = None if secret else b"".join(chunks)
            await run_in_threadpool(store.keep, owner, key, status, kept, stored)
        else:
            await run_in_threadpool(store.release, owner, key)


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
    location = next((value for name, value in replay["headers"] if name == "location"), None)
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

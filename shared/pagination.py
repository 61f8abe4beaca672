"""One pagination style for every listing: signed keyset cursors and a `next` link.

A cursor is the position of the last item of a page, signed with HMAC-SHA256 under a server
secret and bound to the listing it came from: the request path and its filters (every query
parameter but `cursor` and `limit`). A forged, altered or borrowed cursor is a 422 on `cursor`,
so a client can neither craft positions nor carry one listing's cursor into another.

`CursorMiddleware` tells `encode_cursor` and `decode_cursor` the secret and the listing of the
request being served, so that the code building a page needs neither.
"""

import base64
import binascii
import contextlib
import hmac
import json
import os
import secrets
from contextvars import ContextVar
from hashlib import sha256
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import InvalidInput

__all__ = [
    "CursorMiddleware",
    "Page",
    "decode_cursor",
    "encode_cursor",
    "listing_scope",
    "next_link",
    "stored_secret",
]

T = TypeVar("T")

# Query parameters that move through a listing rather than choose it.
_PAGING = frozenset({"cursor", "limit"})
_MAC_BYTES = 16
# Outside a request (the operator's command line pages through keys in one process), cursors
# are signed with a key that lives and dies with the process and bound to no listing.
_PROCESS_SIGNER = (secrets.token_bytes(32), "")
_signer: ContextVar[tuple[bytes, str]] = ContextVar("cursor_signer", default=_PROCESS_SIGNER)


class Page(BaseModel, Generic[T]):
    """A page of a listing in a stable order; follow `next` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )
    next: str | None = Field(default=None, description="URL of the next page; null on the last.")


def listing_scope(path: str, query_string: bytes | str) -> str:
    """The listing a request reads: its path and filters, in one canonical order."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    filters = [
        (name, value)
        for name, value in parse_qsl(query_string, keep_blank_values=True)
        if name not in _PAGING
    ]
    return f"{path}?{urlencode(sorted(filters))}"


class CursorMiddleware:
    """Sign this app's cursors with `secret` and bind them to the listing of each request."""

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app, self.secret = app, secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _signer.set((self.secret, listing_scope(scope["path"], scope["query_string"])))
        try:
            await self.app(scope, receive, send)
        finally:
            _signer.reset(token)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _mac(secret: bytes, listing: str, payload: bytes) -> bytes:
    message = json.dumps([listing, payload.decode()], separators=(",", ":")).encode()
    return hmac.new(secret, message, sha256).digest()[:_MAC_BYTES]


def encode_cursor(position: list[Any]) -> str:
    """An opaque cursor for the position of the last item of a page of this listing."""
    secret, listing = _signer.get()
    payload = json.dumps(position, separators=(",", ":"), default=str).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, listing, payload))}"


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The position a cursor stands for; a cursor this listing did not issue is a 422."""
    secret, listing = _signer.get()
    position: Any = None
    try:
        encoded, signature = cursor.split(".")
        payload = _unb64(encoded)
        if hmac.compare_digest(_unb64(signature), _mac(secret, listing, payload)):
            position = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, list) or len(position) != size:
        raise InvalidInput.on(
            "cursor",
            "not a cursor returned by this listing with these filters",
            location="query",
        )
    return position


def next_link(request: Request, cursor: str | None) -> str | None:
    """The URL of the next page: the same request with `cursor` replaced."""
    if cursor is None:
        return None
    return str(request.url.include_query_params(cursor=cursor))


def stored_secret(path: Path) -> bytes:
    """The secret kept in `path`, created (readable by its owner only) if there is none yet.

    Processes starting together may all find no file: each writes a candidate of its own and
    links it into place, which only the first can do, and then all read the same one.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process linked its own first
            os.link(candidate, path)
    finally:
        candidate.unlink()
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it or set CURSOR_SECRET")
    return secret.encode()

"""One pagination style for every listing: opaque keyset cursors and a `next` link."""

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from starlette.requests import Request

from shared.errors import InvalidInput

__all__ = ["Page", "decode_cursor", "encode_cursor", "next_link"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a listing in a stable order; follow `next` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )
    next: str | None = Field(default=None, description="URL of the next page; null on the last.")


def encode_cursor(position: list[Any]) -> str:
    """An opaque cursor for the position of the last item of a page."""
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The position a cursor stands for; a cursor we did not issue is a 422 on `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, list) or len(position) != size:
        raise InvalidInput.on("cursor", "not a cursor returned by this listing", location="query")
    return position


def next_link(request: Request, cursor: str | None) -> str | None:
    """The URL of the next page: the same request with `cursor` replaced."""
    if cursor is None:
        return None
    return str(request.url.include_query_params(cursor=cursor))

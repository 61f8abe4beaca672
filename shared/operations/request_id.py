"""The request id: taken from `X-Request-ID` (or made), kept for the work the request does, and
passed on with what it causes — calls to the other service, the change-feed event it writes,
and that event's webhook deliveries — so one change can be followed across the processes."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["HEADER", "accepted", "current", "new", "request_id_context"]

HEADER = "X-Request-ID"
# A client's id is kept if it is a plain token: it goes into log lines and headers as-is.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new() -> str:
    return uuid.uuid4().hex


def accepted(sent: str | None) -> str:
    """The client's id if it is usable, a new one otherwise."""
    if sent and _ACCEPTABLE.fullmatch(sent):
        return sent
    return new()


def current() -> str | None:
    """The id of the request (or the event being applied) this code works for, if any."""
    return _current.get()


@contextmanager
def request_id_context(request_id: str | None) -> Iterator[None]:
    """Work done inside carries `request_id` (worker threads started from it too: anyio and
    Starlette copy the context into them)."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)

"""Around every request: its id, its metrics, and its access log line."""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.operations import request_id
from shared.operations.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

__all__ = ["ObservedRequestsMiddleware"]

_log = logging.getLogger("passerelles.access")
_HEADER = request_id.HEADER.lower().encode()
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class ObservedRequestsMiddleware:
    """Outermost: gives the request its id (the client's `X-Request-ID`, or a new one), returns
    it in the response, counts and times the request by route template, and logs it.

    Writes and errors are logged at INFO; successful reads at DEBUG. A follower polls the feed
    every second and a load balancer probes `/ready` every few: at INFO they would bury the
    changes; their figures are in `/metrics`, and `LOG_LEVEL=debug` shows every request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((value for name, value in scope["headers"] if name == _HEADER), None)
        rid = request_id.accepted(sent.decode("latin-1") if sent else None)
        status = 500
        started = time.perf_counter()

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (_HEADER, rid.encode())],
                }
            await send(message)

        with request_id.request_id_context(rid):
            try:
                await self.app(scope, receive, with_id)
            finally:
                self._observe(scope, rid, status, time.perf_counter() - started)

    @staticmethod
    def _observe(scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        HTTP_REQUESTS.labels(method, template, str(status)).inc()
        HTTP_REQUEST_SECONDS.labels(method, template).observe(seconds)
        level = logging.DEBUG if method in _READS and status < 400 else logging.INFO
        if _log.isEnabledFor(level):
            path = scope["path"]
            query = scope.get("query_string", b"")
            if query:
                path += "?" + query.decode("latin-1")
            _log.log(
                level,
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                seconds * 1000,
                extra={"request_id": rid},
            )

"""What every service puts around its routes: a body size cap, security headers, CORS, and
Idempotency-Key handling. One function installs them in the one right order."""

import logging
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Table
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.access import BEARER_DESCRIPTION, required_scopes
from shared.errors import PayloadTooLarge, failure, problem_response, unavailable
from shared.idempotency import CredentialCheck, IdempotencyMiddleware
from shared.ratelimit import WRITES, RateLimiter
from shared.routes import api_routes, route_dependencies
from shared.settings import ServiceSettings

__all__ = ["DOCS_ASSETS", "document_limits_and_access", "install_hardening"]

_log = logging.getLogger("passerelles")

# The interactive documentation loads Swagger UI and ReDoc scripts; everything else is JSON
# and may load nothing at all.
_DOCUMENT_PATHS = ("/docs", "/redoc")
# Where each service serves those scripts itself (fastapi-offline's copies), so the pages work
# without internet access.
DOCS_ASSETS = "/docs/assets"
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000"),
]
_STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        documents = scope["path"].startswith(_DOCUMENT_PATHS)
        authenticated = any(name == b"authorization" for name, _ in scope["headers"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _HEADERS if h[0] not in present]
                # A page of the service's own (the explorer) sends its own policy.
                if not documents and b"content-security-policy" not in present:
                    headers.append(_STRICT_CSP)
                # A response to a key may hold private data: no shared cache may keep it.
                if authenticated and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with 413 before any route reads them; the paths
    in `larger` (file uploads) have a cap of their own."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.default_max, self.larger = app, max_bytes, larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope["path"], self.default_max)
        too_large = PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > max_bytes:
                await problem_response(too_large, scope["path"])(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read up to the cap, then hand the body on.
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > max_bytes:
                await problem_response(too_large, scope["path"])(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(parts)}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


class UnexpectedErrorMiddleware:
    """Answer an unhandled exception with the generic 500 problem (503 for a database outage)
    here, inside the security headers and CORS, rather than in Starlette's outermost error
    middleware, outside them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            # Middleware such as Idempotency-Key handling reads the database before any route
            # runs: an outage there is the same 503 as in a route.
            outage = unavailable(error)
            if outage is not None:
                _log.warning("database unavailable on %s: %s", scope["path"], error)
            else:
                # The trace goes to the server log, never to the client.
                _log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await problem_response(outage or failure(error), scope["path"])(scope, receive, send)


def install_hardening(
    app: FastAPI,
    settings: ServiceSettings,
    idempotency: Table,
    *,
    credential_is_valid: CredentialCheck,
    secret_paths: frozenset[str] = frozenset(),
    large_bodies: dict[str, int] | None = None,
) -> None:
    """Outermost first: CORS, security headers, unexpected errors, body cap, Idempotency-Key,
    then the routes; and the limiters of `shared.ratelimit.write_limit`."""
    app.state.write_limiters = (
        RateLimiter(settings.write_rate_per_key),
        RateLimiter(settings.write_rate_per_ip),
    )
    app.add_middleware(
        IdempotencyMiddleware,
        table=idempotency,
        credential_is_valid=credential_is_valid,
        secret_paths=secret_paths,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, larger=large_bodies)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    origins = settings.cors_origins
    if origins:
        options: dict[str, Any] = {
            "allow_origins": origins,
            "allow_methods": ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            "allow_headers": ["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            "expose_headers": ["ETag", "Location", "Retry-After", "Idempotent-Replayed"],
            "max_age": 600,
        }
        app.add_middleware(CORSMiddleware, **options)


def document_limits_and_access(app: FastAPI, settings: ServiceSettings) -> None:
    """Document on each operation what the middleware and dependencies may answer: 401/403 and
    the scopes it needs, 413 for bodies, 429 for rate-limited ones, 503 for a database outage,
    and the largest `limit` of its pages. Call before `install_problem_handlers`, which then
    gives these responses their problem+json shape."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = default_openapi()
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            operations = schema["paths"].get(route.path_format, {})
            scopes = required_scopes(route)
            limited = any(getattr(d.call, "rate_limited", False) for d in route_dependencies(route))
            for method in route.methods:
                operation = operations.get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                if scopes:
                    wanted = " or ".join(f"`{scope}`" for scope in scopes)
                    operation["description"] = (
                        operation.get("description", "") + f"\n\n**API key** with {wanted}."
                    ).strip()
                    operation["security"] = [{"apiKey": []}]
                    responses.setdefault("403", {"description": "Forbidden"})
                else:
                    # Open data: a key is optional (it may unlock private fields).
                    operation["security"] = [{}, {"apiKey": []}]
                responses.setdefault("401", {"description": "Unauthorized"})
                if method in WRITES:
                    responses.setdefault("413", {"description": "Request body too large"})
                if method in WRITES or limited:
                    responses.setdefault("429", {"description": "Too many requests"})
                # Any request may find the database out of reach (with `Retry-After`).
                responses.setdefault("503", {"description": "Service unavailable"})
                _document_page_size(operation, settings.page_size_max)
        components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        components.setdefault(
            "apiKey",
            {"type": "http", "scheme": "bearer", "description": BEARER_DESCRIPTION},
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_page_size(operation: dict[str, Any], page_size_max: int) -> None:
    """The page size cap is a setting, unknown when routes declare `limit`: add it here, to
    the `limit` query parameters that state no maximum of their own."""
    for parameter in operation.get("parameters", []):
        if parameter["name"] != "limit" or parameter["in"] != "query":
            continue
        schema = parameter["schema"]
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "integer":
                branch.setdefault("maximum", page_size_max)

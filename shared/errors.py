"""One error format for every service: RFC 9457 problem details (application/problem+json).

Domain code raises a `Problem` (or one of its subclasses); `install_problem_handlers` turns it,
request validation errors and plain HTTP errors into the same JSON shape, so clients only ever
parse one format.
"""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sql
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.language import language_headers, preferred_language
from shared.problem_texts import field_reason, translate_problem

_log = logging.getLogger("passerelles")

__all__ = [
    "PROBLEM_JSON",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Problem",
    "ProblemDetail",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "database_unreachable",
    "failure",
    "field_errors",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
    "unavailable",
]

PROBLEM_JSON = "application/problem+json"
_TYPE_PREFIX = "urn:passerelles:problem:"


class FieldError(BaseModel):
    """One reason why the request was refused, tied to the field that caused it."""

    field: str = Field(description="Dotted path of the offending field, e.g. `parties.1.actor_id`.")
    reason: str
    location: str = Field(default="body", description="`body`, `query`, `path` or `header`.")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, with Passerelles extensions."""

    type: str = Field(examples=["urn:passerelles:problem:validation-error"])
    title: str = Field(examples=["Invalid input"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["country: 'XX' is not an ISO 3166-1 alpha-2 country code"])
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)

    model_config = {"extra": "allow"}


class Problem(Exception):
    """An error that should reach the client as a problem+json response."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}
        self.extensions = extensions

    def to_body(self, instance: str | None = None) -> dict[str, Any]:
        body = ProblemDetail(
            type=_TYPE_PREFIX + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        ).model_dump(mode="json", exclude_none=True)
        body.update(self.extensions)
        return body


class InvalidInput(Problem):
    status = 422
    slug = "validation-error"
    title = "Invalid input"

    @classmethod
    def on(
        cls, field: str, reason: str, location: str = "body", **extensions: Any
    ) -> "InvalidInput":
        """A validation problem about a single field."""
        error = FieldError(field=field, reason=reason, location=location)
        return cls(f"{field}: {reason}", errors=[error], **extensions)


class BadRequest(Problem):
    status = 400
    slug = "malformed-request"
    title = "Malformed request"


class Unauthorized(Problem):
    """No key, or a key the service does not know (unknown, revoked, malformed)."""

    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extensions)


class Forbidden(Problem):
    """A known key without the right to do this."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(Problem):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(Problem):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class TooManyRequests(Problem):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


class ServiceUnavailable(Problem):
    """The database cannot serve the request now: a retry in a few seconds may succeed."""

    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"

    def __init__(
        self, detail: str, *, reason: str, retry_after: int = 5, **extensions: Any
    ) -> None:
        headers = {"Retry-After": str(retry_after)}
        super().__init__(
            detail, headers=headers, reason=reason, retry_after=retry_after, **extensions
        )


# PostgreSQL error classes that say "not now" rather than "never": connection exceptions (08),
# insufficient resources (53), operator intervention such as a terminated backend (57), system
# errors (58), serialization failures and deadlocks (40), and a lock not available (55P03).
_TRANSIENT_SQLSTATES = ("08", "53", "57", "58", "40", "55P03")
# SQLite reports a syntax error or a missing table as an OperationalError too; only these
# messages mean the database is busy or out of reach.
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "database table is locked")
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")


def database_unreachable(error: BaseException) -> ServiceUnavailable:
    """The 503 of a health or readiness check whose trivial query failed: whatever the cause,
    the database cannot serve, and the reason says why."""
    outage = unavailable(error)
    reason = outage.extensions["reason"] if outage else "database error"
    return ServiceUnavailable(
        f"The database is unreachable ({reason}).", reason=reason, database="unreachable"
    )


def unavailable(error: BaseException) -> ServiceUnavailable | None:
    """The 503 problem for a database error that a retry may get past; None for any other."""
    detail = "The database cannot be reached right now; nothing was saved. Retry shortly."
    if isinstance(error, sql.TimeoutError):
        return ServiceUnavailable(
            "Every database connection is busy; nothing was saved. Retry shortly.",
            reason="database connections exhausted",
        )
    if isinstance(error, sql.DisconnectionError):
        return ServiceUnavailable(detail, reason="database connection lost")
    if not isinstance(error, sql.DBAPIError):
        return None
    if error.connection_invalidated or isinstance(error, sql.InterfaceError):
        return ServiceUnavailable(detail, reason="database connection lost")
    if not isinstance(error, sql.OperationalError):
        return None
    origin = error.orig
    if type(origin).__module__.startswith("sqlite3"):
        message = str(origin).lower()
        if message.startswith(_SQLITE_TRANSIENT):
            busy = "The database is busy with other writes; nothing was saved. Retry shortly."
            return ServiceUnavailable(busy, reason="database busy", retry_after=1)
        if message.startswith(_SQLITE_UNREACHABLE):
            return ServiceUnavailable(detail, reason="database unreachable")
        return None
    if not type(origin).__module__.startswith("psycopg"):
        return None
    sqlstate = getattr(origin, "sqlstate", None)
    # psycopg gives no SQLSTATE when it could not connect at all.
    if sqlstate is None:
        return ServiceUnavailable(detail, reason="database unreachable")
    if sqlstate.startswith(_TRANSIENT_SQLSTATES):
        return ServiceUnavailable(detail, reason="database unavailable")
    return None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting that these statuses answer with a problem."""
    return {status: {"description": HTTPStatus(status).phrase} for status in statuses}


def _document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe every error response as what it is: application/problem+json, ProblemDetail.

    FastAPI documents errors as application/json and adds its own 422 shape; neither is what
    the service answers, so the generated schema is corrected once, here.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    detail = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(detail.pop("$defs", {}))
    components["ProblemDetail"] = detail
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:
                # Any body may fail to parse as JSON: `_on_validation_error` answers 400 then.
                operation["responses"].setdefault("400", {"description": "Malformed request"})
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = problem
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _response(request: Request, status: int, body: dict[str, Any], headers=None) -> JSONResponse:
    body.setdefault("instance", request.url.path)
    language = preferred_language(request.headers.get("accept-language"))
    body = translate_problem(body, language)
    headers = {**(headers or {}), **language_headers(language)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_response(problem: Problem, path: str) -> JSONResponse:
    """The response of `problem`, for middleware that answers before any route runs."""
    return JSONResponse(
        problem.to_body(instance=path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_path(loc: Sequence[str | int]) -> tuple[str, str]:
    """Split a pydantic error location into (location, dotted field path)."""
    location = str(loc[0]) if loc else "body"
    parts = [str(part) for part in loc[1:]]
    return location, ".".join(parts) or location


def _reason(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # Custom validators raise ValueError; pydantic prefixes their message, which adds nothing.
    return message.removeprefix("Value error, ")


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return _response(request, exc.status, exc.to_body(), exc.headers)


def field_errors(raw: Sequence[Any], location: str = "body") -> list[FieldError]:
    """Pydantic's errors of a model validated outside a request, as the API names them."""
    errors = []
    for error in raw:
        loc = [part for part in error.get("loc", ()) if part != "__root__"]
        field = ".".join(str(part) for part in loc) or location
        errors.append(FieldError(field=field, reason=_reason(error), location=location))
    return errors


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in raw):
        return _response(request, 400, BadRequest("The request body is not valid JSON.").to_body())
    language = preferred_language(request.headers.get("accept-language"))
    errors = []
    for error in raw:
        location, field = _field_path(error.get("loc", ()))
        reason = field_reason(error, _reason(error), language)
        errors.append(FieldError(field=field, reason=reason, location=location))
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors) or "Invalid input"
    return _response(request, 422, InvalidInput(detail, errors=errors).to_body())


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        # FastAPI keeps an included router whole; look at the routes inside it.
        included = getattr(route, "original_router", None)
        if included is not None:
            routes.extend(included.routes)
        elif route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    body = {"type": "about:blank", "title": phrase, "status": exc.status_code, "detail": detail}
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return _response(request, exc.status_code, body, headers)


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, sql.IntegrityError):
        # A uniqueness race lost to a concurrent writer, in whatever statement it surfaced, in
        # a route that had no more precise answer for it.
        conflict = Conflict(
            "The change conflicts with data written at the same time; nothing was saved."
        )
        return _response(request, conflict.status, conflict.to_body(), conflict.headers)
    problem = unavailable(exc)
    if problem is None:
        raise exc
    _log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return _response(request, problem.status, problem.to_body(), problem.headers)


def failure(error: BaseException) -> Problem:
    """The answer to an error nothing more precise answered: the 503 of a database outage
    (`unavailable`), else a 500 that says nothing of it (the server log has the trace)."""
    return unavailable(error) or Problem("An unexpected error occurred; nothing was saved.")


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    problem = failure(exc)
    return _response(request, problem.status, problem.to_body(), problem.headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` answer, and be documented, as application/problem+json."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_problems(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    # Database errors are handled inside the middleware, so that a 503 passes through them as
    # any answer does; those that are not an outage go on to the 500 below.
    app.add_exception_handler(sql.SQLAlchemyError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)

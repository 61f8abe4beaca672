"""The registry service: who acts in decentralised cooperation, and what ties them."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from services.registry import keys as api_keys
from services.registry.api import (
    actors,
    audit,
    conventions,
    events,
    exports,
    health,
    iati,
    imports,
    keys,
    projects,
    relationships,
    themes,
    web,
    webhooks,
)
from services.registry.api.deps import identify_caller
from services.registry.dispatcher import Dispatcher
from services.registry.models import idempotency_records
from services.registry.name_cache import NameCache
from services.registry.settings import RegistrySettings, get_settings
from shared.db import dispose_engines, make_engine, reading_engine
from shared.errors import install_problem_handlers
from shared.hardening import DOCS_ASSETS, document_limits_and_access, install_hardening
from shared.migrate import head_revision
from shared.operations.middleware import ObservedRequestsMiddleware
from shared.pagination import CursorMiddleware, stored_secret
from shared.ratelimit import write_limit
from shared.unit_of_work import UnitOfWorkMiddleware

__all__ = ["create_app"]

_DESCRIPTION = """
The registry of **Passerelles** stores who acts in decentralised cooperation — French and
foreign local authorities, international-solidarity associations, migrant organisations,
resource centres and networks — and the conventions, projects and relationships that tie them.

* Public data is open JSON and needs no key; every listing uses cursor pagination (follow
  `next`). Writes need an API key (`Authorization: Bearer …`, see **Authorize**), issued by an
  admin with the scopes it needs; a key bound to an actor changes only what that actor is
  party to. Private contact fields need `registry:read_private`.
* Send `Idempotency-Key` on a POST you may retry: a retry replays the first response.
* Every resource carries an `ETag`; send it back as `If-Match` when you change or delete it.
* Errors are `application/problem+json` (RFC 9457) and name the offending field.
* Deletes are soft: a deleted resource answers 410 and leaves listings.
"""


def _cursor_secret(settings: RegistrySettings) -> bytes:
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get_secret_value().encode()
    return stored_secret(settings.cursor_secret_path)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    reads = reading_engine(engine)
    name_cache = NameCache(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Embedded mode: this process also delivers webhooks; production runs workers instead.
        dispatcher = (
            Dispatcher(engine, settings) if settings.webhook_dispatcher == "embedded" else None
        )
        if dispatcher is not None:
            dispatcher.start()
        name_cache.warm()
        yield
        if dispatcher is not None:
            dispatcher.stop()
        name_cache.close()
        dispose_engines(engine, reads)

    # Swagger UI and ReDoc from assets this process serves: /docs works without internet.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="Passerelles registry",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        dependencies=[
            write_limit,
            identify_caller,
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.reading_engine = reads
    app.state.name_cache = name_cache
    app.state.migrations_head = head_revision("registry")
    # Innermost: what a route opened is closed before the middlewares around it run again.
    app.add_middleware(UnitOfWorkMiddleware)
    install_hardening(
        app,
        settings,
        idempotency_records,
        credential_is_valid=lambda app, header: api_keys.is_valid(app.state.engine, header),
        # A new key's secret is shown once: never kept for an idempotent replay.
        secret_paths=frozenset({"/v1/keys"}),
        large_bodies={"/v1/imports": settings.import_max_bytes},
    )
    # Outermost: the listing a cursor is bound to is the request as the client sent it.
    app.add_middleware(CursorMiddleware, secret=_cursor_secret(settings))
    # Outermost of all: every answer, a refused one too, has its id, its metrics and its log.
    app.add_middleware(ObservedRequestsMiddleware)
    document_limits_and_access(app, settings)
    install_problem_handlers(app)
    routers = (
        actors,
        conventions,
        projects,
        relationships,
        themes,
        events,
        imports,
        exports,
        iati,
        webhooks,
        keys,
        audit,
    )
    for module in (*routers, health, web):
        app.include_router(module.router)
    return app

"""The registry service: who acts in decentralised cooperation, and what ties them."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.registry.api import (
    actors,
    conventions,
    events,
    health,
    projects,
    relationships,
    themes,
    webhooks,
)
from services.registry.dispatcher import Dispatcher
from services.registry.settings import RegistrySettings, get_settings
from shared.db import make_engine
from shared.errors import install_problem_handlers

__all__ = ["create_app"]

_DESCRIPTION = """
The registry of **Passerelles** stores who acts in decentralised cooperation — French and
foreign local authorities, international-solidarity associations, migrant organisations,
resource centres and networks — and the conventions, projects and relationships that tie them.

* Public data is open JSON; every listing uses cursor pagination (follow `next`).
* Every resource carries an `ETag`; send it back as `If-Match` when you change or delete it.
* Errors are `application/problem+json` (RFC 9457) and name the offending field.
* Deletes are soft: a deleted resource answers 410 and leaves listings.
"""


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Embedded mode: this process also delivers webhooks; production runs workers instead.
        dispatcher = (
            Dispatcher(engine, settings) if settings.webhook_dispatcher == "embedded" else None
        )
        if dispatcher is not None:
            dispatcher.start()
        yield
        if dispatcher is not None:
            dispatcher.stop()
        engine.dispose()

    app = FastAPI(
        title="Passerelles registry",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_problem_handlers(app)
    for module in (actors, conventions, projects, relationships, themes, events, webhooks, health):
        app.include_router(module.router)
    return app

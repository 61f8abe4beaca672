"""The matching service: a live graph of the registry, partner suggestions with reasons."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from services.matching.answers import AnswerCache
from services.matching.api import federations, graph, health, model, overlaps, suggestions
from services.matching.api.deps import identify_caller, key_is_valid, query_limit
from services.matching.follower import Follower, GraphHolder
from services.matching.models import idempotency_records
from services.matching.ranking.ranker import Ranker
from services.matching.ranking.trainer import Trainer
from services.matching.registry_client import RegistryClient
from services.matching.settings import MatchingSettings, get_settings
from shared.db import make_engine
from shared.errors import install_problem_handlers
from shared.hardening import DOCS_ASSETS, document_limits_and_access, install_hardening
from shared.http import http_client
from shared.operations.memory import limit_heap_arenas
from shared.operations.middleware import ObservedRequestsMiddleware
from shared.ratelimit import RateLimiter, write_limit
from shared.unit_of_work import UnitOfWorkMiddleware

__all__ = ["create_app"]

_DESCRIPTION = """
The matching service of **Passerelles** keeps a graph of territories, associations and migrant
networks, built from the registry and kept current by following its change feed, and
suggests partners with the reasons behind every score. See `docs/matching.md`.

Its findings are open data and need no key. Giving feedback needs a key with
`matching:feedback`; adopting a federation needs a `registry:write` key bound to one of the
proposal's actors (or `admin`). Keys are issued by the registry.
"""


def create_app(settings: MatchingSettings | None = None, *, follow: bool = True) -> FastAPI:
    """The app; with `follow`, it loads the registry and follows its feed in the background."""
    settings = settings or get_settings()
    limit_heap_arenas()  # before the follower, trainer and worker threads start
    engine = make_engine(settings.database_url)
    holder = GraphHolder(ranker=Ranker(max_age_seconds=settings.features_max_age_seconds))
    client = http_client(settings.registry_url, settings.request_timeout_seconds)
    registry = RegistryClient(client, settings.service_key())
    follower = Follower(
        holder,
        registry,
        poll_seconds=settings.poll_seconds,
        max_backoff_seconds=settings.max_backoff_seconds,
    )

    trainer = Trainer(
        holder,
        retrain_after=settings.retrain_after_changes,
        check_seconds=settings.training_check_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if follow:
            follower.start()
            if settings.train_ranker:
                trainer.start()
        yield
        trainer.stop()
        follower.stop()
        client.close()
        engine.dispose()

    # Swagger UI and ReDoc from assets this process serves: /docs works without internet.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="Passerelles matching",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        dependencies=[write_limit],
    )
    app.state.settings, app.state.engine = settings, engine
    app.state.holder, app.state.follower, app.state.registry = holder, follower, registry
    app.state.trainer = trainer
    app.state.answers = AnswerCache()
    app.state.query_limiters = (
        RateLimiter(settings.query_rate_per_key),
        RateLimiter(settings.query_rate_per_ip),
    )
    # Innermost: what a route opened is closed before the middlewares around it run again.
    app.add_middleware(UnitOfWorkMiddleware)
    install_hardening(
        app,
        settings,
        idempotency_records,
        credential_is_valid=lambda app, header: key_is_valid(app.state.registry, header),
    )
    # Outermost of all: every answer, a refused one too, has its id, its metrics and its log.
    app.add_middleware(ObservedRequestsMiddleware)
    document_limits_and_access(app, settings)
    install_problem_handlers(app)
    for module in (suggestions, overlaps, federations, graph, model):
        # Limited first: a flood of queries must not each cost a key check at the registry.
        app.include_router(module.router, dependencies=[query_limit, identify_caller])
    app.include_router(health.router, dependencies=[identify_caller])
    return app

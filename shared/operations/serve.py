"""Starting a service's HTTP process: its logs configured, uvicorn told to keep them."""

from functools import partial
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string

from shared.operations.collector import mark_serving, tune_collector
from shared.operations.logs import configure_logging
from shared.settings import ServiceSettings

__all__ = ["build_app", "serve"]


def build_app(factory: str, frozen_start_up: bool) -> Any:
    """The app `factory` builds; then, with `frozen_start_up`, the collector is tuned."""
    app = import_from_string(factory)()
    if frozen_start_up:
        tune_collector()
    return app


def serve(
    factory: str,
    settings: ServiceSettings,
    host: str,
    port: int,
    *,
    frozen_start_up: bool = False,
) -> None:
    """Serve the app `factory` ("module:function") until SIGTERM or SIGINT; with
    `frozen_start_up`, the cycle collector leaves what building the app made out of its passes
    (`shared.operations.collector`).

    On either signal uvicorn stops accepting connections, lets the requests in flight finish
    (up to `shutdown_grace_seconds`), then runs the app's shutdown: the feed follower stops
    between two events, an embedded webhook dispatcher hands back what it has in flight.
    """
    configure_logging(settings.log_format, settings.log_level)
    mark_serving()
    uvicorn.run(
        partial(build_app, factory, frozen_start_up),
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )

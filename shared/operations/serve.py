"""Starting a service's HTTP process: its logs configured, uvicorn told to keep them."""

import uvicorn

from shared.operations.logs import configure_logging
from shared.settings import ServiceSettings

__all__ = ["serve"]


def serve(factory: str, settings: ServiceSettings, host: str, port: int) -> None:
    """Serve the app `factory` ("module:function") until SIGTERM or SIGINT.

    On either signal uvicorn stops accepting connections, lets the requests in flight finish
    (up to `shutdown_grace_seconds`), then runs the app's shutdown: the feed follower stops
    between two events, an embedded webhook dispatcher hands back what it has in flight.
    """
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )

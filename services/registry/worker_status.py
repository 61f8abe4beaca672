"""The webhook worker's own small HTTP port: `/health`, `/ready` and `/metrics`.

A worker serves no API, but an orchestrator must still know whether it is alive and can reach
the database, and Prometheus must read its delivery counts, which no API process sees.
"""

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from shared.errors import PROBLEM_JSON, database_unreachable

__all__ = ["serve_worker_status"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # probes every few seconds would bury the deliveries in the log


def _status_app(engine: Engine) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/health":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status":"ok"}']
        if path == "/ready":
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except SQLAlchemyError as error:
                problem = database_unreachable(error)
                start_response("503 Service Unavailable", [("Content-Type", PROBLEM_JSON)])
                return [json.dumps(problem.to_body("/ready")).encode()]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status":"ready"}']
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


def serve_worker_status(engine: Engine, host: str, port: int) -> WSGIServer:
    """Serve the worker's status on a daemon thread; returns the server (to shut it down)."""
    server = make_server(host, port, _status_app(engine), handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-status", daemon=True).start()
    return server

"""The Prometheus metrics of both services, in the client library's process-wide registry, and
the `/metrics` answer.

Metrics are created once per process (a second app in the same process, as in tests, shares
them). Gauges of state kept elsewhere — the outbox backlog in the database, the graph's size —
are set by each service just before a scrape is answered (`metrics_response`'s `refresh`).
"""

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response

__all__ = [
    "EVENTS_APPLIED",
    "FEED_LAG",
    "FEED_SECONDS_SINCE_CONTACT",
    "GRAPH_EDGES",
    "GRAPH_NODES",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "IMPORT_ROWS",
    "OUTBOX_BACKLOG",
    "OUTBOX_OLDEST_SECONDS",
    "OVERLAP_SECONDS",
    "SUGGESTION_SECONDS",
    "WEBHOOK_DELIVERIES",
    "metrics_response",
]

# Requests, by route template (`/v1/actors/{actor_id}`, never the id itself: one series per
# route, not per resource).
HTTP_REQUESTS = Counter(
    "passerelles_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "passerelles_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# Registry.
WEBHOOK_DELIVERIES = Counter(
    "passerelles_webhook_deliveries_total",
    "Webhook delivery attempts made by this process, by outcome (succeeded, failed) and "
    "attempt number (1, 2, … the retry schedule's length).",
    ["outcome", "attempt"],
)
OUTBOX_BACKLOG = Gauge(
    "passerelles_outbox_backlog",
    "Webhook deliveries waiting to be sent (every dispatcher's, read from the database).",
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "passerelles_outbox_oldest_pending_seconds",
    "Age of the oldest webhook delivery still waiting (0 when none waits).",
)
IMPORT_ROWS = Counter(
    "passerelles_import_rows_total",
    "Rows of applied imports, by resource and outcome (the import report's actions: create, "
    "update, unchanged, refused…).",
    ["resource", "outcome"],
)

# Matching.
FEED_LAG = Gauge(
    "passerelles_feed_lag_events",
    "Change-feed events the graph has not applied yet (-1 while the registry's head is unknown).",
)
FEED_SECONDS_SINCE_CONTACT = Gauge(
    "passerelles_feed_seconds_since_registry_contact",
    "Seconds since the registry last answered the feed follower (-1 before the first answer).",
)
EVENTS_APPLIED = Counter(
    "passerelles_feed_events_applied_total", "Change-feed events applied to the graph."
)
GRAPH_NODES = Gauge("passerelles_graph_nodes", "Nodes of the cooperation graph.")
GRAPH_EDGES = Gauge("passerelles_graph_edges", "Edges of the cooperation graph.")
SUGGESTION_SECONDS = Histogram(
    "passerelles_suggestion_seconds",
    "Time to compute one actor's partner suggestions (answers given again from the cache "
    "are not counted).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
OVERLAP_SECONDS = Histogram(
    "passerelles_overlap_seconds",
    "Time to compute the overlap read model: `full` over the whole graph, `change` for the "
    "hotspots one page of events touched.",
    ["scope"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def metrics_response(refresh: Callable[[], None] | None = None) -> Response:
    """The process's metrics in Prometheus' text format, gauges of outside state refreshed."""
    if refresh is not None:
        refresh()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

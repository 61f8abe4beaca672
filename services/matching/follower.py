"""Keeps the graph current: loads a snapshot of the registry, then follows its change feed.

The registry may be down or restarting: the follower retries with a short, capped backoff and
the service keeps answering from the last graph meanwhile; `status()` says how far behind it
is, or that it cannot know. If the registry no longer keeps the events after our cursor, the
graph is rebuilt from a fresh snapshot. One event that cannot be read or applied is recorded
and skipped: it must not hold back every event after it, nor stop the follower.

With the graph, the holder keeps the hotspot read model (`services.matching.hotspots`): built
with each snapshot before it is shared, then kept current after each page of events, outside the
lock, by recomputing only the hotspots the events may have affected.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from services.matching.graph import CooperationGraph
from services.matching.hotspots import OverlapIndex, OverlapModel
from services.matching.ranking.ranker import Ranker
from services.matching.registry_client import FeedGap, RegistryClient
from shared.events import Event, parse_event
from shared.operations.collector import keep_out_of_passes
from shared.operations.memory import release_freed_memory
from shared.operations.metrics import EVENTS_APPLIED
from shared.operations.request_id import request_id_context

__all__ = ["Follower", "GraphHolder"]

log = logging.getLogger(__name__)

# Long enough to tell what was wrong, short enough for a health answer.
_REASON_CHARS = 500


@dataclass
class GraphHolder:
    """The current graph and how far into the feed it is; one lock for readers and the writer.

    `overlaps` is the hotspot read model, read without the lock (one attribute, replaced whole);
    `overlap_index` its writer's side, used by the thread that changes the graph."""

    graph: CooperationGraph = field(default_factory=CooperationGraph)
    applied: int = 0
    head: int = 0
    # The graph has been loaded from a snapshot at least once (the API serves it from then on).
    synced: bool = False
    reachable: bool = False
    last_error: str | None = None
    last_contact: float | None = None
    # When the graph was last seen holding every event of the registry (its head then).
    in_step_at: float | None = None
    skipped_events: int = 0
    last_skipped_sequence: int | None = None
    last_skipped_reason: str | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Changes applied since start (events, snapshots): what the ranker's caches are keyed by.
    revision: int = 0
    ranker: Ranker = field(default_factory=Ranker)
    overlaps: OverlapModel = field(init=False, repr=False, compare=False)
    overlap_index: OverlapIndex = field(init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "graph":
            # A graph put in place directly (tests, tools) gets its read model at once.
            self._install_overlaps(OverlapIndex(value, self.__dict__.get("applied", 0)))

    def install(self, graph: CooperationGraph, overlaps: OverlapIndex) -> None:
        """Put a graph in place with the read model already built for it (under the lock)."""
        super().__setattr__("graph", graph)
        self._install_overlaps(overlaps)

    def _install_overlaps(self, overlaps: OverlapIndex) -> None:
        super().__setattr__("overlap_index", overlaps)
        super().__setattr__("overlaps", overlaps.model)

    def publish_overlaps(self, overlaps: OverlapIndex, sequence: int) -> None:
        """Bring the read model up to `sequence` (by the thread that changes the graph, after
        the events, outside the lock) unless the graph was replaced meanwhile."""
        model = overlaps.refresh(sequence)
        if self.overlap_index is overlaps:
            self.overlaps = model

    def skip(self, sequence: int | None, reason: str) -> None:
        self.skipped_events += 1
        self.last_skipped_sequence = sequence
        self.last_skipped_reason = reason[:_REASON_CHARS]

    def status(self) -> dict[str, Any]:
        with self.lock:
            # Without an answer from the registry its head is unknown, so is the lag: saying 0
            # would claim the graph is current while events may be piling up.
            known = self.reachable and self.synced
            lag = max(0, self.head - self.applied) if known else None
            since = None if self.last_contact is None else round(time.time() - self.last_contact, 1)
            return {
                "status": "ok" if known and self.last_error is None else "degraded",
                "loaded": self.synced,
                "synced": known and lag == 0,
                "nodes": self.graph.g.number_of_nodes(),
                "edges": self.graph.edge_count,
                "last_applied_sequence": self.applied,
                "registry_head": self.head if known else None,
                "lag": lag,
                "registry_reachable": self.reachable,
                "last_error": self.last_error,
                "seconds_since_registry_contact": since,
                "skipped_events": self.skipped_events,
                "last_skipped_sequence": self.last_skipped_sequence,
                "last_skipped_reason": self.last_skipped_reason,
                "model": self.ranker.describe(),
            }


def _sequence_of(raw: Any) -> int | None:
    sequence = raw.get("sequence") if isinstance(raw, dict) else None
    return sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else None


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '(event)'}: {e['msg']}"
            for e in error.errors()[:5]
        )
        return f"malformed event: {problems}"
    return f"could not apply: {type(error).__name__}: {error}"


def _applied(event: Event) -> None:
    """A line per change applied, under the request id of the write that made it."""
    EVENTS_APPLIED.inc()
    with request_id_context(event.request_id):
        log.info(
            "applied event %d %s %s v%d",
            event.sequence,
            event.type,
            event.resource.id,
            event.resource.version,
        )


class _Summary:
    """Every few minutes, one line of how the follower fares (idle polls log nothing)."""

    EVERY_SECONDS = 300.0

    def __init__(self, holder: GraphHolder) -> None:
        self.holder = holder
        self.at = time.monotonic()
        self.applied = holder.applied

    def now_and_then(self) -> None:
        if time.monotonic() - self.at < self.EVERY_SECONDS:
            return
        status = self.holder.status()
        log.info(
            "following the registry: %d events in the last %d s; at sequence %d, lag %s, "
            "%d nodes, %d edges",
            max(0, status["last_applied_sequence"] - self.applied),
            self.EVERY_SECONDS,
            status["last_applied_sequence"],
            status["lag"],
            status["nodes"],
            status["edges"],
        )
        self.at, self.applied = time.monotonic(), status["last_applied_sequence"]


class Follower:
    def __init__(
        self,
        holder: GraphHolder,
        registry: RegistryClient,
        *,
        poll_seconds: float,
        max_backoff_seconds: float,
    ) -> None:
        self.holder = holder
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def resync(self) -> None:
        """Replace the graph by one built from a fresh snapshot of the registry."""
        snapshot = self.registry.snapshot()
        graph = CooperationGraph.from_resources(
            snapshot.actors, snapshot.conventions, snapshot.projects, snapshot.relationships
        )
        # Built before the graph is shared: no reader waits for it.
        overlaps = OverlapIndex(graph, snapshot.head)
        with self.holder.lock:
            self.holder.install(graph, overlaps)
            self.holder.revision += 1
            # A new graph: the ranker learns it again (the current model serves meanwhile).
            self.holder.ranker.trained_revision = None
            self.holder.applied = self.holder.head = snapshot.head
            self.holder.synced = True
            for reason in snapshot.rejected:
                log.error("snapshot item skipped: %s", reason)
                self.holder.skip(None, reason)
        log.info("graph loaded from the registry at sequence %d", snapshot.head)
        # The graph, now in place, out of the collector's full passes; the one it replaced, and
        # the snapshot's records, freed by the pass this makes.
        del snapshot, graph, overlaps
        keep_out_of_passes()
        release_freed_memory()  # what parsing a few hundred thousand records left in the heap

    def poll(self) -> int:
        """Apply the next page of events; returns how many were read past."""
        events, next_after, head = self.registry.events(self.holder.applied)
        with self.holder.lock:
            overlaps = self.holder.overlap_index
            applied = 0
            for raw in events:
                sequence = _sequence_of(raw)
                if sequence is not None and sequence <= self.holder.applied:
                    continue
                try:
                    event = parse_event(raw)
                    with overlaps.watch(event.data):
                        self.holder.graph.apply(event)
                except Exception as error:  # any bad event is skipped, never fatal
                    reason = _reason(error)
                    log.error("event %s skipped: %s", sequence, reason, exc_info=True)
                    self.holder.skip(sequence, reason)
                else:
                    _applied(event)
                if sequence is not None:
                    self.holder.applied = sequence
                applied += 1
                self.holder.revision += 1
            with overlaps.watch_waiting():
                self.holder.graph.retry_waiting()
            self.holder.applied = max(self.holder.applied, next_after)
            self.holder.head = head
            reached = self.holder.applied
        # Only this thread changes the graph, so the hotspots the events may have affected are
        # recomputed from it outside the lock, while suggestions go on.
        self.holder.publish_overlaps(overlaps, reached)
        return applied

    def step(self) -> int:
        """One unit of work: a snapshot if none yet, else a page of the feed."""
        try:
            worked = self.poll() if self.holder.synced else self._resynced()
        except FeedGap:
            log.warning("the registry purged events we had not read; resynchronising")
            worked = self._resynced()
        with self.holder.lock:
            self.holder.last_error = None
            self.holder.reachable = True
            self.holder.last_contact = time.time()
            if self.holder.applied >= self.holder.head:
                self.holder.in_step_at = self.holder.last_contact
        return worked

    def _resynced(self) -> int:
        self.resync()
        return 1

    def _failed(self, error: Exception) -> None:
        unreachable = isinstance(error, httpx.TransportError) or (
            isinstance(error, httpx.HTTPStatusError) and error.response.status_code >= 500
        )
        with self.holder.lock:
            self.holder.last_error = f"{type(error).__name__}: {error}"
            if unreachable:
                self.holder.reachable = False
        if unreachable:
            log.warning("registry unreachable: %s", error)
        else:
            log.exception("feed follower step failed; retrying")

    def run(self) -> None:
        backoff = self.poll_seconds
        summary = _Summary(self.holder)
        while not self._stop.is_set():
            summary.now_and_then()
            try:
                worked = self.step()
            except Exception as error:  # the follower must outlive any failure
                self._failed(error)
                backoff = min(self.max_backoff, backoff * 2)
                self._stop.wait(backoff)
                continue
            backoff = self.poll_seconds
            if not worked:
                self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="feed-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

"""Keeps the graph current: loads a snapshot of the registry, then follows its change feed.

The registry may be down or restarting: the follower retries with backoff and the service
keeps answering from the last graph meanwhile; `status()` reports the lag. If the registry
no longer keeps the events after our cursor, the graph is rebuilt from a fresh snapshot.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.matching.graph import CooperationGraph
from services.matching.registry_client import FeedGap, RegistryClient

__all__ = ["Follower", "GraphHolder"]

log = logging.getLogger(__name__)


@dataclass
class GraphHolder:
    """The current graph and how far into the feed it is; one lock for readers and the writer."""

    graph: CooperationGraph = field(default_factory=CooperationGraph)
    applied: int = 0
    head: int = 0
    synced: bool = False
    last_error: str | None = None
    last_contact: float | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "synced": self.synced,
                "nodes": self.graph.g.number_of_nodes(),
                "edges": self.graph.g.number_of_edges(),
                "last_applied_sequence": self.applied,
                "registry_head": self.head,
                "lag": max(0, self.head - self.applied),
                "registry_reachable": self.last_error is None,
                "last_error": self.last_error,
                "seconds_since_registry_contact": (
                    None if self.last_contact is None else round(time.time() - self.last_contact, 1)
                ),
            }


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
        head, resources = self.registry.snapshot()
        graph = CooperationGraph.from_resources(
            resources["actors"],
            resources["conventions"],
            resources["projects"],
            resources["relationships"],
        )
        with self.holder.lock:
            self.holder.graph, self.holder.applied, self.holder.head = graph, head, head
            self.holder.synced = True
        log.info("graph loaded from the registry at sequence %d", head)

    def poll(self) -> int:
        """Apply the next page of events; returns how many were applied."""
        events, next_after, head = self.registry.events(self.holder.applied)
        with self.holder.lock:
            applied = 0
            for event in events:
                if event["sequence"] > self.holder.applied:
                    self.holder.graph.apply(event)
                    self.holder.applied = event["sequence"]
                    applied += 1
            self.holder.graph.retry_waiting()
            self.holder.applied = max(self.holder.applied, next_after)
            self.holder.head = head
        return applied

    def step(self) -> int:
        """One unit of work: a snapshot if none yet, else a page of the feed."""
        try:
            if not self.holder.synced:
                self.resync()
                return 1
            return self.poll()
        except FeedGap:
            log.warning("the registry purged events we had not read; resynchronising")
            self.resync()
            return 1

    def run(self) -> None:
        backoff = self.poll_seconds
        while not self._stop.is_set():
            try:
                worked = self.step()
            except (httpx.HTTPError, ValueError, KeyError) as error:
                with self.holder.lock:
                    self.holder.last_error = f"{type(error).__name__}: {error}"
                backoff = min(self.max_backoff, backoff * 2)
                self._stop.wait(backoff)
                continue
            with self.holder.lock:
                self.holder.last_error = None
                self.holder.last_contact = time.time()
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

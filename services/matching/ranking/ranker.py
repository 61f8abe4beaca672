"""What serves suggestions: the current model and a feature space of the current graph.

The model is replaced whole by the trainer (`ranking.trainer`) when a new one is ready, so a
query always uses one model from start to end, and the previous one serves while the next is
trained. The feature space is rebuilt for a newer graph, in the background: while the graph
keeps changing, a query ranks with the space it finds (partners, filters and reasons come from
the live graph, so an older space changes only the order of the candidates it knows), and once
that space is `max_age_seconds` old, and at least twice as old as its build took, a thread
copies the graph a slice at a time under the graph's lock (`CooperationGraph.read_copy`),
builds the next space outside it and swaps it in. A query never waits for a build, except the
very first (there is no space yet) and one about an actor the current space does not know
(`wait_for_build`).

Used under the graph holder's lock, like the graph.
"""

import logging
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel
from shared.operations.memory import release_freed_memory

__all__ = ["Ranker"]

log = logging.getLogger(__name__)


@dataclass
class Ranker:
    model: RankingModel = PRIOR
    max_age_seconds: float = 1.0
    # The graph revision the model was trained on (None: not yet), and training state.
    trained_revision: int | None = None
    training: bool = False
    trainings: int = 0
    last_error: str | None = None
    _space: FeatureSpace | None = field(default=None, repr=False)
    _space_revision: int | None = None
    _built_at: float = 0.0
    _build_seconds: float = 0.0
    _building: threading.Thread | None = field(default=None, repr=False)
    _built: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def space(
        self,
        graph: CooperationGraph,
        revision: int,
        source: str,
        lock: AbstractContextManager[Any] | None = None,
    ) -> FeatureSpace:
        """A feature space of `graph` at `revision`, or an older one.

        Without `lock`, as a plain cache: a space at most `max_age_seconds` older that knows
        `source`, else one built now. With the graph's `lock` (held by the caller), the space
        there is, however old, while a newer one is built in the background when due; it may
        not know `source` (see `wait_for_build`)."""
        space = self._space
        if space is None:
            return self._build_now(graph, revision)
        if revision == self._space_revision:
            return space
        age = time.monotonic() - self._built_at
        if lock is None:
            if age < self.max_age_seconds and source in space.index:
                return space
            return self._build_now(graph, revision)
        due = age >= max(self.max_age_seconds, 2 * self._build_seconds)
        if self._building is None and (due or source not in space.index):
            self._building = threading.Thread(
                target=self._build,
                args=(graph, revision, lock),
                name="feature-space",
                daemon=True,
            )
            self._building.start()
        return space

    @property
    def space_revision(self) -> int | None:
        """The graph revision the feature space in place was built from."""
        return self._space_revision

    def wait_for_build(self, timeout: float) -> None:
        """Wait (without the graph's lock) until the space being built is in place."""
        with self._built:
            self._built.wait_for(lambda: self._building is None, timeout=timeout)

    def _build(self, graph: CooperationGraph, revision: int, lock: AbstractContextManager[Any]):
        started = time.monotonic()
        space = None
        copy = CooperationGraph()
        try:
            copy = graph.read_copy(lock)
            space = FeatureSpace.of(copy)
        except Exception:  # the current space keeps serving; the next query tries again
            log.exception("building the feature space failed")
        finally:
            copy.discard()
            release_freed_memory()
        with lock:
            if space is not None and (self._space_revision or -1) <= revision:
                self._install(space, revision, started)
                log.debug("feature space of revision %d in %.2f s", revision, self._build_seconds)
            with self._built:
                self._building = None
                self._built.notify_all()

    def _build_now(self, graph: CooperationGraph, revision: int) -> FeatureSpace:
        started = time.monotonic()
        return self._install(FeatureSpace.of(graph), revision, started)

    def _install(self, space: FeatureSpace, revision: int, started: float) -> FeatureSpace:
        self._space, self._space_revision = space, revision
        self._built_at = time.monotonic()
        self._build_seconds = self._built_at - started
        return space

    def describe(self) -> dict[str, Any]:
        return {
            **self.model.describe(),
            "training_in_progress": self.training,
            "trainings": self.trainings,
            "last_training_error": self.last_error,
        }

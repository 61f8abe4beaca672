"""What serves suggestions: the current model and a feature space of the current graph.

The model is replaced whole by the trainer (`ranking.trainer`) when a new one is ready, so a
query always uses one model from start to end, and the previous one serves while the next is
trained. The feature space is rebuilt for a newer graph, but at most every
`max_age_seconds` while the graph keeps changing: partners, filters and reasons come from the
live graph, so a space a second old changes only the order of the candidates it knows.
Used under the graph holder's lock, like the graph.
"""

import time
from dataclasses import dataclass, field
from typing import Any

from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel

__all__ = ["Ranker"]


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

    def space(self, graph: CooperationGraph, revision: int, source: str) -> FeatureSpace:
        """A feature space of `graph` at `revision`, or one at most `max_age_seconds` older
        that knows `source`."""
        space = self._space
        fresh_enough = space is not None and (
            revision == self._space_revision
            or (time.monotonic() - self._built_at < self.max_age_seconds and source in space.index)
        )
        if space is None or not fresh_enough:
            space = FeatureSpace.of(graph)
            self._space, self._space_revision = space, revision
            self._built_at = time.monotonic()
        return space

    def describe(self) -> dict[str, Any]:
        return {
            **self.model.describe(),
            "training_in_progress": self.training,
            "trainings": self.trainings,
            "last_training_error": self.last_error,
        }

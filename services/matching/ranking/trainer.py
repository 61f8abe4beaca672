"""Trains the ranker in the background: once the graph is loaded, then after enough changes.

Training works on a copy of the graph that `train` takes a slice at a time under the holder's
lock (`CooperationGraph.read_copy`: the follower and suggestions wait at most one slice) and runs
outside it, so suggestions keep being served (by the previous model) meanwhile; the new model
replaces the old one in a single assignment.
"""

import logging
import threading
import time

from services.matching.follower import GraphHolder
from services.matching.ranking.training import train
from shared.operations.memory import release_freed_memory

__all__ = ["Trainer"]

log = logging.getLogger(__name__)


class Trainer:
    def __init__(
        self, holder: GraphHolder, *, retrain_after: int, check_seconds: float, seed: int = 0
    ) -> None:
        self.holder = holder
        self.retrain_after = retrain_after
        self.check_seconds = check_seconds
        self.seed = seed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self) -> bool:
        holder, ranker = self.holder, self.holder.ranker
        if not holder.synced:
            return False
        if ranker.trained_revision is None:
            return True
        return holder.revision - ranker.trained_revision >= self.retrain_after

    def train_once(self) -> bool:
        """Train a new model if one is due; True when one was trained."""
        with self.holder.lock:
            if not self.due():
                return False
            graph, revision = self.holder.graph, self.holder.revision
            self.holder.ranker.training = True
        started = time.monotonic()
        try:
            model = train(graph, lock=self.holder.lock, seed=self.seed)
        except Exception as error:  # a failed training keeps the model that serves
            log.exception("training the ranker failed; the current model keeps serving")
            with self.holder.lock:
                self.holder.ranker.training = False
                self.holder.ranker.last_error = f"{type(error).__name__}: {error}"
                # Not retried at once: it would fail the same way until the graph changes.
                self.holder.ranker.trained_revision = revision
            return False
        with self.holder.lock:
            ranker = self.holder.ranker
            ranker.model, ranker.trained_revision = model, revision
            ranker.training, ranker.last_error = False, None
            ranker.trainings += 1
        release_freed_memory()  # the training's temporaries, a few hundred megabytes at scale
        log.info(
            "ranker %s (%s) ready in %.1f s: %s",
            model.version,
            model.kind,
            time.monotonic() - started,
            model.validation or "no validation (prior)",
        )
        return True

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.train_once()
            except Exception:  # the trainer must outlive any failure
                log.exception("ranker trainer step failed")
            self._stop.wait(self.check_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="ranker-trainer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

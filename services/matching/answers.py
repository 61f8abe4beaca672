"""Answers to the suggestions query, kept while everything they were computed from is unchanged.

A list of suggestions is a pure function of the graph (the object and its revision), the feed
position it reports, the feature space and the model that ranked it, and the query (the actor,
its filters and limit, the candidates it dismissed). Kept under the first ones, an answer is
what computing it again would give, byte for byte; the first answer asked in a new state drops
all the others, so only answers of the current state are ever held. Between two changes of the
graph, an actor's page asked again (a reload, another user, a front-end's second call) costs a
look-up instead of a ranking.
"""

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["AnswerCache"]


class AnswerCache:
    """The answers of one state, the least recently asked dropped beyond `capacity`."""

    def __init__(self, capacity: int = 5_000) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        # The graph by weak reference: an old graph is not kept alive by its answers.
        self._graph: weakref.ReferenceType[Any] | None = None
        self._state: Hashable = None
        self._answers: OrderedDict[Hashable, str] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, graph: object, state: Hashable, query: Hashable) -> str | None:
        with self._lock:
            answer = self._answers.get(query) if self._holds(graph, state) else None
            if answer is None:
                self.misses += 1
                return None
            self._answers.move_to_end(query)
            self.hits += 1
            return answer

    def put(self, graph: object, state: Hashable, query: Hashable, answer: str) -> None:
        with self._lock:
            if not self._holds(graph, state):
                self._answers.clear()
                self._graph, self._state = weakref.ref(graph), state
            self._answers[query] = answer
            if len(self._answers) > self.capacity:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)

    def _holds(self, graph: object, state: Hashable) -> bool:
        return self._graph is not None and self._graph() is graph and self._state == state

"""The ranking model: a logistic regression over standardised pair features.

Additive by construction: a candidate's log-odds are the intercept plus one contribution per
feature, coefficient × standardised value. The contributions are measured from the average
candidate of the training pools, so a feature at its usual value contributes nothing and the
reasons a user reads are what sets this candidate apart. The score is the probability,
1 / (1 + e^-(log-odds)).

A graph too small to learn from is served by `PRIOR`, a documented model whose coefficients
were set by hand on the same features (docs/matching.md).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from services.matching.ranking.features import FEATURES

__all__ = ["PRIOR", "RankingModel"]


@dataclass(frozen=True)
class RankingModel:
    version: str
    kind: str  # "learned" or "prior"
    mean: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    trained_at: datetime | None = None
    # What it was trained on and how it did on held-out sources (see ranking.training).
    training: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per candidate (row) and feature (column), its share of the log-odds."""
        return (features - self.mean) / self.scale * self.coefficients

    def log_odds(self, contributions: np.ndarray) -> np.ndarray:
        return self.intercept + contributions.sum(axis=1)

    def describe(self) -> dict[str, Any]:
        """What `/v1/model` and `/health` show."""
        return {
            "version": self.version,
            "kind": self.kind,
            "trained_at": self.trained_at.isoformat() if self.trained_at else None,
            "training": self.training,
            "validation": self.validation,
            "coefficients": {
                name: round(float(value), 4)
                for name, value in zip(FEATURES, self.coefficients, strict=True)
            },
        }


def _prior() -> RankingModel:
    """Hand-set weights, on features in their own units, for graphs too small to learn from.

    Chosen to behave like the classical indices where the graph is small: partners in common
    first (Adamic–Adar), then the walk beyond two hops, shared themes, a migrant bridge and a
    network in common; countries and kinds that cooperate, and crowding as a penalty."""
    weights = {
        "adamic_adar": 1.5,
        "pagerank": 0.4,
        "country_pair": 0.3,
        "kind_pair": 0.3,
        "shared_themes": 2.0,
        "migrant_bridge": 1.5,
        "same_network": 0.5,
        "candidate_degree": 0.1,
        "crowding": -0.5,
    }
    unknown = set(weights) - set(FEATURES)
    assert not unknown, unknown
    mean = np.zeros(len(FEATURES))
    # PageRank is log10 and floored at 1e-9: measured from the floor, unreached adds nothing.
    mean[FEATURES.index("pagerank")] = -9.0
    return RankingModel(
        version="prior-1",
        kind="prior",
        mean=mean,
        scale=np.ones(len(FEATURES)),
        coefficients=np.array([weights.get(name, 0.0) for name in FEATURES]),
        intercept=-4.0,
    )


PRIOR = _prior()

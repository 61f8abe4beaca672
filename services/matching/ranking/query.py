"""One query of the ranker: the pool of a source, its features, and the candidates in order."""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from services.matching.ranking.features import FeatureSpace
from services.matching.ranking.model import RankingModel

__all__ = ["Ranked", "rank"]


@dataclass(frozen=True)
class Ranked:
    rows: np.ndarray  # candidates, best first (rows of the feature space)
    log_odds: np.ndarray
    contributions: np.ndarray  # candidate × feature

    @property
    def scores(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.log_odds))


def rank(
    space: FeatureSpace,
    model: RankingModel,
    source: int,
    *,
    excluded: Iterable[int] = (),
    bridged: Iterable[int] = (),
) -> Ranked:
    """Every candidate of the source's pool but `excluded`, by decreasing log-odds; equal
    log-odds in node order, so a given model always gives the same order."""
    bridged_rows = np.fromiter(bridged, dtype=np.int64)
    pagerank = space.pagerank(source)
    view = space.source(source)
    pool = space.pool(source, pagerank, bridged_rows, view=view)
    excluded_rows = np.fromiter(excluded, dtype=np.int64)
    if len(excluded_rows):
        pool = pool[~np.isin(pool, excluded_rows)]
    features = space.matrix(source, pool, bridged=bridged_rows, pagerank=pagerank, view=view)
    contributions = model.contributions(features)
    log_odds = model.log_odds(contributions)
    order = np.lexsort((pool, -log_odds))
    return Ranked(pool[order], log_odds[order], contributions[order])

"""Self-supervised training of the ranker on the registry's own ties.

A seeded share of the cooperation pairs is hidden (`splits`), every actor that lost a partner
asks the ranker's query (its pool, its features) as the service would, the hidden partners in
its pool are the positives and the rest of the pool the negatives, and a logistic regression is
fitted on standardised features. A fifth of those actors are kept out of the fit and measure
the model (recall@10, MRR) against Adamic–Adar on the same split, which `/v1/model` shows.

Pure: works on its own copy of the graph it is given (hiding ties changes it), and lets go of
that copy as soon as it has read what the fit needs from it: at national scale the copy is a few
hundred megabytes that would otherwise sit beside the training set and the fit's own copies.
"""

import hashlib
import random
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from services.matching.graph import CooperationGraph
from services.matching.ranking.features import FEATURES, FeatureSpace
from services.matching.ranking.model import PRIOR, RankingModel
from services.matching.ranking.query import rank
from services.matching.ranking.splits import (
    cooperation_pairs,
    draw_hidden,
    hidden_partners,
    hide,
)
from services.matching.territories import bridged
from shared.operations.memory import release_freed_memory

__all__ = ["MIN_HIDDEN", "Query", "TrainingSet", "adamic_adar_ranks", "query_rows", "train"]

# Fewer hidden ties than this and the fit would learn noise: the prior serves instead.
MIN_HIDDEN = 40
_VALIDATION_SHARE = 0.2
_MAX_SOURCES = 4_000
_NEGATIVES_PER_SOURCE = 200


@dataclass(frozen=True)
class Query:
    """What a training or validation query reads of the graph, read before the copy goes."""

    row: int
    excluded: list[int]  # itself and its partners
    bridged: list[int]
    wanted: list[int]  # its hidden partners


@dataclass(frozen=True)
class TrainingSet:
    features: np.ndarray  # float32: half the memory, and the fit needs no more precision
    labels: np.ndarray
    weights: np.ndarray  # what each row stands for: 1 for a positive, more for a sampled negative
    sources: int
    candidates: int  # in the sources' whole pools


def query_rows(
    graph: CooperationGraph, space: FeatureSpace, source: str
) -> tuple[int, list[int], list[int]]:
    """The source's row, the rows its query excludes (itself, partners), the bridged rows."""
    index = space.index
    excluded = [index[p] for p in graph.partners(source) if p in index]
    bridges = [index[t] for t in bridged(graph, source) if t in index]
    return index[source], excluded, bridges


def train(
    graph: CooperationGraph,
    *,
    lock: AbstractContextManager[Any] | None = None,
    seed: int = 0,
    fraction: float = 0.1,
    version_hint: str = "",
) -> RankingModel:
    """A model fitted on a copy of `graph` (taken a slice at a time under `lock`, the writer's
    lock, if given; `graph` itself is not changed), or the prior when it is too small."""
    copy = graph.read_copy(lock)
    pairs = cooperation_pairs(copy)
    hidden = draw_hidden(pairs, fraction, seed)
    if len(hidden) < MIN_HIDDEN:
        copy.discard()
        return PRIOR
    hide(copy, hidden)
    space = FeatureSpace.of(copy)
    partners = hidden_partners(copy, hidden)
    sources = sorted(partners)
    random.Random(seed).shuffle(sources)
    sources = sources[:_MAX_SOURCES]
    held_out = max(1, round(_VALIDATION_SHARE * len(sources)))
    queries = [_query(copy, space, source, partners[source]) for source in sources]
    pair_count = len(pairs)
    copy.discard()  # everything below reads the space and the queries only
    del pairs
    release_freed_memory()
    fit_on, check_on = queries[held_out:], queries[:held_out]

    training = _training_set(space, fit_on, seed)
    if training.labels.sum() < MIN_HIDDEN // 4 or training.labels.all():
        return PRIOR
    scaler = _scaler(training)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    standardised = training.features  # scaled in place: no second copy of the set
    standardised -= scaler.mean_.astype(standardised.dtype)
    standardised /= scale.astype(standardised.dtype)
    fitted = LogisticRegression(C=1.0, max_iter=2_000).fit(
        standardised, training.labels, sample_weight=training.weights
    )
    trained_at = datetime.now(UTC)
    coefficients = fitted.coef_[0].astype(np.float64)
    digest = hashlib.sha256(coefficients.tobytes() + scaler.mean_.tobytes()).hexdigest()[:8]
    model = RankingModel(
        version=f"{version_hint}{trained_at:%Y%m%dT%H%M%SZ}-{digest}",
        kind="learned",
        mean=scaler.mean_,
        scale=scale,
        coefficients=coefficients,
        intercept=float(fitted.intercept_[0]),
        trained_at=trained_at,
        training={
            "cooperation_pairs": pair_count,
            "hidden_pairs": len(hidden),
            "sources": training.sources,
            "candidates": training.candidates,
            "positives": int(training.labels.sum()),
            "seed": seed,
        },
    )
    validation = _validate(space, model, check_on)
    return replace(model, validation=validation)


def _scaler(training: TrainingSet, chunk: int = 50_000) -> StandardScaler:
    """The weighted mean and scale of the features, a chunk of rows at a time: fitted whole,
    the scaler's weighted float64 temporaries were four times the set itself."""
    scaler = StandardScaler()
    for start in range(0, len(training.features), chunk):
        part = slice(start, start + chunk)
        scaler.partial_fit(training.features[part], sample_weight=training.weights[part])
    return scaler


def _query(graph: CooperationGraph, space: FeatureSpace, source: str, hidden: set[str]) -> Query:
    row, excluded, bridges = query_rows(graph, space, source)
    return Query(row, excluded, bridges, [space.index[p] for p in hidden if p in space.index])


def _training_set(space: FeatureSpace, queries: list[Query], seed: int = 0) -> TrainingSet:
    """Every positive of every source's pool, and a seeded sample of at most
    `_NEGATIVES_PER_SOURCE` of its negatives, each weighing for the negatives it stands for.

    The whole pools made a matrix of thousands of sources × thousands of candidates that held
    most of the service's memory while it trained (2 GB at 10,000 actors). Weighted, the sample
    has the whole pools' likelihood in expectation, so the fit is the same model."""
    rng = np.random.default_rng(seed)
    # Filled in place, a query's rows after another: no query has more rows than its hidden
    # partners and the negatives kept, and the pages of the bound never reached are never
    # touched; blocks stacked at the end were the set twice over at the peak.
    bound = sum(len(query.wanted) + _NEGATIVES_PER_SOURCE for query in queries)
    features = np.empty((bound, len(FEATURES)), dtype=np.float32)
    filled = 0
    labels, weights = [], []
    for query in queries:
        row = query.row
        pagerank = space.pagerank(row)
        view = space.source(row)
        bridge_rows = np.array(query.bridged, dtype=np.int64)
        pool = space.pool(row, pagerank, bridge_rows, view=view)
        pool = pool[~np.isin(pool, query.excluded)]
        positive = np.isin(pool, query.wanted)
        negatives = pool[~positive]
        kept = negatives
        if len(negatives) > _NEGATIVES_PER_SOURCE:
            kept = np.sort(rng.choice(negatives, _NEGATIVES_PER_SOURCE, replace=False))
        rows = np.concatenate([pool[positive], kept])
        block = space.matrix(row, rows, bridged=bridge_rows, pagerank=pagerank, view=view)
        features[filled : filled + len(rows)] = block
        filled += len(rows)
        labels.append(np.arange(len(rows)) < positive.sum())
        weight = len(negatives) / len(kept) if len(kept) else 1.0
        weights.append(np.where(labels[-1], 1.0, weight))
    if not labels:
        return TrainingSet(features[:0], np.zeros(0, dtype=int), np.zeros(0), 0, 0)
    weight = np.concatenate(weights)
    return TrainingSet(
        features[:filled],
        np.concatenate(labels).astype(int),
        weight,
        len(queries),
        round(float(weight.sum())),
    )


def adamic_adar_ranks(
    space: FeatureSpace, row: int, excluded: list[int], wanted: list[int]
) -> list[int | None]:
    """Where Adamic–Adar ranks each wanted row among every actor not excluded (None: nowhere,
    an index of 0 ranks after every positive one, in node order)."""
    degree = space.degree
    weights = np.divide(
        1.0, np.log(np.maximum(degree, 2.0)), out=np.zeros_like(degree), where=degree > 1
    )
    scores = np.asarray((space.adjacency[row].multiply(weights) @ space.adjacency).todense())
    scores = scores.ravel()
    allowed = space.is_actor.copy()
    allowed[excluded] = False
    allowed[row] = False
    candidates = np.flatnonzero(allowed)
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    position = {int(r): i for i, r in enumerate(order, start=1)}
    return [position.get(w) for w in wanted]


def _validate(
    space: FeatureSpace, model: RankingModel, queries: list[Query], k: int = 10
) -> dict[str, float | int]:
    hits = {"model": 0.0, "adamic_adar": 0.0}
    reciprocal = {"model": 0.0, "adamic_adar": 0.0}
    asked = 0
    for query in queries:
        row, excluded, wanted = query.row, query.excluded, query.wanted
        ranked = rank(space, model, row, excluded=excluded, bridged=query.bridged)
        position = {int(r): i for i, r in enumerate(ranked.rows, start=1)}
        found = {
            "model": [position.get(w) for w in wanted],
            "adamic_adar": adamic_adar_ranks(space, row, excluded, wanted),
        }
        asked += len(wanted)
        for method, ranks in found.items():
            hits[method] += sum(1 for r in ranks if r is not None and r <= k)
            reciprocal[method] += sum(1 / r for r in ranks if r is not None)
    if asked == 0:
        return {}
    return {
        "queries": asked,
        f"recall_at_{k}": round(hits["model"] / asked, 4),
        "mrr": round(reciprocal["model"] / asked, 4),
        f"adamic_adar_recall_at_{k}": round(hits["adamic_adar"] / asked, 4),
        "adamic_adar_mrr": round(reciprocal["adamic_adar"] / asked, 4),
    }
